// Runs INSIDE a fresh network namespace (test/release/airgap.test.ts starts it with
// `unshare -n`): only loopback exists. Every IPv4/IPv6 address is routed to loopback
// (`ip route add local 0.0.0.0/0 dev lo`), so a connection to any host lands here, and
// recorders listen on the ports anything would phone home to (DNS, HTTP(S), proxies,
// registries). HTTP(S)_PROXY point at a recorder too. The simulated cluster (test/cluster)
// serves the API on 127.0.0.1; in stub mode (or when the simulator cannot start) a minimal
// HTTP stub, named by the non-loopback address 10.11.12.13, answers the discovery lists
// with empty lists. The binary then runs `check`, under strace
// when available (every connect() it makes). Control probes afterwards prove the
// recorders see traffic. Writes a JSON report to argv[3].
//
//   unshare -n -- node --import tsx test/release/airgap-run.ts <binary> <report.json> [stub]
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { run, tmpDir, which } from './helpers.js';

const [binary, reportPath, forceMode] = process.argv.slice(2) as [string, string, string | undefined];
const PORTS = [53, 80, 443, 3128, 8080, 8443, 9418, 5000];
const hits: Array<{ phase: string; proto: string; local: string; remote: string }> = [];
let phase = 'setup';
const closers: Array<() => unknown> = [];

async function sh(cmd: string, args: string[]) {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function tcpRecorder(port: number): Promise<number> {
  const s = net.createServer((c) => {
    hits.push({ phase, proto: 'tcp', local: `${c.localAddress}:${c.localPort}`, remote: `${c.remoteAddress}:${c.remotePort}` });
    c.destroy();
  });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '::', () => { closers.push(() => s.close()); resolve((s.address() as net.AddressInfo).port); });
  });
}

function udpRecorder(port: number): Promise<void> {
  const s = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  s.on('message', (_m, r) => hits.push({ phase, proto: 'udp', local: `:${port}`, remote: `${r.address}:${r.port}` }));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '::', () => { closers.push(() => s.close()); resolve(); });
  });
}

/**
 * Stand-in API server: empty lists for whatever discovery asks; counts requests. It is
 * named in the kubeconfig by a non-loopback address (10.11.12.13, routed here), so a
 * client that sent non-local hosts through HTTP(S)_PROXY would hit the proxy recorder.
 */
