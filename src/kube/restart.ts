// Restarts a vCluster so every component reloads the PKI from the Secret, then waits
// until it is back. Leaf rotation keeps the CA, so replicas and deployed etcd members roll
// one at a time (etcd keeps quorum); a CA change restarts everything together (old and new
// CAs cannot talk).
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { isPodReady, podStatus, type VCluster } from './discovery.js';
import { PatchStrategy, setHeaderOptions, type V1Pod } from './k8s.js';
import type { Permission } from './access.js';

export const ROTATION_ANNOTATION = 'vcluster.loft.sh/cert-rotation-at';

export type RestartMode = 'rolling' | 'all-at-once';

export interface RestartOptions {
  mode: RestartMode;
  timeoutMs: number;
  progress?: (line: string) => void;
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function selector(vc: VCluster): string {
  return `app=vcluster,release=${vc.name}`;
}

async function listPods(kube: Kube, namespace: string, labelSelector: string): Promise<V1Pod[]> {
  const list = await kube.call(`list pods ${labelSelector} in ${namespace}`, () => kube.core.listNamespacedPod({ namespace, labelSelector }, kube.opts));
  return list.items;
}

async function deletePod(kube: Kube, namespace: string, name: string): Promise<void> {
  await kube.call(`delete pod ${namespace}/${name}`, () => kube.core.deleteNamespacedPod({ name, namespace }, kube.opts), 'null');
}

/** Waits until `count` pods match, none is one of `oldUids`, and all are Ready. */
export async function waitForFreshReadyPods(kube: Kube, namespace: string, labelSelector: string, count: number, oldUids: Set<string>, deadline: number, pollMs = 300): Promise<V1Pod[]> {
  let last: V1Pod[] = [];
  while (Date.now() < deadline) {
    last = (await listPods(kube, namespace, labelSelector)).filter((p) => !p.metadata?.deletionTimestamp);
    const fresh = last.filter((p) => !oldUids.has(p.metadata?.uid ?? ''));
    if (fresh.length >= count && last.length === fresh.length && fresh.every(isPodReady)) return fresh;
    // A new pod that already crash-looped twice will not get better by waiting out --timeout.
    const looping = fresh.find((p) => (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff' && c.restartCount >= 2));
    if (looping) {
      throw new UserError(`pod ${namespace}/${looping.metadata?.name} crash-loops after the restart (${podStatus(looping)}); see "kubectl logs -n ${namespace} ${looping.metadata?.name} -c syncer --previous"`);
    }
    await sleep(pollMs);
  }
  const states = last.map((p) => `${p.metadata?.name} ${oldUids.has(p.metadata?.uid ?? '') ? 'not restarted' : podStatus(p)}${isPodReady(p) ? '' : ' (not Ready)'}`).join(', ') || 'no pods';
  throw new UserError(`pods ${labelSelector} in ${namespace} were not all restarted and Ready in time: ${states}`);
}

async function patchTemplateAnnotation(kube: Kube, namespace: string, kind: 'StatefulSet' | 'Deployment', name: string, value: string): Promise<void> {
  const body = { spec: { template: { metadata: { annotations: { [ROTATION_ANNOTATION]: value } } } } };
  const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, kube.opts);
  if (kind === 'StatefulSet') {
    await kube.call(`patch statefulset ${namespace}/${name}`, () => kube.apps.patchNamespacedStatefulSet({ name, namespace, body }, opts));
  } else {
    await kube.call(`patch deployment ${namespace}/${name}`, () => kube.apps.patchNamespacedDeployment({ name, namespace, body }, opts));
  }
}

function onDelete(sts: { spec?: { updateStrategy?: { type?: string } } } | undefined): boolean {
  return sts?.spec?.updateStrategy?.type === 'OnDelete';
}

/** A leaf rotation of several replicas rolls through the pod template (OnDelete StatefulSets pod by pod). */
function rollsByTemplate(vc: VCluster, mode: RestartMode): boolean {
  return mode === 'rolling' && vc.replicas > 1 && !(vc.kind === 'StatefulSet' && onDelete(vc.object as { spec?: { updateStrategy?: { type?: string } } }));
}

/** The permissions restartVCluster needs for this vCluster in this mode (the RBAC preflight asks for them). */
export function restartNeeds(vc: VCluster, mode: RestartMode, hasDeployedEtcd: boolean): Permission[] {
  const needs: Permission[] = [{ verb: 'list', resource: 'pods' }];
  const byTemplate = rollsByTemplate(vc, mode);
  if (byTemplate) needs.push({ verb: 'patch', resource: vc.kind === 'StatefulSet' ? 'statefulsets' : 'deployments', group: 'apps' });
  if (!byTemplate || hasDeployedEtcd) needs.push({ verb: 'delete', resource: 'pods' });
  // rollDeployedEtcd reads <name>-etcd to choose between its template and pod by pod.
  if (hasDeployedEtcd && mode === 'rolling') needs.push({ verb: 'get', resource: 'statefulsets', group: 'apps' }, { verb: 'patch', resource: 'statefulsets', group: 'apps' });
  return needs;
}

/** One pod at a time, highest ordinal first, each replacement Ready before the next goes. */
async function rollOneByOne(kube: Kube, namespace: string, sel: string, pods: V1Pod[], count: number, deadline: number, say: (l: string) => void, pollMs?: number): Promise<void> {
  const ordered = [...pods].sort((a, b) => (b.metadata!.name!).localeCompare(a.metadata!.name!, undefined, { numeric: true }));
  for (const p of ordered) {
    say(`restarting ${p.metadata!.name}`);
    await deletePod(kube, namespace, p.metadata!.name!);
    await waitForFreshReadyPods(kube, namespace, sel, count, new Set([p.metadata!.uid!]), deadline, pollMs);
  }
}

/**
 * A leaf rotation rolls the deployed etcd one member at a time, so quorum holds: through the
 * `<name>-etcd` template annotation upstream's watcher patches (pkg/certs/watcher.go), or pod by pod
 * when that StatefulSet updates OnDelete or is not there.
 */
async function rollDeployedEtcd(kube: Kube, vc: VCluster, pods: V1Pod[], deadline: number, say: (l: string) => void, pollMs?: number): Promise<void> {
  const sel = `app=vcluster-etcd,release=${vc.name}`;
  const name = `${vc.name}-etcd`;
  const sts = await kube.call(`read statefulset ${vc.namespace}/${name}`, () => kube.apps.readNamespacedStatefulSet({ name, namespace: vc.namespace }, kube.opts), 'null');
  const count = sts?.spec?.replicas ?? pods.length;
  if (!sts || onDelete(sts)) {
    say(`restarting ${pods.length} deployed etcd member(s) one at a time`);
    await rollOneByOne(kube, vc.namespace, sel, pods, count, deadline, say, pollMs);
    return;
  }
  say(`rolling ${count} deployed etcd member(s) one at a time (${ROTATION_ANNOTATION} on statefulset ${name})`);
  await patchTemplateAnnotation(kube, vc.namespace, 'StatefulSet', name, new Date().toISOString());
  await waitForFreshReadyPods(kube, vc.namespace, sel, count, new Set(pods.map((p) => p.metadata!.uid!)), deadline, pollMs);
}

/**
 * Restarts the control plane pods and any deployed etcd pods, and waits for all to be Ready. A CA
 * change restarts everything together; a leaf rotation rolls deployed etcd first, as upstream's
 * watcher does, then the control plane.
 */
export async function restartVCluster(kube: Kube, vc: VCluster, opts: RestartOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const say = opts.progress ?? (() => undefined);
  const sel = selector(vc);
  const pods = (await listPods(kube, vc.namespace, sel)).filter((p) => !p.metadata?.deletionTimestamp);
  const replicas = vc.replicas || pods.length || 1;
  const oldUids = new Set(pods.map((p) => p.metadata!.uid!));

  const etcdSel = `app=vcluster-etcd,release=${vc.name}`;
  const etcdPods = (await listPods(kube, vc.namespace, etcdSel)).filter((p) => !p.metadata?.deletionTimestamp);
  const etcdUids = new Set(etcdPods.map((p) => p.metadata!.uid!));

  if (opts.mode === 'all-at-once') {
    // A new CA: old and new members cannot talk, so etcd and the control plane go together.
    say(`deleting ${pods.length} pod(s) ${sel}${etcdPods.length ? ` and ${etcdPods.length} deployed etcd pod(s)` : ''}`);
    await Promise.all([...pods, ...etcdPods].map((p) => deletePod(kube, vc.namespace, p.metadata!.name!)));
    await Promise.all([
      waitForFreshReadyPods(kube, vc.namespace, sel, replicas, oldUids, deadline, opts.pollMs),
      etcdPods.length ? waitForFreshReadyPods(kube, vc.namespace, etcdSel, etcdPods.length, etcdUids, deadline, opts.pollMs) : undefined,
    ]);
    return;
  }

  // Leaf rotation keeps the CAs: every member trusts old and new certificates alike.
  if (etcdPods.length) await rollDeployedEtcd(kube, vc, etcdPods, deadline, say, opts.pollMs);
  if (replicas === 1) {
    say(`deleting pod ${pods[0]?.metadata?.name ?? sel}`);
    await Promise.all(pods.map((p) => deletePod(kube, vc.namespace, p.metadata!.name!)));
    await waitForFreshReadyPods(kube, vc.namespace, sel, replicas, oldUids, deadline, opts.pollMs);
  } else if (vc.kind === 'StatefulSet' && onDelete(vc.object as { spec?: { updateStrategy?: { type?: string } } })) {
    // OnDelete StatefulSets do not roll on template changes.
    await rollOneByOne(kube, vc.namespace, sel, pods, replicas, deadline, say, opts.pollMs);
  } else {
    // The annotation vCluster's own renewal watcher sets: the controller rolls replicas one by one.
    say(`rolling ${replicas} replicas (${ROTATION_ANNOTATION})`);
    await patchTemplateAnnotation(kube, vc.namespace, vc.kind, vc.object.metadata!.name!, new Date().toISOString());
    await waitForFreshReadyPods(kube, vc.namespace, sel, replicas, oldUids, deadline, opts.pollMs);
  }
}
