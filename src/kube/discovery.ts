// Finds vClusters the way upstream's `vcluster` CLI does (pkg/cli/find/find.go):
// StatefulSets, then Deployments, labelled app=vcluster; the name is the `release` label.
import { load as loadYaml } from 'js-yaml';
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { apiStatusCode } from './client.js';
import type { V1Deployment, V1Pod, V1Secret, V1StatefulSet } from './k8s.js';
import type { SecretIndex } from './secret-index.js';

export type Distro = 'k8s' | 'k3s' | 'k0s';

export interface VCluster {
  name: string;
  namespace: string;
  kind: 'StatefulSet' | 'Deployment';
  /** as listed: the API's JSON (times are strings, not Dates); the same for `pods` */
  object: V1StatefulSet | V1Deployment;
  /** syncer image tag without a leading v, '' when unknown */
  version: string;
  image: string;
  /** upstream's status string: Running, Paused, ScaledDown, CrashLoopBackOff, Pending, ... */
  status: string;
  pods: V1Pod[];
  replicas: number;
  /** /data is a PersistentVolumeClaim (StatefulSet volumeClaimTemplate or a PVC volume) */
  persistent: boolean;
  distro: Distro;
  warnings: string[];
}

export interface FindOptions {
  name?: string;
  namespace: string;
  allNamespaces?: boolean;
  labelSelector?: string;
  /** Secrets listed for this scope (or being listed); spares one GET per vCluster */
  secrets?: SecretIndex | Promise<SecretIndex>;
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateName(name: string): void {
  if (name.length > 63 || !DNS1123.test(name)) {
    throw new UserError(`"${name}" is not a valid vCluster name: use lowercase letters, digits and '-', at most 63 characters (RFC 1123 label)`);
  }
}

/** Image tag → version as upstream reads it, but tolerant of registry ports and digests. */
export function versionFromImage(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon <= lastSlash) return '';
  return noDigest.slice(colon + 1).replace(/^v/, '');
}

/** True when `version` parses as semver and is below 0.27 (upstream's certs commands start at 0.27.0-alpha.9). */
export function isOlderThanCertsCommands(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj === 0 && min < 27;
}