async function startStub(): Promise<{ url: string; kubeconfigPath: string; requests: () => number; close: () => void }> {
  let count = 0;
  const srv = http.createServer((req, res) => {
    count++;
    res.setHeader('content-type', 'application/json');
    const kind = /\/(statefulsets|deployments|pods|namespaces|secrets)(\?|$)/.exec(req.url ?? '')?.[1] ?? 'items';
    res.end(JSON.stringify({ kind: `${kind}List`, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', r));
  const url = `http://10.11.12.13:${(srv.address() as net.AddressInfo).port}`;
  const dir = tmpDir('airgap-stub-');
  closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfigPath, `apiVersion: v1\nkind: Config\nclusters: [{name: stub, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: stub, context: {cluster: stub, user: u, namespace: team}}]\ncurrent-context: stub\n`);
  return { url, kubeconfigPath, requests: () => count, close: () => srv.close() };
}

function parseStrace(text: string): Array<{ family: string; addr: string; port: number }> {
  const out: Array<{ family: string; addr: string; port: number }> = [];
  for (const line of text.split('\n')) {
    if (!/\bconnect\(/.test(line)) continue;
    const v4 = /sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)/.exec(line);
    const v6 = /sa_family=AF_INET6, sin6_port=htons\((\d+)\).*inet_pton\(AF_INET6, "([^"]+)"/.exec(line);
    if (v4) out.push({ family: 'inet', addr: v4[2]!, port: Number(v4[1]) });
    else if (v6) out.push({ family: 'inet6', addr: v6[2]!, port: Number(v6[1]) });
    else if (!/AF_UNIX|AF_NETLINK|AF_UNSPEC/.test(line)) out.push({ family: 'other', addr: line.trim(), port: 0 });
  }
  return out;
}

async function main() {
  await sh('ip', ['link', 'set', 'lo', 'up']);
  await sh('ip', ['route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo']);
  await sh('ip', ['-6', 'route', 'add', 'local', '::/0', 'dev', 'lo']).catch(() => undefined);
  for (const p of PORTS) await tcpRecorder(p);
  await udpRecorder(53);
  const proxyPort = await tcpRecorder(0);
  const proxy = `http://127.0.0.1:${proxyPort}`;

  let mode = 'sim';
  let simError = '';
  let api: { url: string; kubeconfigPath: string; requests: () => number; close: () => unknown };
  let args: string[];
  try {
    if (forceMode === 'stub') throw new Error('stub mode requested');
    const { startCluster } = await import('../cluster/index.js');
    const { generatePki } = await import('../cluster/pkigen.js');
    const cluster = await startCluster();
    const pki = await generatePki({ name: 'vc', namespace: 'team', reuseKeys: true });
    await cluster.addVCluster({ name: 'vc', namespace: 'team', pki });
    await cluster.waitReady('team', 'vc', 30_000);
    api = { url: cluster.url, kubeconfigPath: cluster.kubeconfigPath, requests: () => cluster.requests.length, close: () => cluster.close() };
    args = ['check', 'vc', '-n', 'team'];
  } catch (e) {
    mode = 'stub';
    simError = String((e as Error)?.stack ?? e);
    api = await startStub();
    args = ['check', '-A', '--source', 'secret'];
  }
  const apiPort = Number(new URL(api.url).port);
  const apiHost = new URL(api.url).hostname;
  const home = tmpDir('airgap-home-');
  closers.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    KUBECONFIG: api.kubeconfigPath,
    HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, ALL_PROXY: proxy, all_proxy: proxy,
  };

  phase = 'binary';
  const requestsBefore = api.requests();
  const strace = which('strace', ['/usr/bin', '/bin', '/usr/local/bin']);
  const traceFile = path.join(env.HOME, 'strace.txt');
  const cmd = strace ? [strace, '-f', '-qq', '-e', 'trace=connect', '-o', traceFile, binary, ...args] : [binary, ...args];
  const result = await run(cmd[0]!, cmd.slice(1), { env, timeoutMs: 90_000 });
  const apiRequests = api.requests() - requestsBefore;
  await new Promise((r) => setTimeout(r, 200)); // late packets

  // Controls: the same environment, a client that does reach out, must be recorded.
  phase = 'control';
  const node = process.execPath;
  await run(node, ['-e', "require('net').connect(443, '203.0.113.5').on('error', () => {}).on('connect', function () { this.destroy(); })"], { env, timeoutMs: 10_000 });
  await run(node, ['-e', "new (require('dns').Resolver)({ timeout: 300, tries: 1 }).resolve4('registry.npmjs.org', () => {})"], { env, timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 300));

  const report = {
    mode, simError, apiUrl: api.url, apiHost, apiPort, args, proxy,
    binary: { code: result.code, signal: result.signal, stdout: result.stdout, stderr: result.stderr, ms: Math.round(result.ms) },
    apiRequests,
    hits,
    strace: strace ? parseStrace(fs.existsSync(traceFile) ? fs.readFileSync(traceFile, 'utf8') : '') : null,
    resolvConf: fs.existsSync('/etc/resolv.conf') ? fs.readFileSync('/etc/resolv.conf', 'utf8') : '',
  };
  fs.writeFileSync(reportPath, JSON.stringify(report, null, 2));
  await api.close();
  for (const c of closers) c();
}

main().then(() => process.exit(0), (e) => {
  fs.writeFileSync(reportPath, JSON.stringify({ fatal: String(e?.stack ?? e) }));
  process.exit(1);
});
