// Flags and plumbing shared by the commands that change a PKI (rotate, rotate-ca, restore, resume).
import type { Argv } from 'yargs';
import { EXIT, UserError } from '../errors.js';
import type { Allowances, ChangeOptions, ChangeReport, ChangeResult, ChangeSpec } from '../flows/change.js';
import type { ChangePort } from '../kube/change-port.js';
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
  'allow-not-running'?: boolean;
  'ignore-drift'?: boolean;
  'allow-incomplete'?: boolean;
  'no-rollback'?: boolean;
  timeout?: string;
  output?: string;
}

/** The flags every change command takes (resume has no plan of its own to force). */
export function withRunFlags<T>(y: Argv<T>) {
  const flags = y
    .positional('name', { type: 'string', describe: 'vCluster name', demandOption: true })
    .option('dry-run', { type: 'boolean', describe: 'Print the plan and change nothing', default: false })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation (needed when not on a terminal)', default: false })
    .option('timeout', { type: 'string', describe: 'How long to wait for the vCluster to come back', default: '5m' });
  return withOutput(flags, CHANGE_FORMATS);
}

export function withChangeFlags<T>(y: Argv<T>) {
  return withRunFlags(y)
    .option('allow-not-running', { type: 'boolean', describe: 'Go on although the vCluster is not Running (e.g. down because its certificates expired)', default: false })
    .option('ignore-drift', { type: 'boolean', describe: "Go on from the Secret although a replica's /data/pki differs from it", default: false })
    .option('allow-incomplete', { type: 'boolean', describe: 'Rebuild from what is there although the Secret has empty values', default: false })
    .option('force', { type: 'boolean', describe: 'All the --allow-* and --ignore-* flags of this command at once', default: false })
    .option('no-rollback', { type: 'boolean', describe: 'On failure after the commit, leave the new PKI in place instead of restoring the backup', default: false });
}

export function allowancesFrom(args: ChangeArgs): Allowances {
  const all = !!args.force;
  return { notRunning: all || !!args['allow-not-running'], drift: all || !!args['ignore-drift'], incomplete: all || !!args['allow-incomplete'] };
}

interface Interrupts {
  signal: AbortSignal;
  onReport(r: ChangeReport): void;
  onLease(release: () => Promise<void>): void;
  dispose(): void;
}

/**
 * SIGINT/SIGTERM: the first asks the flow to stop (before the commit) or finish (after it); the
 * second exits at once, still saying where the vCluster stands and letting the Lease go.
 */
function handleInterrupts(vc: VCluster): Interrupts {
  const controller = new AbortController();
  let report: ChangeReport | undefined;
  let release: (() => Promise<void>) | undefined;
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      process.stderr.write(`received ${sig}: ${report?.state === 'unknown' ? 'finishing the committed change' : 'stopping before the commit'}; send it again to exit at once\n`);
      controller.abort();
      return;
    }
    void exitNow(sig);
  };
  const exitNow = async (sig: NodeJS.Signals) => {
    const { stateAfterInterrupt } = await import('../output/change.js');
    const { code, line } = stateAfterInterrupt(report, vc);
    await Promise.race([release?.().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    process.stderr.write(`error: interrupted twice (${sig}): ${line}\n`);
    process.exit(code);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    onReport: (r) => { report = r; },
    onLease: (r) => { release = r; },
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

type Flow = (port: ChangePort, opts: ChangeOptions) => Promise<ChangeResult>;

/** Finds the vCluster, runs the change, prints the report; returns the exit code. */
export async function runChangeCommand(
  args: ChangeArgs,
  makeSpec: ((ctx: { now: Date; vc: VCluster; kube: Kube }) => Promise<ChangeSpec> | ChangeSpec) | null,
  after?: (result: ChangeResult, vc: VCluster) => Promise<void>,
  flow?: Flow,
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
  const { KubeChangePort } = await import('../kube/change-port.js');
  const { runChange } = await import('../flows/change.js');
  const { renderChangeText } = await import('../output/change.js');
  const { useColor } = await import('../output/table.js');
  const vc = await findOneVCluster(kube, { name: args.name, namespace: kube.namespace });
  const run: Flow = flow ?? (async (port, opts) => runChange(port, await makeSpec!({ now: new Date(), vc, kube }), opts));
  const print = (r: ChangeReport) => process.stdout.write(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderChangeText(r, useColor()));
  const interrupts = handleInterrupts(vc);
  try {
    const result = await run(new KubeChangePort(kube, vc), {
      dryRun: !!args['dry-run'],
      yes: !!args.yes,
      allow: allowancesFrom(args),
      noRollback: !!args['no-rollback'],
      timeoutMs,
      ask,
      progress: args['dry-run'] ? () => undefined : progressPrinter(),
      signal: interrupts.signal,
      onReport: interrupts.onReport,
      onLease: interrupts.onLease,
    });
    print(result.report);
    if (after) await after(result, vc);
    return EXIT.OK;
  } catch (err) {
    const report = (err as { report?: ChangeReport }).report;
    if (report && (report.result !== 'failed' || report.state !== 'unchanged' || format === 'json')) print(report);
    throw err;
  } finally {
    interrupts.dispose();
  }
}
