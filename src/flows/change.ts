// The one path every PKI change takes (rotate, rotate-ca, restore):
// preflight → plan → confirm → lock → backup twice → stage → commit (one guarded Secret
// write) → swap → restart → verify, and roll back to the backup when anything after the
// commit fails. The vCluster ends all-old or all-new, and the report says which.
import { EXIT, UserError } from '../errors.js';
import { secretDataFromFiles } from '../pki/certmap.js';
import { diffPki } from '../pki/inspect.js';
import { parseKubeconfig, currentCredentials } from '../pki/kubeconfig.js';
import { splitPem } from '../pki/pem.js';
import type { PkiFiles } from '../pki/types.js';
import { verifyPki } from '../pki/verify.js';
import { sha256Fingerprint } from '../pki/x509.js';
import { describePermission, missingPermissions, type Permission } from '../kube/access.js';
import { apiStatusCode, type Kube } from '../kube/client.js';
import { isPodReady, requireK8sDistro, type VCluster } from '../kube/discovery.js';
import { acquireRotationLease, type HeldLease } from '../kube/lease.js';
import { BACKUP_ROOT, backupInPod, readDirFromPod, removeInPod, stageInPod, swapInPod, STAGING_DIR } from '../kube/pod-files.js';
import { PKI_DIR, readPkiFromSecret, certsSecretName, type SecretPki } from '../kube/pki-source.js';
import { restartVCluster, type RestartMode } from '../kube/restart.js';
import { createBackupSecret, pruneBackupSecrets, SecretConflictError, STATE_ANNOTATION, writeCertsSecret } from '../kube/secrets.js';
import type { V1Pod, V1Secret } from '../kube/k8s.js';
import { sameSecretData, verifyApplied } from './verify-applied.js';

export type ChangeKind = 'rotate' | 'rotate-ca' | 'restore';

export interface PlanLine {
  file: string;
  action: string;
  oldExpiry?: string;
  newExpiry?: string;
  keyType?: string;
  note?: string;
}

export interface ComputedChange {
  /** the complete PKI to commit */
  files: PkiFiles;
  lines: PlanLine[];
  /** plain-words warnings shown with the plan (e.g. "old kubeconfigs stop working") */
  warnings: string[];
}

export interface ChangeSpec {
  kind: ChangeKind;
  restartMode: RestartMode;
  /** Builds the new PKI from the current one. Pure crypto; runs before anything is written. */
  compute(current: PkiFiles): Promise<ComputedChange>;
  /** What the user must confirm: 'yes' for y/N, or the vCluster name to be typed. */
  confirm: 'yes' | 'name';
}

export interface ChangeOptions {
  dryRun: boolean;
  yes: boolean;
  force: boolean;
  noRollback: boolean;
  timeoutMs: number;
  /** asks the user; resolves true to go ahead (absent = non-interactive) */
  ask?: (question: string, expect: string) => Promise<boolean>;
  progress: (line: string) => void;
  now?: () => Date;
}

export type FinalState = 'unchanged' | 'all-new' | 'all-old' | 'unknown';

export interface CertChange {
  file: string;
  oldSha256?: string;
  newSha256?: string;
  oldExpiry?: string;
  newExpiry?: string;
}

export interface ChangeReport {
  kind: ChangeKind;
  vcluster: string;
  namespace: string;
  result: 'dry-run' | 'done' | 'rolled-back' | 'failed';
  state: FinalState;
  stamp: string;
  plan: PlanLine[];
  warnings: string[];
  backups: { secret?: string; pods: Array<{ pod: string; dir: string }> };
  certificates: CertChange[];
  steps: Array<{ step: string; ms: number }>;
  error?: string;
  /** how to put things back by hand when the tool could not */
  recovery?: string;
}


const REQUIRED: Permission[] = [
  { verb: 'get', resource: 'secrets' },
  { verb: 'update', resource: 'secrets' },
  { verb: 'create', resource: 'secrets' },
  { verb: 'list', resource: 'pods' },
  { verb: 'delete', resource: 'pods' },
  { verb: 'create', resource: 'pods', subresource: 'exec' },
  { verb: 'create', resource: 'pods', subresource: 'portforward' },
  { verb: 'get', resource: 'leases', group: 'coordination.k8s.io' },
  { verb: 'create', resource: 'leases', group: 'coordination.k8s.io' },
  { verb: 'update', resource: 'leases', group: 'coordination.k8s.io' },
];

/** Failures after which nothing was written: the vCluster is exactly as before. */
class NothingChanged extends UserError {}

