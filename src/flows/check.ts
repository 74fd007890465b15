// check: find the vClusters in scope, read each PKI (Secret, and /data/pki in a Ready
// pod when reachable), inspect every certificate, and grade the result.
import { EXIT, UserError } from '../errors.js';
import { diffPki, inspectPki } from '../pki/inspect.js';
import { filesFromSecretData } from '../pki/certmap.js';
import type { CertRow, PkiFiles } from '../pki/types.js';
import type { V1Secret } from '../kube/k8s.js';
import type { Kube } from '../kube/client.js';
import { findOneVCluster, findVClusters, isPodReady, requireK8sDistro, type VCluster } from '../kube/discovery.js';
import { certsSecretName, readPkiFromPod, readPkiFromSecret, PKI_DIR } from '../kube/pki-source.js';
import { SecretIndex } from '../kube/secret-index.js';
import { defaultThreads, startInspectPool, type InspectPool } from './inspect-pool.js';
import { STATE_ANNOTATION } from '../kube/secrets.js';

/** auto: Secret, plus /data/pki of a Ready pod for one named vCluster; both: that for every vCluster. */
export type Source = 'auto' | 'both' | 'secret' | 'pod';
export type Result = 'OK' | 'EXPIRING' | 'BROKEN' | 'ERROR';

export interface CheckOptions {
  name?: string;
  namespace: string;
  allNamespaces?: boolean;
  labelSelector?: string;
  source: Source;
  warnWithinMs: number;
  now?: Date;
  concurrency?: number;
  /** worker threads for certificate inspection in fleet mode (default: one per spare core) */
  threads?: number;
  /**
   * A pool the caller started earlier (so the workers boot while it connects); runCheck closes it.
   * Without one, a fleet check starts its own.
   */
  pool?: Promise<InspectPool>;
  /** Secrets per list request (0: all in one) */
  chunkSize?: number;
}

export interface DriftEntry {
  file: string;
  /** 'only-in-secret' | 'only-on-disk' | 'differs' */
  kind: 'only-in-secret' | 'only-on-disk' | 'differs';
}

export interface VClusterReport {
  name: string;
  namespace: string;
  version: string;
  phase: string;
  /** where the rows were read: e.g. "secret vc/demo-certs + pod demo-0" */
  source: string;
  result: Result;
  error?: string;
  warnings: string[];
  drift: DriftEntry[];
  certificates: CertRow[];
}

export interface CheckOutcome {
  reports: VClusterReport[];
  exitCode: number;
  /** worker threads that helped inspect, and how many PKIs they did */
  threads: number;
  offloaded: number;
}

/** Files that differ between the Secret and a pod's /data/pki. */
export function driftEntries(secret: PkiFiles, disk: PkiFiles): DriftEntry[] {
  const d = diffPki(secret, disk);
  return [
    ...d.onlyInA.map((file) => ({ file, kind: 'only-in-secret' as const })),
    ...d.onlyInB.map((file) => ({ file, kind: 'only-on-disk' as const })),
    ...d.differing.map((file) => ({ file, kind: 'differs' as const })),
  ].sort((a, b) => a.file.localeCompare(b.file));
}

function grade(rows: CertRow[], drift: DriftEntry[]): Result {
  if (rows.some((r) => r.status === 'EXPIRED' || r.status === 'NOT YET VALID' || r.status === 'INVALID')) return 'BROKEN';
  if (rows.some((r) => r.status === 'EXPIRING') || drift.length > 0) return 'EXPIRING';
  return 'OK';
}

const EXIT_OF: Record<Result, number> = { OK: EXIT.OK, EXPIRING: EXIT.EXPIRING, BROKEN: EXIT.BROKEN, ERROR: EXIT.USAGE };

/** Bad PKI content that makes the check itself incomplete (upstream would refuse to start). */
function contentError(vc: VCluster, emptyKeys: string[], rows: CertRow[]): string | undefined {
  if (emptyKeys.length) {
    return `secret ${vc.namespace}/${certsSecretName(vc.name)} has empty values for ${emptyKeys.join(', ')}; the vCluster will not start with them: restore a backup or run rotate`;
  }
  const unreadable = rows.filter((r) => r.problems.some((p) => /not (a )?PEM|malformed certificate|unreadable certificate/i.test(p)));
  if (unreadable.length) {
    return `${unreadable.map((r) => r.filename).join(', ')} in secret ${vc.namespace}/${certsSecretName(vc.name)} cannot be read as a PEM certificate; restore a backup or run rotate`;
  }
  return undefined;
}

