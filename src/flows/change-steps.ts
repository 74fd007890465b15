// The named steps of the change path (flows/change.ts reads them top to bottom). Each takes the
// run, does one thing through the ChangePort and records it; nothing here talks to the API directly.
import { EXIT, UserError } from '../errors.js';
import { diffPki } from '../pki/inspect.js';
import { parseKubeconfig, currentCredentials } from '../pki/kubeconfig.js';
import { splitPem } from '../pki/pem.js';
import type { PkiFiles } from '../pki/types.js';
import { verifyPki } from '../pki/verify.js';
import { sha256Fingerprint } from '../pki/x509.js';
import { describePermission } from '../kube/access.js';
import {
  BackupNameTaken, CALL_NEEDS, describeWriter, restartNeeds, uniquePermissions,
  type CertsSecret, type ChangePort, type HeldLease, type Permission, type PortCall, type RestartMode,
} from '../kube/change-port.js';
import { requireK8sDistro } from '../kube/discovery.js';
import { BACKUP_ROOT, STAGING_DIR } from '../kube/pod-files.js';
import { PKI_DIR, certsSecretName } from '../kube/pki-source.js';
import { SecretConflictError, STATE_ANNOTATION } from '../kube/secrets.js';
import type { ChangeOptions, ChangeReport, ChangeSpec, ComputedChange } from './change.js';
import { kubeconfigSecretWarnings } from './verify-kubeconfig-secret.js';
import { formatMarker, isUnfinished, parseMarker, type MarkerState } from './change-marker.js';

export interface Run {
  port: ChangePort;
  spec: ChangeSpec;
  opts: ChangeOptions;
  report: ChangeReport;
  now: () => Date;
  stepStart: number;
  /** the Secret as read in preflight: what "all-old" means */
  current?: CertsSecret;
  /** pods Ready at preflight, and their /data/pki */
  ready: string[];
  disks: Map<string, PkiFiles>;
  change?: ComputedChange;
  restartMode?: RestartMode;
  lease?: HeldLease;
  /** resourceVersion of our own last write (or of what verification accepted): guards the next one */
  guard?: string;
  committed: boolean;
  interrupted: boolean;
}

/** Failures after which nothing was written: the vCluster is exactly as before. */
export class NothingChanged extends UserError {}

/** SIGINT/SIGTERM before the commit. */
export class Interrupted extends UserError {}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

function stampOf(d: Date): string {
  return String(Math.floor(d.getTime() / 1000));
}

export function startRun(port: ChangePort, spec: ChangeSpec, opts: ChangeOptions): Run {
  const now = opts.now ?? (() => new Date());
  const vc = port.vc;
  const report: ChangeReport = {
    kind: spec.kind, vcluster: vc.name, namespace: vc.namespace, result: 'failed', state: 'unchanged',
    stamp: stampOf(now()), plan: [], warnings: [...vc.warnings], backups: { pods: [] }, certificates: [], steps: [],
  };
  opts.onReport?.(report);
  const run: Run = { port, spec, opts, report, now, stepStart: Date.now(), ready: [], disks: new Map(), committed: false, interrupted: false };
  opts.signal?.addEventListener('abort', () => {
    run.interrupted = true;
    if (run.committed) opts.progress('interrupted after the commit: finishing the change so the vCluster is not left half-way (Ctrl-C again to exit at once)');
  }, { once: true });
  return run;
}

/** Records a finished step with its time; refuses to go on after an interrupt before the commit. */
export function done(run: Run, name: string): void {
  const t = Date.now();
  run.report.steps.push({ step: name, ms: t - run.stepStart });
  run.opts.progress(`${name} (${((t - run.stepStart) / 1000).toFixed(1)}s)`);
  run.stepStart = t;
  checkpoint(run);
}

function checkpoint(run: Run): void {
  if ((run.interrupted || run.opts.signal?.aborted) && !run.committed) {
    throw new Interrupted('interrupted before the commit; nothing was changed', EXIT.BROKEN);
  }
}

const vcName = (run: Run) => `${run.port.vc.namespace}/${run.port.vc.name}`;

