// Writes to the `<name>-certs` Secret (one request, guarded by resourceVersion) and
// keeps off-pod backups as Secrets beside it, which survive pods on emptyDir.
import { UserError } from '../errors.js';
import { filesFromSecretData, secretDataFromFiles } from '../pki/certmap.js';
import type { PkiFiles } from '../pki/types.js';
import type { Kube } from './client.js';
import type { V1Secret } from './k8s.js';
import { certsSecretName } from './pki-source.js';

export const BACKUP_LABEL = 'vcluster-certs.dev/backup-of';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kubectl-vcluster-certs' };
export const ANNOTATION_PREFIX = 'vcluster-certs.dev/';
export const BACKUPS_KEPT = 5;
/** On `<name>-certs`: where the last change stands (flows/change-marker.ts). */
export const STATE_ANNOTATION = `${ANNOTATION_PREFIX}last-change`;

/** Someone else wrote the Secret after we read it: never overwrite, stop. */
export class SecretConflictError extends UserError {
  constructor(message: string, exitCode: number, cause?: unknown, /** field manager of the newest write, when known */ readonly changedBy?: string) {
    super(message, exitCode, cause);
  }
}

export interface BackupSecretInfo {
  vcluster: string;
  namespace: string;
  stamp: string;
  reason: string;
  /** resourceVersion of `<name>-certs` the backup was taken from */
  sourceResourceVersion?: string;
}

export function backupSecretName(vcName: string, stamp: string): string {
  return `${certsSecretName(vcName)}-backup-${stamp}`;
}

export async function createBackupSecret(kube: Kube, files: PkiFiles, info: BackupSecretInfo, ownerOf?: V1Secret): Promise<V1Secret> {
  const name = backupSecretName(info.vcluster, info.stamp);
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace: info.namespace,
      labels: { ...MANAGED_BY, [BACKUP_LABEL]: info.vcluster },
      annotations: {
        [`${ANNOTATION_PREFIX}created`]: new Date(Number(info.stamp) * 1000).toISOString(),
        [`${ANNOTATION_PREFIX}reason`]: info.reason,
        ...(info.sourceResourceVersion ? { [`${ANNOTATION_PREFIX}source-resource-version`]: info.sourceResourceVersion } : {}),
      },
      // Same owner as the certs Secret, so deleting the vCluster cleans backups up too.
      ownerReferences: ownerOf?.metadata?.ownerReferences,
    },
    data: secretDataFromFiles(files, { allowMissing: true, includeUnknown: true }),
  };
  return kube.call(`create backup secret ${info.namespace}/${name}`, () => kube.core.createNamespacedSecret({ namespace: info.namespace, body }, kube.opts));
}

export interface BackupSecret {
  name: string;
  stamp: string;
  reason: string;
  files: PkiFiles;
  secret: V1Secret;
}

export async function listBackupSecrets(kube: Kube, namespace: string, vcName: string): Promise<BackupSecret[]> {
  const list = await kube.call(`list backup secrets in ${namespace}`, () =>
    kube.core.listNamespacedSecret({ namespace, labelSelector: `${BACKUP_LABEL}=${vcName}` }, kube.opts));
  const prefix = `${certsSecretName(vcName)}-backup-`;
  return list.items
    .filter((s) => s.metadata?.name?.startsWith(prefix))
    .map((s) => ({
      name: s.metadata!.name!,
      stamp: s.metadata!.name!.slice(prefix.length),
      reason: s.metadata?.annotations?.[`${ANNOTATION_PREFIX}reason`] ?? '',
      files: filesFromSecretData(s.data ?? {}),
      secret: s,
    }))
    .sort((a, b) => Number(a.stamp) - Number(b.stamp));
}
