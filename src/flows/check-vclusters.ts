// check's reading half: find the vClusters in scope, read each PKI (the Secret, and /data/pki of
// every Ready replica when asked), inspect every certificate and note drift. Grading is check.ts's.
import { UserError } from '../errors.js';
import { diffPki, inspectPki } from '../pki/inspect.js';
import type { CertRow, PkiFiles } from '../pki/types.js';
import type { V1Pod, V1Secret } from '../kube/k8s.js';
import { notJson, type Kube } from '../kube/client.js';
import { findOneVCluster, findVClusters, isPodReady, requireK8sDistro, type VCluster } from '../kube/discovery.js';
import { certsSecretName, readPkiFromPod, readPkiFromSecret, PKI_DIR } from '../kube/pki-source.js';
import { SecretIndex, type SecretPage } from '../kube/secret-index.js';
import { STATE_ANNOTATION } from '../kube/secrets.js';
import { isUnfinished, parseMarker, unfinishedHint, type Marker } from './change-marker.js';
import type { InspectPool } from './inspect-pool.js';
import { rolloverWindow, type SecretDigest } from '../pki/secret-digest.js';
import type { CheckOptions, DriftEntry, UnfinishedChange, VClusterReport } from './check.js';

type Options = CheckOptions & { namespace: string };

/** Files that differ between the Secret and one replica's /data/pki. */
export function driftEntries(secret: PkiFiles, disk: PkiFiles, pod: string): DriftEntry[] {
  const d = diffPki(secret, disk);
  return [
    ...d.onlyInA.map((file) => ({ file, kind: 'only-in-secret' as const, pod })),
    ...d.onlyInB.map((file) => ({ file, kind: 'only-on-disk' as const, pod })),
    ...d.differing.map((file) => ({ file, kind: 'differs' as const, pod })),
  ].sort((a, b) => a.file.localeCompare(b.file));
}

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

/** The change (or rollback) the marker on the Secret says was committed and never finished. */
function unfinishedChange(secret: V1Secret): UnfinishedChange | undefined {
  const m = parseMarker(secret.metadata?.annotations?.[STATE_ANNOTATION]);
  if (!isUnfinished(m)) return undefined;
  return { command: m.kind, state: m.state as UnfinishedChange['state'], stamp: m.stamp, committedAt: new Date(Number(m.stamp) * 1000) };
}

interface Disk {
  pod: string;
  files: PkiFiles;
}

/**
 * /data/pki of `pods`, read at once. Without exec rights (auto, both) the Secret alone still
 * answers the question: the warning says what was skipped, and no disk is returned.
 */
async function readDisks(kube: Kube, vc: VCluster, pods: V1Pod[], opts: Options, warnings: string[]): Promise<Disk[]> {
  const read = await Promise.allSettled(pods.map(async (p) => ({ pod: p.metadata!.name!, files: await readPkiFromPod(kube, vc.namespace, p.metadata!.name!) })));
  const failed = read.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
  const isForbidden = (e: unknown): e is UserError => e instanceof UserError && e.reason === 'forbidden';
  const other = failed.find((e) => !isForbidden(e));
  if (other !== undefined) throw other;
  const forbidden = failed.find(isForbidden);
  if (forbidden) {
    if (opts.source === 'pod') throw forbidden;
    warnings.push(`${forbidden.message.replace(/ \(or use --source secret\)$/, '')}: read the Secret only, no drift check`);
    return [];
  }
  return read.map((r) => (r as PromiseFulfilledResult<Disk>).value);
}

