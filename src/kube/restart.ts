// Restarts a vCluster so every component reloads the PKI from the Secret, then waits
// until it is back. Leaf rotation keeps the CA, so replicas can roll one at a time;
// a CA change restarts everything together (old and new CAs cannot talk).
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { isPodReady, podStatus, type VCluster } from './discovery.js';
import { PatchStrategy, setHeaderOptions, type V1Pod } from './k8s.js';

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

async function patchTemplateAnnotation(kube: Kube, vc: VCluster, value: string): Promise<void> {
  const body = { spec: { template: { metadata: { annotations: { [ROTATION_ANNOTATION]: value } } } } };
  const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, kube.opts);
  const name = vc.object.metadata!.name!;
  if (vc.kind === 'StatefulSet') {
    await kube.call(`patch statefulset ${vc.namespace}/${name}`, () => kube.apps.patchNamespacedStatefulSet({ name, namespace: vc.namespace, body }, opts));
  } else {
    await kube.call(`patch deployment ${vc.namespace}/${name}`, () => kube.apps.patchNamespacedDeployment({ name, namespace: vc.namespace, body }, opts));
  }
}

function usesOnDelete(vc: VCluster): boolean {
  return vc.kind === 'StatefulSet' && (vc.object as { spec?: { updateStrategy?: { type?: string } } }).spec?.updateStrategy?.type === 'OnDelete';
}

/** Restarts the control plane pods, then any deployed etcd pods, and waits for all to be Ready. */
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
  const restartEtcd = async () => {
    if (!etcdPods.length) return;
    say(`restarting ${etcdPods.length} deployed etcd pod(s)`);
    await Promise.all(etcdPods.map((p) => deletePod(kube, vc.namespace, p.metadata!.name!)));
  };

  if (opts.mode === 'all-at-once') {
    // A new CA: old and new members cannot talk, so etcd and the control plane go together.
    say(`deleting ${pods.length} pod(s) ${sel}`);
    await Promise.all([...pods.map((p) => deletePod(kube, vc.namespace, p.metadata!.name!)), restartEtcd()]);
    await Promise.all([
      waitForFreshReadyPods(kube, vc.namespace, sel, replicas, oldUids, deadline, opts.pollMs),
      etcdPods.length ? waitForFreshReadyPods(kube, vc.namespace, etcdSel, etcdPods.length, etcdUids, deadline, opts.pollMs) : undefined,
    ]);
    return;
  }
  if (replicas === 1) {
    say(`deleting pod ${pods[0]?.metadata?.name ?? sel}`);
    await Promise.all(pods.map((p) => deletePod(kube, vc.namespace, p.metadata!.name!)));
    await waitForFreshReadyPods(kube, vc.namespace, sel, replicas, oldUids, deadline, opts.pollMs);
  } else if (usesOnDelete(vc)) {
    // OnDelete StatefulSets do not roll on template changes: one pod at a time, highest ordinal first.
    const ordered = [...pods].sort((a, b) => (b.metadata!.name!).localeCompare(a.metadata!.name!, undefined, { numeric: true }));
    for (const p of ordered) {
      say(`restarting ${p.metadata!.name}`);
      const before = new Set((await listPods(kube, vc.namespace, sel)).map((x) => x.metadata!.uid!));
      await deletePod(kube, vc.namespace, p.metadata!.name!);
      const keep = new Set([...before].filter((u) => u === p.metadata!.uid));
      await waitForFreshReadyPods(kube, vc.namespace, sel, replicas, keep, deadline, opts.pollMs);
    }
  } else {
    // The annotation vCluster's own renewal watcher sets: the controller rolls replicas one by one.
    say(`rolling ${replicas} replicas (${ROTATION_ANNOTATION})`);
    await patchTemplateAnnotation(kube, vc, new Date().toISOString());
    await waitForFreshReadyPods(kube, vc.namespace, sel, replicas, oldUids, deadline, opts.pollMs);
  }

  // Leaf rotation keeps the CA: etcd may restart after the control plane, which trusts both.
  await restartEtcd();
  if (etcdPods.length) await waitForFreshReadyPods(kube, vc.namespace, etcdSel, etcdPods.length, etcdUids, deadline, opts.pollMs);
}
