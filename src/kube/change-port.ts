// Everything the change flows (rotate, rotate-ca, restore, resume) need from the host cluster,
// bound to one vCluster. The flows see only this interface: the real implementation below talks
// to the API server, and a fake in the tests makes each call fail, conflict or stop the process.
import { EXIT, UserError } from '../errors.js';
import { filesFromSecretData, secretDataFromFiles } from '../pki/certmap.js';
import type { PkiFiles } from '../pki/types.js';
import { missingPermissions, type Permission } from './access.js';
import { apiStatusCode, type Kube } from './client.js';
import { isPodReady, type VCluster } from './discovery.js';
import { acquireRotationLease, type HeldLease } from './lease.js';
import { backupInPod, readDirFromPod, removeInPod, stageInPod, swapInPod } from './pod-files.js';
import { readPkiFromSecret } from './pki-source.js';
import { restartVCluster, type RestartMode } from './restart.js';
export { restartNeeds } from './restart.js';
import { BACKUPS_KEPT, createBackupSecret, listBackupSecrets, SecretConflictError } from './secrets.js';
import type { V1Secret } from './k8s.js';
import { verifyApplied } from '../flows/verify-applied.js';

export type { RestartMode } from './restart.js';
export type { HeldLease } from './lease.js';
export type { Permission } from './access.js';

export interface PodRef {
  name: string;
  uid: string;
  ready: boolean;
}

export interface CertsSecret {
  /** every key, PKI files and unknown keys alike (unknown keys must survive a commit) */
  files: PkiFiles;
  resourceVersion: string;
  annotations: Record<string, string>;
  /** keys whose value is present but empty (upstream refuses to start on these) */
  emptyKeys: string[];
  /** field manager of the newest write (managedFields), when the API server records it */
  lastWriter?: string;
}

export interface VerifyOutcome {
  /** the Secret's resourceVersion that verification accepted: the guard for the next write */
  resourceVersion: string;
  /** leafs the vCluster re-issued itself on start (its 90-day start-up renewal) */
  renewedByVCluster: string[];
}

export interface ChangePort {
  readonly vc: VCluster;
  missingPermissions(wanted: Permission[]): Promise<Permission[]>;
  readCertsSecret(): Promise<CertsSecret>;
  /**
   * Replaces the Secret's data with `files` in one write that is refused with a
   * SecretConflictError unless the Secret is still at `resourceVersion`. Returns the new version.
   */
  writeCertsSecret(resourceVersion: string, files: PkiFiles, annotations: Record<string, string>): Promise<string>;
  /** Creates `<name>-certs-backup-<stamp>`; a BackupNameTaken when that name exists. */
  createBackupSecret(files: PkiFiles, stamp: string, reason: string, sourceResourceVersion: string): Promise<string>;
  readBackupSecret(name: string): Promise<PkiFiles>;
  /** Deletes all but the newest backups, never those in `protect`; returns what it deleted. */
  pruneBackupSecrets(protect: string[]): Promise<string[]>;
  listPods(): Promise<PodRef[]>;
  readPodDir(pod: string, dir: string): Promise<PkiFiles>;
  backupInPod(pod: string, stamp: string): Promise<string>;
  stageInPod(pod: string, files: PkiFiles): Promise<void>;
  swapInPod(pod: string): Promise<void>;
  removeInPod(pod: string, dir: string): Promise<void>;
  restart(mode: RestartMode, timeoutMs: number, progress: (line: string) => void): Promise<void>;
  /** `previous`: the PKI before the change (after a CA change the old CA must no longer be served) */
  verify(files: PkiFiles, previous?: PkiFiles): Promise<VerifyOutcome>;
  acquireLease(): Promise<HeldLease>;
  /** The data of the vc-<name> kubeconfig Secret vCluster writes on start; undefined when there is none. */
  readKubeconfigSecret(): Promise<Record<string, string> | undefined>;
  /** true when the vCluster runs a deployed etcd (`app=vcluster-etcd` pods), which restarts too */
  hasDeployedEtcd(): Promise<boolean>;
}

export type PortCall = Exclude<keyof ChangePort, 'vc' | 'missingPermissions'>;

/** The backup Secret name is taken (two runs in the same second): the caller picks the next stamp. */
export class BackupNameTaken extends UserError {}

const SECRETS = (verb: string): Permission => ({ verb, resource: 'secrets' });
const EXEC: Permission = { verb: 'create', resource: 'pods', subresource: 'exec' };
const LEASES = (verb: string): Permission => ({ verb, resource: 'leases', group: 'coordination.k8s.io' });