async function checkOne(
  kube: Kube, vc: VCluster, opts: Options, now: Date, secrets: SecretIndex,
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
    const readyPods = vc.pods.filter(isPodReady);
    let secretFiles: PkiFiles | undefined;
    /** the rows read ahead (then there is no secretFiles and no disk) */
    let aheadRows: CertRow[] | undefined;
    let emptyKeys: string[] = [];
    if (opts.source !== 'pod') {
      // Read ahead (fleet, Secret only): the rows and window are there, the data already dropped.
      const listed = secrets.get(vc.namespace, certsSecretName(vc.name));
      const early = listed && !wantsDisk ? ahead?.get(listed) : undefined;
      const digest = early?.digest;
      let secret: V1Secret;
      if (digest) {
        secret = listed!;
        aheadRows = digest.rows;
        emptyKeys = early!.emptyKeys;
        report.rollover = digest.rollover;
      } else {
        const s = await readPkiFromSecret(kube, vc, secrets);
        secret = s.secret;
        secretFiles = s.files;
        emptyKeys = s.emptyKeys;
        const window = rolloverWindow(s.files);
        if (window) report.rollover = window;
      }
      report.unfinished = unfinishedChange(secret);
      if (report.unfinished) {
        const u = report.unfinished;
        report.warnings.push(unfinishedHint(vc, { state: u.state, stamp: u.stamp, kind: u.command as Marker['kind'] }));
      }
      if (report.rollover) {
        report.warnings.push(`CA rollover in progress since ${report.rollover.since}: old kubeconfigs still accepted; finalize before ${report.rollover.until} ("kubectl vcluster-certs rotate-ca ${vc.name} -n ${vc.namespace} --finalize", or --abort)`);
      }
      report.source = `secret ${vc.namespace}/${certsSecretName(vc.name)}`;
    }
    let disks: Disk[] = [];
    // One exec per vCluster is what a fleet check cannot afford by default: --source both asks for it.
    if (opts.source === 'pod' || (wantsDisk && readyPods.length > 0)) {
      if (readyPods.length === 0) {
        throw new UserError(`vCluster ${vc.namespace}/${vc.name} has no Ready pod to read ${PKI_DIR} from (status ${vc.status}); use --source secret`);
      }
      // Drift is looked for on every replica; --source pod grades the first one's disk.
      disks = await readDisks(kube, vc, opts.source === 'pod' ? readyPods.slice(0, 1) : readyPods, opts, report.warnings);
      if (disks.length) {
        const where = `${PKI_DIR} in pod${disks.length > 1 ? 's' : ''} ${disks.map((d) => d.pod).join(', ')}`;
        report.source = report.source ? `${report.source} + ${where}` : where;
      }
    } else if (wantsDisk) {
      report.warnings.push(`no Ready pod: read the Secret only (status ${vc.status})`);
    }
    if (secretFiles) report.drift = disks.flatMap((d) => driftEntries(secretFiles, d.files, d.pod));
    // The Secret is what every restart loads, so it is what we grade when we have it.
    const files = (secretFiles ?? disks[0]?.files)!;
    const inspectOpts = { now, warnWithinMs: opts.warnWithinMs };
    if (aheadRows) report.certificates = aheadRows;
    else report.certificates = pool ? await pool.inspect(files, inspectOpts) : inspectPki(files, inspectOpts);
    const error = contentError(vc, emptyKeys, report.certificates);
    if (error) report.error = error;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
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
 * Fleet mode: each chunk of the Secret list goes to the pool as the API server's bytes; its
 * `<name>-certs` Secrets come back as rows, without their data. The main thread never holds the
 * fleet's PKIs (hundreds of ~70 KiB Secrets), which is what a fleet check's memory would peak on.
 * Keyed by the Secret object, so checkOne only uses a digest for the very Secret it reads.
 */
type Ahead = Map<V1Secret, { digest: SecretDigest | null; emptyKeys: string[] }>;

async function readAhead(body: Buffer, pool: InspectPool, opts: Options, now: Date, ahead: Ahead, what: string): Promise<SecretPage> {
  const page = await pool.inspectSecretList(body, { now, warnWithinMs: opts.warnWithinMs });
  if (!page) throw notJson(what);
  const items = page.items as V1Secret[];
  for (const c of page.certs) ahead.set(items[c.index]!, { digest: c.digest, emptyKeys: c.emptyKeys });
  return { items, continue: page.continue };
}

/** One report per vCluster in scope (not graded yet), sorted by namespace and name. */
export async function checkVClusters(kube: Kube, opts: Options, poolStarted: Promise<InspectPool> | undefined): Promise<VClusterReport[]> {
  const now = opts.now ?? new Date();
  // Set when the check ends (also by an error): a Secret list arriving later starts no work.
  let finished = false;
  try {
    // With -l the Secret list holds vClusters outside the selection; only inspect what was asked for.
    const ahead: Ahead | undefined = poolStarted && (opts.source === 'auto' || opts.source === 'secret') && !opts.labelSelector
      ? new Map()
      : undefined;
    // A chunk that comes before the pool is up waits for it; the next chunk is asked for once this one is read.
    // A chunk arriving after the check ended (it failed) is not read: the list stops there.
    const readPage = ahead && (async (body: Buffer, what: string) => (finished ? { items: [] } : readAhead(body, await poolStarted!, opts, now, ahead, what)));
    // The Secrets and the workloads are listed at once.
    const secretsListed = opts.source === 'pod' ? Promise.resolve(SecretIndex.empty()) : SecretIndex.load(kube, opts, { readPage, chunkSize: opts.chunkSize });
    secretsListed.catch(() => {});
    let vclusters: VCluster[];
    if (opts.name) {
      // With -A too: one name in several namespaces is ambiguous, so ask for -n.
      vclusters = [await findOneVCluster(kube, { ...opts, name: opts.name, secrets: secretsListed })];
    } else {
      vclusters = await findVClusters(kube, { ...opts, secrets: secretsListed });
      if (vclusters.length === 0 && !opts.noneIsEmpty) {
        const where = opts.allNamespaces ? 'any namespace' : `namespace ${opts.namespace}`;
        throw new UserError(`no vClusters found in ${where}${opts.labelSelector ? ` matching -l ${opts.labelSelector}` : ''}; pass -n NAMESPACE or -A`);
      }
    }
    const secrets = await secretsListed;
    const pool = await poolStarted;
    vclusters.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    return await mapBounded(vclusters, opts.concurrency ?? 8, (vc) => checkOne(kube, vc, opts, now, secrets, pool, ahead));
  } finally {
    finished = true;
  }
}
