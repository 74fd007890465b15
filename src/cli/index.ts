// yargs wiring. Commands stay thin: parse flags, call a flow, render its result.
import yargs from 'yargs';
import { EXIT, UserError } from '../errors.js';
import { checkCommand } from './check.js';
import { rotateCommand } from './rotate.js';
import { backupsCommand } from './backups.js';
import { rotateCACommand } from './rotate-ca.js';
import { restoreCommand } from './restore.js';
import { resumeCommand } from './resume.js';
import { kubeconfigCommand } from './kubeconfig.js';
import { completionCommand } from './completion.js';
import { versionCommand } from './version.js';
import { serveCommand } from './serve.js';
import { installCommand } from './install.js';
import { withGlobalFlags } from './flags.js';
import { helpWidth, invokedName } from './name.js';

export type Runner = (body: () => Promise<number>) => Promise<void>;

export { invokedName } from './name.js';

export async function runCli(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const verbose = argv.some((a) => /^-v+$/.test(a) || a === '--verbose');
  const run: Runner = async (body) => {
    exitCode = await body();
  };
  const parser = withGlobalFlags(yargs(argv))
    .scriptName(invokedName())
    .usage('$0 <command> [options]\n\nCheck, rotate and restore the certificates of vCluster virtual clusters.')
    .command(checkCommand(run))
    .command(rotateCommand(run))
    .command(backupsCommand(run))
    .command(rotateCACommand(run))
    .command(restoreCommand(run))
    .command(resumeCommand(run))
    .command(kubeconfigCommand(run))
    .command(serveCommand(run))
    .command(installCommand(run))
    .command(completionCommand(run))
    .command(versionCommand(run))
    .demandCommand(1, 'name a command: check, rotate, rotate-ca, backups, restore, resume, kubeconfig, serve, install (see --help)')
    .strict()
    .parserConfiguration({ 'boolean-negation': false })
    .version(false)
    .help('help')
    .alias('help', 'h')
    .wrap(helpWidth())
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${(msg ?? 'invalid arguments').replace(/\s*\n\s*/g, ' ')} (see --help)`);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    return reportError(err, verbose);
  }
  return exitCode;
}

export function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (verbose) process.stderr.write(`${(err.cause instanceof Error && err.cause.stack) || err.stack}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  process.stderr.write(`error: unexpected failure: ${msg} (run with -v for details; please report it)\n`);
  if (verbose && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return EXIT.CANNOT_RUN;
}
