// Namespaces and vCluster names from the cluster, contexts from the kubeconfig: lazy (the
// Kubernetes client and the YAML parser load only here), bounded in time, and silent on errors.
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect } from '../flags.js';
import type { Candidate, LookupContext, Lookups } from './complete.js';

export function lookupTimeoutMs(): number {
  const v = Number(process.env.VCERTS_COMPLETION_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 2000;
}

type KubeHandle = Awaited<ReturnType<typeof connect>>;

async function withCluster<T>(ctx: LookupContext, fn: (kube: KubeHandle) => Promise<T>): Promise<T | undefined> {
  const ms = lookupTimeoutMs();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  const work = (async () => {
    const kube = await connect({ kubeconfig: ctx.kubeconfig, context: ctx.context, namespace: ctx.namespace, 'request-timeout': `${ms}ms` });
    return fn(kube);
  })().catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export const clusterLookups: Lookups = {
  async namespaces(ctx) {
    const list = await withCluster(ctx, (kube) => kube.call('list namespaces', () => kube.core.listNamespace({}, kube.opts)));
    return (list?.items ?? []).map((n) => ({ value: n.metadata?.name ?? '' })).filter((c) => c.value);
  },
  async vclusters(ctx) {
    const found = await withCluster(ctx, async (kube) => {
      const { findVClusters } = await import('../../kube/discovery.js');
      return findVClusters(kube, { namespace: kube.namespace, allNamespaces: ctx.allNamespaces });
    });
    const byName = new Map<string, string[]>();
    for (const vc of found ?? []) byName.set(vc.name, [...(byName.get(vc.name) ?? []), ctx.allNamespaces ? `${vc.namespace} ${vc.status}` : vc.status]);
    return [...byName].map(([value, d]) => ({ value, description: d.join(', ') }));
  },
  async contexts(ctx) {
    const files = ctx.kubeconfig ? [ctx.kubeconfig]
      : process.env.KUBECONFIG ? process.env.KUBECONFIG.split(delimiter).filter(Boolean)
        : [join(homedir(), '.kube', 'config')];
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const names: Candidate[] = [];
    for (const f of files) {
      try {
        const doc = parse(await readFile(f, 'utf8')) as { contexts?: Array<{ name?: string; context?: { cluster?: string; namespace?: string } }> };
        for (const c of doc?.contexts ?? []) if (c?.name) names.push({ value: c.name, description: c.context?.cluster ?? '' });
      } catch {
        // unreadable or not YAML: kubectl skips it too
      }
    }
    return names;
  },
};
