import type { Argv } from 'yargs';
import { parseDuration } from './duration.js';
import { connect, oneOf, wholeNumber, withAllNamespaces, withOutput, type GlobalArgs } from './flags.js';
import { CHECK_FORMATS, SOURCES } from './values.js';
import type { Runner } from './index.js';

interface CheckArgs extends GlobalArgs {
  name?: string;
  output?: string;
  source?: string;
  'warn-within'?: string;
  selector?: string;
  concurrency?: number;
  'chunk-size'?: number;
}

export const checkCommand = (run: Runner) => ({
  command: 'check [name]',
  describe: 'Show every certificate of a vCluster (or all of them) with its expiry and status',
  builder: (y: Argv) =>
    withOutput(withAllNamespaces(y), CHECK_FORMATS)
      .positional('name', { type: 'string', describe: 'vCluster name (omit to check every vCluster in scope)' })
      .option('source', { type: 'string', describe: `Where to read the PKI: ${SOURCES.map((s) => `${s.value} (${s.description})`).join(', ')}`, default: 'auto' })
      .option('warn-within', { type: 'string', describe: 'Flag certificates expiring within this duration as EXPIRING', default: '30d' })
      .option('selector', { alias: 'l', type: 'string', describe: 'Label selector on the vCluster StatefulSets/Deployments' })
      .option('concurrency', { type: 'number', describe: 'vClusters checked at once with -A', default: 8 })
      .option('chunk-size', { type: 'number', describe: 'Secrets listed per API request, as kubectl --chunk-size (0: all in one request)', default: 100 })
      .example('$0 check my-vcluster -n team-a', 'table of every certificate')
      .example('$0 check -A -o json', 'the whole fleet, for scripts')
      .epilog('Exit codes: 0 all OK, 1 something expires within --warn-within (or Secret and disk differ), 2 EXPIRED / NOT YET VALID / INVALID, 3 could not check.'),
  handler: (args: CheckArgs) => run(async () => {
    const format = oneOf(args.output, CHECK_FORMATS, '-o/--output', 'table');
    const source = oneOf(args.source, SOURCES.map((s) => s.value), '--source', 'auto');
    const warnWithinMs = parseDuration(args['warn-within'] ?? '30d', '--warn-within');
    const chunkSize = wholeNumber(args['chunk-size'], '--chunk-size', 100);
    const concurrency = Math.max(1, wholeNumber(args.concurrency, '--concurrency', 8));
    const { runCheck } = await import('../flows/check.js');
    const outcome = await runCheck(() => connect(args), {
      name: args.name,
      allNamespaces: args['all-namespaces'],
      labelSelector: args.selector,
      source,
      warnWithinMs,
      concurrency,
      chunkSize,
    });
    const { renderReports } = await import('../output/check.js');
    const { useColor, escapeControl } = await import('../output/table.js');
    process.stdout.write(await renderReports(outcome.reports, format, useColor()));
    // A single vCluster's failure is an error line on stderr too, for scripts reading stdout as data.
    for (const r of outcome.reports) if (r.error) process.stderr.write(`error: ${escapeControl(`${r.namespace}/${r.name}: ${r.error}`)}\n`);
    if (args.verbose) {
      const threads = outcome.threads ? `, inspect threads: ${outcome.threads} (${outcome.offloaded} of ${outcome.reports.length} vClusters)` : '';
      process.stderr.write(`api requests: ${outcome.requests}, execs: ${outcome.execs}${threads}\n`);
    }
    return outcome.exitCode;
  }),
});
