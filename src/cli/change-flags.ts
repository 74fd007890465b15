// Flags and plumbing shared by the commands that change a PKI (rotate, rotate-ca, restore).
import type { Argv } from 'yargs';
import { EXIT, UserError } from '../errors.js';
import type { ChangeReport, ChangeSpec } from '../flows/change.js';
import type { Kube } from '../kube/client.js';
import type { VCluster } from '../kube/discovery.js';
import { parseDuration } from './duration.js';
import { connect, oneOf, withOutput, type GlobalArgs } from './flags.js';
import { CHANGE_FORMATS } from './values.js';

export interface ChangeArgs extends GlobalArgs {
  name: string;
  'dry-run'?: boolean;
  yes?: boolean;
  force?: boolean;
  'no-rollback'?: boolean;
  timeout?: string;
  output?: string;
}

export function withChangeFlags<T>(y: Argv<T>) {
  const flags = y
    .positional('name', { type: 'string', describe: 'vCluster name', demandOption: true })
    .option('dry-run', { type: 'boolean', describe: 'Print the plan and change nothing', default: false })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation (needed when not on a terminal)', default: false })
    .option('force', { type: 'boolean', describe: 'Go on although the vCluster is not Running, or its Secret and disk differ', default: false })
    .option('no-rollback', { type: 'boolean', describe: 'On failure after the commit, leave the new PKI in place instead of restoring the backup', default: false })
    .option('timeout', { type: 'string', describe: 'How long to wait for the vCluster to come back', default: '5m' });
  return withOutput(flags, CHANGE_FORMATS);
}

/** Finds the vCluster, runs the change, prints the report; returns the exit code. */
export async function runChangeCommand(
  args: ChangeArgs,
  makeSpec: (ctx: { now: Date; vc: VCluster; kube: Kube }) => Promise<ChangeSpec> | ChangeSpec,
  after?: (report: ChangeReport, vc: VCluster) => Promise<void>,
): Promise<number> {
  const format = oneOf(args.output, CHANGE_FORMATS, '-o/--output', 'text');
  const timeoutMs = parseDuration(args.timeout ?? '5m', '--timeout');
  const { terminalAsk, progressPrinter } = await import('./prompt.js');
  const ask = terminalAsk();
  // Refuse before touching the cluster: a script without --yes should fail fast and cleanly.
  if (!args.yes && !args['dry-run'] && !ask) {
    throw new UserError(`refusing to change vCluster ${args.name} without confirmation in a non-interactive run: pass --yes (or --dry-run to preview)`);
  }
  const kube = await connect(args);
  const { findOneVCluster } = await import('../kube/discovery.js');
  const { runChange } = await import('../flows/change.js');
  const { renderChangeText } = await import('../output/change.js');
  const { useColor } = await import('../output/table.js');
  const vc = await findOneVCluster(kube, { name: args.name, namespace: kube.namespace });
  const spec = await makeSpec({ now: new Date(), vc, kube });
  const print = (r: ChangeReport) => process.stdout.write(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderChangeText(r, useColor()));
  try {
    const report = await runChange(kube, vc, spec, {
      dryRun: !!args['dry-run'],
      yes: !!args.yes,
      force: !!args.force,
      noRollback: !!args['no-rollback'],
      timeoutMs,
      ask,
      progress: args['dry-run'] ? () => undefined : progressPrinter(),
    });
    print(report);
    if (after) await after(report, vc);
    return EXIT.OK;
  } catch (err) {
    const report = (err as { report?: ChangeReport }).report;
    if (report && (report.result !== 'failed' || report.state !== 'unchanged' || format === 'json')) print(report);
    if (err instanceof UserError) throw err;
    throw err;
  }
}
