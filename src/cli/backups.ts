import type { Argv } from 'yargs';
import { connect, oneOf, withOutput, type GlobalArgs } from './flags.js';
import { BACKUPS_FORMATS } from './values.js';
import type { Runner } from './index.js';

interface BackupsArgs extends GlobalArgs {
  name: string;
  output?: string;
}

export const backupsCommand = (run: Runner) => ({
  command: 'backups <name>',
  describe: 'List the PKI backups of a vCluster (backup Secrets and /data/pki.bak in each replica) and whether each is complete',
  builder: (y: Argv) =>
    withOutput(y, BACKUPS_FORMATS)
      .positional('name', { type: 'string', describe: 'vCluster name', demandOption: true })
      .example('$0 backups my-vc -n team-a', 'newest first, with CA fingerprints')
      .example('$0 backups my-vc -n team-a -o json', 'for scripts')
      .epilog('Reads only, never changes anything. Copies with the same COPY letter hold the same PKI. '
        + 'Exit codes: 0 listed (also when none were found), 3 could not list.'),
  handler: (args: BackupsArgs) => run(async () => {
    const format = oneOf(args.output, BACKUPS_FORMATS, '-o/--output', 'table');
    const kube = await connect(args);
    const { runBackups } = await import('../flows/backups.js');
    const { renderBackups } = await import('../output/backups.js');
    const { useColor } = await import('../output/table.js');
    const listing = await runBackups(kube, { name: args.name, namespace: kube.namespace });
    process.stdout.write(await renderBackups(listing, format, useColor()));
    if (args.verbose) process.stderr.write(`api requests: ${kube.stats.requests}, execs: ${kube.stats.execs}\n`);
    return 0;
  }),
});
