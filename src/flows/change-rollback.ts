// After the commit: the steps run under afterCommit, and any failure ends here, in a rollback to
// the backup or, when that cannot be done safely, a stop that names the exact way back.
import { EXIT, UserError } from '../errors.js';
import { diffPki } from '../pki/inspect.js';
import type { PkiFiles } from '../pki/types.js';
import { describeWriter, type CertsSecret } from '../kube/change-port.js';
import { certsSecretName } from '../kube/pki-source.js';
import { SecretConflictError, STATE_ANNOTATION } from '../kube/secrets.js';
import { resumeCommand, undoCommand } from './change-marker.js';
import { changedUnderUs, done, errMessage, marker, type Run } from './change-steps.js';

/** Runs the steps after the commit; on failure rolls back (or says exactly how to). */
export async function afterCommit(run: Run, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (err) {
    await recover(run, err);
  }
}

async function recover(run: Run, err: unknown): Promise<never> {
  const { report, opts, spec } = run;
  const vc = run.port.vc;
  report.error = errMessage(err);
  const stamp = report.stamp;
  const commands = `finish it with "${resumeCommand(vc)}", or go back with "${undoCommand(vc, stamp)}"`;
  if (err instanceof SecretConflictError) {
    // Someone wrote the Secret after our commit: a rollback would overwrite them. Stop and say so.
    report.state = 'unknown';
    const now = await run.port.readCertsSecret().catch(() => undefined);
    report.recovery = `The Secret now holds ${now ? describeHeld(now.files, run.change!.files, run.current!.files) : 'something that could not be read'}; check it with "kubectl vcluster-certs check ${vc.name} -n ${vc.namespace}", then ${commands}.`;
    throw new UserError(`${spec.kind} stopped after the commit: secret ${certsSecretName(vc.name)} was changed by ${describeWriter(err.changedBy)} after our write; nothing of theirs was overwritten. ${report.recovery}`, EXIT.PARTIAL, err);
  }
  if (opts.noRollback) {
    report.recovery = `The new PKI stays committed: ${commands}.`;
    throw new UserError(`${spec.kind} failed after the new PKI was committed: ${report.error}; --no-rollback was given, so the vCluster is left with the new PKI in the Secret. ${report.recovery}`, EXIT.PARTIAL, err);
  }
  opts.progress(`failed: ${report.error}; rolling back to the backup`);
  try {
    await rollBack(run);
  } catch (rbErr) {
    report.state = 'unknown';
    report.recovery = `Restore the previous PKI by hand with: ${undoCommand(vc, stamp)}`;
    const why = rbErr instanceof SecretConflictError
      ? `secret ${certsSecretName(vc.name)} was changed by ${describeWriter(rbErr.changedBy)} after our commit, so the rollback did not overwrite it`
      : errMessage(rbErr);
    throw new UserError(`${spec.kind} failed (${report.error}) and the rollback failed too (${why}); the vCluster's state is unknown. ${report.recovery}`, EXIT.PARTIAL, rbErr);
  }
  report.state = 'all-old';
  report.result = 'rolled-back';
  done(run, 'rollback');
  throw new UserError(`${spec.kind} failed: ${report.error}; rolled back: the vCluster has its previous PKI again (backup secret ${report.backups.secret})`, EXIT.BROKEN, err);
}

/** "the new PKI", "the old PKI", or what it is otherwise, in words. */
function describeHeld(now: PkiFiles, ours: PkiFiles, old: PkiFiles): string {
  if (diffPki(now, ours).equal) return 'the new PKI';
  if (diffPki(now, old).equal) return 'the previous PKI';
  const ca = (f: PkiFiles) => f.get('ca.crt')?.toString('base64');
  if (ca(now) === ca(ours)) return 'the new CAs with leafs written by someone else';
  if (ca(now) === ca(old)) return 'the previous CAs with leafs written by someone else';
  return 'a PKI that is neither the previous nor the new one';
}

/**
 * Puts the preflight PKI back into the Secret (guarded by our commit's version) and every
 * reachable disk, restarts everything together, verifies, and marks it rolled back.
 */
export async function rollBack(run: Run): Promise<void> {
  const { port, opts } = run;
  const old = run.current!.files;
  // A vCluster that was down before (an expired one) is "back" once its old PKI is; it need not turn Ready.
  const wasRunning = port.vc.status === 'Running';
  run.guard = await writeOverOwnRenewal(run, old, { [STATE_ANNOTATION]: marker(run, 'rolling-back') });
  for (const pod of (await port.listPods()).filter((p) => p.ready)) {
    await port.stageInPod(pod.name, old).then(() => port.swapInPod(pod.name)).catch(() => undefined);
  }
  // Everything together: after a failed change the replicas may hold different PKIs.
  try {
    await port.restart('all-at-once', opts.timeoutMs, opts.progress);
    const outcome = await port.verify(old, run.change!.files);
    run.guard = outcome.resourceVersion;
  } catch (err) {
    if (wasRunning) throw err;
  }
  const now = await port.readCertsSecret();
  if (now.resourceVersion !== run.guard) throw changedUnderUs(run, now.lastWriter);
  run.guard = await port.writeCertsSecret(run.guard!, now.files, { [STATE_ANNOTATION]: marker(run, 'rolled-back') });
}


/** Files that say which CAs and service-account keys a PKI has: what a leaf renewal never changes. */
const IDENTITY = ['ca.crt', 'ca.key', 'server-ca.crt', 'server-ca.key', 'client-ca.crt', 'client-ca.key', 'front-proxy-ca.crt',
  'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'sa.key', 'sa.pub'];

/** vCluster re-issued the leafs of the PKI we committed (its start-up renewal, set off by our restart). */
function isVClusterRenewalOf(now: CertsSecret, committed: PkiFiles): boolean {
  return /^vcluster/i.test(now.lastWriter ?? '') && IDENTITY.every((f) => {
    const a = now.files.get(f);
    const b = committed.get(f);
    return a === undefined ? b === undefined : b !== undefined && a.equals(b);
  });
}

/**
 * The rollback's write, guarded by our commit's version. The one writer it may go over is
 * vCluster renewing the leafs of what we committed on the restart we made: that is not someone
 * else's intent to keep, and the rollback replaces those leafs anyway.
 */
async function writeOverOwnRenewal(run: Run, files: PkiFiles, annotations: Record<string, string>): Promise<string> {
  try {
    return await run.port.writeCertsSecret(run.guard!, files, annotations);
  } catch (err) {
    if (!(err instanceof SecretConflictError)) throw err;
    const now = await run.port.readCertsSecret();
    if (!isVClusterRenewalOf(now, run.change!.files)) throw err;
    run.opts.progress('vCluster renewed the committed leafs when it restarted; the rollback replaces them too');
    return run.port.writeCertsSecret(now.resourceVersion, files, annotations);
  }
}
