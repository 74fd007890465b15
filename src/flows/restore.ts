// restore: put a backup back (the documented manual procedure of /data/pki.bak, automated),
// then by default re-issue the leafs from the restored CAs, as upstream's docs prescribe.
import { UserError } from '../errors.js';
import { applyLeafRotation, planLeafRotation } from '../pki/rotation.js';
import type { PkiFiles } from '../pki/types.js';
import type { Kube } from '../kube/client.js';
import type { VCluster } from '../kube/discovery.js';
import { backupSecretName } from '../kube/secrets.js';
import { collectBackups, describeLocation, type BackupInfo } from './backups.js';
import type { ChangeSpec, PlanLine } from './change.js';
import { refusalAsUserError } from './rotate.js';

export type RestoreSource = 'auto' | 'pod' | 'secret';

export interface RestoreOptions {
  backup: string;
  from: RestoreSource;
  rotate: boolean;
  /** restore a backup whose certificates expired, as it is */
  allowExpired: boolean;
  /** re-issue leafs with 90 days or less */
  allowShortValidity: boolean;
  now: Date;
  validityMs: number;
  onWarning?: (message: string) => void;
}

/**
 * The backup to restore: the newest one that is not restore's own pre-restore snapshot (or the
 * given stamp); a pod copy when one exists, as the docs do, else the Secret.
 */
export function pickBackup(all: BackupInfo[], backup: string, from: RestoreSource, namespace: string): BackupInfo {
  if (backup !== 'latest' && !/^\d+$/.test(backup)) {
    throw new UserError(`invalid --backup "${backup}": use "latest" or a unix timestamp as listed by "kubectl vcluster-certs backups"`);
  }
  const bySource = all.filter((b) => from === 'auto' || b.location.kind === from);
  // "latest" skips the snapshots restore itself takes of the state it replaces: after an
  // interrupted restore, running it again must bring back the same backup, not undo it.
  const ownSnapshots = new Set(all.filter((b) => b.reason === 'restore').map((b) => b.stamp));
  const latestPool = bySource.filter((b) => !ownSnapshots.has(b.stamp));
  const candidates = backup === 'latest' ? (latestPool.length ? latestPool : bySource) : bySource.filter((b) => b.stamp === backup);
  if (candidates.length === 0) {
    const what = backup === 'latest' ? 'no backup' : `no backup ${backup}`;
    const where = from === 'auto' ? '' : ` in a ${from}`;
    const known = [...new Set(all.map((b) => b.stamp))].join(', ') || 'none';
    throw new UserError(`${what} found${where} (backups: ${known}); list them with "kubectl vcluster-certs backups"`);
  }
  const stamp = candidates.map((b) => Number(b.stamp)).reduce((a, b) => Math.max(a, b)).toString();
  const same = candidates.filter((b) => b.stamp === stamp && b.complete);
  const chosen = same.find((b) => b.location.kind === 'pod') ?? same[0];
  if (!chosen) {
    const broken = candidates.find((b) => b.stamp === stamp)!;
    throw new UserError(`backup ${stamp} (${describeLocation(broken.location, namespace)}) is not complete: ${broken.problems.slice(0, 3).join('; ')}; pick another with --backup`);
  }
  return chosen;
}

function caDigest(files: PkiFiles): string {
  return ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'].map((f) => files.get(f)?.toString('base64') ?? '').join('|');
}

export async function restoreSpec(kube: Kube, vc: VCluster, opts: RestoreOptions): Promise<ChangeSpec & { backup: BackupInfo }> {
  const backup = pickBackup(await collectBackups(kube, vc, { onWarning: opts.onWarning }), opts.backup, opts.from, vc.namespace);
  const where = describeLocation(backup.location, vc.namespace);
  const spec: ChangeSpec & { backup: BackupInfo } = {
    kind: 'restore',
    // Decided in compute once the current CA is known; all-at-once is the safe default.
    restartMode: 'all-at-once',
    confirm: 'name',
    backup,
    // Pruning must never delete the backup being restored (nor its Secret copy, when a pod copy is used).
    protectBackups: [backupSecretName(vc.name, backup.stamp)],
    async compute(current) {
      let files = new Map(backup.files);
      const lines: PlanLine[] = [...files.keys()].sort().map((file) => ({ file, action: 'restore', note: `from ${where}` }));
      const warnings: string[] = [];
      const sameCAs = caDigest(current) === caDigest(files);
      if (!sameCAs) {
        warnings.push(`the CAs change back to those of backup ${backup.stamp}: kubeconfigs issued since then stop working, older ones work again`);
      }
      if (opts.rotate) {
        let plan;
        try {
          plan = planLeafRotation(files, { now: opts.now, validityMs: opts.validityMs, force: opts.allowShortValidity });
        } catch (err) {
          throw new UserError(`cannot re-issue the leafs of backup ${backup.stamp}: ${(err as Error).message.split('\n')[0]}; use --no-rotate to restore it as it is, or rotate-ca`, 3, err);
        }
        files = await applyLeafRotation(files, plan).catch((err: unknown) => {
          throw refusalAsUserError(err);
        });
        for (const e of plan.entries.filter((x) => x.action === 'reissue')) {
          const line = lines.find((l) => l.file === e.path);
          if (line) Object.assign(line, { action: 'restore+reissue', oldExpiry: e.oldNotAfter?.toISOString(), newExpiry: e.newNotAfter?.toISOString(), keyType: e.keyAlgorithm });
        }
      } else {
        const expired = backup.cas.find((c) => c.notAfter.getTime() < opts.now.getTime());
        const what = expired ? `its CA ${expired.file} expired on ${expired.notAfter.toISOString()}`
          : backup.earliestLeafExpiry && backup.earliestLeafExpiry.getTime() < opts.now.getTime()
            ? `${backup.earliestLeaf} expired on ${backup.earliestLeafExpiry.toISOString()}` : '';
        if (what && !opts.allowExpired) {
          throw new UserError(`backup ${backup.stamp} cannot run as it is: ${what}, and the vCluster refuses to start with expired certificates; drop --no-rotate to re-issue the leafs${expired ? ' (or use rotate-ca)' : ''}, or pass --allow-expired`);
        }
        if (what) warnings.push(`backup ${backup.stamp}: ${what}; the vCluster may not come back`);
      }
      return { files, lines, warnings, restartMode: sameCAs ? 'rolling' : 'all-at-once' };
    },
  };
  return spec;
}