/** kubectl's pod status column, reduced to what matters here. */
export function podStatus(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  let reason = pod.status?.reason || pod.status?.phase || 'Unknown';
  const init = pod.status?.initContainerStatuses ?? [];
  for (const [i, cs] of init.entries()) {
    if (cs.state?.terminated?.exitCode === 0) continue;
    if (cs.state?.waiting?.reason && cs.state.waiting.reason !== 'PodInitializing') return `Init:${cs.state.waiting.reason}`;
    if (cs.state?.terminated) return `Init:${cs.state.terminated.reason || 'Error'}`;
    return `Init:${i}/${init.length}`;
  }
  for (const cs of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  return reason;
}

export function isPodReady(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp &&
    pod.status?.phase === 'Running' &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function objectIsPaused(obj: V1StatefulSet | V1Deployment): boolean {
  return obj.metadata?.annotations?.['loft.sh/paused'] === 'true' || obj.metadata?.labels?.['loft.sh/sleep-mode'] === 'true';
}

function isPersistent(obj: V1StatefulSet | V1Deployment, kind: string): boolean {
  const spec = obj.spec?.template?.spec;
  const syncer = spec?.containers?.find((c) => c.name === 'syncer');
  if (!syncer?.volumeMounts?.some((m) => m.name === 'data')) return false;
  if (kind === 'StatefulSet' && (obj as V1StatefulSet).spec?.volumeClaimTemplates?.some((t) => t.metadata?.name === 'data')) return true;
  return !!spec?.volumes?.some((v) => v.name === 'data' && v.persistentVolumeClaim);
}

/** Sorts pods so that ordinal 0 comes first (upstream's `check` reads `<name>-0`). */
function sortPods(pods: V1Pod[]): V1Pod[] {
  const ord = (p: V1Pod) => {
    const m = /-(\d+)$/.exec(p.metadata?.name ?? '');
    return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
  };
  return [...pods].sort((a, b) => ord(a) - ord(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

async function detectDistro(kube: Kube, name: string, namespace: string, index?: SecretIndex): Promise<{ distro: Distro; warning?: string }> {
  let secret: V1Secret | undefined = index?.get(namespace, `vc-config-${name}`);
  if (!secret) try {
    secret = await kube.core.readNamespacedSecret({ name: `vc-config-${name}`, namespace }, kube.opts);
  } catch (err) {
    const code = apiStatusCode(err);
    if (code === 404) return { distro: 'k8s' };
    if (code === 403) return { distro: 'k8s', warning: `cannot read secret vc-config-${name} to detect the distro (forbidden); assuming k8s` };
    throw kube.explain(`read secret ${namespace}/vc-config-${name}`, err);
  }
  const raw = secret.data?.['config.yaml'];
  if (!raw) return { distro: 'k8s' };
  let distro = distroOfConfig.get(raw);
  if (distro === undefined) {
    distro = readDistro(raw);
    if (distroOfConfig.size >= 1024) distroOfConfig.clear();
    distroOfConfig.set(raw, distro);
  }
  return distro === 'unreadable'
    ? { distro: 'k8s', warning: `secret vc-config-${name} holds no readable config.yaml; assuming the k8s distro` }
    : { distro };
}

/**
 * The distro of each distinct config.yaml (base64, as stored), read once per process. The chart
 * renders config.yaml from the Helm values alone, so vClusters installed from the same values have
 * the same bytes, and a fleet check parses each of those once.
 */
const distroOfConfig = new Map<string, Distro | 'unreadable'>();

function readDistro(configBase64: string): Distro | 'unreadable' {
  try {
    const cfg = loadYaml(Buffer.from(configBase64, 'base64').toString('utf8'), { json: true }) as { controlPlane?: { distro?: Record<string, { enabled?: boolean }> } };
    const d = cfg?.controlPlane?.distro ?? {};
    if (d.k3s?.enabled) return 'k3s';
    if (d.k0s?.enabled) return 'k0s';
    return 'k8s';
  } catch {
    return 'unreadable';
  }
}

function combineSelector(extra?: string): string {
  return extra ? `app=vcluster,${extra}` : 'app=vcluster';
}

/** Promise.all, except that when several reject the first in order (not in time) is thrown. */
async function settledInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Lists every vCluster in scope; with a name, only those whose release label matches. */
export async function findVClusters(kube: Kube, opts: FindOptions): Promise<VCluster[]> {
  if (opts.name) validateName(opts.name);
  const labelSelector = combineSelector(opts.labelSelector);
  const where = opts.allNamespaces ? 'all namespaces' : `namespace ${opts.namespace}`;
  // The pods list goes out with the other two (it does not depend on them), but its error only
  // counts once there is a vCluster to list pods for. All three are taken as the API's JSON
  // (Kube.listJson): what is read here are names, labels, images and counts, never times.
  const podsListed = kube.listJson<V1Pod>(`list vCluster pods in ${where}`, (o) =>
    opts.allNamespaces
      ? kube.core.listPodForAllNamespaces({ labelSelector }, o)
      : kube.core.listNamespacedPod({ namespace: opts.namespace, labelSelector }, o));
  podsListed.catch(() => {});
  // Both settle before either error counts, so a context where both fail always reports the
  // StatefulSets error, whichever answer came first.
  const [stsList, depList] = await settledInOrder([
    kube.listJson<V1StatefulSet>(`list StatefulSets in ${where}`, (o) =>
      opts.allNamespaces
        ? kube.apps.listStatefulSetForAllNamespaces({ labelSelector }, o)
        : kube.apps.listNamespacedStatefulSet({ namespace: opts.namespace, labelSelector }, o)),
    kube.listJson<V1Deployment>(`list Deployments in ${where}`, (o) =>
      opts.allNamespaces
        ? kube.apps.listDeploymentForAllNamespaces({ labelSelector }, o)
        : kube.apps.listNamespacedDeployment({ namespace: opts.namespace, labelSelector }, o)),
  ]);
  const candidates: Array<{ kind: 'StatefulSet' | 'Deployment'; obj: V1StatefulSet | V1Deployment }> = [
    ...stsList.items.map((obj) => ({ kind: 'StatefulSet' as const, obj })),
    ...depList.items.map((obj) => ({ kind: 'Deployment' as const, obj })),
  ];
  const seen = new Set<string>();
  const picked = candidates.filter(({ obj }) => {
    const release = obj.metadata?.labels?.release;
    if (!release) return false;
    if (opts.name && release !== opts.name) return false;
    const key = `${obj.metadata?.namespace}/${release}`;
    if (seen.has(key)) return false; // a StatefulSet wins over a Deployment of the same release
    seen.add(key);
    return true;
  });
  if (picked.length === 0) return [];
  const podList = await podsListed;
  const secrets = await opts.secrets;

  return Promise.all(picked.map(async ({ kind, obj }) => {
    const name = obj.metadata!.labels!.release!;
    const namespace = obj.metadata!.namespace!;
    const pods = sortPods(podList.items.filter((p) =>
      p.metadata?.namespace === namespace && p.metadata?.labels?.release === name));
    const syncer = obj.spec?.template?.spec?.containers?.find((c) => c.name === 'syncer');
    const image = syncer?.image ?? '';
    const version = versionFromImage(image);
    const replicas = obj.spec?.replicas ?? 1;
    let status: string;
    if (objectIsPaused(obj)) status = 'Paused';
    else if (pods.length === 0) status = replicas === 0 ? 'ScaledDown' : 'Pending';
    else status = podStatus(pods[pods.length - 1]!); // upstream: the last pod listed wins
    const { distro, warning } = await detectDistro(kube, name, namespace, secrets);
    const warnings: string[] = [];
    if (warning) warnings.push(warning);
    if (!syncer) warnings.push(`${kind} ${namespace}/${obj.metadata?.name} has no container named "syncer"`);
    if (isOlderThanCertsCommands(version)) {
      warnings.push(`vCluster ${name} runs ${version}, older than 0.27 where upstream's certs commands start; its PKI layout may differ`);
    }
    return { name, namespace, kind, object: obj, version, image, status, pods, replicas, persistent: isPersistent(obj, kind), distro, warnings };
  }));
}

/** Exactly one vCluster by name, with the errors a user needs when it is not that simple. */
export async function findOneVCluster(kube: Kube, opts: FindOptions & { name: string }): Promise<VCluster> {
  const found = await findVClusters(kube, opts);
  if (found.length === 0) {
    const where = opts.allNamespaces ? 'any namespace' : `namespace ${opts.namespace}`;
    const hint = opts.allNamespaces ? 'check the name with "kubectl get sts,deploy -A -l app=vcluster"' : 'pass -n NAMESPACE, or -A to search all namespaces';
    throw new UserError(`vCluster "${opts.name}" not found in ${where}; ${hint}`);
  }
  if (found.length > 1) {
    const list = found.map((v) => v.namespace).join(', ');
    throw new UserError(`vCluster "${opts.name}" exists in several namespaces (${list}); pick one with -n NAMESPACE`);
  }
  return found[0]!;
}

/** The distro gate shared by every command: only the k8s distro has the PKI we handle. */
export function requireK8sDistro(vc: VCluster): void {
  if (vc.distro !== 'k8s') {
    throw new UserError(`vCluster ${vc.namespace}/${vc.name} uses the ${vc.distro} distro, which is not supported: only the k8s distro's PKI (/data/pki) is handled (upgrade to vCluster >= 0.33 to migrate it to k8s)`);
  }
}
