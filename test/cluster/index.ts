// Simulated Kubernetes host cluster for tests and the demo. No container engine is needed: the API
// server is in-process HTTPS, pods are chroot trees with a static busybox, controllers and a simulated
// vCluster syncer run in the same process.
//
//   const cluster = await startCluster(opts?)             // HTTPS API on 127.0.0.1:<random port>
//   cluster.kubeconfigPath, cluster.url, cluster.caCert   // admin = mTLS client cert in system:masters
//   await cluster.addVCluster({ name, namespace, kind?, replicas?, persistence?, version?, image?, pki?,
//                               createSecret?, deployedEtcd?, etcdReplicas?, startupRenewal?, certWatchIntervalMs?, writeKubeconfigSecret?,
//                               distro?, paused?, updateStrategy? })
//   await cluster.waitReady(ns, workloadOrPodName, timeoutMs?)
//   await cluster.addUser('viewer', { allow: [{ verbs: ['get', 'list'], resources: ['secrets'] }] }) // -> kubeconfig path
//   await cluster.podEndpoint(ns, pod, 8443 | 6443)       // {host, port}: the syncer proxy / kube-apiserver, mTLS
//   cluster.servedChain(ns, pod, port), cluster.etcdReadyHistory(ns, name), cluster.deletePod(ns, pod)
//   cluster.faults.add({ staleServing: { namespace, name, port: 6443 } }) // a pod keeps its old certificate
//   cluster.faults.add({ verb: 'update', resource: 'secrets', status: 409, times: 1 })
//   cluster.faults.add({ exec: true, commandIncludes: 'tar', dropAfterBytes: 1000 })
//   cluster.faults.add({ portForward: true, pod: 'vc-0' }); cluster.faults.add({ podNeverReady: { namespace, name } })
//   cluster.requests                                      // every API request, exec and port-forward (verb, resource, code, time)
//   cluster.store                                         // objects: get/list/create/update/mutate/delete, 'event' emitter
//   cluster.podRoot(ns, pod), cluster.pvcDir(ns, claim), cluster.podLogs(ns, pod, previous?), cluster.describe(ns, name)
//   await cluster.close()
//
// Exec and port-forward use WebSockets (v5/v4.channel.k8s.io): kubectl >= 1.30 and @kubernetes/client-node;
// kubectl 1.31+ port-forward tunnels SPDY/3.1 through a WebSocket, which is served too. Older kubectl speaks
// plain SPDY, which this simulator does not implement (answered with a 400 Status).
// What it models and what not, with the upstream file each behaviour follows: README.md beside this file.
// Tests import the simulator through this file only.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { Store, KObject } from './store.js';
import { typeByKind } from './resources.js';
import { ApiServer } from './apiserver.js';
import { Kubelet, type SyncerBehaviour } from './kubelet.js';
import { Controllers, isPodReady } from './controllers.js';
import { ContainerRuntime } from './runtime.js';
import { Faults, RequestRecord } from './faults.js';
import { PolicyRule, SimUser } from './auth.js';
import { generateClusterTls, ClusterTls } from './tls.js';
import { VClusterOptions, certsSecret, chartObjects } from './vcluster.js';

export type { VClusterOptions } from './vcluster.js';
export type { PolicyRule } from './auth.js';
export type { FaultRule, FaultHandle, RequestRecord, ApiFault, ExecFault, PortForwardFault, PodNeverReadyFault, StaleServingFault } from './faults.js';
export { hasStartupRenewal, hasCertWatcher, rotationLeaseName, tryAcquireRotationLease, leafsNeedRenewal, VCLUSTER_MANAGER, ROTATION_ANNOTATION } from './renewal.js';
export { managersOf } from './managed-fields.js';
export { PROXY_PORT, APISERVER_PORT } from './serving.js';
export type { KObject } from './store.js';
export { Store } from './store.js';
export { Faults } from './faults.js';
export { validatePki, ISSUER_OF, KUBECONFIGS } from './syncer.js';
export { kubectlPortForward } from './testutil.js';
export { generatePki, buildKubeconfig, type PkiOptions } from './pkigen.js';
export { secretDataToFiles } from './certmap.js';
export { RESOURCE_TYPES, typeByKind } from './resources.js';

