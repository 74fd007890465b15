// The simulated kubelet: runs pods of the store as directory trees, mounts their volumes, starts the
// container behaviour (simulated syncer, deployed etcd, or a plain busybox container), keeps pod status
// real (phase, Ready, restartCount, CrashLoopBackOff) and handles graceful deletion.
//
// Volumes: an emptyDir is a directory inside the pod tree (gone with the pod); a PVC is a directory under
// STATE/volumes that is moved into the pod tree while a pod uses it and moved back when the pod goes.

import { ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type * as https from 'node:https';
import { KObject, Store, StoreEvent } from './store.js';
import { typeByKind } from './resources.js';
import { ContainerRuntime } from './runtime.js';
import { Faults } from './faults.js';
import { ApiError, badRequest, notFound } from './status.js';
import { ContainerStartResult, startEtcd, startSyncer } from './syncer.js';
import { SERVED_PORTS, createEndpointServer, type ServedPort, type ServingConfig } from './serving.js';
import { CertWatcher, hasCertWatcher, hasStartupRenewal, versionFromImage } from './renewal.js';

/** Per-vCluster knobs of the simulated syncer (SimCluster.addVCluster sets them). */
export interface SyncerBehaviour {
  /** start-up renewal on or off whatever the image tag says */
  startupRenewal?: boolean;
  /** run vCluster's periodic cert watcher with this period (versions that have it); off when absent */
  certWatchIntervalMs?: number;
  /** false: the syncer does not rewrite vc-<name> on start */
  writeKubeconfigSecret?: boolean;
}

const PODS = typeByKind('Pod');
const PVCS = typeByKind('PersistentVolumeClaim');
const SECRETS = typeByKind('Secret');

export interface KubeletOptions {
  stateDir: string;
  /** delay between pod creation and container start */
  podStartDelayMs: number;
  /** how long a deleted pod stays Terminating (unless deleted with gracePeriodSeconds=0) */
  podTerminationDelayMs: number;
  /** first CrashLoopBackOff delay; doubles per crash up to 8x */
  crashBackoffMs: number;
  /** Kubernetes version the vCluster endpoints report */
  vclusterKubernetesVersion: string;
  behaviour?: (namespace: string, vcName: string) => SyncerBehaviour;
}

interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  dir: string;
  root: string;
  /** PVC host dir -> path inside the pod tree where it is mounted */
  mounts: Map<string, string>;
  procs: Set<ChildProcess>;
  logs: string[];
  previousLogs: string[];
  restartCount: number;
  serving?: ServingConfig;
  servers: Map<number, Promise<https.Server>>;
  watcher?: CertWatcher;
  timers: Set<NodeJS.Timeout>;
  gone: boolean;
  running: boolean;
  ready: boolean;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function containerId(): string {
  return `containerd://${randomBytes(32).toString('hex')}`;
}

let podIpCounter = 2;
function nextPodIp(): string {
  const n = podIpCounter++;
  return `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
}

/** Status of a freshly scheduled pod: Pending, containers ContainerCreating. */
export function initialPodStatus(pod: KObject): Record<string, unknown> {
  const t = now();
  return {
    phase: 'Pending',
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: t },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: t },
      { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: t, reason: 'ContainersNotReady', message: 'containers with unready status: [' + containerNames(pod).join(' ') + ']' },
      { type: 'ContainersReady', status: 'False', lastProbeTime: null, lastTransitionTime: t, reason: 'ContainersNotReady', message: 'containers with unready status: [' + containerNames(pod).join(' ') + ']' },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: t },
    ],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: nextPodIp(),
    startTime: t,
    qosClass: 'BestEffort',
    containerStatuses: (pod.spec?.containers ?? []).map((c: { name: string; image: string }) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
    })),
  };
}

function containerNames(pod: KObject): string[] {
  return (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
}

function setCondition(status: Record<string, any>, type: string, value: boolean, reason?: string): void {
  const c = (status.conditions as any[]).find((x) => x.type === type);
  if (!c) return;
  const v = value ? 'True' : 'False';
  if (c.status !== v) c.lastTransitionTime = now();
  c.status = v;
  if (value) {
    delete c.reason;
    delete c.message;
  } else if (reason) {
    c.reason = reason;
    c.message = `containers with unready status: [${(status.containerStatuses as any[]).map((s) => s.name).join(' ')}]`;
  }
}

export class Kubelet {
  private readonly pods = new Map<string, PodRecord>();
  /** PVC host dir -> uid of the pod that has it mounted */
  private readonly pvcUsers = new Map<string, string>();
  private readonly pending = new Set<Promise<unknown>>();
  private neverReadyTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly onEvent = (ev: StoreEvent) => this.handleEvent(ev);

  constructor(
    private readonly store: Store,
    private readonly runtime: ContainerRuntime,
    private readonly faults: Faults,
    private readonly opts: KubeletOptions,
  ) {
    store.on('event', this.onEvent);
  }

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  /** Host directory backing a PVC (wherever it currently is: in its pod's tree or parked). */
  pvcParkedDir(ns: string, claim: string): string {
    return join(this.opts.stateDir, 'volumes', ns, claim);
  }

  pvcDir(ns: string, claim: string): string {
    const parked = this.pvcParkedDir(ns, claim);
    const user = this.pvcUsers.get(parked);
    if (user) {
      for (const r of this.pods.values()) if (r.uid === user) return r.mounts.get(parked) as string;
    }
    return parked;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  private handleEvent(ev: StoreEvent): void {
    if (ev.resource !== PODS || this.closed) return;
    const pod = ev.object;
    const key = this.key(pod.metadata.namespace as string, pod.metadata.name);
    if (ev.type === 'ADDED') {
      this.admit(pod);
    } else if (ev.type === 'DELETED') {
      const rec = this.pods.get(key);
      if (rec && rec.uid === pod.metadata.uid) this.teardown(rec);
    }
  }

  private admit(pod: KObject): void {
    const ns = pod.metadata.namespace as string;
    const name = pod.metadata.name;
    const uid = pod.metadata.uid as string;
    const dir = join(this.opts.stateDir, 'pods', ns, `${name}_${uid.slice(0, 8)}`);
    const rec: PodRecord = {
      uid, namespace: ns, name, dir, root: join(dir, 'root'), mounts: new Map(), procs: new Set(),
      logs: [], previousLogs: [], restartCount: 0, timers: new Set(), gone: false, running: false, ready: false, servers: new Map(),
    };
    this.pods.set(this.key(ns, name), rec);
    this.track(this.prepare(rec, pod)).catch((e) => this.fail(rec, `pod setup failed: ${(e as Error).message}`));
  }

  private async prepare(rec: PodRecord, pod: KObject): Promise<void> {
    await mkdir(join(rec.root, 'tmp'), { recursive: true });
    for (const m of this.volumeMounts(pod)) {
      const target = join(rec.root, m.mountPath);
      if (m.volume.persistentVolumeClaim) {
        await this.mountPvc(rec, this.pvcParkedDir(rec.namespace, m.volume.persistentVolumeClaim.claimName), target);
      } else {
        await mkdir(target, { recursive: true });
      }
    }
    this.later(rec, this.opts.podStartDelayMs, () => this.startContainer(rec));
  }

  private volumeMounts(pod: KObject): { mountPath: string; volume: any }[] {
    const volumes: any[] = pod.spec?.volumes ?? [];
    const out: { mountPath: string; volume: any }[] = [];
    for (const c of pod.spec?.containers ?? []) {
      for (const vm of c.volumeMounts ?? []) {
        const volume = volumes.find((v) => v.name === vm.name);
        if (volume && !out.some((o) => o.mountPath === vm.mountPath)) out.push({ mountPath: vm.mountPath, volume });
      }
    }
    return out;
  }

  /** Moves the PVC directory into the pod tree; waits while another pod still holds it (RWO). */
  private async mountPvc(rec: PodRecord, parked: string, target: string): Promise<void> {
    while (this.pvcUsers.has(parked) && !rec.gone) await new Promise((r) => setTimeout(r, 20));
    if (rec.gone) return;
    mkdirSync(parked, { recursive: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(parked, target);
    this.pvcUsers.set(parked, rec.uid);
    rec.mounts.set(parked, target);
  }

  private unmountAll(rec: PodRecord): void {
    for (const [parked, target] of rec.mounts) {
      if (existsSync(target)) {
        mkdirSync(dirname(parked), { recursive: true });
        renameSync(target, parked);
      }
      this.pvcUsers.delete(parked);
    }
    rec.mounts.clear();
  }

  private later(rec: PodRecord, ms: number, fn: () => unknown): void {
    const t = setTimeout(() => {
      rec.timers.delete(t);
      if (!rec.gone && !this.closed) void this.track(Promise.resolve().then(fn)).catch(() => undefined);
    }, ms);
    rec.timers.add(t);
  }

  private currentPod(rec: PodRecord): KObject | undefined {
    const pod = this.store.peek(PODS, rec.namespace, rec.name);
    return pod && pod.metadata.uid === rec.uid ? pod : undefined;
  }

  private async runBehaviour(rec: PodRecord, pod: KObject): Promise<ContainerStartResult> {
    const labels = pod.metadata.labels ?? {};
    const containers: { name: string; image: string }[] = pod.spec?.containers ?? [];
    await this.writeSecretVolumes(rec, pod);
    const syncer = labels.app === 'vcluster' ? containers.find((c) => c.name === 'syncer') : undefined;
    if (syncer) {
      const b = this.opts.behaviour?.(rec.namespace, labels.release ?? '') ?? {};
      return startSyncer(this.store, pod, join(rec.root, 'data'), {
        startupRenewal: b.startupRenewal ?? hasStartupRenewal(versionFromImage(syncer.image)),
        writeKubeconfigSecret: b.writeKubeconfigSecret,
      });
    }
    if (labels.app === 'vcluster-etcd') return startEtcd(this.store, pod);
    return { ok: true, logs: [] };
  }

  private async writeSecretVolumes(rec: PodRecord, pod: KObject): Promise<void> {
    for (const m of this.volumeMounts(pod)) {
      const secretName = m.volume.secret?.secretName;
      if (!secretName) continue;
      const secret = this.store.peek(SECRETS, rec.namespace, secretName);
      for (const [k, v] of Object.entries((secret?.data ?? {}) as Record<string, string>)) {
        await writeFile(join(rec.root, m.mountPath, k), Buffer.from(v, 'base64'));
      }
    }
  }

  private async startContainer(rec: PodRecord): Promise<void> {
    const pod = this.currentPod(rec);
    if (!pod || pod.metadata.deletionTimestamp) return;
    const result = await this.runBehaviour(rec, pod).catch(
      (e): ContainerStartResult => ({ ok: false, logs: [`container start failed: ${(e as Error).message}`] }),
    );
    if (rec.gone || !this.currentPod(rec)) return;
    rec.logs.push(...result.logs);
    if (!result.ok) {
      this.crash(rec);
      return;
    }
    const workload = pod.metadata.labels?.release;
    rec.serving = this.applyStaleServing(rec, workload, result.serving);
    rec.running = true;
    this.startWatcher(rec, pod);
    rec.ready = !this.faults.podNeverReady(rec.namespace, rec.name, workload);
    if (!rec.ready) this.watchNeverReady();
    this.writeRunningStatus(rec);
  }

  /** Last endpoints per pod and per vCluster, for the staleServing fault. */
  private readonly lastServing = new Map<string, ServingConfig>();

  /** A staleServing fault keeps what the pod (or its vCluster) served before on that port. */
  private applyStaleServing(rec: PodRecord, workload: string | undefined, serving: ServingConfig | undefined): ServingConfig | undefined {
    if (!serving) return undefined;
    const podKey = `pod/${rec.namespace}/${rec.name}`;
    const vcKey = `vc/${rec.namespace}/${workload ?? ''}`;
    const prev = this.lastServing.get(podKey) ?? this.lastServing.get(vcKey);
    const out = { ...serving };
    for (const port of SERVED_PORTS) {
      if (prev && this.faults.staleServing(rec.namespace, rec.name, workload, port)) out[port] = prev[port];
    }
    this.lastServing.set(podKey, out);
    this.lastServing.set(vcKey, out);
    return out;
  }

  private startWatcher(rec: PodRecord, pod: KObject): void {
    const release = pod.metadata.labels?.release;
    const syncer = (pod.spec?.containers ?? []).find((c: { name: string }) => c.name === 'syncer');
    if (!release || !syncer || pod.metadata.labels?.app !== 'vcluster') return;
    const interval = this.opts.behaviour?.(rec.namespace, release).certWatchIntervalMs;
    if (!interval || !hasCertWatcher(versionFromImage(syncer.image))) return;
    rec.watcher = new CertWatcher({
      store: this.store, namespace: rec.namespace, vcName: release, podName: rec.name, dataDir: join(rec.root, 'data'),
      intervalMs: interval, log: (line) => rec.logs.push(line),
    });
    rec.watcher.start();
  }

  private writeRunningStatus(rec: PodRecord): void {
    this.store.mutate(PODS, rec.namespace, rec.name, (p) => {
      const s = p.status;
      s.phase = 'Running';
      const t = now();
      for (const cs of s.containerStatuses ?? []) {
        cs.ready = rec.ready;
        cs.started = true;
        cs.restartCount = rec.restartCount;
        if (!cs.state?.running) cs.state = { running: { startedAt: t } };
        cs.containerID = cs.containerID ?? containerId();
        cs.imageID = cs.image;
      }
      setCondition(s, 'PodReadyToStartContainers', true);
      setCondition(s, 'ContainersReady', rec.ready, 'ContainersNotReady');
      setCondition(s, 'Ready', rec.ready, 'ContainersNotReady');
    }, true);
  }

  /** Pods that a podNeverReady rule held back turn Ready once the rule is removed (readiness re-probed). */
  private watchNeverReady(): void {
    if (this.neverReadyTimer) return;
    this.neverReadyTimer = setInterval(() => {
      let waiting = false;
      for (const rec of this.pods.values()) {
        if (!rec.running || rec.ready || rec.gone) continue;
        const pod = this.currentPod(rec);
        if (!pod || pod.metadata.deletionTimestamp) continue;
        if (this.faults.podNeverReady(rec.namespace, rec.name, pod.metadata.labels?.release)) {
          waiting = true;
          continue;
        }
        rec.ready = true;
        this.writeRunningStatus(rec);
      }
      if (!waiting) {
        clearInterval(this.neverReadyTimer);
        this.neverReadyTimer = undefined;
      }
    }, 50);
  }

  private crash(rec: PodRecord): void {
    rec.restartCount++;
    rec.running = false;
    rec.ready = false;
    rec.previousLogs = rec.logs;
    rec.logs = [];
    const backoff = Math.min(this.opts.crashBackoffMs * 2 ** (rec.restartCount - 1), this.opts.crashBackoffMs * 8);
    const t = now();
    this.store.mutate(PODS, rec.namespace, rec.name, (p) => {
      const s = p.status;
      s.phase = 'Running';
      for (const cs of s.containerStatuses ?? []) {
        cs.ready = false;
        cs.started = false;
        cs.restartCount = rec.restartCount;
        cs.lastState = { terminated: { exitCode: 1, reason: 'Error', startedAt: t, finishedAt: t, containerID: cs.containerID ?? containerId() } };
        cs.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${cs.name} pod=${rec.name}_${rec.namespace}(${rec.uid})` } };
      }
      setCondition(s, 'PodReadyToStartContainers', true);
      setCondition(s, 'ContainersReady', false, 'ContainersNotReady');
      setCondition(s, 'Ready', false, 'ContainersNotReady');
    }, true);
    this.later(rec, backoff, () => this.startContainer(rec));
  }

  private fail(rec: PodRecord, message: string): void {
    rec.logs.push(message);
    if (!rec.gone && this.currentPod(rec)) this.crash(rec);
  }

  /** Graceful deletion as the API does it: Terminating for a while, then gone. */
  deletePod(ns: string, name: string, gracePeriodSeconds?: number, preconditionUid?: string): KObject {
    const pod = this.store.peek(PODS, ns, name);
    if (!pod) throw notFound(PODS, name);
    if (preconditionUid && preconditionUid !== pod.metadata.uid) {
      return this.store.delete(PODS, ns, name, preconditionUid);
    }
    const rec = this.pods.get(this.key(ns, name));
    if (gracePeriodSeconds === 0 || this.opts.podTerminationDelayMs <= 0) {
      return this.store.delete(PODS, ns, name);
    }
    if (pod.metadata.deletionTimestamp) return structuredClone(pod);
    const grace = gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (rec) this.stopProcesses(rec);
    const updated = this.store.mutate(PODS, ns, name, (p) => {
      p.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      p.metadata.deletionGracePeriodSeconds = grace;
    }) as KObject;
    const uid = pod.metadata.uid as string;
    setTimeout(() => {
      const cur = this.store.peek(PODS, ns, name);
      if (cur && cur.metadata.uid === uid && !this.closed) this.store.delete(PODS, ns, name);
    }, this.opts.podTerminationDelayMs);
    return updated;
  }

  private stopProcesses(rec: PodRecord): void {
    for (const p of rec.procs) p.kill('SIGKILL');
    rec.procs.clear();
    rec.running = false;
    rec.watcher?.stop();
    rec.watcher = undefined;
    for (const s of rec.servers.values()) {
      void s.then((srv) => {
        srv.close();
        srv.closeAllConnections();
      }, () => undefined);
    }
    rec.servers.clear();
  }

  private teardown(rec: PodRecord): void {
    rec.gone = true;
    for (const t of rec.timers) clearTimeout(t);
    rec.timers.clear();
    this.stopProcesses(rec);
    this.pods.delete(this.key(rec.namespace, rec.name));
    this.unmountAll(rec);
    void this.track(rm(rec.dir, { recursive: true, force: true }));
  }

  // --- what the API server needs --------------------------------------------------------------------

  /** The pod tree (its "/") of a running pod's container, for exec; throws the API's errors otherwise. */
  async execTarget(ns: string, name: string, container: string | undefined): Promise<{ root: string; container: string; record: PodRecord; pod: KObject }> {
    const pod = this.store.peek(PODS, ns, name);
    if (!pod) throw notFound(PODS, name);
    const names = containerNames(pod);
    let c = container;
    if (!c) {
      if (names.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
      c = names[0];
    }
    if (!names.includes(c)) throw badRequest(`container ${c} is not valid for pod ${name}`);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
    }
    const rec = this.pods.get(this.key(ns, name));
    if (!rec || rec.uid !== pod.metadata.uid || !rec.running || pod.metadata.deletionTimestamp) {
      throw new ApiError(400, 'BadRequest', `container not found ("${c}")`);
    }
    await this.runtime.populateRoot(rec.root);
    return { root: rec.root, container: c, record: rec, pod };
  }

  trackProcess(rec: PodRecord, child: ChildProcess): void {
    rec.procs.add(child);
    child.on('close', () => rec.procs.delete(child));
  }

  /**
   * Loopback address standing in for the pod's `port` (8443 the syncer proxy, 6443 kube-apiserver on the
   * pod's 127.0.0.1), started on first use; throws when nothing listens there.
   */
  async podEndpoint(ns: string, name: string, port = 8443): Promise<{ host: string; port: number }> {
    const pod = this.store.peek(PODS, ns, name);
    if (!pod) throw notFound(PODS, name);
    if (!(SERVED_PORTS as readonly number[]).includes(port)) throw new Error(`failed to connect to localhost:${port} inside namespace "${ns}": connection refused`);
    const rec = this.pods.get(this.key(ns, name));
    if (!rec || rec.uid !== pod.metadata.uid || !rec.running || !rec.serving) {
      throw new Error(`pod ${ns}/${name} does not serve on ${port}: its syncer is not running`);
    }
    let started = rec.servers.get(port);
    if (!started) {
      const server = createEndpointServer(rec.serving[port as ServedPort], this.opts.vclusterKubernetesVersion);
      started = new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      });
      rec.servers.set(port, started);
    }
    const server = await started;
    return { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  }

  /** The certificate chain (PEM) the pod presents on `port` right now. */
  servedChain(ns: string, name: string, port: ServedPort): string | undefined {
    return this.pods.get(this.key(ns, name))?.serving?.[port].cert;
  }

  podRoot(ns: string, name: string): string {
    const rec = this.pods.get(this.key(ns, name));
    if (!rec) throw new Error(`pod ${ns}/${name} is not running on the simulated node`);
    return rec.root;
  }

  logs(ns: string, name: string, previous: boolean): string {
    const pod = this.store.peek(PODS, ns, name);
    if (!pod) throw notFound(PODS, name);
    const rec = this.pods.get(this.key(ns, name));
    const lines = rec ? (previous ? rec.previousLogs : rec.logs) : [];
    if (previous && rec && rec.restartCount === 0) {
      throw badRequest(`previous terminated container "${containerNames(pod)[0]}" in pod "${name}" not found`);
    }
    return lines.map((l) => `${l}\n`).join('');
  }

  /** Creates the PVC object and its directory (idempotent), as the StatefulSet controller does. */
  ensurePvc(ns: string, claim: string, template: any, labels: Record<string, string>): void {
    if (!this.store.peek(PVCS, ns, claim)) {
      this.store.create(PVCS, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: claim, namespace: ns, labels, annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } },
        spec: { ...(template?.spec ?? {}), volumeName: `pvc-${randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5')}`, storageClassName: 'standard', volumeMode: 'Filesystem' },
        status: { phase: 'Bound', accessModes: template?.spec?.accessModes ?? ['ReadWriteOnce'], capacity: template?.spec?.resources?.requests ?? { storage: '5Gi' } },
      });
    }
    const parked = this.pvcParkedDir(ns, claim);
    if (!this.pvcUsers.has(parked)) mkdirSync(parked, { recursive: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.store.off('event', this.onEvent);
    if (this.neverReadyTimer) clearInterval(this.neverReadyTimer);
    for (const rec of [...this.pods.values()]) {
      rec.gone = true;
      for (const t of rec.timers) clearTimeout(t);
      this.stopProcesses(rec);
    }
    await Promise.allSettled([...this.pending]);
  }
}
