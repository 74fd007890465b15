// Writes to the `<name>-certs` Secret (one request, guarded by resourceVersion) and
// keeps off-pod backups as Secrets beside it, which survive pods on emptyDir.
import { EXIT, UserError } from '../errors.js';
import { filesFromSecretData, secretDataFromFiles } from '../pki/certmap.js';
import type { PkiFiles } from '../pki/types.js';
import type { Kube } from './client.js';
import { apiStatusCode } from './client.js';
import type { V1Secret } from './k8s.js';
import { certsSecretName } from './pki-source.js';

export const BACKUP_LABEL = 'vcluster-certs.dev/backup-of';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kubectl-vcluster-certs' };
export const ANNOTATION_PREFIX = 'vcluster-certs.dev/';
export const BACKUPS_KEPT = 5;
/** On `<name>-certs`: `committed/<ts>/<kind>` while a change is under way, `done/...` after. */
export const STATE_ANNOTATION = `${ANNOTATION_PREFIX}last-change`;

/** Someone else wrote the Secret after we read it: never overwrite, stop. */
export class SecretConflictError extends UserError {}

/**
 * Replaces the Secret's data with `files` (the full certMap, like upstream SyncSecret) in one
 * PUT that fails with 409 if the Secret changed since `current` was read.
 */
export async function writeCertsSecret(kube: Kube, current: V1Secret, files: PkiFiles, annotations: Record<string, string> = {}): Promise<V1Secret> {
  const name = current.metadata!.name!;
  const namespace = current.metadata!.namespace!;
  const body: V1Secret = {
    ...current,
    metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, ...annotations } },
    data: secretDataFromFiles(files),
  };
  try {
    return await kube.core.replaceNamespacedSecret({ name, namespace, body }, kube.opts);
  } catch (err) {
    if (apiStatusCode(err) === 409) {
      throw new SecretConflictError(`secret ${namespace}/${name} was changed by someone else (vCluster's own renewal, or another admin) after it was read; nothing was overwritten`, EXIT.BROKEN, err);
    }
    throw kube.explain(`update secret ${namespace}/${name}`, err);
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

/** Deletes all but the newest `keep` backup Secrets; returns the names deleted. */
export async function pruneBackupSecrets(kube: Kube, namespace: string, vcName: string, keep = BACKUPS_KEPT): Promise<string[]> {
  const all = await listBackupSecrets(kube, namespace, vcName);
  const doomed = all.slice(0, Math.max(0, all.length - keep));
  for (const b of doomed) {
    await kube.call(`delete old backup secret ${namespace}/${b.name}`, () => kube.core.deleteNamespacedSecret({ name: b.name, namespace }, kube.opts), 'null');
  }
  return doomed.map((b) => b.name);
}
