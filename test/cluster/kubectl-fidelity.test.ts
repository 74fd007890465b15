// Fidelity of the simulated cluster, proven with the real kubectl: the machine's v1.32 and the
// google-cloud-sdk's kubectl.1.28 and kubectl.1.33 where present (a missing binary is a named skip).
// exec runs only on versions that use WebSockets for it (1.30+), port-forward on those that tunnel SPDY
// through a WebSocket (1.31+); older ones speak plain SPDY, which the simulator does not implement, and
// those tests are named skips.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, SimCluster, typeByKind } from './index.js';
import { kubectlPortForward, run, testPki, RunResult } from './testutil.js';

const CANDIDATES: { label: string; path: string }[] = [
  { label: 'kubectl (system, 1.32)', path: '/usr/bin/kubectl' },
  { label: 'kubectl.1.28', path: '/usr/lib/google-cloud-sdk/bin/kubectl.1.28' },
  { label: 'kubectl.1.33', path: '/usr/lib/google-cloud-sdk/bin/kubectl.1.33' },
];

const PODS = typeByKind('Pod');

/** The leaf certificate a TLS server on 127.0.0.1:port presents. */
function peerCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = sock.getPeerX509Certificate();
      sock.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no certificate'));
    });
    sock.on('error', reject);
  });
}

interface Shared {
  cluster?: SimCluster;
  pki?: Map<string, Buffer>;
  cacheRoot?: string;
  viewerKubeconfig?: string;
}
const shared: Shared = {};
let activeSuites = 0;

async function setup(): Promise<Required<Shared>> {
  if (!shared.cluster) {
    shared.cluster = await startCluster();
    shared.pki = await testPki('vc', 'fidelity');
    shared.cacheRoot = await mkdtemp(join(tmpdir(), 'kubectl-cache-'));
    shared.viewerKubeconfig = await shared.cluster.addUser('viewer', {
      allow: [{ verbs: ['get', 'list'], resources: ['secrets', 'statefulsets', 'deployments', 'pods'] }],
    });
  }
  return shared as Required<Shared>;
}

async function clientMinor(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  const version = JSON.parse((await run(path, ['version', '--client', '-o', 'json'])).stdout);
  return Number(String(version.clientVersion.minor).replace(/\D/g, ''));
}

// Versions first: uvu starts a suite on a timer, so suites must be declared without awaiting in between.
const minors = await Promise.all(CANDIDATES.map((c) => clientMinor(c.path)));