/** 1. Nothing is written here, so every failure is a plain error (exit 3). */
export async function preflight(run: Run): Promise<void> {
  const { port, opts } = run;
  const vc = port.vc;
  requireK8sDistro(vc);
  if (vc.status === 'Paused' || vc.status === 'ScaledDown') {
    throw new UserError(`vCluster ${vcName(run)} is ${vc.status.toLowerCase()}: resume it first ("vcluster resume ${vc.name} -n ${vc.namespace}")`);
  }
  if (vc.status !== 'Running' && !opts.allow.notRunning) {
    throw new UserError(`vCluster ${vcName(run)} is ${vc.status || 'not running'}, not Running; fix that first, or pass --allow-not-running if it is down because its certificates expired`);
  }
  const current = await port.readCertsSecret();
  run.current = current;
  run.guard = current.resourceVersion;
  if (current.emptyKeys.length && !opts.allow.incomplete) {
    throw new UserError(`secret ${vc.namespace}/${certsSecretName(vc.name)} has empty values (${current.emptyKeys.join(', ')}); restore a backup first, or pass --allow-incomplete to rebuild from what is there`);
  }
  run.ready = (await port.listPods()).filter((p) => p.ready).map((p) => p.name);
  const marker = parseMarker(current.annotations[STATE_ANNOTATION]);
  for (const pod of run.ready) {
    const disk = await port.readPodDir(pod, PKI_DIR);
    run.disks.set(pod, disk);
    const drift = diffPki(current.files, disk);
    const differs = [...drift.differing, ...drift.onlyInA];
    // A change that was committed but not restarted explains the drift; finishing it is safe.
    if (differs.length && !opts.allow.drift && !isUnfinished(marker)) {
      throw new UserError(`secret ${certsSecretName(vc.name)} and ${PKI_DIR} in pod ${pod} differ (${differs.slice(0, 4).join(', ')}${differs.length > 4 ? ', ...' : ''}); run "check" to see why, or pass --ignore-drift to go on from the Secret`);
    }
  }
  if (run.ready.length === 0) {
    run.report.warnings.push('no Ready pod: no /data/pki backup can be made in a pod; the off-pod backup Secret is the only one');
  }
  done(run, 'preflight');
}

/** 2. The new PKI, built and verified in memory; then the permissions its path needs. */
export async function plan(run: Run): Promise<void> {
  const { spec, report } = run;
  const current = run.current!;
  const change = await spec.compute(current.files);
  run.change = change;
  if (change.nothingToDo) {
    done(run, 'plan');
    return;
  }
  run.restartMode = change.restartMode ?? spec.restartMode;
  report.plan = change.lines;
  report.warnings.push(...change.warnings);
  const problems = verifyPki(change.files);
  if (problems.length) {
    throw new UserError(`the new PKI did not pass verification, nothing was changed: ${problems.slice(0, 3).join('; ')}`, EXIT.BROKEN);
  }
  const before = certFingerprints(current.files);
  const after = certFingerprints(change.files);
  report.certificates = [...new Set([...before.keys(), ...after.keys()])].sort().map((file) => ({
    file, oldSha256: before.get(file), newSha256: after.get(file),
    oldExpiry: change.lines.find((l) => l.file === file)?.oldExpiry,
    newExpiry: change.lines.find((l) => l.file === file)?.newExpiry,
  }));
  const missing = await run.port.missingPermissions(await requiredPermissions(run));
  if (missing.length) {
    const list = missing.map(describePermission).join(', ');
    if (!run.opts.dryRun) throw new UserError(`you lack RBAC permissions in namespace ${run.port.vc.namespace}: ${list}; ask your cluster admin, nothing was changed`);
    report.warnings.push(`a real run would stop here: you lack RBAC permissions for ${list}`);
  }
  done(run, 'plan');
}

/** The calls this run's path makes, and so the permissions it needs before writing anything. */
export function callsOnPath(run: Pick<Run, 'ready'>): PortCall[] {
  // rollBack and resume make no call this list lacks.
  const calls: PortCall[] = ['readCertsSecret', 'listPods', 'hasDeployedEtcd', 'acquireLease', 'createBackupSecret', 'readBackupSecret',
    'writeCertsSecret', 'restart', 'verify', 'readKubeconfigSecret', 'pruneBackupSecrets'];
  if (run.ready.length) calls.push('readPodDir', 'backupInPod', 'stageInPod', 'swapInPod', 'removeInPod');
  return calls;
}

export async function requiredPermissions(run: Run): Promise<Permission[]> {
  const needs: Permission[] = [];
  for (const call of callsOnPath(run)) {
    if (call !== 'restart') {
      needs.push(...CALL_NEEDS[call]);
      continue;
    }
    const etcd = await run.port.hasDeployedEtcd();
    needs.push(...restartNeeds(run.port.vc, run.restartMode ?? run.spec.restartMode, etcd));
    // A rollback restarts everything together.
    if (!run.opts.noRollback) needs.push(...restartNeeds(run.port.vc, 'all-at-once', etcd));
  }
  return uniquePermissions(needs);
}

