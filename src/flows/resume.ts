// resume: finishes a change (or a rollback) that was committed to `<name>-certs` and then cut
// short (killed, Ctrl-C twice, lost connection). It issues nothing: the Secret already holds the
// PKI the change meant, so every replica's disk is brought to it, the vCluster restarts, and the
// result is verified and marked. The mode follows the change: all together when the CAs differ
// from the backup taken before it, rolling otherwise.
import { EXIT, UserError } from '../errors.js';
import { diffPki } from '../pki/inspect.js';
import type { ChangePort } from '../kube/change-port.js';
import { PKI_DIR, certsSecretName } from '../kube/pki-source.js';
import { STATE_ANNOTATION, backupSecretName } from '../kube/secrets.js';
import type { ChangeOptions, ChangeResult } from './change.js';
import { formatMarker, isUnfinished, parseMarker, undoCommand } from './change-marker.js';
import { done, errMessage, lock, requiredPermissions, startRun, unlock } from './change-steps.js';
import { describePermission } from '../kube/access.js';

const CA_FILES = ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'];

export type ResumeOptions = Omit<ChangeOptions, 'allow' | 'noRollback'>;

export async function runResume(port: ChangePort, opts: ResumeOptions): Promise<ChangeResult> {
  const vc = port.vc;
  const run = startRun(port, { kind: 'restore', restartMode: 'all-at-once', confirm: 'yes', compute: async () => { throw new Error('resume computes nothing'); } },
    { ...opts, allow: { notRunning: true, drift: true, incomplete: false }, noRollback: true });
  const report = run.report;
  report.kind = 'resume';
  try {
    const secret = await port.readCertsSecret();
    run.current = secret;
    const marker = parseMarker(secret.annotations[STATE_ANNOTATION]);
    if (!isUnfinished(marker)) {
      report.result = 'nothing-to-do';
      report.warnings.push(`no unfinished change on secret ${certsSecretName(vc.name)} (last change: ${secret.annotations[STATE_ANNOTATION] || 'none recorded'})`);
      return { report };
    }
    report.stamp = marker.stamp;
    const backup = await port.readBackupSecret(backupSecretName(vc.name, marker.stamp)).catch(() => undefined);
    const sameCAs = !!backup && CA_FILES.every((f) => backup.get(f)?.equals(secret.files.get(f) ?? Buffer.alloc(0)));
    run.restartMode = sameCAs ? 'rolling' : 'all-at-once';
    const finishing = marker.state === 'committed' ? `the ${marker.kind}` : `the rollback of ${marker.kind}`;
    report.plan = [{ file: '*', action: 'restart+verify', note: `${finishing} committed at ${new Date(Number(marker.stamp) * 1000).toISOString()}, ${run.restartMode} restart` }];
    run.ready = (await port.listPods()).filter((p) => p.ready).map((p) => p.name);
    const missing = await port.missingPermissions(await requiredPermissions(run));
    if (missing.length && !opts.dryRun) {
      throw new UserError(`you lack RBAC permissions in namespace ${vc.namespace}: ${missing.map(describePermission).join(', ')}; ask your cluster admin, nothing was changed`);
    }
    done(run, 'plan');
    if (opts.dryRun) {
      report.result = 'dry-run';
      return { report };
    }
    if (!opts.yes && !(await opts.ask?.(`finish ${finishing} of vCluster ${vc.namespace}/${vc.name} now? [y/N] `, 'y'))) {
      if (!opts.ask) throw new UserError(`refusing to resume vCluster ${vc.namespace}/${vc.name} without confirmation in a non-interactive run: pass --yes (or --dry-run to preview)`);
      throw new UserError('aborted: nothing was changed', EXIT.ABORTED);
    }
    report.state = 'unknown';
    // The change is committed already: an interrupt from here on finishes it.
    run.committed = true;
    try {
      await lock(run);
      for (const pod of run.ready) {
        const disk = await port.readPodDir(pod, PKI_DIR);
        if (diffPki(secret.files, disk).equal) continue;
        await port.stageInPod(pod, secret.files);
        await port.swapInPod(pod);
      }
      done(run, 'swap');
      await port.restart(run.restartMode, opts.timeoutMs, opts.progress);
      done(run, 'restart');
      const outcome = await port.verify(secret.files);
      done(run, 'verify');
      const state = marker.state === 'committed' ? 'done' : 'rolled-back';
      await port.writeCertsSecret(outcome.resourceVersion, (await port.readCertsSecret()).files, { [STATE_ANNOTATION]: formatMarker({ ...marker, state }) });
      report.result = state;
      report.state = state === 'done' ? 'all-new' : 'all-old';
      return { report, files: secret.files };
    } catch (err) {
      report.error = errMessage(err);
      report.recovery = `Go back to the PKI from before the change with: ${undoCommand(vc, marker.stamp)}`;
      throw new UserError(`resume failed: ${report.error}; the vCluster's state is unknown. ${report.recovery}`, EXIT.PARTIAL, err);
    } finally {
      await unlock(run);
    }
  } catch (err) {
    if (err instanceof Error) (err as Error & { report?: unknown }).report = report;
    throw err;
  }
}