for (const [index, candidate] of CANDIDATES.entries()) {
  const test = suite(`real ${candidate.label} against the simulator`);
  /** A skipped test that says so: the runner lists every `skip:` line at the end. */
  const skipNamed = (name: string) => {
    console.log(`skip: ${name}`);
    test.skip(name, () => undefined);
  };
  if (!existsSync(candidate.path)) {
    skipNamed(`${candidate.label}: binary not installed at ${candidate.path}`);
    test.run();
    continue;
  }
  const ns = `fidelity-${index}`;
  let env: Required<Shared>;
  // kubectl uses WebSockets for exec from 1.30 on (before: SPDY).
  const webSocketExec = minors[index] >= 30;
  activeSuites++;
  const kubectl = (args: string[], opts: { input?: string; kubeconfig?: string } = {}): Promise<RunResult> =>
    run(candidate.path, ['--kubeconfig', opts.kubeconfig ?? env.cluster.kubeconfigPath, ...args], {
      input: opts.input,
      env: { KUBECACHEDIR: join(env.cacheRoot, String(index)) },
    });
  const ok = async (args: string[], opts: { input?: string; kubeconfig?: string } = {}): Promise<string> => {
    const r = await kubectl(args, opts);
    assert.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  test.before(async () => {
    env = await setup();
    await env.cluster.addVCluster({ name: 'vc', namespace: ns, pki: env.pki });
    await env.cluster.waitReady(ns, 'vc');
  });

  test.after(async () => {
    if (--activeSuites > 0) return;
    await shared.cluster?.close();
    if (shared.cacheRoot) await rm(shared.cacheRoot, { recursive: true, force: true });
  });

  test('get sts,pods,secrets -o json decodes into a List with kinds on every item', async () => {
    const list = JSON.parse(await ok(['-n', ns, 'get', 'sts,pods,secrets', '-o', 'json']));
    assert.is(list.kind, 'List');
    const kinds = list.items.map((i: { kind: string; apiVersion: string; metadata: { name: string } }) => `${i.apiVersion}/${i.kind}/${i.metadata.name}`);
    assert.ok(kinds.includes('apps/v1/StatefulSet/vc'), kinds.join(' '));
    assert.ok(kinds.includes('v1/Pod/vc-0'));
    assert.ok(kinds.includes('v1/Secret/vc-certs'));
    const secret = list.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'vc-certs');
    assert.is(Object.keys(secret.data).length, 29);
  });

  test('get pods -l app=vcluster prints the server-side table', async () => {
    const out = await ok(['-n', ns, 'get', 'pods', '-l', 'app=vcluster']);
    const lines = out.trim().split('\n');
    assert.match(lines[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.match(lines[1], /^vc-0\s+1\/1\s+Running\s+0\s+\S+$/);
    const none = await kubectl(['-n', ns, 'get', 'pods', '-l', 'app=vcluster,release!=vc']);
    assert.match(none.stderr, /No resources found/);
    const all = await ok(['get', 'statefulsets', '-A', '-l', 'app=vcluster', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}']);
    assert.ok(all.includes(`${ns}/vc`));
  });

  test('--chunk-size pages through limit/continue: the same objects, in the table and in -o name', async () => {
    const whole = await ok(['get', 'secrets', '-A', '-o', 'name']);
    const chunked = await ok(['get', 'secrets', '-A', '-o', 'name', '--chunk-size=1']);
    assert.ok(whole.trim().split('\n').length >= 2);
    assert.is(chunked, whole);
    const before = env.cluster.requests.length;
    const table = await ok(['get', 'secrets', '-A', '--chunk-size=1', '--no-headers']);
    assert.is(table.trim().split('\n').length, whole.trim().split('\n').length);
    const lists = env.cluster.requests.slice(before).filter((r) => r.verb === 'list' && r.resource === 'secrets');
    assert.is(lists.length, whole.trim().split('\n').length, 'one request per chunk of one');
  });

  const execCase = webSocketExec
    ? test
    : (name: string) => skipNamed(`${candidate.label}: ${name} (SPDY exec, not simulated)`);

  execCase('exec without stdin returns the pod file', async () => {
    const out = await ok(['-n', ns, 'exec', 'vc-0', '-c', 'syncer', '--', 'cat', '/data/pki/ca.crt']);
    assert.is(out, (env.pki.get('ca.crt') as Buffer).toString());
  });

  execCase('exec -i streams stdin into the pod', async () => {
    const payload = 'line one\nline two\n'.repeat(500);
    await ok(['-n', ns, 'exec', '-i', 'vc-0', '-c', 'syncer', '--', 'sh', '-c', 'cat > /data/x'], { input: payload });
    assert.is(await ok(['-n', ns, 'exec', 'vc-0', '-c', 'syncer', '--', 'cat', '/data/x']), payload);
  });

  execCase('exec propagates a non-zero exit code', async () => {
    const r = await kubectl(['-n', ns, 'exec', 'vc-0', '-c', 'syncer', '--', 'sh', '-c', 'echo partial; exit 5']);
    assert.is(r.code, 5);
    assert.is(r.stdout, 'partial\n');
    assert.match(r.stderr, /command terminated with exit code 5/);
  });

  execCase('exec into an unknown container is refused with the API message', async () => {
    const r = await kubectl(['-n', ns, 'exec', 'vc-0', '-c', 'nope', '--', 'true']);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /container nope is not valid for pod vc-0/);
  });

  // kubectl 1.31+ tunnels SPDY through a WebSocket for port-forward; older ones speak plain SPDY.
  const portForwardCase = minors[index] >= 31
    ? test
    : (name: string) => skipNamed(`${candidate.label}: ${name} (plain SPDY port-forward, not simulated)`);

  portForwardCase('port-forward to 8443 (syncer proxy) and 6443 (kube-apiserver); kubectl talks to both with the admin.conf', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pf-'));
    const adminConf = join(dir, 'admin.conf');
    await writeFile(adminConf, env.pki.get('admin.conf') as Buffer, { mode: 0o600 });
    // a client certificate of etcd-ca, which neither endpoint trusts for clients
    const strangerConf = join(dir, 'stranger.conf');
    const b64 = (f: string) => (env.pki.get(f) as Buffer).toString('base64');
    await writeFile(strangerConf, [
      'apiVersion: v1', 'kind: Config', 'current-context: s',
      'clusters: [{name: s, cluster: {server: "https://127.0.0.1", insecure-skip-tls-verify: true}}]',
      `users: [{name: s, user: {client-certificate-data: ${b64('apiserver-etcd-client.crt')}, client-key-data: ${b64('apiserver-etcd-client.key')}}}]`,
      'contexts: [{name: s, context: {cluster: s, user: s}}]', '',
    ].join('\n'), { mode: 0o600 });
    const pf = await kubectlPortForward(candidate.path, env.cluster.kubeconfigPath, ns, 'vc-0', [8443, 6443],
      { ...process.env, KUBECACHEDIR: join(env.cacheRoot, String(index)) });
    const local: Record<string, number> = { '8443': pf.local[8443]!, '6443': pf.local[6443]! };
    try {
      const apiserver = new X509Certificate(env.pki.get('apiserver.crt') as Buffer);
      for (const port of ['8443', '6443']) {
        const r = await run(candidate.path, ['--kubeconfig', adminConf, '--server', `https://127.0.0.1:${local[port]}`, '--request-timeout', '10s', 'get', '--raw', '/version'],
          { env: { KUBECACHEDIR: join(dir, 'cache') } });
        assert.is(r.code, 0, `${port}: ${r.stderr}`);
        assert.is(JSON.parse(r.stdout).gitVersion, 'v1.33.4');
        const served = await peerCertificate(local[port]!);
        if (port === '6443') assert.ok(served.raw.equals(apiserver.raw), '6443 serves apiserver.crt');
        else assert.ok(!served.raw.equals(apiserver.raw) && served.issuer === 'CN=kubernetes', '8443 serves the proxy certificate from server-ca');
        const anonymous = await run(candidate.path, ['--kubeconfig', strangerConf, '--server', `https://127.0.0.1:${local[port]}`, 'get', '--raw', '/version'],
          { env: { KUBECACHEDIR: join(dir, 'cache') } });
        assert.match(anonymous.stderr, /Unauthorized/, `${port} refuses a certificate of another CA: ${anonymous.stderr}`);
      }
    } finally {
      pf.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('delete pod waits for it to go; the pod comes back with a new UID', async () => {
    const oldUid = env.cluster.store.get(PODS, ns, 'vc-0').metadata.uid;
    const out = await ok(['-n', ns, 'delete', 'pod', 'vc-0']);
    assert.match(out, /pod "vc-0" deleted/);
    await ok(['-n', ns, 'wait', '--for=condition=Ready', 'pod/vc-0', '--timeout=20s']);
    const uid = (await ok(['-n', ns, 'get', 'pod', 'vc-0', '-o', 'jsonpath={.metadata.uid}'])).trim();
    assert.ok(uid.length > 0);
    assert.is.not(uid, oldUid);
  });

  test('scale sts --replicas=0 removes the pods, scaling back brings them Ready', async () => {
    await ok(['-n', ns, 'scale', 'sts', 'vc', '--replicas=0']);
    await env.cluster.waitReady(ns, 'vc');
    const none = await kubectl(['-n', ns, 'get', 'pods']);
    assert.match(none.stderr, /No resources found/);
    assert.is(await ok(['-n', ns, 'get', 'sts', 'vc', '-o', 'jsonpath={.status.replicas}']), '0');
    await ok(['-n', ns, 'scale', 'sts', 'vc', '--replicas=1']);
    await ok(['-n', ns, 'wait', '--for=condition=Ready', 'pod/vc-0', '--timeout=20s']);
  });

  test('patch secret: merge, json and strategic', async () => {
    await ok(['-n', ns, 'patch', 'secret', 'vc-certs', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}},"data":{"extra":"ZQ=="}}']);
    await ok(['-n', ns, 'patch', 'secret', 'vc-certs', '--type=json', '-p', '[{"op":"remove","path":"/data/extra"},{"op":"add","path":"/metadata/annotations","value":{"a":"json"}}]']);
    await ok(['-n', ns, 'patch', 'secret', 'vc-certs', '-p', '{"metadata":{"labels":{"s":"strategic"}}}']);
    const s = JSON.parse(await ok(['-n', ns, 'get', 'secret', 'vc-certs', '-o', 'json']));
    assert.equal([s.metadata.labels.patched, s.metadata.labels.s, s.metadata.annotations.a, s.data.extra], ['merge', 'strategic', 'json', undefined]);
    const bad = await kubectl(['-n', ns, 'patch', 'secret', 'vc-certs', '--type=json', '-p', '[{"op":"remove","path":"/data/missing"}]']);
    assert.is.not(bad.code, 0);
  });

  test('auth can-i answers from the same rules as the API; Forbidden for the rest', async () => {
    assert.is((await ok(['-n', ns, 'auth', 'can-i', 'create', 'pods/exec'])).trim(), 'yes');
    assert.is((await ok(['-n', ns, 'auth', 'can-i', 'get', 'secrets'], { kubeconfig: env.viewerKubeconfig })).trim(), 'yes');
    const no = await kubectl(['-n', ns, 'auth', 'can-i', 'patch', 'secrets'], { kubeconfig: env.viewerKubeconfig });
    assert.equal([no.code, no.stdout.trim()], [1, 'no']);
    const forbidden = await kubectl(['-n', ns, 'delete', 'pod', 'vc-0'], { kubeconfig: env.viewerKubeconfig });
    assert.match(forbidden.stderr, /Error from server \(Forbidden\): pods "vc-0" is forbidden: User "viewer" cannot delete resource "pods"/);
  });

  // kubectl <= 1.28 checks field validation support with the protobuf OpenAPI v2, which is not served.
  const manifestCase = minors[index] >= 29
    ? test
    : (name: string) => skipNamed(`${candidate.label}: ${name} (needs protobuf OpenAPI v2, not simulated)`);

  manifestCase('create -f and apply -f (server-side field validation via the minimal OpenAPI v3)', async () => {
    const manifest = (value: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: ${ns}\nstringData:\n  key: ${value}\n`;
    assert.match(await ok(['create', '-f', '-'], { input: manifest('one') }), /secret\/applied created/);
    assert.match(await ok(['apply', '-f', '-'], { input: manifest('two') }), /secret\/applied configured/);
    const value = await ok(['-n', ns, 'get', 'secret', 'applied', '-o', 'jsonpath={.data.key}']);
    assert.is(Buffer.from(value, 'base64').toString(), 'two');
  });

  test('get of a missing object shows the NotFound Status message', async () => {
    const r = await kubectl(['-n', ns, 'get', 'secret', 'missing']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /Error from server \(NotFound\): secrets "missing" not found/);
  });

  test.run();
}
