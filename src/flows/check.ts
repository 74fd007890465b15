// check: start the inspection workers, connect, read every vCluster in scope
// (check-vclusters.ts), and grade each report from its typed fields.
// Light on purpose: a fleet check's workers boot while the Kubernetes client and the PKI code
// load, so this module imports neither (both come with check-vclusters.ts, after the pool).
import { EXIT } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { CertRow } from '../pki/types.js';
import { defaultThreads, startInspectPool, type InspectPool } from './inspect-pool.js';

/** auto: Secret, plus /data/pki of every Ready pod for one named vCluster; both: that for every vCluster. */
export type Source = 'auto' | 'both' | 'secret' | 'pod';
export const SOURCES: readonly Source[] = ['auto', 'both', 'secret', 'pod'];

/**
 * A vCluster's grade. ATTENTION: something needs looking at soon, without being broken yet: a
 * certificate within --warn-within, the Secret and a disk differing, or an unfinished change.
 */
export type Result = 'OK' | 'ATTENTION' | 'BROKEN' | 'ERROR';

export interface CheckOptions {
  name?: string;
  /** default: the kubeconfig context's namespace */
  namespace?: string;
  allNamespaces?: boolean;
  labelSelector?: string;
  source: Source;
  warnWithinMs: number;
  now?: Date;
  concurrency?: number;
  /** worker threads for certificate inspection in fleet mode (default: one per spare core) */
  threads?: number;
  /** Secrets per list request (0: all in one) */
  chunkSize?: number;
  /** a fleet check finding no vCluster reports none instead of failing (one context of several) */
  noneIsEmpty?: boolean;
}

export interface DriftEntry {
  file: string;
  kind: 'only-in-secret' | 'only-on-disk' | 'differs';
  /** the replica whose /data/pki differs from the Secret */
  pod: string;
}

/** A change (rotate, rotate-ca, restore) committed to the Secret whose run never finished. */
export interface UnfinishedChange {
  command: string;
  /** 'committed': the change itself; 'rolling-back': its rollback */
  state: 'committed' | 'rolling-back';
  /** the backup taken before it */
  stamp: string;
  committedAt: Date;
}

/** A graceful CA rollover's open window (rotate-ca --graceful, not yet --finalize). */
export type { RolloverWindow } from '../pki/secret-digest.js';
import type { RolloverWindow } from '../pki/secret-digest.js';

export interface VClusterReport {
  name: string;
  /** the kubeconfig context it was found through (set by a multi-context check) */
  context?: string;
  namespace: string;
  version: string;
  phase: string;
  /** where the rows were read: e.g. "secret vc/demo-certs + /data/pki in pod demo-0" */
  source: string;
  result: Result;
  /** set when the vCluster could not be checked (the result is then ERROR) */
  error?: string;
  warnings: string[];
  drift: DriftEntry[];
  unfinished?: UnfinishedChange;
  rollover?: RolloverWindow;
  certificates: CertRow[];
}

export interface CheckOutcome {
  reports: VClusterReport[];
  exitCode: number;
  /** worker threads that helped inspect, and how many PKIs they did */
  threads: number;
  offloaded: number;
  /** API requests and execs made */
  requests: number;
  execs: number;
}

const BROKEN_STATUSES = new Set<CertRow['status']>(['EXPIRED', 'NOT YET VALID', 'INVALID']);

/** The grade of one report: an error first, then broken certificates, then anything needing attention. */
export function grade(r: Pick<VClusterReport, 'error' | 'certificates' | 'drift' | 'unfinished' | 'rollover'>): Result {
  if (r.error !== undefined) return 'ERROR';
  if (r.certificates.some((c) => BROKEN_STATUSES.has(c.status))) return 'BROKEN';
  if (r.certificates.some((c) => c.status === 'EXPIRING') || r.drift.length > 0 || r.unfinished || r.rollover) return 'ATTENTION';
  return 'OK';
}

export const EXIT_OF: Record<Result, number> = { OK: EXIT.OK, ATTENTION: EXIT.ATTENTION, BROKEN: EXIT.BROKEN, ERROR: EXIT.CANNOT_RUN };

/**
 * The check command. A fleet check (no name) starts its worker threads first, so they boot while
 * `connect` loads the Kubernetes client; they are stopped when the check ends, however it ends.
 */
export async function runCheck(connect: () => Promise<Kube>, opts: CheckOptions, sharedPool?: Promise<InspectPool>): Promise<CheckOutcome> {
  // A shared pool (several contexts checked at once) belongs to the caller, who closes it.
  const poolStarted: Promise<InspectPool> | undefined = sharedPool ?? (opts.name ? undefined : startInspectPool(opts.threads ?? defaultThreads()));
  poolStarted?.catch(() => {}); // awaited by checkVClusters
  try {
    const kube = await connect();
    const { checkVClusters } = await import('./check-vclusters.js');
    const reports = await checkVClusters(kube, { ...opts, namespace: opts.namespace ?? kube.namespace }, poolStarted);
    for (const r of reports) r.result = grade(r);
    const pool = poolStarted && await poolStarted;
    return {
      reports,
      exitCode: Math.max(EXIT.OK, ...reports.map((r) => EXIT_OF[r.result])),
      threads: pool?.threads ?? 0,
      offloaded: pool?.offloaded ?? 0,
      requests: kube.stats.requests,
      execs: kube.stats.execs,
    };
  } finally {
    // Not awaited: the workers stop while the report is written.
    if (!sharedPool) poolStarted?.then((pool) => pool.close()).catch(() => {});
  }
}
