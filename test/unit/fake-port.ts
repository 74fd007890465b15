// An in-memory ChangePort: one vCluster's Secret, backups, pods with their /data dirs, a Lease.
// Every call is counted and can be made to fail, to find the Secret changed, or to stop the
// process (that call and every later one never complete), so each failure point of the change
// path is a fast unit test. Semantics follow the real port: guarded Secret writes, a restart
// that reloads every pod's /data/pki from the Secret (as vCluster's start does).
import { UserError } from '../../src/errors.js';
import { BackupNameTaken, type ChangePort, type CertsSecret, type HeldLease, type Permission, type PortCall, type PodRef, type RestartMode, type VerifyOutcome, permissionKey } from '../../src/kube/change-port.js';
import type { VCluster } from '../../src/kube/discovery.js';
import { SecretConflictError } from '../../src/kube/secrets.js';
import type { PkiFiles } from '../../src/pki/types.js';

export const PKI = '/data/pki';

export interface FakePod {
  name: string;
  uid: string;
  ready: boolean;
  dirs: Map<string, PkiFiles>;
}

export interface Fault {
  call: PortCall;
  /** the nth call of that name (1-based); default: every one */
  nth?: number;
  kind: 'error' | 'conflict';
}

/** Thrown by every call once the simulated process has stopped. */
export class ProcessStopped extends Error {}

const copy = (f: PkiFiles): PkiFiles => new Map([...f].map(([k, v]) => [k, Buffer.from(v)]));

export function sameFiles(a: PkiFiles, b: PkiFiles): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

export class FakeCluster {
  secret: { files: PkiFiles; rv: number; annotations: Record<string, string>; manager: string };
  backups = new Map<string, PkiFiles>();
  pods: FakePod[] = [];
  deployedEtcd = false;
  lease?: { holder: number; dead: boolean };
  denied: Permission[] = [];
  faults: Fault[] = [];
  /** a call number (over all calls) after which the process is gone */
  stopAfter?: number;
  /** called before each call with its name and overall number; may change state (a concurrent writer) */
  beforeCall?: (call: PortCall, n: number) => void;
  /** what a restarted pod does with the Secret (default: nothing but load it) */
  onStart?: (cluster: FakeCluster) => void;
  /** pods never turn Ready after a restart */
  neverReady = false;
  /** the vc-<name> Secret's data; a restart rewrites it from the Secret's admin.conf unless told not to */
  kubeconfigSecret?: Record<string, string>;
  rewritesKubeconfig = true;
  calls: PortCall[] = [];
  restarts: RestartMode[] = [];
  private nextUid = 1;
  private ports = 0;

  constructor(files: PkiFiles, replicas = 1) {
    this.secret = { files: copy(files), rv: 1, annotations: {}, manager: 'vcluster' };
    for (let i = 0; i < replicas; i++) this.pods.push({ name: `vc-${i}`, uid: `uid-${this.nextUid++}`, ready: true, dirs: new Map([[PKI, copy(files)]]) });
  }

  /** Someone other than the tool writes the Secret (vCluster's own renewal by default). */
  writeBehind(files: PkiFiles, manager = 'vcluster'): void {
    this.secret = { ...this.secret, files: copy(files), rv: this.secret.rv + 1, manager };
  }

  port(vc: Partial<VCluster> = {}): FakePort {
    return new FakePort(this, ++this.ports, vc);
  }

  /** Each running pod's /data/pki equals the Secret (the certMap files at least). */
  consistent(): boolean {
    return this.pods.filter((p) => p.ready).every((p) => sameFiles(p.dirs.get(PKI)!, this.secret.files));
  }

  restartAll(): void {
    this.onStart?.(this);
    const admin = this.secret.files.get('admin.conf');
    if (this.rewritesKubeconfig && admin) this.kubeconfigSecret = { config: admin.toString('base64') };
    for (const p of this.pods) {
      p.uid = `uid-${this.nextUid++}`;
      p.dirs.set(PKI, copy(this.secret.files));
      p.dirs.delete('/data/pki.new');
      p.ready = !this.neverReady;
    }
  }
}

export class FakePort implements ChangePort {
  readonly vc: VCluster;
  stopped = false;

  constructor(private readonly c: FakeCluster, private readonly id: number, vc: Partial<VCluster>) {
    this.vc = {
      name: 'vc', namespace: 'ns', kind: 'StatefulSet', object: { spec: {} }, version: '0.30.0', image: 'ghcr.io/loft-sh/vcluster:0.30.0',
      status: 'Running', pods: [], replicas: c.pods.length, persistent: false, distro: 'k8s', warnings: [], ...vc,
    } as VCluster;
  }

  private enter(call: PortCall): void {
    const c = this.c;
    if (this.stopped) throw new ProcessStopped('the process has stopped');
    const n = c.calls.length + 1;
    if (c.stopAfter !== undefined && n > c.stopAfter) {
      this.stopped = true;
      if (c.lease?.holder === this.id) c.lease.dead = true;
      throw new ProcessStopped('the process has stopped');
    }
    c.calls.push(call);
    c.beforeCall?.(call, n);
    const nth = c.calls.filter((x) => x === call).length;
    const fault = c.faults.find((f) => f.call === call && (f.nth === undefined || f.nth === nth));
    if (fault?.kind === 'error') throw new UserError(`injected failure of ${call} #${nth}`);
    if (fault?.kind === 'conflict') c.writeBehind(c.secret.files, 'someone-else');
  }