export interface StartClusterOptions {
  /** where pod trees, volumes and kubeconfigs live; a temp dir (removed on close) by default */
  stateDir?: string;
  /** where to write the admin kubeconfig (default STATE/kubeconfig) */
  kubeconfigPath?: string;
  /** namespace of the admin kubeconfig's context (default 'default') */
  namespace?: string;
  /** container start delay after a pod is created (default 10 ms) */
  podStartDelayMs?: number;
  /** how long a deleted pod stays Terminating (default 30 ms; 0 = removed at once) */
  podTerminationDelayMs?: number;
  /** first CrashLoopBackOff delay, doubling up to 8x (default 200 ms) */
  crashBackoffMs?: number;
  /** version the vCluster endpoint (/version on a pod's 8443) reports (default v1.33.4) */
  vclusterKubernetesVersion?: string;
}

export interface AddUserOptions {
  allow: PolicyRule[];
  groups?: string[];
  /** namespace of the user's kubeconfig context (default: the cluster's) */
  namespace?: string;
}

export interface VClusterHandle {
  name: string;
  namespace: string;
  kind: 'StatefulSet' | 'Deployment';
  /** names of the control-plane pods right now */
  podNames(): string[];
}

const PODS = typeByKind('Pod');
const NAMESPACES = typeByKind('Namespace');
const SERVICES = typeByKind('Service');
const STS = typeByKind('StatefulSet');
const DEPLOY = typeByKind('Deployment');

export class SimCluster {
  readonly store = new Store();
  readonly faults = new Faults();
  readonly requests: RequestRecord[] = [];
  url = '';
  kubeconfigPath = '';
  private readonly tokens = new Map<string, SimUser>();
  private readonly behaviours = new Map<string, SyncerBehaviour>();
  private readonly etcdHistory = new Map<string, { time: number; ready: number }[]>();
  private readonly runtime: ContainerRuntime;
  private readonly kubelet: Kubelet;
  private readonly controllers: Controllers;
  private api!: ApiServer;
  private tls!: ClusterTls;

  constructor(
    readonly stateDir: string,
    private readonly ownsStateDir: boolean,
    private readonly opts: StartClusterOptions,
  ) {
    this.runtime = new ContainerRuntime(stateDir);
    this.kubelet = new Kubelet(this.store, this.runtime, this.faults, {
      stateDir,
      podStartDelayMs: opts.podStartDelayMs ?? 10,
      podTerminationDelayMs: opts.podTerminationDelayMs ?? 30,
      crashBackoffMs: opts.crashBackoffMs ?? 200,
      vclusterKubernetesVersion: opts.vclusterKubernetesVersion ?? 'v1.33.4',
      behaviour: (ns, name) => this.behaviours.get(`${ns}/${name}`) ?? {},
    });
    this.controllers = new Controllers(this.store, this.kubelet);
    this.store.on('event', (ev) => {
      if (ev.resource === PODS && ev.object.metadata.labels?.app === 'vcluster-etcd') this.recordEtcd(ev.object.metadata.namespace as string, ev.object.metadata.labels.release ?? '');
    });
  }

  /** PEM of the host API server's CA. */
  get caCert(): string {
    return this.tls.caCert;
  }

