import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { parseDuration } from './duration.js';
import { connect, oneOf, wholeNumber, withAllNamespaces, withOutput, type GlobalArgs } from './flags.js';
import { CHECK_FORMATS, describeChoices, METRIC_STYLES, SOURCES, valuesOf } from './values.js';
import type { Runner } from './index.js';

/** The flags check and serve share: what to check, and how the metrics look. */
export interface CheckScopeArgs extends GlobalArgs {
  source?: string;
  'warn-within'?: string;
  selector?: string;
  concurrency?: number;
  'chunk-size'?: number;
  'metric-style'?: string;
  contexts?: string;
  'all-contexts'?: boolean;
  'context-concurrency'?: number;
}

interface CheckArgs extends CheckScopeArgs {
  name?: string;
  output?: string;
  textfile?: string;
}

export function withCheckScopeFlags<T>(y: Argv<T>) {
  return withAllNamespaces(y)
    .option('source', { type: 'string', describe: `Where to read the PKI: ${SOURCES.map((s) => `${s.value} (${s.description})`).join(', ')}`, default: 'auto' })
    .option('warn-within', { type: 'string', describe: 'Flag certificates expiring within this duration as EXPIRING', default: '30d' })
    .option('selector', { alias: 'l', type: 'string', describe: 'Label selector on the vCluster StatefulSets/Deployments' })
    .option('concurrency', { type: 'number', describe: 'vClusters checked at once with -A', default: 8 })
    .option('chunk-size', { type: 'number', describe: 'Secrets listed per API request, as kubectl --chunk-size (0: all in one request)', default: 100 })
    .option('contexts', { type: 'string', describe: 'Check through these kubeconfig contexts (comma-separated), all at once' })
    .option('all-contexts', { type: 'boolean', describe: 'Check through every context of the kubeconfig, all at once' })
    .option('context-concurrency', { type: 'number', describe: 'Contexts checked at once with --contexts/--all-contexts (default: one per CPU, 2 to 4)' })
    .option('metric-style', { type: 'string', describe: `Metrics: ${describeChoices(METRIC_STYLES)}`, default: 'native' });
}

/** The check options of the shared flags, each validated with a one-line error. */
export function checkScopeOf(args: CheckScopeArgs) {
  return {
    style: oneOf(args['metric-style'], valuesOf(METRIC_STYLES), '--metric-style', 'native'),
    opts: {
      allNamespaces: args['all-namespaces'],
      labelSelector: args.selector,
      source: oneOf(args.source, valuesOf(SOURCES), '--source', 'auto'),
      warnWithinMs: parseDuration(args['warn-within'] ?? '30d', '--warn-within'),
      concurrency: Math.max(1, wholeNumber(args.concurrency, '--concurrency', 8)),
      chunkSize: wholeNumber(args['chunk-size'], '--chunk-size', 100),
      contextConcurrency: args['context-concurrency'] === undefined ? undefined : Math.max(1, wholeNumber(args['context-concurrency'], '--context-concurrency', 1)),
    },
  };
}

/** The contexts of --contexts / --all-contexts, or undefined for a single-context check. */
export async function contextsOf(args: Pick<CheckArgs, 'contexts' | 'all-contexts' | 'context' | 'kubeconfig'>): Promise<string[] | undefined> {
  if (args.contexts === undefined && !args['all-contexts']) return undefined;
  if (args.context !== undefined) throw new UserError('--context names one context; with --contexts or --all-contexts leave it out');
  if (args.contexts !== undefined && args['all-contexts']) throw new UserError('pass either --contexts or --all-contexts, not both');
  const { listContexts } = await import('../kube/config.js');
  const known = listContexts({ kubeconfig: args.kubeconfig });
  if (args['all-contexts']) {
    if (known.length === 0) throw new UserError('the kubeconfig defines no contexts; add one or drop --all-contexts');
    return known;
  }
  const wanted = [...new Set(String(args.contexts).split(',').map((c) => c.trim()).filter(Boolean))];
  if (wanted.length === 0) throw new UserError('--contexts takes a comma-separated list of context names, e.g. --contexts prod-eu,prod-us');
  const missing = wanted.filter((c) => !known.includes(c));
  if (missing.length) throw new UserError(`context${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not in the kubeconfig (contexts: ${known.join(', ') || 'none'})`);
  return wanted;
}