async function checkOne(
  kube: Kube, vc: VCluster, opts: CheckOptions, now: Date, secrets: SecretIndex,
  pool: InspectPool | undefined, ahead: Ahead | undefined,
): Promise<VClusterReport> {
  const fleet = pool !== undefined;
  const report: VClusterReport = {
    name: vc.name, namespace: vc.namespace, version: vc.version, phase: vc.status,
    source: '', result: 'OK', warnings: [...vc.warnings], drift: [], certificates: [],
  };
  try {
    requireK8sDistro(vc);
    const wantsDisk = opts.source === 'pod' || opts.source === 'both' || (opts.source === 'auto' && !fleet);
    if (vc.status === 'Paused') {
      if (wantsDisk) {
        throw new UserError(`vCluster ${vc.namespace}/${vc.name} is paused: resume it ("vcluster resume ${vc.name} -n ${vc.namespace}") or read only its Secret with --source secret`);
      }
      report.warnings.push('paused: checked from its Secret');
    }
    const readyPod = vc.pods.find(isPodReady);
    let secretFiles: PkiFiles | undefined;
    let secretRows: Promise<CertRow[]> | undefined;
    let emptyKeys: string[] = [];
    if (opts.source !== 'pod') {
      const s = await readPkiFromSecret(kube, vc, secrets, ahead?.files);
      secretFiles = s.files;
      secretRows = ahead?.rows.get(s.secret);
      emptyKeys = s.emptyKeys;
      const last = s.secret.metadata?.annotations?.[STATE_ANNOTATION] ?? '';
      const interrupted = /^committed\/(\d+)\/([\w-]+)$/.exec(last);
      if (interrupted) {
        report.warnings.push(`a ${interrupted[2]} committed at ${new Date(Number(interrupted[1]) * 1000).toISOString()} did not finish (interrupted?): run "kubectl vcluster-certs ${interrupted[2]} ${vc.name} -n ${vc.namespace}" again to restart and verify`);
      }
      report.source = `secret ${vc.namespace}/${certsSecretName(vc.name)}`;
    }
    let diskFiles: PkiFiles | undefined;
    // One exec per vCluster is what a fleet check cannot afford by default: --source both asks for it.
    const readDisk = opts.source === 'pod' || (wantsDisk && !!readyPod);
    if (readDisk) {
      if (!readyPod) {
        throw new UserError(`vCluster ${vc.namespace}/${vc.name} has no Ready pod to read ${PKI_DIR} from (status ${vc.status}); use --source secret`);
      }
      try {
        diskFiles = await readPkiFromPod(kube, vc.namespace, readyPod.metadata!.name!);
        const where = `${PKI_DIR} in pod ${readyPod.metadata!.name}`;
        report.source = report.source ? `${report.source} + ${where}` : where;
      } catch (err) {
        // Without exec rights the Secret alone still answers the question; say what was skipped.
        if (opts.source === 'pod' || !(err instanceof UserError) || !/forbidden/.test(err.message)) throw err;
        report.warnings.push(`${err.message.replace(/ \(or use --source secret\)$/, '')}: read the Secret only, no drift check`);
      }
    } else if (wantsDisk && !readyPod) {
      report.warnings.push(`no Ready pod: read the Secret only (status ${vc.status})`);
    }
    if (secretFiles && diskFiles) report.drift = driftEntries(secretFiles, diskFiles);
    // The Secret is what every restart loads, so it is what we grade when we have it.
    const files = (secretFiles ?? diskFiles)!;
    const inspectOpts = { now, warnWithinMs: opts.warnWithinMs };
    if (files === secretFiles && secretRows) report.certificates = await secretRows;
    else report.certificates = pool ? await pool.inspect(files, inspectOpts) : inspectPki(files, inspectOpts);
    report.result = grade(report.certificates, report.drift);
    // An unfinished change needs attention like drift does (exit 1), unless something is worse.
    if (report.result === 'OK' && report.warnings.some((w) => w.includes('did not finish (interrupted?)'))) report.result = 'EXPIRING';
    const err = contentError(vc, emptyKeys, report.certificates);
    if (err) {
      report.result = 'ERROR';
      report.error = err;
    }
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    report.result = 'ERROR';
    report.error = err.message;
  }
  return report;
}