  async start(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const [tls] = await Promise.all([generateClusterTls(), this.runtime.init()]);
    this.tls = tls;
    this.api = new ApiServer({ tls, store: this.store, kubelet: this.kubelet, runtime: this.runtime, faults: this.faults, requests: this.requests, tokens: this.tokens });
    this.url = await this.api.listen();
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) this.ensureNamespace(ns);
    this.kubeconfigPath = this.opts.kubeconfigPath ?? join(this.stateDir, 'kubeconfig');
    await this.writeKubeconfig(this.kubeconfigPath, 'admin', { 'client-certificate-data': b64(tls.adminCert), 'client-key-data': b64(tls.adminKey) }, this.opts.namespace ?? 'default');
  }

  private async writeKubeconfig(path: string, user: string, credentials: Record<string, string>, namespace: string): Promise<void> {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sim', cluster: { server: this.url, 'certificate-authority-data': b64(this.tls.caCert) } }],
      users: [{ name: user, user: credentials }],
      contexts: [{ name: `${user}@sim`, context: { cluster: 'sim', user, namespace } }],
      'current-context': `${user}@sim`,
      preferences: {},
    };
    await writeFile(path, toYaml(config), { mode: 0o600 });
  }

  ensureNamespace(ns: string): void {
    if (this.store.peek(NAMESPACES, undefined, ns)) return;
    this.store.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    this.api.ensureDefaultServiceAccount(ns);
  }

  /** A bearer-token user allowed only what `allow` says; returns the path of its kubeconfig. */
  async addUser(name: string, opts: AddUserOptions): Promise<string> {
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, { name, groups: [...(opts.groups ?? []), 'system:authenticated'], rules: opts.allow });
    const path = join(this.stateDir, `kubeconfig-${name}`);
    await this.writeKubeconfig(path, name, { token }, opts.namespace ?? this.opts.namespace ?? 'default');
    return path;
  }

  private recordEtcd(namespace: string, name: string): void {
    const ready = this.store.list(PODS, namespace).filter((p) => p.metadata.labels?.app === 'vcluster-etcd' && p.metadata.labels.release === name && !p.metadata.deletionTimestamp && isPodReady(p)).length;
    const key = `${namespace}/${name}`;
    const history = this.etcdHistory.get(key) ?? [];
    if (history[history.length - 1]?.ready !== ready) history.push({ time: Date.now(), ready });
    this.etcdHistory.set(key, history);
  }

  /** How many deployed etcd members of a vCluster were Ready, at every change (for quorum assertions). */
  etcdReadyHistory(namespace: string, name: string): { time: number; ready: number }[] {
    return [...(this.etcdHistory.get(`${namespace}/${name}`) ?? [])];
  }

  /**
   * Changes what the syncer does from its next start on, e.g. a vCluster that started when its leafs
   * had more than 90 days left and has run since (no start-up renewal yet, then the version's rule).
   */
  setSyncerBehaviour(namespace: string, name: string, behaviour: Partial<SyncerBehaviour>): void {
    const key = `${namespace}/${name}`;
    this.behaviours.set(key, { ...this.behaviours.get(key), ...behaviour });
  }

  /** Creates what `helm install` of the vCluster chart creates, plus `<name>-certs` when `pki` is given. */
  async addVCluster(opts: VClusterOptions): Promise<VClusterHandle> {
    const { name, namespace } = opts;
    this.behaviours.set(`${namespace}/${name}`, {
      startupRenewal: opts.startupRenewal, certWatchIntervalMs: opts.certWatchIntervalMs, writeKubeconfigSecret: opts.writeKubeconfigSecret,
    });
    const { workload, objects } = chartObjects(opts);
    this.ensureNamespace(namespace);
    if (opts.pki && opts.createSecret === false) {
      if (!(opts.persistence ?? workload.kind === 'StatefulSet')) throw new Error('createSecret: false needs persistence (the PKI is put on the PVCs)');
      // Seed each replica's PVC before its pod exists: the syncer then creates the secret from the files.
      const replicas = opts.replicas ?? 1;
      for (let i = 0; i < replicas; i++) {
        const claim = `data-${name}-${i}`;
        this.kubelet.ensurePvc(namespace, claim, workload.spec.volumeClaimTemplates[0], workload.spec.selector.matchLabels);
        for (const [file, content] of opts.pki) {
          const target = join(this.kubelet.pvcDir(namespace, claim), 'pki', file);
          await mkdir(join(target, '..'), { recursive: true });
          await writeFile(target, content, { mode: 0o644 });
        }
      }
    }
    for (const obj of objects) {
      this.api.createObject(obj);
      if (obj.kind === 'Service' && obj.metadata.name === name && opts.pki && opts.createSecret !== false) {
        const service = this.store.peek(SERVICES, namespace, name) as KObject;
        this.store.create(typeByKind('Secret'), certsSecret(name, namespace, opts.pki, service.metadata.uid));
      }
    }
    const kind = workload.kind as 'StatefulSet' | 'Deployment';
    const type = kind === 'StatefulSet' ? STS : DEPLOY;
    return {
      name,
      namespace,
      kind,
      podNames: () => {
        const owner = this.store.peek(type, namespace, name);
        if (!owner) return [];
        return this.store.list(PODS, namespace).filter((p) => this.ownedByWorkload(p, owner)).map((p) => p.metadata.name);
      },
    };
  }

  /**
   * Waits until the StatefulSet/Deployment `name` has all replicas updated, Running and Ready and no
   * pod terminating (no pods for 0 replicas), or, when no workload has that name, the pod `name` is Ready.
   */
  async waitReady(namespace: string, name: string, timeoutMs = 15_000): Promise<void> {
    const check = (): boolean => {
      const workload = this.store.peek(STS, namespace, name) ?? this.store.peek(DEPLOY, namespace, name);
      if (!workload) {
        const pod = this.store.peek(PODS, namespace, name);
        return Boolean(pod && !pod.metadata.deletionTimestamp && isPodReady(pod));
      }
      const replicas: number = workload.spec.replicas ?? 1;
      const pods = this.store.list(PODS, namespace).filter((p) => this.ownedByWorkload(p, workload));
      const s = workload.status ?? {};
      if ((s.observedGeneration ?? 0) < (workload.metadata.generation ?? 0)) return false;
      if (pods.length !== replicas || pods.some((p) => p.metadata.deletionTimestamp || !isPodReady(p))) return false;
      if ((s.replicas ?? 0) !== replicas || (s.readyReplicas ?? 0) !== replicas) return false;
      if (workload.kind === 'StatefulSet') return s.updatedReplicas === replicas && (replicas === 0 || s.updateRevision === pods[0].metadata.labels?.['controller-revision-hash']);
      return (s.updatedReplicas ?? 0) === replicas;
    };
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const onEvent = () => {
        if (!check()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${namespace}/${name} to be ready: ${this.describe(namespace, name)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.store.off('event', onEvent);
      };
      this.store.on('event', onEvent);
    });
  }

  private ownedByWorkload(pod: KObject, workload: KObject): boolean {
    const refs = pod.metadata.ownerReferences ?? [];
    if (refs.some((r) => r.uid === workload.metadata.uid)) return true;
    // Deployment pods are owned by a ReplicaSet that the Deployment owns.
    return refs.some((r) => {
      if (r.kind !== 'ReplicaSet') return false;
      const rs = this.store.peek(typeByKind('ReplicaSet'), pod.metadata.namespace, r.name);
      return Boolean(rs?.metadata.ownerReferences?.some((o) => o.uid === workload.metadata.uid));
    });
  }

  /** One line per pod of the workload (or the pod) with its status and last log line, for error messages. */
  describe(namespace: string, name: string): string {
    const pods = this.store.list(PODS, namespace).filter((p) => p.metadata.name === name || p.metadata.labels?.release === name);
    if (pods.length === 0) return 'no pods';
    return pods
      .map((p) => {
        const cs = p.status?.containerStatuses?.[0];
        const state = cs?.state?.waiting?.reason ?? (cs?.state?.running ? 'Running' : p.status?.phase);
        const logs = (() => {
          try {
            return this.kubelet.logs(namespace, p.metadata.name, false) || this.kubelet.logs(namespace, p.metadata.name, true);
          } catch {
            return '';
          }
        })();
        const last = logs.trim().split('\n').pop() ?? '';
        return `${p.metadata.name} ${state} ready=${cs?.ready ?? false} restarts=${cs?.restartCount ?? 0}${p.metadata.deletionTimestamp ? ' terminating' : ''}${last ? ` log: ${last}` : ''}`;
      })
      .join('; ');
  }

  /**
   * A loopback address standing in for the pod's `port`: 8443 the syncer proxy (its in-memory
   * certificate from server-ca), 6443 kube-apiserver (apiserver.crt). Both want client certificates.
   */
  podEndpoint(namespace: string, pod: string, port: 8443 | 6443 = 8443): Promise<{ host: string; port: number }> {
    return this.kubelet.podEndpoint(namespace, pod, port);
  }

  /** The PEM chain the pod presents on `port` now (undefined while its syncer is not running). */
  servedChain(namespace: string, pod: string, port: 8443 | 6443): string | undefined {
    return this.kubelet.servedChain(namespace, pod, port);
  }

  /** Deletes a pod gracefully, as `kubectl delete pod` does (no RBAC, no faults). */
  deletePod(namespace: string, pod: string): void {
    this.kubelet.deletePod(namespace, pod);
  }

  /** Host path of the pod's "/" (its /data is `${podRoot}/data`). */
  podRoot(namespace: string, pod: string): string {
    return this.kubelet.podRoot(namespace, pod);
  }

  /** Host path of a PVC's contents (inside its pod's tree while mounted). */
  pvcDir(namespace: string, claim: string): string {
    return this.kubelet.pvcDir(namespace, claim);
  }

  podLogs(namespace: string, pod: string, previous = false): string {
    return this.kubelet.logs(namespace, pod, previous);
  }

  /** Creates an object with the API server's defaulting (status, cluster IPs, ...), bypassing RBAC and faults. */
  createObject(obj: KObject): KObject {
    return this.api.createObject(obj);
  }

  async close(): Promise<void> {
    this.controllers.close();
    await this.api?.close();
    await this.kubelet.close();
    if (this.ownsStateDir) await rm(this.stateDir, { recursive: true, force: true });
  }
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<SimCluster> {
  const owns = !opts.stateDir;
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'sim-cluster-')));
  const cluster = new SimCluster(stateDir, owns, opts);
  try {
    await cluster.start();
  } catch (e) {
    await cluster.close().catch(() => undefined);
    throw e;
  }
  return cluster;
}
