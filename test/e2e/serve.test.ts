// serve end to end: the built binary as an exporter against the simulated cluster, scraped over
// HTTP and judged by the npm exposition parser and promtool; in a simulated pod (service-account
// files bind-mounted in a private mount namespace) and with its cluster gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, startCluster, type SimCluster } from '../cluster/index.js';
import { BINARY, runCli } from './helpers.js';
import { parseExposition, promtool, sample } from './prom.js';

const test = suite('serve e2e');
let cluster: SimCluster;
let scratch = '';
let readerToken = '';

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));

async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-serve-'));
  cluster = await startCluster();
  await Promise.all([
    generatePki({ name: 'web', namespace: 'team-a' }).then((pki) => cluster.addVCluster({ name: 'web', namespace: 'team-a', pki })),
    generatePki({ name: 'old', namespace: 'team-b', expiredLeafs: true }).then((pki) => cluster.addVCluster({ name: 'old', namespace: 'team-b', pki, persistence: false })),
  ]);
  const kc = parseYaml(readFileSync(await cluster.addUser('exporter', { allow: [{ verbs: ['get', 'list'], resources: ['secrets', 'statefulsets', 'deployments', 'pods'] }], namespace: 'team-a' }), 'utf8'));
  readerToken = kc.users[0].user.token;
}

test.after(async () => {
  await cluster?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  port: number;
  log: () => string;
  exited: Promise<number | null>;
}

/** Starts `serve` and waits for the line that names its address. */
function serve(argv: string[], env: Record<string, string>, wrap: string[] = []): Promise<Served> {
  const cmd = wrap.length ? wrap[0]! : BINARY;
  const child = spawn(cmd, [...wrap.slice(1), ...(wrap.length ? [BINARY] : []), 'serve', '--listen', '127.0.0.1:0', ...argv], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), log: () => stderr, exited });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
}