/** 3. A y/N, or the vCluster's name typed, for changes that break existing kubeconfigs. */
export async function confirm(run: Run): Promise<void> {
  const { opts, spec } = run;
  const vc = run.port.vc;
  if (opts.yes) return;
  if (!opts.ask) {
    throw new UserError(`refusing to ${spec.kind} vCluster ${vcName(run)} without confirmation in a non-interactive run: pass --yes (or --dry-run to preview)`, EXIT.CANNOT_RUN);
  }
  const question = spec.confirm === 'name'
    ? `Type the vCluster name (${vc.name}) to ${spec.kind} it: `
    : `${spec.kind} vCluster ${vcName(run)} now? [y/N] `;
  const ok = await opts.ask(question, spec.confirm === 'name' ? vc.name : 'y');
  if (!ok) throw new UserError('aborted: nothing was changed', EXIT.ABORTED);
  checkpoint(run);
}

/** 4. The Lease vCluster's HA renewal watcher takes too, so the two never rotate at once. */
export async function lock(run: Run): Promise<void> {
  run.lease = await run.port.acquireLease();
  run.opts.onLease?.(() => run.lease!.release());
  checkpoint(run);
}

export async function unlock(run: Run): Promise<void> {
  await run.lease?.release();
}

/** Runs the steps up to the commit: any failure leaves the vCluster exactly as it was. */
export async function beforeCommit(run: Run, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (err) {
    if (run.committed) throw err;
    await Promise.all(run.ready.map((p) => run.port.removeInPod(p, STAGING_DIR).catch(() => undefined)));
    const backupNote = run.report.backups.secret ? ` (backup kept: secret ${run.report.backups.secret})` : '';
    if (err instanceof UserError && err.exitCode === EXIT.ABORTED) throw err;
    const why = err instanceof Interrupted ? 'interrupted before the commit' : errMessage(err);
    throw new NothingChanged(`${why}; nothing was changed${backupNote}`, EXIT.BROKEN, err);
  }
}

/**
 * 5. Backup twice, and check both before going on. The off-pod copy goes first: it is the one
 * that survives pods on emptyDir, so a backup exists whatever fails next.
 */
export async function backup(run: Run): Promise<void> {
  const { port, report, spec } = run;
  const current = run.current!;
  let name: string | undefined;
  for (let attempt = 0; !name; attempt++) {
    try {
      name = await port.createBackupSecret(current.files, report.stamp, spec.reason ?? spec.kind, current.resourceVersion);
    } catch (err) {
      // Two runs in the same second (a rerun right after a kill) want the same name: take the next one.
      if (attempt >= 5 || !(err instanceof BackupNameTaken)) throw err;
      report.stamp = String(Number(report.stamp) + 1);
    }
  }
  const readBack = await port.readBackupSecret(name);
  if (!diffPki(readBack, current.files).equal) throw new UserError(`the backup secret ${name} does not hold the PKI as read`);
  report.backups.secret = name;
  for (const pod of run.ready) {
    const dir = await port.backupInPod(pod, report.stamp);
    const copy = await port.readPodDir(pod, dir);
    if (!diffPki(copy, run.disks.get(pod)!).equal) throw new UserError(`the backup ${dir} in pod ${pod} does not match ${PKI_DIR}`);
    report.backups.pods.push({ pod, dir });
    checkpoint(run);
  }
  const copies = report.backups.pods.length;
  done(run, `backup (secret ${name}, ${copies} pod cop${copies === 1 ? 'y' : 'ies'} in ${BACKUP_ROOT}/${report.stamp})`);
}

/** 6. The new PKI into /data/pki.new of every reachable replica; the live /data/pki is untouched. */
export async function stage(run: Run): Promise<void> {
  for (const pod of run.ready) {
    await run.port.stageInPod(pod, run.change!.files);
    const staged = await run.port.readPodDir(pod, STAGING_DIR);
    if (!diffPki(staged, run.change!.files).equal) throw new UserError(`the staged PKI in pod ${pod} does not match what was sent`);
    checkpoint(run);
  }
  done(run, 'stage');
}

