import type { Argv } from 'yargs';
import { buildInfo, versionLine } from '../version.js';
import { oneOf } from './flags.js';
import type { Runner } from './index.js';

export const versionCommand = (run: Runner) => ({
  command: 'version',
  describe: 'Print the version, git commit and build date of this binary',
  builder: (y: Argv) =>
    y
      .option('output', { alias: 'o', type: 'string', describe: 'Output format: text or json', default: 'text' })
      .example('$0 version -o json', 'version, build ("release" or "dev"), gitCommit, gitTreeState, buildDate, nodeVersion, platform')
      .epilog('A release binary names the commit it was built from and that commit\'s date; a local build says "dev build". Exit codes: 0 printed, 3 bad flags.'),
  handler: (args: { output?: string }) => run(async () => {
    const format = oneOf(args.output, ['text', 'json'] as const, '-o/--output', 'text');
    const info = buildInfo();
    process.stdout.write(format === 'json' ? `${JSON.stringify(info, null, 2)}\n` : `${versionLine(info)}\n`);
    return 0;
  }),
});