/** Fingerprint of the first certificate of every .crt and of every kubeconfig's client certificate. */
function certEntries(files: PkiFiles): Map<string, { sha256: string }> {
  const out = new Map<string, { sha256: string }>();
  for (const [file, data] of files) {
    let pem: Buffer | undefined;
    if (file.endsWith('.crt')) pem = data;
    else if (file.endsWith('.conf')) {
      try {
        pem = currentCredentials(parseKubeconfig(data)).user.clientCertificateData;
      } catch { /* not a kubeconfig we can read: no fingerprint */ }
    }
    const block = pem && splitPem(pem).find((b) => b.label === 'CERTIFICATE');
    if (block) out.set(file, { sha256: sha256Fingerprint(block.der) });
  }
  return out;
}

function podName(p: V1Pod): string {
  return p.metadata!.name!;
}

function stampNow(now: Date): string {
  return String(Math.floor(now.getTime() / 1000));
}

export async function runChange(kube: Kube, vc: VCluster, spec: ChangeSpec, opts: ChangeOptions): Promise<ChangeReport> {
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  let stepStart = started;
  const report: ChangeReport = {
    kind: spec.kind, vcluster: vc.name, namespace: vc.namespace, result: 'failed', state: 'unchanged',
    stamp: stampNow(now()), plan: [], warnings: [...vc.warnings], backups: { pods: [] }, certificates: [], steps: [],
  };
  const step = (name: string) => {
    const t = Date.now();
    report.steps.push({ step: name, ms: t - stepStart });
    opts.progress(`${name} (${((t - stepStart) / 1000).toFixed(1)}s)`);
    stepStart = t;
  };

  // 1. Preflight: nothing is written here, so every failure is a plain error.
  requireK8sDistro(vc);
  if (vc.status === 'Paused' || vc.status === 'ScaledDown') {
    throw new UserError(`vCluster ${vc.namespace}/${vc.name} is ${vc.status.toLowerCase()}: resume it first ("vcluster resume ${vc.name} -n ${vc.namespace}")`);
  }
  if (vc.status !== 'Running' && !opts.force) {
    throw new UserError(`vCluster ${vc.namespace}/${vc.name} is ${vc.status || 'not running'}, not Running; fix that first, or pass --force if it is down because its certificates expired`);
  }
  if (!opts.dryRun) {
    const missing = await missingPermissions(kube, vc.namespace, REQUIRED);
    if (missing.length) {
      throw new UserError(`you lack RBAC permissions in namespace ${vc.namespace}: ${missing.map(describePermission).join(', ')}; ask your cluster admin, nothing was changed`);
    }
  }
  const current: SecretPki = await readPkiFromSecret(kube, vc);
  if (current.emptyKeys.length && !opts.force) {
    throw new UserError(`secret ${vc.namespace}/${certsSecretName(vc.name)} has empty values (${current.emptyKeys.join(', ')}); restore a backup first, or pass --force to rebuild from what is there`);
  }
  const readyPods = vc.pods.filter(isPodReady);
  const diskByPod = new Map<string, PkiFiles>();
  for (const p of readyPods) diskByPod.set(podName(p), await readDirFromPod(kube, vc.namespace, podName(p), PKI_DIR));
  const lastChange = current.secret.metadata?.annotations?.[STATE_ANNOTATION] ?? '';
  for (const [pod, disk] of diskByPod) {
    const drift = diffPki(current.files, disk);
    const differs = [...drift.differing, ...drift.onlyInA];
    // A change that was committed but not restarted explains the drift; finishing it is safe.
    if (differs.length && !opts.force && !lastChange.startsWith('committed/')) {
      throw new UserError(`secret ${certsSecretName(vc.name)} and ${PKI_DIR} in pod ${pod} differ (${differs.slice(0, 4).join(', ')}${differs.length > 4 ? ', ...' : ''}); run "check" to see why, or pass --force to go on from the Secret`);
    }
  }
  if (readyPods.length === 0) {
    report.warnings.push(`no Ready pod: no /data/pki backup can be made in a pod; the off-pod backup Secret is the only one`);
  }
  step('preflight');

  // 2. Plan.
  const change = await spec.compute(current.files);
  report.plan = change.lines;
  report.warnings.push(...change.warnings);
  const problems = verifyPki(change.files);
  if (problems.length) {
    throw new UserError(`the new PKI did not pass verification, nothing was changed: ${problems.slice(0, 3).join('; ')}`, EXIT.BROKEN);
  }
  const before = certEntries(current.files);
  const after = certEntries(change.files);
  report.certificates = [...new Set([...before.keys(), ...after.keys()])].sort().map((file) => ({
    file, oldSha256: before.get(file)?.sha256, newSha256: after.get(file)?.sha256,
    oldExpiry: change.lines.find((l) => l.file === file)?.oldExpiry,
    newExpiry: change.lines.find((l) => l.file === file)?.newExpiry,
  }));
  step('plan');
  if (opts.dryRun) {
    report.result = 'dry-run';
    return report;
  }

  // 3. Confirm.
  if (!opts.yes) {
    if (!opts.ask) {
      throw new UserError(`refusing to ${spec.kind} vCluster ${vc.namespace}/${vc.name} without confirmation in a non-interactive run: pass --yes (or --dry-run to preview)`, EXIT.USAGE);
    }
    const question = spec.confirm === 'name'
      ? `Type the vCluster name (${vc.name}) to ${spec.kind} it: `
      : `${spec.kind} vCluster ${vc.namespace}/${vc.name} now? [y/N] `;
    const ok = await opts.ask(question, spec.confirm === 'name' ? vc.name : 'y');
    if (!ok) throw new UserError('aborted: nothing was changed', EXIT.ABORTED);
  }

  // 4. Lock, so vCluster's own renewal watcher and other admins wait for us.
  const lease: HeldLease = await acquireRotationLease(kube, vc.namespace, vc.name);
  let stamp = report.stamp;
  let committed: V1Secret | undefined;
  try {
    try {
      // 5. Backup twice, and check both before going on. The off-pod copy goes first: it is
      // the one that survives pods on emptyDir, so a backup exists whatever fails next.
      let backup: V1Secret | undefined;
      for (let attempt = 0; !backup; attempt++) {
        try {
          backup = await createBackupSecret(kube, current.files, { vcluster: vc.name, namespace: vc.namespace, stamp, reason: spec.kind, sourceResourceVersion: current.resourceVersion }, current.secret);
        } catch (err) {
          // Two runs in the same second (a rerun right after a kill) want the same name: take the next one.
          if (attempt >= 5 || apiStatusCode(err) !== 409) throw err;
          stamp = String(Number(stamp) + 1);
          report.stamp = stamp;
        }
      }
      const readBack = await kube.call('read back the backup secret', () => kube.core.readNamespacedSecret({ name: backup.metadata!.name!, namespace: vc.namespace }, kube.opts));
      for (const [k, v] of Object.entries(secretDataFromFiles(current.files, { allowMissing: true }))) {
        if (readBack.data?.[k] !== v) throw new UserError(`the backup secret ${backup.metadata!.name} does not hold ${k} as read`);
      }
      report.backups.secret = backup.metadata!.name!;
      await pruneBackupSecrets(kube, vc.namespace, vc.name);
      for (const p of readyPods) {
        const dir = await backupInPod(kube, vc.namespace, podName(p), stamp);
        const copy = await readDirFromPod(kube, vc.namespace, podName(p), dir);
        if (!diffPki(copy, diskByPod.get(podName(p))!).equal) throw new UserError(`the backup ${dir} in pod ${podName(p)} does not match ${PKI_DIR}`);
        report.backups.pods.push({ pod: podName(p), dir });
      }
      step(`backup (secret ${report.backups.secret}, ${report.backups.pods.length} pod cop${report.backups.pods.length === 1 ? 'y' : 'ies'} in ${BACKUP_ROOT}/${stamp})`);

      // 6. Stage in every reachable replica; the live /data/pki is untouched until the swap.
      for (const p of readyPods) {
        await stageInPod(kube, vc.namespace, podName(p), change.files);
        const staged = await readDirFromPod(kube, vc.namespace, podName(p), STAGING_DIR);
        if (!diffPki(staged, change.files).equal) throw new UserError(`the staged PKI in pod ${podName(p)} does not match what was sent`);
      }
      step('stage');

      // 7. Commit: one write, refused if anyone changed the Secret since step 1.
      committed = await commitSecret(kube, vc, current, change.files, `committed/${stamp}/${spec.kind}`);
    } catch (err) {
      if (committed) throw err;
      await Promise.all(readyPods.map((p) => removeInPod(kube, vc.namespace, podName(p), STAGING_DIR).catch(() => undefined)));
      throw new NothingChanged(`${errMessage(err)}; nothing was changed${report.backups.secret ? ` (backup kept: secret ${report.backups.secret})` : ''}`, EXIT.BROKEN, err);
    }
    report.state = 'unknown';
    step('commit');

    try {
      // 8. Swap the staged PKI in, restart, verify.
      for (const p of readyPods) await swapInPod(kube, vc.namespace, podName(p));
      step('swap');
      await restartVCluster(kube, vc, { mode: spec.restartMode, timeoutMs: opts.timeoutMs, progress: opts.progress });
      step('restart');
      const verified = await verifyApplied(kube, vc, change.files, { previous: current.files });
      if (verified.renewedByVCluster.length) report.warnings.push(`leafs renewed by vCluster on start (they had 90 days or less left): ${verified.renewedByVCluster.join(', ')}`);
      step('verify');
      await markDone(kube, vc, stamp, spec.kind);
      report.state = 'all-new';
      report.result = 'done';
      // The committed PKI, for --kubeconfig-out; hidden so JSON output never carries keys.
      Object.defineProperty(report, 'files', { value: change.files, enumerable: false });
      return report;
    } catch (err) {
      report.error = errMessage(err);
      if (opts.noRollback) {
        report.recovery = recoveryHint(vc, stamp);
        throw new UserError(`${spec.kind} failed after the new PKI was committed: ${report.error}; --no-rollback was given, so the vCluster is left with the new PKI in the Secret. ${report.recovery}`, EXIT.PARTIAL, err);
      }
      opts.progress(`failed: ${report.error}; rolling back to the backup`);
      try {
        await rollBack(kube, vc, current.files, opts, stamp);
        report.state = 'all-old';
        report.result = 'rolled-back';
        step('rollback');
        throw new UserError(`${spec.kind} failed: ${report.error}; rolled back: the vCluster has its previous PKI again (backup secret ${report.backups.secret})`, EXIT.BROKEN, err);
      } catch (rbErr) {
        if (report.result === 'rolled-back') throw rbErr;
        report.state = 'unknown';
        report.recovery = recoveryHint(vc, stamp);
        throw new UserError(`${spec.kind} failed (${report.error}) and the rollback failed too (${errMessage(rbErr)}); the vCluster's state is unknown. ${report.recovery}`, EXIT.PARTIAL, rbErr);
      }
    }
  } catch (err) {
    if (err instanceof UserError) (err as UserError & { report?: ChangeReport }).report = report;
    throw err;
  } finally {
    await lease.release();
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

function recoveryHint(vc: VCluster, stamp: string): string {
  return `Restore the previous PKI by hand with: kubectl vcluster-certs restore ${vc.name} -n ${vc.namespace} --backup ${stamp} --from secret --no-rotate`;
}

/** The guarded write; an ambiguous failure is resolved by reading the Secret back. */
async function commitSecret(kube: Kube, vc: VCluster, current: SecretPki, files: PkiFiles, marker: string): Promise<V1Secret> {
  try {
    return await writeCertsSecret(kube, current.secret, files, { [STATE_ANNOTATION]: marker });
  } catch (err) {
    if (err instanceof SecretConflictError) throw err;
    // The PUT may have landed even though we saw an error: look before deciding.
    const now = await readPkiFromSecret(kube, vc).catch(() => undefined);
    if (now && sameSecretData(now.secret, files)) return now.secret;
    throw err;
  }
}

async function markDone(kube: Kube, vc: VCluster, stamp: string, kind: ChangeKind): Promise<void> {
  // Best effort: a stale "committed" marker only relaxes the next run's drift check.
  try {
    const s = await readPkiFromSecret(kube, vc);
    await writeCertsSecret(kube, s.secret, s.files, { [STATE_ANNOTATION]: `done/${stamp}/${kind}` });
  } catch { /* keep going */ }
}

/** Puts `files` back into the Secret and every reachable disk, restarts, waits Ready. */
async function rollBack(kube: Kube, vc: VCluster, files: PkiFiles, opts: ChangeOptions, stamp: string): Promise<void> {
  // A vCluster that was down before (--force on an expired one) is "back" once its old PKI is; it need not turn Ready.
  const wasRunning = vc.status === 'Running';
  const now = await readPkiFromSecret(kube, vc);
  await writeCertsSecret(kube, now.secret, files, { [STATE_ANNOTATION]: `rolled-back/${stamp}` });
  const live = (await kube.call('list vCluster pods', () => kube.core.listNamespacedPod({ namespace: vc.namespace, labelSelector: `app=vcluster,release=${vc.name}` }, kube.opts))).items;
  for (const p of live.filter(isPodReady)) {
    await stageInPod(kube, vc.namespace, podName(p), files).then(() => swapInPod(kube, vc.namespace, podName(p))).catch(() => undefined);
  }
  // Everything together: after a failed change the replicas may hold different PKIs.
  try {
    await restartVCluster(kube, vc, { mode: 'all-at-once', timeoutMs: opts.timeoutMs, progress: opts.progress });
    await verifyApplied(kube, vc, files);
  } catch (err) {
    if (wasRunning) throw err;
  }
}
