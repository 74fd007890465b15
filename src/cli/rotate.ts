import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { withChangeFlags, runChangeCommand, type ChangeArgs } from './change-flags.js';
import { parseDuration } from './duration.js';
import type { Runner } from './index.js';

interface RotateArgs extends ChangeArgs {
  validity?: string;
  'allow-short-validity'?: boolean;
}

export const rotateCommand = (run: Runner) => ({
  command: 'rotate <name>',
  describe: 'Re-issue every leaf certificate from the existing CAs, restart the vCluster and verify it',
  builder: (y: Argv) =>
    withChangeFlags(y)
      .option('validity', { type: 'string', describe: 'Validity of the new certificates (more than 90d, or vCluster renews them itself)', default: '365d' })
      .option('allow-short-validity', { type: 'boolean', describe: 'Allow --validity of 90 days or less (vCluster renews such leafs on its next start)', default: false })
      .example('$0 rotate my-vc -n team-a --dry-run', 'show what would change')
      .example('$0 rotate my-vc -n team-a --yes', 'rotate without a prompt (scripts, CI)')
      .epilog('Backs up /data/pki to /data/pki.bak/<unix ts> in every Ready replica and to a Secret <name>-certs-backup-<unix ts>, '
        + 'commits the new PKI with one guarded Secret update, restarts, verifies through the vCluster endpoint, and rolls back on failure. '
        + 'Exit codes: 0 done (or dry run), 2 failed and rolled back / nothing changed, 3 could not start, 4 failed and left changed, 5 declined.'),
  handler: (args: RotateArgs) => run(async () => {
    const validityMs = parseDuration(args.validity ?? '365d', '--validity');
    if (validityMs <= 0) throw new UserError('--validity must be positive, e.g. 365d');
    return runChangeCommand(args, async ({ now }) => {
      const { leafRotationSpec } = await import('../flows/rotate.js');
      return leafRotationSpec({ now, validityMs, force: !!args.force || !!args['allow-short-validity'] });
    });
  }),
});
