import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { checkScopeOf, contextsOf, withCheckScopeFlags, type CheckScopeArgs } from './check.js';
import { parseDuration } from './duration.js';
import { connect } from './flags.js';
import type { Runner } from './index.js';

interface ServeArgs extends CheckScopeArgs {
  listen?: string;
  interval?: string;
}

/** ':9101' (every address), '127.0.0.1:9101', '[::1]:9101'; port 0 takes a free one. */
export function parseListen(text: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UserError(`invalid --listen "${text}": use [HOST]:PORT, e.g. :9101 or 127.0.0.1:9101`);
  const host = m[1] ?? m[2];
  return { host: host || undefined, port };
}

export const serveCommand = (run: Runner) => ({
  command: 'serve',
  describe: 'Run as a Prometheus exporter: check on an interval, serve the metrics on /metrics',
  builder: (y: Argv) =>
    withCheckScopeFlags(y)
      .option('listen', { type: 'string', describe: 'Address to serve /metrics, /healthz and /readyz on', default: ':9101' })
      .option('interval', { type: 'string', describe: 'Time between the end of one check and the start of the next', default: '5m' })
      .example('$0 serve -A', 'in a pod: the service account, every namespace, on :9101')
      .example('$0 serve -n team-a,team-b --interval 10m', 'namespaces checked one by one (per-namespace Roles)')
      .epilog('-n takes a comma-separated list: each namespace is checked on its own, for per-namespace RBAC. '
        + 'A failed check is counted (vcluster_certs_check_errors_total) and the last good result stays served with its age (vcluster_certs_result_age_seconds). '
        + '/readyz answers 200 once every context was checked. Runs until SIGTERM or SIGINT; exit code 3 when it cannot start.'),
  handler: (args: ServeArgs) => run(async () => {
    const { host, port } = parseListen(args.listen ?? ':9101');
    const intervalMs = parseDuration(args.interval ?? '5m', '--interval');
    if (intervalMs < 1000) throw new UserError('--interval must be at least 1s, e.g. 5m');
    const { style, opts: scope } = checkScopeOf(args);
    const namespaces = args.namespace ? [...new Set(args.namespace.split(',').map((n) => n.trim()).filter(Boolean))] : undefined;
    if (namespaces && args['all-namespaces']) throw new UserError('pass either -n or -A, not both');
    const { resolveKubeConfig } = await import('../kube/config.js');
    let contexts = await contextsOf(args);
    let using: string;
    if (contexts) {
      using = `contexts ${contexts.join(', ')}`;
    } else {
      const resolved = resolveKubeConfig({ kubeconfig: args.kubeconfig, context: args.context });
      contexts = [resolved.contextName];
      using = resolved.origin === 'in-cluster service account'
        ? `the in-cluster service account (API server ${resolved.server})`
        : `context ${resolved.contextName} of ${resolved.origin}`;
    }
    const { Exporter, exporterServer } = await import('../flows/serve.js');
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line.replace(/[\r\n]+/g, ' ')}\n`);
    const exporter = new Exporter({
      contexts,
      namespaces: namespaces && namespaces.length > 0 ? namespaces : undefined,
      connect: (context) => connect({ ...args, namespace: undefined, context }),
      check: scope,
      intervalMs,
      style,
      log,
    });
    const server = exporterServer(exporter);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new UserError(`cannot listen on ${args.listen}: ${err.code ?? err.message}; pick another --listen address`, 3, err)));
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    const shown = typeof addr === 'object' && addr ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
    const where = args['all-namespaces'] ? 'every namespace' : namespaces ? `namespace${namespaces.length > 1 ? 's' : ''} ${namespaces.join(', ')}` : "the context's namespace";
    log(`serving http://${shown}/metrics; checking ${where} every ${args.interval ?? '5m'} using ${using}`);
    exporter.start();
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    log('stopping');
    server.close();
    server.closeAllConnections();
    await exporter.stop();
    return 0;
  }),
});