function fetchPath(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const value = (text: string, family: string, match: Record<string, string> = {}) => {
  const s = sample(parseExposition(text), family, match);
  return s === undefined ? undefined : Number(s.value);
};

test('serves /metrics from checks on its interval; an unreachable cluster is counted while the last result stays', async () => {
  // A cluster of its own, shut down halfway.
  const doomed = await startCluster();
  await Promise.all([
    generatePki({ name: 'web', namespace: 'team-a' }).then((pki) => doomed.addVCluster({ name: 'web', namespace: 'team-a', pki })),
    generatePki({ name: 'old', namespace: 'team-b', expiredLeafs: true }).then((pki) => doomed.addVCluster({ name: 'old', namespace: 'team-b', pki, persistence: false })),
  ]);
  const kubeconfig = join(scratch, 'kubeconfig');
  writeFileSync(kubeconfig, readFileSync(doomed.kubeconfigPath, 'utf8'), { mode: 0o600 });
  const s = await serve(['-A', '--interval', '1s', '--request-timeout', '3s'], { KUBECONFIG: kubeconfig, HOME: scratch });
  try {
    assert.match(s.log(), /using context admin@sim of KUBECONFIG=/);
    assert.is((await fetchPath(s.port, '/healthz')).status, 200);
    await until('/readyz', async () => ((await fetchPath(s.port, '/readyz')).status === 200 ? true : undefined));
    const m = await fetchPath(s.port, '/metrics');
    assert.is(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    const lint = await promtool(m.body);
    assert.is(lint.code, 0, lint.output);
    assert.is(value(m.body, 'vcluster_certs_vcluster_result', { vcluster: 'web', result: 'OK' }), 1);
    assert.is(value(m.body, 'vcluster_certs_vcluster_result', { vcluster: 'old', result: 'BROKEN' }), 1);
    assert.is(value(m.body, 'vcluster_certs_cert_expired', { vcluster: 'old', filename: 'apiserver.crt' }), 1);
    assert.is(value(m.body, 'vcluster_certs_cert_expired', { vcluster: 'web', filename: 'apiserver.crt' }), 0);
    assert.is(value(m.body, 'vcluster_certs_check_errors_total'), 0);
    // The check runs on the interval, not per scrape: scrapes in a burst see the same check.
    const burst = await Promise.all([1, 2, 3].map(() => fetchPath(s.port, '/metrics')));
    const counts = burst.map((b) => value(b.body, 'vcluster_certs_checks_total')!);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `checks per burst: ${counts}`);
    await until('a second check', async () => ((value((await fetchPath(s.port, '/metrics')).body, 'vcluster_certs_checks_total') ?? 0) >= 2 ? true : undefined));
    // The cluster goes away: errors count up, the last good result is still served, aging.
    await doomed.close();
    const failing = await until('a failed check', async () => {
      const body = (await fetchPath(s.port, '/metrics')).body;
      return (value(body, 'vcluster_certs_check_errors_total') ?? 0) >= 2 ? body : undefined;
    });
    assert.is(value(failing, 'vcluster_certs_context_up', { context: 'admin@sim' }), 0);
    assert.is(value(failing, 'vcluster_certs_cert_expired', { vcluster: 'old', filename: 'apiserver.crt' }), 1, 'still served');
    assert.ok(value(failing, 'vcluster_certs_result_age_seconds', { context: 'admin@sim' })! >= 1, 'its age grows');
    assert.is((await promtool(failing)).code, 0);
    assert.match(s.log(), /check failed for context admin@sim: cannot .*(refused|reset).*; serving the last good result/);
    assert.is((await fetchPath(s.port, '/nothing')).status, 404);
    s.child.kill('SIGTERM');
    assert.is(await s.exited, 0);
  } finally {
    s.child.kill('SIGKILL');
    await doomed.close().catch(() => {}); // closed already when the test got that far
  }
});

test('in a pod: the service account is used and said so; x509 style; -n takes several namespaces', async () => {
  const sa = join(scratch, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), readerToken);
  writeFileSync(join(sa, 'ca.crt'), cluster.caCert);
  writeFileSync(join(sa, 'namespace'), 'team-a');
  const url = new URL(parseYaml(readFileSync(cluster.kubeconfigPath, 'utf8')).clusters[0].cluster.server);
  const home = join(scratch, 'emptyhome');
  mkdirSync(home);
  const script = 'set -e; d=/var/run/secrets/kubernetes.io/serviceaccount; mkdir -p "$d"; mount --bind "$1" "$d"; shift; exec "$@"';
  const s = await serve(['-n', 'team-a,team-b', '--interval', '1h', '--metric-style', 'x509'], { HOME: home, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, ['unshare', '-m', 'sh', '-c', script, 'sh', sa]);
  try {
    assert.match(s.log(), /checking namespaces team-a, team-b every 1h using the in-cluster service account \(API server https:\/\/127\.0\.0\.1:\d+\)/);
    const body = await until('a check', async () => {
      const b = (await fetchPath(s.port, '/metrics')).body;
      return (value(b, 'vcluster_certs_checks_total') ?? 0) >= 1 ? b : undefined;
    });
    assert.is((await promtool(body)).code, 0);
    assert.ok(sample(parseExposition(body), 'x509_cert_not_after', { secret_namespace: 'team-a', secret_name: 'web-certs', secret_key: 'ca.crt' }), body);
    assert.is(value(body, 'x509_cert_expired', { secret_namespace: 'team-b', secret_key: 'apiserver.crt' }), 1);
    assert.is(value(body, 'vcluster_certs_check_errors_total'), 0);
    s.child.kill('SIGTERM');
    assert.is(await s.exited, 0);
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('a busy port and a bad --listen are one-line errors', async () => {
  const bad = await runCli(['serve', '--listen', 'nowhere'], { KUBECONFIG: cluster.kubeconfigPath });
  assert.is(bad.code, 3);
  assert.match(bad.stderr, /^error: invalid --listen "nowhere": use \[HOST\]:PORT, e\.g\. :9101 or 127\.0\.0\.1:9101\n$/);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  try {
    const port = (busy.address() as AddressInfo).port;
    const r = await runCli(['serve', '--listen', `127.0.0.1:${port}`], { KUBECONFIG: cluster.kubeconfigPath });
    assert.is(r.code, 3);
    assert.match(r.stderr, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE; pick another --listen address\n$`));
  } finally {
    busy.close();
  }
});

test.run();