/**
 * What each call needs, so a run asks for exactly what its path will use before it writes
 * anything. `restart` depends on the vCluster and the mode: see restartNeeds.
 */
export const CALL_NEEDS: Readonly<Record<Exclude<PortCall, 'restart'>, readonly Permission[]>> = {
  readCertsSecret: [SECRETS('get')],
  writeCertsSecret: [SECRETS('update'), SECRETS('get')],
  createBackupSecret: [SECRETS('create')],
  readBackupSecret: [SECRETS('get')],
  pruneBackupSecrets: [SECRETS('list'), SECRETS('delete')],
  listPods: [{ verb: 'list', resource: 'pods' }],
  readPodDir: [EXEC],
  backupInPod: [EXEC],
  stageInPod: [EXEC],
  swapInPod: [EXEC],
  removeInPod: [EXEC],
  verify: [SECRETS('get'), { verb: 'list', resource: 'pods' }, EXEC, { verb: 'create', resource: 'pods', subresource: 'portforward' }],
  acquireLease: [LEASES('get'), LEASES('create'), LEASES('update'), LEASES('delete')],
  hasDeployedEtcd: [{ verb: 'list', resource: 'pods' }],
  readKubeconfigSecret: [SECRETS('get')],
};

export function permissionKey(p: Permission): string {
  return [p.verb, p.group ?? '', p.resource, p.subresource ?? ''].join('/');
}

export function uniquePermissions(list: Iterable<Permission>): Permission[] {
  const seen = new Map<string, Permission>();
  for (const p of list) if (!seen.has(permissionKey(p))) seen.set(permissionKey(p), p);
  return [...seen.values()];
}

/** The field manager our writes carry, so managedFields tell them from vCluster's and others'. */
export const FIELD_MANAGER = 'kubectl-vcluster-certs';

/**
 * Who last wrote the Secret, from managedFields: the newest entry's manager. Times have whole
 * seconds, so on a tie another writer wins over us: it wrote after we read, or we would not ask.
 */
export function lastWriter(secret: V1Secret): string | undefined {
  const entries = [...(secret.metadata?.managedFields ?? [])].filter((e) => e.manager);
  const time = (e: (typeof entries)[number]) => new Date(e.time ?? 0).getTime();
  entries.sort((a, b) => time(b) - time(a) || Number(a.manager === FIELD_MANAGER) - Number(b.manager === FIELD_MANAGER));
  return entries[0]?.manager;
}

/** The real port: the API server through client-node, exec and port-forward into the pods. */
export class KubeChangePort implements ChangePort {
  /** the last Secret read or written, so a write keeps its metadata (labels, owner) */
  private secret?: V1Secret;

  constructor(private readonly kube: Kube, readonly vc: VCluster) {}

  private get ns(): string {
    return this.vc.namespace;
  }

  missingPermissions(wanted: Permission[]): Promise<Permission[]> {
    return missingPermissions(this.kube, this.ns, wanted);
  }

  async readCertsSecret(): Promise<CertsSecret> {
    const s = await readPkiFromSecret(this.kube, this.vc);
    this.secret = s.secret;
    return { files: s.files, resourceVersion: s.resourceVersion, annotations: { ...s.secret.metadata?.annotations }, emptyKeys: s.emptyKeys, lastWriter: lastWriter(s.secret) };
  }

  async writeCertsSecret(resourceVersion: string, files: PkiFiles, annotations: Record<string, string>): Promise<string> {
    const base = this.secret?.metadata?.resourceVersion === resourceVersion ? this.secret : (await this.readPkiSecretRaw());
    const name = base.metadata!.name!;
    const body: V1Secret = {
      ...base,
      metadata: { ...base.metadata, resourceVersion, annotations: { ...base.metadata?.annotations, ...annotations } },
      data: secretDataFromFiles(files, { includeUnknown: true }),
    };
    try {
      this.secret = await this.kube.core.replaceNamespacedSecret({ name, namespace: this.ns, body, fieldManager: FIELD_MANAGER }, this.kube.opts);
      return this.secret.metadata?.resourceVersion ?? '';
    } catch (err) {
      if (apiStatusCode(err) !== 409) throw this.kube.explain(`update secret ${this.ns}/${name}`, err);
      const now = await this.readPkiSecretRaw().catch(() => undefined);
      const who = now && lastWriter(now);
      throw new SecretConflictError(
        `secret ${this.ns}/${name} was changed by ${describeWriter(who)} after it was read; nothing was overwritten`,
        EXIT.BROKEN, err, who);
    }
  }