  async missingPermissions(wanted: Permission[]): Promise<Permission[]> {
    const denied = new Set(this.c.denied.map(permissionKey));
    return wanted.filter((p) => denied.has(permissionKey(p)));
  }

  async readCertsSecret(): Promise<CertsSecret> {
    this.enter('readCertsSecret');
    const s = this.c.secret;
    return { files: copy(s.files), resourceVersion: String(s.rv), annotations: { ...s.annotations }, emptyKeys: [...s.files].filter(([, v]) => v.length === 0).map(([k]) => k), lastWriter: s.manager };
  }

  async writeCertsSecret(resourceVersion: string, files: PkiFiles, annotations: Record<string, string>): Promise<string> {
    this.enter('writeCertsSecret');
    const s = this.c.secret;
    if (String(s.rv) !== resourceVersion) throw new SecretConflictError(`conflict: at ${s.rv}, not ${resourceVersion}`, 2, undefined, s.manager);
    this.c.secret = { files: copy(files), rv: s.rv + 1, annotations: { ...s.annotations, ...annotations }, manager: 'kubectl-vcluster-certs' };
    return String(this.c.secret.rv);
  }

  async createBackupSecret(files: PkiFiles, stamp: string): Promise<string> {
    this.enter('createBackupSecret');
    const name = `vc-certs-backup-${stamp}`;
    if (this.c.backups.has(name)) throw new BackupNameTaken(`secret ${name} exists`);
    this.c.backups.set(name, copy(files));
    return name;
  }

  async readBackupSecret(name: string): Promise<PkiFiles> {
    this.enter('readBackupSecret');
    const b = this.c.backups.get(name);
    if (!b) throw new UserError(`secret ${name} not found`);
    return copy(b);
  }

  async pruneBackupSecrets(protect: string[]): Promise<string[]> {
    this.enter('pruneBackupSecrets');
    const names = [...this.c.backups.keys()].sort((a, b) => Number(a.split('-').pop()) - Number(b.split('-').pop()));
    const doomed = names.slice(0, Math.max(0, names.length - 5)).filter((n) => !protect.includes(n));
    for (const n of doomed) this.c.backups.delete(n);
    return doomed;
  }

  async listPods(): Promise<PodRef[]> {
    this.enter('listPods');
    return this.c.pods.map((p) => ({ name: p.name, uid: p.uid, ready: p.ready }));
  }

  private pod(name: string): FakePod {
    const p = this.c.pods.find((x) => x.name === name);
    if (!p) throw new UserError(`pod ${name} not found`);
    return p;
  }

  async readPodDir(pod: string, dir: string): Promise<PkiFiles> {
    this.enter('readPodDir');
    const d = this.pod(pod).dirs.get(dir);
    if (!d) throw new UserError(`${dir}: no such directory`);
    return copy(d);
  }

  async backupInPod(pod: string, stamp: string): Promise<string> {
    this.enter('backupInPod');
    const p = this.pod(pod);
    const dest = `/data/pki.bak/${stamp}`;
    if (p.dirs.has(dest)) throw new UserError(`${dest} already exists`);
    p.dirs.set(dest, copy(p.dirs.get(PKI)!));
    return dest;
  }

  async stageInPod(pod: string, files: PkiFiles): Promise<void> {
    this.enter('stageInPod');
    this.pod(pod).dirs.set('/data/pki.new', copy(files));
  }

  async swapInPod(pod: string): Promise<void> {
    this.enter('swapInPod');
    const p = this.pod(pod);
    const staged = p.dirs.get('/data/pki.new');
    if (!staged) throw new UserError('nothing staged');
    p.dirs.set(PKI, staged);
    p.dirs.delete('/data/pki.new');
  }

  async removeInPod(pod: string, dir: string): Promise<void> {
    this.enter('removeInPod');
    this.pod(pod).dirs.delete(dir);
  }

  async restart(mode: RestartMode): Promise<void> {
    this.enter('restart');
    this.c.restarts.push(mode);
    this.c.restartAll();
    if (this.c.neverReady) throw new UserError('pods were not all restarted and Ready in time');
  }

  async verify(files: PkiFiles): Promise<VerifyOutcome> {
    this.enter('verify');
    const c = this.c;
    if (!sameFiles(c.secret.files, files)) throw new UserError('the Secret does not hold the PKI that was committed');
    for (const p of c.pods) {
      if (!p.ready) throw new UserError(`pod ${p.name} is not Ready`);
      if (!sameFiles(p.dirs.get(PKI)!, files)) throw new UserError(`pod ${p.name} serves another PKI`);
    }
    return { resourceVersion: String(c.secret.rv), renewedByVCluster: [] };
  }

  async acquireLease(): Promise<HeldLease> {
    this.enter('acquireLease');
    const c = this.c;
    if (c.lease && !c.lease.dead && c.lease.holder !== this.id) throw new UserError('another certificate rotation is in progress');
    c.lease = { holder: this.id, dead: false };
    return {
      name: 'vcluster-vc-cert-rotation',
      release: async () => {
        if (this.stopped) return;
        if (c.lease?.holder === this.id) c.lease = undefined;
      },
    };
  }

  async readKubeconfigSecret(): Promise<Record<string, string> | undefined> {
    this.enter('readKubeconfigSecret');
    return this.c.kubeconfigSecret && { ...this.c.kubeconfigSecret };
  }

  async hasDeployedEtcd(): Promise<boolean> {
    this.enter('hasDeployedEtcd');
    return this.c.deployedEtcd;
  }
}
