import type { Argv } from 'yargs';
import { withChangeFlags, runChangeCommand, type ChangeArgs } from './change-flags.js';
import { parseDuration } from './duration.js';
import { oneOf } from './flags.js';
import type { Runner } from './index.js';

interface RestoreArgs extends ChangeArgs {
  backup?: string;
  from?: string;
  'no-rotate'?: boolean;
  validity?: string;
  'allow-expired'?: boolean;
  'allow-short-validity'?: boolean;
}

export const restoreCommand = (run: Runner) => ({
  command: 'restore <name>',
  describe: 'Bring back a backup of the PKI (from /data/pki.bak/<ts> in a pod, or the off-pod backup Secret)',
  builder: (y: Argv) =>
    withChangeFlags(y)
      .option('backup', { type: 'string', describe: 'Which backup: latest, or a unix timestamp from "backups"', default: 'latest' })
      .option('from', { type: 'string', describe: 'Where to take it from: auto (a pod copy if one exists, else the Secret), pod, secret', default: 'auto' })
      .option('no-rotate', { type: 'boolean', describe: 'Restore the files as they are, without re-issuing the leafs from the restored CAs', default: false })
      .option('validity', { type: 'string', describe: 'Validity of the re-issued leaf certificates', default: '365d' })
      .option('allow-expired', { type: 'boolean', describe: 'With --no-rotate: restore a backup whose certificates expired, as it is', default: false })
      .option('allow-short-validity', { type: 'boolean', describe: 'Allow --validity of 90 days or less', default: false })
      .example('$0 backups my-vc -n team-a', 'see what can be restored')
      .example('$0 restore my-vc -n team-a --backup 1752736900 --yes', 'restore one backup')
      .epilog('The current PKI is backed up first, so a restore can itself be undone. Exit codes as for rotate.'),
  handler: (args: RestoreArgs) => run(async () => {
    const from = oneOf(args.from, ['auto', 'pod', 'secret'] as const, '--from', 'auto');
    const validityMs = parseDuration(args.validity ?? '365d', '--validity');
    return runChangeCommand(args, async ({ now, vc, kube }) => {
      const { restoreSpec } = await import('../flows/restore.js');
      return restoreSpec(kube, vc, {
        backup: String(args.backup ?? 'latest'), from, rotate: !args['no-rotate'], now, validityMs,
        allowExpired: !!args.force || !!args['allow-expired'], allowShortValidity: !!args.force || !!args['allow-short-validity'],
        onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
      });
    });
  }),
});