/** 7. One write, refused if anyone changed the Secret since preflight. */
export async function commit(run: Run): Promise<void> {
  checkpoint(run);
  const files = run.change!.files;
  const annotations = { [STATE_ANNOTATION]: marker(run, 'committed') };
  try {
    run.guard = await run.port.writeCertsSecret(run.current!.resourceVersion, files, annotations);
  } catch (err) {
    if (err instanceof SecretConflictError) {
      throw new SecretConflictError(`secret ${certsSecretName(run.port.vc.name)} was changed by ${describeWriter(err.changedBy)} after it was read; nothing was overwritten`, EXIT.BROKEN, err, err.changedBy);
    }
    // The write may have landed even though we saw an error: look before deciding.
    const now = await run.port.readCertsSecret().catch(() => undefined);
    if (!now || !diffPki(now.files, files).equal || now.annotations[STATE_ANNOTATION] !== annotations[STATE_ANNOTATION]) throw err;
    run.guard = now.resourceVersion;
  }
  run.committed = true;
  run.report.state = 'unknown';
  if (run.interrupted) run.opts.progress('the commit was under way when interrupted: finishing the change so the vCluster is not left half-way (Ctrl-C again to exit at once)');
  done(run, 'commit');
}

export function marker(run: Run, state: MarkerState): string {
  return formatMarker({ state, stamp: run.report.stamp, kind: run.spec.kind });
}

/** 8. Swap the staged PKI in on every replica, then restart so every component reloads it. */
export async function apply(run: Run): Promise<void> {
  for (const pod of run.ready) await run.port.swapInPod(pod);
  done(run, 'swap');
  await run.port.restart(run.restartMode!, run.opts.timeoutMs, run.opts.progress);
  done(run, 'restart');
}

/** 9. The Secret, every replica's disk and what each pod serves show the new PKI. */
export async function verify(run: Run): Promise<void> {
  const outcome = await run.port.verify(run.change!.files, run.current!.files);
  run.guard = outcome.resourceVersion;
  if (outcome.renewedByVCluster.length) {
    run.report.renewedByVCluster = outcome.renewedByVCluster;
    run.report.warnings.push(`leafs renewed by vCluster on start (they had 90 days or less left): ${outcome.renewedByVCluster.join(', ')}`);
  }
  // The PKI is proven; the exported kubeconfig is the users' concern, so it only warns.
  try {
    const data = await run.port.readKubeconfigSecret();
    run.report.warnings.push(...kubeconfigSecretWarnings(data, run.change!.files, run.port.vc, run.now()));
  } catch (err) {
    run.report.warnings.push(`secret ${run.port.vc.namespace}/vc-${run.port.vc.name} could not be read to check its kubeconfig: ${errMessage(err)}`);
  }
  done(run, 'verify');
}

/** The marker says done; guarded by the version verification accepted. */
export async function markDone(run: Run): Promise<void> {
  const accepted = await run.port.readCertsSecret();
  if (accepted.resourceVersion !== run.guard) throw changedUnderUs(run, accepted.lastWriter);
  run.guard = await run.port.writeCertsSecret(run.guard!, accepted.files, { [STATE_ANNOTATION]: marker(run, 'done') });
  run.report.state = 'all-new';
  run.report.result = 'done';
}

/** Old backups go only after a verified change, and never the one a restore brought back. */
export async function pruneBackups(run: Run): Promise<void> {
  const protect = [...(run.spec.protectBackups ?? []), ...(run.report.backups.secret ? [run.report.backups.secret] : [])];
  try {
    await run.port.pruneBackupSecrets(protect);
  } catch (err) {
    run.report.warnings.push(`old backup Secrets were not pruned: ${errMessage(err)}`);
  }
}

export function changedUnderUs(run: Run, writer: string | undefined): SecretConflictError {
  return new SecretConflictError(`secret ${certsSecretName(run.port.vc.name)} was changed by ${describeWriter(writer)} after our write`, EXIT.PARTIAL, undefined, writer);
}

/** Fingerprint of the first certificate of every .crt and of every kubeconfig's client certificate. */
export function certFingerprints(files: PkiFiles): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, data] of files) {
    let pem: Buffer | undefined;
    if (file.endsWith('.crt')) pem = data;
    else if (file.endsWith('.conf')) {
      try {
        pem = currentCredentials(parseKubeconfig(data)).user.clientCertificateData;
      } catch { /* not a kubeconfig we can read: no fingerprint */ }
    }
    const block = pem && splitPem(pem).find((b) => b.label === 'CERTIFICATE');
    if (block) out.set(file, sha256Fingerprint(block.der));
  }
  return out;
}

