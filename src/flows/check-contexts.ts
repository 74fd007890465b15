// check across several kubeconfig contexts (host clusters) at once: each context is a check of
// its own, so one unreachable or forbidden cluster is reported while the others complete.
import { availableParallelism } from 'node:os';
import { EXIT, UserError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { runCheck, type CheckOptions, type VClusterReport } from './check.js';
import { defaultThreads, startInspectPool, type InspectPool } from './inspect-pool.js';
import { collectGarbage } from './heap.js';

/** Why a context could not be checked, for the table, JSON and metrics. */
export type ContextFailure = 'unreachable' | 'forbidden' | 'unauthorized' | 'error';

export interface ContextOutcome {
  name: string;
  /** vClusters found through this context */
  vclusters: number;
  exitCode: number;
  error?: string;
  failure?: ContextFailure;
}

export interface FleetOutcome {
  contexts: ContextOutcome[];
  /** every context's reports, each with its context, in the order of `contexts` */
  reports: VClusterReport[];
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
  requests: number;
  execs: number;
}

export interface ContextsOptions extends CheckOptions {
  /** contexts checked at once (default: defaultContextConcurrency()) */
  contextConcurrency?: number;
}

/**
 * One context at a time per CPU, 2 to 4: each context in flight holds its lists and a chunk or two
 * of Secrets, and more of them than cores only overlaps waiting for the API servers. On 2 CPUs,
 * 10 x 200 vClusters: 2 at once peak at ~290 MB, 4 at ~330 MB, in the same time.
 */
export function defaultContextConcurrency(cpus = availableParallelism()): number {
  return Math.min(4, Math.max(2, cpus));
}

async function failureOf(err: UserError): Promise<ContextFailure> {
  if (err.reason === 'forbidden') return 'forbidden';
  const { apiStatusCode } = await import('../kube/client.js');
  const status = apiStatusCode(err);
  if (status === 401) return 'unauthorized';
  // No HTTP answer at all: the cluster could not be reached (refused, timeout, DNS, TLS).
  if (status === undefined && err.cause !== undefined) return 'unreachable';
  return 'error';
}

/**
 * Checks `contexts` with at most `contextConcurrency` at once. The certificates of every context
 * are inspected by one shared worker pool; a named vCluster is read as a single check would.
 */
export async function runCheckContexts(
  contexts: string[], connect: (context: string) => Promise<Kube>, opts: ContextsOptions, sharedPool?: Promise<InspectPool>,
): Promise<FleetOutcome> {
  const startedAt = new Date();
  // A long-lived caller (serve) keeps one pool for all its checks: threads are not restarted each time.
  const pool: Promise<InspectPool> | undefined = opts.name ? undefined : sharedPool ?? startInspectPool(opts.threads ?? defaultThreads());
  pool?.catch(() => {});
  const now = opts.now ?? startedAt;
  const outcomes: Array<{ ctx: ContextOutcome; reports: VClusterReport[]; requests: number; execs: number }> = new Array(contexts.length);
  let next = 0;
  const worker = async () => {
    while (next < contexts.length) {
      const i = next++;
      const name = contexts[i]!;
      try {
        const o = await runCheck(() => connect(name), { ...opts, now, noneIsEmpty: !opts.name }, pool);
        for (const r of o.reports) r.context = name;
        outcomes[i] = { ctx: { name, vclusters: o.reports.length, exitCode: o.exitCode }, reports: o.reports, requests: o.requests, execs: o.execs };
        // A context's lists and pages are garbage now: collect before the next one piles on top.
        if (contexts.length > 1) collectGarbage();
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        outcomes[i] = {
          ctx: { name, vclusters: 0, exitCode: err.exitCode, error: err.message, failure: await failureOf(err) },
          reports: [], requests: 0, execs: 0,
        };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.contextConcurrency ?? defaultContextConcurrency()), contexts.length) }, worker));
  } finally {
    if (!sharedPool) pool?.then((p) => p.close()).catch(() => {});
  }
  return {
    contexts: outcomes.map((o) => o.ctx),
    reports: outcomes.flatMap((o) => o.reports),
    exitCode: Math.max(EXIT.OK, ...outcomes.map((o) => o.ctx.exitCode)),
    startedAt,
    finishedAt: new Date(),
    requests: outcomes.reduce((n, o) => n + o.requests, 0),
    execs: outcomes.reduce((n, o) => n + o.execs, 0),
  };
}