export const checkCommand = (run: Runner) => ({
  command: 'check [name]',
  describe: 'Show every certificate of a vCluster (or all of them) with its expiry and status',
  builder: (y: Argv) =>
    withOutput(withCheckScopeFlags(y), CHECK_FORMATS)
      .positional('name', { type: 'string', describe: 'vCluster name (omit to check every vCluster in scope)' })
      .option('textfile', { type: 'string', describe: 'With -o prometheus: write the metrics to this file atomically (node_exporter textfile collector) instead of stdout' })
      .example('$0 check my-vcluster -n team-a', 'table of every certificate')
      .example('$0 check -A -o json', 'the whole fleet, for scripts')
      .example('$0 check -A --all-contexts -o prometheus --textfile /var/lib/node_exporter/vcluster_certs.prom', 'every host cluster, for Prometheus')
      .epilog('Exit codes: 0 all OK, 1 something expires within --warn-within (or Secret and disk differ), 2 EXPIRED / NOT YET VALID / INVALID, 3 could not check. With several contexts: the worst of them.'),
  handler: (args: CheckArgs) => run(async () => {
    const format = oneOf(args.output, CHECK_FORMATS, '-o/--output', 'table');
    const { style, opts: scope } = checkScopeOf(args);
    if (args.textfile !== undefined && format !== 'prometheus') throw new UserError('--textfile writes metrics: add -o prometheus');
    if (args.textfile === '') throw new UserError('--textfile needs a file name, e.g. --textfile /var/lib/node_exporter/vcluster_certs.prom');
    const contexts = await contextsOf(args);
    const opts = { ...scope, name: args.name };
    const started = Date.now();
    let outcome: import('../flows/check-contexts.js').FleetOutcome;
    if (contexts) {
      const { runCheckContexts } = await import('../flows/check-contexts.js');
      outcome = await runCheckContexts(contexts, (context) => connect({ ...args, context }), opts);
    } else {
      const { runCheck } = await import('../flows/check.js');
      let contextName = '';
      const one = await runCheck(async () => {
        const kube = await connect(args);
        contextName = kube.contextName;
        return kube;
      }, opts);
      if (args.verbose && one.threads) process.stderr.write(`inspect threads: ${one.threads} (${one.offloaded} of ${one.reports.length} vClusters)\n`);
      outcome = {
        contexts: [{ name: contextName, vclusters: one.reports.length, exitCode: one.exitCode }], reports: one.reports, exitCode: one.exitCode,
        startedAt: new Date(started), finishedAt: new Date(), requests: one.requests, execs: one.execs,
      };
    }
    const { escapeControl } = await import('../output/table.js');
    if (format === 'prometheus') {
      const { renderPrometheus } = await import('../output/prometheus.js');
      const text = renderPrometheus({
        reports: outcome.reports, finishedAt: outcome.finishedAt, durationMs: outcome.finishedAt.getTime() - started,
        contexts: outcome.contexts,
      }, style);
      if (args.textfile !== undefined) {
        const { writeFileAtomic } = await import('../output/textfile.js');
        await writeFileAtomic(args.textfile, text);
      } else {
        process.stdout.write(text);
      }
    } else {
      const { renderReportChunks } = await import('../output/check.js');
      const { useColor } = await import('../output/table.js');
      const { writeChunks } = await import('../output/write.js');
      await writeChunks(process.stdout, await renderReportChunks(outcome.reports, format, useColor(), contexts ? outcome.contexts : undefined));
    }
    // A single vCluster's (or context's) failure is an error line on stderr too, for scripts reading stdout as data.
    for (const c of outcome.contexts) if (c.error) process.stderr.write(`error: ${escapeControl(`context ${c.name}: ${c.error}`)}\n`);
    for (const r of outcome.reports) {
      if (r.error) process.stderr.write(`error: ${escapeControl(`${r.context !== undefined ? `${r.context}: ` : ''}${r.namespace}/${r.name}: ${r.error}`)}\n`);
    }
    if (args.verbose) process.stderr.write(`api requests: ${outcome.requests}, execs: ${outcome.execs}\n`);
    return outcome.exitCode;
  }),
});
