import type { Argv } from 'yargs';
import { parseDuration } from './duration.js';
import { connect, oneOf, wholeNumber, withAllNamespaces, type GlobalArgs } from './flags.js';
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
    withAllNamespaces(y)
      .positional('name', { type: 'string', describe: 'vCluster name (omit to check every vCluster in scope)' })
      .option('output', { alias: 'o', type: 'string', describe: 'Output format: table, wide, json or yaml', default: 'table' })
      .option('source', { type: 'string', describe: 'Where to read the PKI: auto (the Secret; for one named vCluster also /data/pki of a Ready pod, to report drift), both (that for every vCluster), secret, pod', default: 'auto' })
      .option('warn-within', { type: 'string', describe: 'Flag certificates expiring within this duration as EXPIRING', default: '30d' })
      .option('selector', { alias: 'l', type: 'string', describe: 'Label selector on the vCluster StatefulSets/Deployments' })
      .option('concurrency', { type: 'number', describe: 'vClusters checked at once with -A', default: 8 })
      .option('chunk-size', { type: 'number', describe: 'Secrets listed per API request, as kubectl --chunk-size (0: all in one request)', default: 100 })
      .example('$0 check my-vcluster -n team-a', 'table of every certificate')
      .example('$0 check -A -o json', 'the whole fleet, for scripts')
      .epilog('Exit codes: 0 all OK, 1 something expires within --warn-within (or Secret and disk differ), 2 EXPIRED / NOT YET VALID / INVALID, 3 could not check.'),
  handler: (args: CheckArgs) => run(async () => {
    const format = oneOf(args.output, ['table', 'wide', 'json', 'yaml'] as const, '-o/--output', 'table');
    const source = oneOf(args.source, ['auto', 'both', 'secret', 'pod'] as const, '--source', 'auto');
    const warnWithinMs = parseDuration(args['warn-within'] ?? '30d', '--warn-within');
    const chunkSize = wholeNumber(args['chunk-size'], '--chunk-size', 100);
    const concurrency = Math.max(1, wholeNumber(args.concurrency, '--concurrency', 8));
    // A fleet check's worker threads boot while the Kubernetes client loads and connects
    // (inspect-pool.js loads neither the client nor the PKI code).
    const { startInspectPool, defaultThreads } = await import('../flows/inspect-pool.js');
    const pool = args.name ? undefined : startInspectPool(defaultThreads());
    pool?.catch(() => {}); // runCheck awaits it
    let kube;
    try {
      kube = await connect(args);
    } catch (err) {
      pool?.then((p) => p.close()).catch(() => {});
      throw err;
    }
    const { runCheck } = await import('../flows/check.js');
    const { renderReports } = await import('../output/check.js');
    const { useColor } = await import('../output/table.js');
    const outcome = await runCheck(kube, {
      name: args.name,
      namespace: kube.namespace,
      allNamespaces: args['all-namespaces'],
      labelSelector: args.selector,
      source,
      warnWithinMs,
      concurrency,
      chunkSize,
      pool,
    });
    process.stdout.write(await renderReports(outcome.reports, format, useColor()));
    // A single vCluster's failure is an error line on stderr too, for scripts reading stdout as data.
    for (const r of outcome.reports) if (r.error) process.stderr.write(`error: ${r.namespace}/${r.name}: ${r.error}\n`);
    if (args.verbose) {
      const threads = outcome.threads ? `, inspect threads: ${outcome.threads} (${outcome.offloaded} of ${outcome.reports.length} vClusters)` : '';
      process.stderr.write(`api requests: ${kube.stats.requests}, execs: ${kube.stats.execs}${threads}\n`);
    }
    return outcome.exitCode;
  }),
});
