import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { withChangeFlags, runChangeCommand, type ChangeArgs } from './change-flags.js';
import { parseDuration } from './duration.js';
import type { Runner } from './index.js';
import { ROTATION_GROUPS, resolveRotationNames, type RotationSelection } from '../pki/rotation-targets.js';

/** --only and --expiring-within, checked before the cluster is contacted. */
function selectionFrom(args: RotateArgs): RotationSelection | undefined {
  const sel: RotationSelection = {};
  if (args.only) {
    try {
      sel.only = resolveRotationNames(args.only.flatMap((s) => String(s).split(',')));
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  }
  if (args['expiring-within'] !== undefined) {
    sel.expiringWithinMs = parseDuration(args['expiring-within'], '--expiring-within');
    if (sel.expiringWithinMs <= 0) throw new UserError('--expiring-within must be positive, e.g. 60d');
  }
  return sel.only || sel.expiringWithinMs !== undefined ? sel : undefined;
}

interface RotateArgs extends ChangeArgs {
  validity?: string;
  'allow-short-validity'?: boolean;
  only?: string[];
  'expiring-within'?: string;
  'allow-startup-renewal'?: boolean;
}

export const rotateCommand = (run: Runner) => ({
  command: 'rotate <name>',
  describe: 'Re-issue every leaf certificate (or the selected ones) from the existing CAs, restart the vCluster and verify it',
  builder: (y: Argv) =>
    withChangeFlags(y)
      .option('validity', { type: 'string', describe: 'Validity of the new certificates (more than 90d, or vCluster renews them itself)', default: '365d' })
      .option('only', { type: 'string', array: true, describe: `Re-issue only these (comma-separated; names as check prints them, with or without .crt/.conf, or a group: ${Object.keys(ROTATION_GROUPS).join(', ')})` })
      .option('expiring-within', { type: 'string', describe: 'Re-issue only the certificates that expire within this time, e.g. 60d (with --only: those of the named ones)' })
      .option('allow-startup-renewal', { type: 'boolean', describe: "Go on with --only/--expiring-within although a leaf left out has 90 days or less, so vCluster renews every leaf on its restart", default: false })
      .option('allow-short-validity', { type: 'boolean', describe: 'Allow --validity of 90 days or less (vCluster renews such leafs on its next start)', default: false })
      .example('$0 rotate my-vc -n team-a --dry-run', 'show what would change')
      .example('$0 rotate my-vc -n team-a --yes', 'rotate without a prompt (scripts, CI)')
      .example('$0 rotate my-vc -n team-a --only apiserver,kubeconfigs', 'only apiserver.crt and the three kubeconfigs')
      .example('$0 rotate my-vc -n team-a --expiring-within 60d', 'only what expires within 60 days')
      .epilog('Backs up /data/pki to /data/pki.bak/<unix ts> in every Ready replica and to a Secret <name>-certs-backup-<unix ts>, '
        + 'commits the new PKI with one guarded Secret update, restarts, verifies through the vCluster endpoint, and rolls back on failure. '
        + 'Exit codes: 0 done (or dry run), 2 failed and rolled back / nothing changed, 3 could not start, 4 failed and left changed, 5 declined.'),
  handler: (args: RotateArgs) => run(async () => {
    const validityMs = parseDuration(args.validity ?? '365d', '--validity');
    if (validityMs <= 0) throw new UserError('--validity must be positive, e.g. 365d');
    const select = selectionFrom(args);
    return runChangeCommand(args, async ({ now, vc }) => {
      const { leafRotationSpec } = await import('../flows/rotate.js');
      return leafRotationSpec({
        now, validityMs, force: !!args.force || !!args['allow-short-validity'],
        ...(select ? { select } : {}),
        version: vc.version,
        allowStartupRenewal: !!args.force || !!args['allow-startup-renewal'],
      });
    });
  }),
});
