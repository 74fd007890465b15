import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { VERSION } from '../version.js';
import { parseDuration } from './duration.js';
import { oneOf } from './flags.js';
import { describeChoices, INSTALL_MODES, METRIC_STYLES, valuesOf } from './values.js';
import type { Runner } from './index.js';

interface InstallArgs {
  mode?: string;
  image?: string;
  namespace?: string;
  'watch-namespaces'?: string;
  interval?: string;
  schedule?: string;
  'warn-within'?: string;
  'metric-style'?: string;
  'service-monitor'?: boolean;
  'prometheus-rule'?: boolean;
}

/** DNS-1123 label, as Kubernetes requires of a namespace name. */
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const installCommand = (run: Runner) => ({
  command: 'install',
  describe: 'Print the manifests that run the check in the host cluster (exporter or CronJob), read-only',
  builder: (y: Argv) =>
    y
      .option('mode', { type: 'string', describe: describeChoices(INSTALL_MODES), default: 'exporter' })
      .option('image', { type: 'string', describe: 'Container image holding the binary (build it from the Dockerfile)', default: `kubectl-vcluster_certs:${VERSION}` })
      .option('watch-namespaces', { type: 'string', describe: 'Check only these namespaces (comma-separated), with a Role in each instead of a ClusterRole' })
      .option('interval', { type: 'string', describe: 'exporter: time between checks', default: '5m' })
      .option('schedule', { type: 'string', describe: 'cronjob: the cron schedule', default: '0 */6 * * *' })
      .option('warn-within', { type: 'string', describe: 'A certificate expiring within this duration makes its vCluster ATTENTION', default: '30d' })
      .option('metric-style', { type: 'string', describe: 'native or x509 (x509-certificate-exporter\'s names), for the exporter and the alert rules', default: 'native' })
      .option('service-monitor', { type: 'boolean', describe: 'Add a ServiceMonitor (prometheus-operator) for the exporter' })
      .option('prometheus-rule', { type: 'boolean', describe: 'Add a PrometheusRule: alerts 28 and 14 days before expiry, on expiry, and when checks fail' })
      .example('$0 install --namespace monitoring --service-monitor --prometheus-rule | kubectl apply -f -', 'exporter for every namespace')
      .example('$0 install --mode cronjob --watch-namespaces team-a,team-b', 'a scheduled check of two namespaces')
      .epilog('-n/--namespace is where the tool runs (default vcluster-certs). Grants get/list on secrets, pods, statefulsets and deployments only: the check reads the Secrets (--source secret), no exec.'),
  handler: (args: InstallArgs) => run(async () => {
    const { installManifests, renderManifests } = await import('../output/install.js');
    const mode = oneOf(args.mode, valuesOf(INSTALL_MODES), '--mode', 'exporter');
    const style = oneOf(args['metric-style'], valuesOf(METRIC_STYLES), '--metric-style', 'native');
    const namespace = args.namespace || 'vcluster-certs';
    const watch = args['watch-namespaces'] === undefined ? undefined : [...new Set(args['watch-namespaces'].split(',').map((n) => n.trim()).filter(Boolean))];
    for (const ns of [namespace, ...(watch ?? [])]) {
      if (!NAMESPACE_RE.test(ns)) throw new UserError(`"${ns}" is not a namespace name (lower-case letters, digits and '-', at most 63)`);
    }
    if (watch && watch.length === 0) throw new UserError('--watch-namespaces takes a comma-separated list, e.g. team-a,team-b');
    if (args['service-monitor'] && mode !== 'exporter') throw new UserError('--service-monitor scrapes the exporter: use it with --mode exporter');
    if (!args.image) throw new UserError('--image needs an image reference, e.g. registry.example.com/kubectl-vcluster_certs:1.0.0');
    const intervalMs = parseDuration(args.interval ?? '5m', '--interval');
    if (intervalMs < 1000) throw new UserError('--interval must be at least 1s, e.g. 5m');
    parseDuration(args['warn-within'] ?? '30d', '--warn-within');
    if ((args.schedule ?? '').trim().split(/\s+/).length !== 5 && !/^@\w+$/.test(args.schedule ?? '')) {
      throw new UserError(`--schedule "${args.schedule}" is not a cron schedule: five fields, e.g. "0 */6 * * *", or @daily`);
    }
    process.stdout.write(await renderManifests(installManifests({
      mode, image: args.image, namespace, watchNamespaces: watch,
      interval: args.interval ?? '5m', schedule: args.schedule ?? '0 */6 * * *', warnWithin: args['warn-within'] ?? '30d', style,
      serviceMonitor: !!args['service-monitor'], prometheusRule: !!args['prometheus-rule'],
      staleAfterSeconds: Math.max(3600, Math.ceil((3 * intervalMs) / 1000)),
    })));
    return 0;
  }),
});