  private async readPkiSecretRaw(): Promise<V1Secret> {
    return (await readPkiFromSecret(this.kube, this.vc)).secret;
  }

  async createBackupSecret(files: PkiFiles, stamp: string, reason: string, sourceResourceVersion: string): Promise<string> {
    try {
      const s = await createBackupSecret(this.kube, files, { vcluster: this.vc.name, namespace: this.ns, stamp, reason, sourceResourceVersion }, this.secret);
      return s.metadata!.name!;
    } catch (err) {
      if (err instanceof UserError && apiStatusCode(err.cause) === 409) throw new BackupNameTaken(err.message, EXIT.BROKEN, err);
      throw err;
    }
  }

  async readBackupSecret(name: string): Promise<PkiFiles> {
    const s = await this.kube.call(`read back the backup secret ${this.ns}/${name}`, () => this.kube.core.readNamespacedSecret({ name, namespace: this.ns }, this.kube.opts));
    return filesFromSecretData(s.data ?? {});
  }

  async pruneBackupSecrets(protect: string[]): Promise<string[]> {
    const all = await listBackupSecrets(this.kube, this.ns, this.vc.name);
    const doomed = all.slice(0, Math.max(0, all.length - BACKUPS_KEPT)).filter((b) => !protect.includes(b.name));
    for (const b of doomed) {
      await this.kube.call(`delete old backup secret ${this.ns}/${b.name}`, () => this.kube.core.deleteNamespacedSecret({ name: b.name, namespace: this.ns }, this.kube.opts), 'null');
    }
    return doomed.map((b) => b.name);
  }

  async listPods(): Promise<PodRef[]> {
    const list = await this.kube.call('list vCluster pods', () => this.kube.core.listNamespacedPod({ namespace: this.ns, labelSelector: `app=vcluster,release=${this.vc.name}` }, this.kube.opts));
    return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => ({ name: p.metadata!.name!, uid: p.metadata!.uid ?? '', ready: isPodReady(p) }));
  }

  readPodDir(pod: string, dir: string): Promise<PkiFiles> {
    return readDirFromPod(this.kube, this.ns, pod, dir);
  }

  backupInPod(pod: string, stamp: string): Promise<string> {
    return backupInPod(this.kube, this.ns, pod, stamp);
  }

  stageInPod(pod: string, files: PkiFiles): Promise<void> {
    return stageInPod(this.kube, this.ns, pod, files);
  }

  swapInPod(pod: string): Promise<void> {
    return swapInPod(this.kube, this.ns, pod);
  }

  removeInPod(pod: string, dir: string): Promise<void> {
    return removeInPod(this.kube, this.ns, pod, dir);
  }

  restart(mode: RestartMode, timeoutMs: number, progress: (line: string) => void): Promise<void> {
    return restartVCluster(this.kube, this.vc, { mode, timeoutMs, progress });
  }

  verify(files: PkiFiles, previous?: PkiFiles): Promise<VerifyOutcome> {
    return verifyApplied(this.kube, this.vc, files, { previous });
  }

  acquireLease(): Promise<HeldLease> {
    return acquireRotationLease(this.kube, this.ns, this.vc.name);
  }

  async readKubeconfigSecret(): Promise<Record<string, string> | undefined> {
    const name = `vc-${this.vc.name}`;
    const s = await this.kube.call(`read secret ${this.ns}/${name}`, () => this.kube.core.readNamespacedSecret({ name, namespace: this.ns }, this.kube.opts), 'null');
    return s ? { ...s.data } : undefined;
  }

  async hasDeployedEtcd(): Promise<boolean> {
    const list = await this.kube.call('list deployed etcd pods', () => this.kube.core.listNamespacedPod({ namespace: this.ns, labelSelector: `app=vcluster-etcd,release=${this.vc.name}` }, this.kube.opts));
    return list.items.length > 0;
  }
}

/** "vCluster's own renewal (manager X)" when the field manager says so, else who it was. */
export function describeWriter(manager: string | undefined): string {
  if (!manager) return "someone else (vCluster's own renewal, or another admin)";
  if (/^vcluster/i.test(manager)) return `vCluster's own certificate renewal (field manager "${manager}")`;
  return `someone else (field manager "${manager}")`;
}