async function mapBounded<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Fleet mode: inspect every `<name>-certs` Secret of a listed chunk as soon as it arrives, while
 * the rest of the list and the workloads are still in flight. Results are keyed by the Secret
 * object, so checkOne only uses them for the very Secret it reads.
 */
interface Ahead {
  rows: Map<V1Secret, Promise<CertRow[]>>;
  files: WeakMap<V1Secret, PkiFiles>;
}

function inspectAhead(secrets: V1Secret[], pool: InspectPool, opts: CheckOptions, now: Date, ahead: Ahead): void {
  for (const secret of secrets) {
    if (!secret.metadata?.name?.endsWith('-certs') || !secret.data) continue;
    let files: PkiFiles;
    try {
      files = filesFromSecretData(secret.data);
    } catch {
      continue; // checkOne reports it
    }
    const rows = pool.inspect(files, { now, warnWithinMs: opts.warnWithinMs });
    rows.catch(() => {}); // awaited (and reported) by checkOne, if it is a vCluster's
    ahead.rows.set(secret, rows);
    ahead.files.set(secret, files);
  }
}

export async function runCheck(kube: Kube, opts: CheckOptions): Promise<CheckOutcome> {
  const now = opts.now ?? new Date();
  const fleet = !opts.name;
  // The workers boot while the lists below are in flight (the lists go out first), if the
  // caller has not started them already.
  if (!fleet) opts.pool?.then((p) => p.close()).catch(() => {});
  const poolStarted = fleet ? (opts.pool ?? startInspectPool(opts.threads ?? defaultThreads())) : undefined;
  poolStarted?.catch(() => {}); // awaited below
  // Set when the check ends (also by an error): a Secret list arriving later starts no work.
  let finished = false;
  try {
    // With -l the Secret list holds vClusters outside the selection; only inspect what was asked for.
    const ahead: Ahead | undefined = poolStarted && (opts.source === 'auto' || opts.source === 'secret') && !opts.labelSelector
      ? { rows: new Map(), files: new WeakMap() }
      : undefined;
    // A chunk that comes before the pool is up waits for it; they are registered in order, and
    // all of them before the pool is awaited below.
    const onPage = ahead && ((secrets: V1Secret[]) => {
      void poolStarted!.then((pool) => {
        if (!finished) inspectAhead(secrets, pool, opts, now, ahead);
      }, () => {});
    });
    // The Secrets and the workloads are listed at once.
    const secretsListed = opts.source === 'pod' ? Promise.resolve(SecretIndex.empty()) : SecretIndex.load(kube, opts, { onPage, chunkSize: opts.chunkSize });
    secretsListed.catch(() => {});
    let vclusters: VCluster[];
    if (opts.name) {
      // With -A too: one name in several namespaces is ambiguous, so ask for -n.
      vclusters = [await findOneVCluster(kube, { ...opts, name: opts.name, secrets: secretsListed })];
    } else {
      vclusters = await findVClusters(kube, { ...opts, secrets: secretsListed });
      if (vclusters.length === 0) {
        const where = opts.allNamespaces ? 'any namespace' : `namespace ${opts.namespace}`;
        throw new UserError(`no vClusters found in ${where}${opts.labelSelector ? ` matching -l ${opts.labelSelector}` : ''}; pass -n NAMESPACE or -A`);
      }
    }
    const secrets = await secretsListed;
    const pool = await poolStarted;
    vclusters.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    const reports = await mapBounded(vclusters, opts.concurrency ?? 8, (vc) => checkOne(kube, vc, opts, now, secrets, pool, ahead));
    const exitCode = Math.max(...reports.map((r) => EXIT_OF[r.result]));
    return { reports, exitCode, threads: pool?.threads ?? 0, offloaded: pool?.offloaded ?? 0 };
  } finally {
    finished = true;
    // Not awaited: the workers stop (5-15 ms) while the report is written.
    poolStarted?.then((pool) => pool.close()).catch(() => {});
  }
}
