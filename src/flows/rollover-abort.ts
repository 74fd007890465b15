// rotate-ca --abort: back to the PKI from before the rollover began, exactly as it was (the
// backup that "rotate-ca --graceful" took), through the same path as restore.
import { UserError } from '../errors.js';
import { rolloverState } from '../pki/rollover.js';
import type { Kube } from '../kube/client.js';
import type { VCluster } from '../kube/discovery.js';
import { readPkiFromSecret } from '../kube/pki-source.js';
import { abortTarget, collectBackups } from './backups.js';
import type { ChangeSpec } from './change.js';
import { restoreSpec } from './restore.js';

export { abortTarget };

export async function rolloverAbortSpec(kube: Kube, vc: VCluster, opts: { now: Date; validityMs: number }): Promise<ChangeSpec> {
  const current = await readPkiFromSecret(kube, vc);
  const window = rolloverState(current.files);
  if (!window) throw new UserError(`no CA rollover is in progress on ${vc.namespace}/${vc.name}: nothing to abort`);
  const target = abortTarget(await collectBackups(kube, vc), window.oldCA.der);
  if (!target) {
    throw new UserError(`no complete backup from before the rollover was found (it holds the old CA ${window.oldCA.subject}); list them with "kubectl vcluster-certs backups ${vc.name} -n ${vc.namespace}" and restore one with "restore --backup TS"`);
  }
  const spec = await restoreSpec(kube, vc, { backup: target.stamp, from: target.location.kind, rotate: false, allowExpired: false, allowShortValidity: false, now: opts.now, validityMs: opts.validityMs });
  const compute = spec.compute;
  return {
    ...spec,
    reason: 'rotate-ca --abort',
    async compute(files) {
      const change = await compute(files);
      change.warnings.unshift(`back to the CA from before the rollover (backup ${target.stamp}): kubeconfigs issued during the rollover stop working, the old ones keep working`);
      return change;
    },
  };
}
