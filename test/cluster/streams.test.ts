// pods/exec and pods/portforward over WebSocket with @kubernetes/client-node's Exec and PortForward
// classes (v5 and v4 channel protocols), the two TLS endpoints of a vCluster pod behind port-forward
// (8443 the syncer proxy with its in-memory certificate, 6443 kube-apiserver with apiserver.crt), and
// exec faults.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as https from 'node:https';
import * as net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFile, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import { Exec, KubeConfig, PortForward, V1Status } from '@kubernetes/client-node';
// Not re-exported by the package index; used to offer only v4.channel.k8s.io.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { startCluster, SimCluster, typeByKind } from './index.js';
import { adminTls, kubeConfigFrom, run, testPki, until, upgradeError } from './testutil.js';

interface Ctx {
  cluster: SimCluster;
  kc: KubeConfig;
  pki: Map<string, Buffer>;
}

const NS = 'streams';
const PODS = typeByKind('Pod');
const test = suite<Ctx>('exec and port-forward over WebSocket');

test.before(async (ctx) => {
  ctx.cluster = await startCluster();
  ctx.kc = kubeConfigFrom(ctx.cluster.kubeconfigPath);
  ctx.pki = await testPki('vc', NS);
  await ctx.cluster.addVCluster({ name: 'vc', namespace: NS, pki: ctx.pki });
  await ctx.cluster.waitReady(NS, 'vc');
});

test.after(async (ctx) => {
  await ctx.cluster.close();
});

function collector(): { stream: Writable; text: () => string; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), bytes: () => Buffer.concat(chunks) };
}

interface ExecResult {
  stdout: string;
  stderr: string;
  status?: V1Status;
  closedWithoutStatus: boolean;
  stdoutBytes: Buffer;
}

/** Runs a command through client-node's Exec; `protocols` forces the offered subprotocols. */
async function execIn(kc: KubeConfig, pod: string, command: string[], opts: { stdin?: Buffer; protocols?: string[]; container?: string } = {}): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  let status: V1Status | undefined;
  const handler = opts.protocols
    ? new WebSocketHandler(kc, (uri: string, _protocols: string[], wsOpts: WebSocket.ClientOptions) => new WebSocket(uri, opts.protocols, wsOpts) as never)
    : undefined;
  const exec = new Exec(kc, handler);
  const stdin = opts.stdin ? Readable.from([opts.stdin]) : null;
  const ws = await exec.exec(NS, pod, opts.container ?? 'syncer', command, out.stream, err.stream, stdin, false, (s) => (status = s));
  await new Promise<void>((resolve) => (ws as unknown as WebSocket).on('close', () => resolve()));
  await new Promise((r) => setImmediate(r));
  return { stdout: out.text(), stderr: err.text(), status, closedWithoutStatus: status === undefined, stdoutBytes: out.bytes() };
}

test('v5: stdout, stderr and the Success status', async ({ kc }) => {
  const r = await execIn(kc, 'vc-0', ['sh', '-c', 'echo out; echo err >&2']);
  assert.equal([r.stdout, r.stderr], ['out\n', 'err\n']);
  assert.equal(r.status, { metadata: {}, status: 'Success' });
});

test('v5: non-zero exit code in the kubelet status format', async ({ kc }) => {
  const r = await execIn(kc, 'vc-0', ['sh', '-c', 'exit 7']);
  assert.equal(r.status, {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '7' }] },
  });
});

test('v5: stdin is streamed and closed with [255, 0]; /data is the PVC', async ({ kc, cluster }) => {
  const payload = Buffer.alloc(300_000, 'abc');
  const w = await execIn(kc, 'vc-0', ['sh', '-c', 'cat > /data/upload && wc -c < /data/upload'], { stdin: payload });
  assert.is(w.stdout.trim(), String(payload.length));
  assert.is(w.status?.status, 'Success');
  const onHost = await readFile(join(cluster.pvcDir(NS, 'data-vc-0'), 'upload'));
  assert.ok(onHost.equals(payload));
});

test('v4: chosen when offered first; output and exit status', async ({ kc }) => {
  const r = await execIn(kc, 'vc-0', ['sh', '-c', 'cat /data/pki/ca.crt; exit 3'], { protocols: ['v4.channel.k8s.io'] });
  assert.match(r.stdout, /BEGIN CERTIFICATE/);
  assert.is(r.status?.reason, 'NonZeroExitCode');
});

test('argv is passed as is, never through a shell', async ({ kc }) => {
  const r = await execIn(kc, 'vc-0', ['echo', '$(touch /pwned)', 'a b', '; id']);
  assert.is(r.stdout, '$(touch /pwned) a b ; id\n');
  const check = await execIn(kc, 'vc-0', ['ls', '/pwned']);
  assert.is(check.status?.status, 'Failure');
});

test('unknown command, unknown container and unknown pod fail like the API', async ({ kc, cluster }) => {
  const missing = await execIn(kc, 'vc-0', ['no-such-binary']);
  assert.is(missing.status?.reason, 'InternalError');
  assert.match(String(missing.status?.message), /executable file not found in \$PATH/);
  const rejected = await execIn(kc, 'vc-0', ['true'], { container: 'nope' }).then(() => false, () => true);
  assert.ok(rejected, 'client-node rejects a refused upgrade');
  // Upgrade refused with a Status body: read it with a raw WebSocket.
  const status = await upgradeError(cluster.url, cluster.kubeconfigPath, `/api/v1/namespaces/${NS}/pods/vc-0/exec?command=true&container=nope&stdout=true`);
  assert.equal([status.code, status.message], [400, 'container nope is not valid for pod vc-0']);
  const nf = await upgradeError(cluster.url, cluster.kubeconfigPath, `/api/v1/namespaces/${NS}/pods/vc-9/exec?command=true&stdout=true`);
  assert.equal([nf.code, nf.reason], [404, 'NotFound']);
});

test('exec needs create on pods/exec', async ({ cluster }) => {
  const viewer = await cluster.addUser('exec-viewer', { allow: [{ verbs: ['get', 'list'], resources: ['pods'] }] });
  const s = await upgradeError(cluster.url, viewer, `/api/v1/namespaces/${NS}/pods/vc-0/exec?command=true&stdout=true`);
  assert.equal([s.code, s.reason], [403, 'Forbidden']);
  assert.is(s.message, 'pods "vc-0" is forbidden: User "exec-viewer" cannot create resource "pods/exec" in API group "" in the namespace "streams"');
});

test('exec fault: the WebSocket is dropped after N bytes, no status', async ({ kc, cluster }) => {
  await execIn(kc, 'vc-0', ['sh', '-c', 'head -c 200000 /dev/zero > /data/big']);
  const before = cluster.requests.filter((r) => r.subresource === 'exec').length;
  const fault = cluster.faults.add({ exec: true, commandIncludes: 'tar', dropAfterBytes: 1000 });
  const unaffected = await execIn(kc, 'vc-0', ['cat', '/data/big']);
  assert.is(unaffected.stdoutBytes.length, 200_000);
  const r = await execIn(kc, 'vc-0', ['tar', '-cf', '-', '-C', '/data', 'big']);
  assert.ok(r.closedWithoutStatus);
  assert.is(r.stdoutBytes.length, 1000);
  assert.is(fault.hits, 1);
  const again = await execIn(kc, 'vc-0', ['tar', '-cf', '-', '-C', '/data', 'big']);
  assert.is(again.status?.status, 'Success');
  assert.is(cluster.requests.filter((x) => x.subresource === 'exec').length - before, 3);
  const stdinDrop = cluster.faults.add({ exec: true, dropAfterStdinBytes: 10 });
  const s = await execIn(kc, 'vc-0', ['sh', '-c', 'cat > /data/partial; echo done'], { stdin: Buffer.alloc(100_000, 'x') });
  assert.ok(s.closedWithoutStatus);
  assert.is(stdinDrop.hits, 1);
});

/** A local port that port-forwards each connection through client-node's PortForward to pod:port. */
async function forwardLocal(kc: KubeConfig, pod: string, port = 8443): Promise<{ port: number; close: () => void }> {
  const pf = new PortForward(kc);
  const server = net.createServer((socket) => {
    // client-node leaves the local socket open when the WebSocket closes; close it like kubectl does.
    pf.portForward(NS, pod, [port], socket, null, socket).then(
      (ws) => (ws as unknown as WebSocket).on('close', () => socket.destroy()),
      () => socket.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

interface Answer {
  code: number;
  body: string;
  /** the presented chain, leaf first */
  chain: X509Certificate[];
}

function getVersion(port: number, tls: { ca?: string; cert?: string; key?: string; headers?: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { headers, ...creds } = tls;
    // The chain is judged below; the handshake must not hide what the server presents.
    const req = https.get({ host: '127.0.0.1', port, path: '/version', ...creds, headers, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      const chain: X509Certificate[] = [];
      let c = (res.socket as import('node:tls').TLSSocket).getPeerCertificate(true);
      while (c?.raw && !chain.some((x) => x.raw.equals(c.raw))) {
        chain.push(new X509Certificate(c.raw));
        c = c.issuerCertificate;
      }
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ code: res.statusCode as number, body, chain }));
    });
    req.on('error', reject);
  });
}

function firstCert(pem: Buffer | string): X509Certificate {
  return new X509Certificate(String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]);
}

/** A client certificate the vCluster's CAs never issued, and the front proxy's own. */
function strangers(pki: Map<string, Buffer>) {
  return {
    frontProxy: { cert: String(pki.get('front-proxy-client.crt')), key: String(pki.get('front-proxy-client.key')) },
    // apiserver-etcd-client is signed by etcd-ca, which neither endpoint trusts for clients
    foreign: { cert: String(pki.get('apiserver-etcd-client.crt')), key: String(pki.get('apiserver-etcd-client.key')) },
  };
}

test('port-forward to 8443 reaches the syncer proxy: in-memory ECDSA certificate from server-ca, clients from client-ca; faults drop it', async ({ kc, pki, cluster }) => {
  const fwd = await forwardLocal(kc, 'vc-0', 8443);
  try {
    const tls = adminTls(pki);
    const ok = await getVersion(fwd.port, tls);
    assert.is(ok.code, 200);
    assert.is(JSON.parse(ok.body).gitVersion, 'v1.33.4');
    const [leaf, ca] = ok.chain;
    const serverCa = firstCert(pki.get('server-ca.crt')!);
    assert.not.ok(leaf!.raw.equals(firstCert(pki.get('apiserver.crt')!).raw), 'not apiserver.crt');
    assert.is(leaf!.publicKey.asymmetricKeyType, 'ec');
    assert.is(leaf!.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.is(leaf!.subject, 'CN=kube-apiserver');
    assert.ok(leaf!.checkIssued(serverCa) && leaf!.verify(serverCa.publicKey), 'signed by the first certificate of server-ca.crt');
    assert.ok(ca?.raw.equals(serverCa.raw), 'chain = leaf + server-ca');
    assert.is(leaf!.validFromDate.getTime(), serverCa.validFromDate.getTime(), 'NotBefore = the CA\'s (certhelper.NewSignedCert)');
    const sans = leaf!.subjectAltName ?? '';
    for (const n of ['DNS:kubernetes.default.svc.cluster.local', 'DNS:localhost', 'DNS:vc', `DNS:vc.${NS}`, 'DNS:*.nodes.vcluster.com', 'IP Address:127.0.0.1']) {
      assert.ok(sans.includes(n), `SAN ${n} in ${sans}`);
    }
    const pod = cluster.store.peek(PODS, NS, 'vc-0')!;
    assert.ok(sans.includes(`IP Address:${pod.status.podIP}`), 'the pod IP');
    assert.match(execFileSync('openssl', ['x509', '-noout', '-ext', 'extendedKeyUsage'], { input: leaf!.toString() }).toString(), /TLS Web Server Authentication/);
    assert.is((await getVersion(fwd.port, {})).code, 401, 'no client certificate');
    const { frontProxy, foreign } = strangers(pki);
    assert.is((await getVersion(fwd.port, foreign)).code, 401, 'a certificate of another CA');
    assert.is((await getVersion(fwd.port, frontProxy)).code, 401, 'the front proxy without X-Remote-User');
    assert.is((await getVersion(fwd.port, { ...frontProxy, headers: { 'X-Remote-User': 'alice' } })).code, 200, 'request-header authentication (front-proxy-ca)');
    cluster.faults.add({ portForward: true, pod: 'vc-0' });
    const dropped = await getVersion(fwd.port, tls).then(() => 'answered', (e: Error) => e.message);
    assert.match(dropped, /socket hang up|ECONNRESET|disconnected/);
    assert.is((await getVersion(fwd.port, tls)).code, 200, 'one-shot fault');
  } finally {
    fwd.close();
  }
});

test('port-forward to 6443 reaches kube-apiserver on the pod\'s localhost: apiserver.crt, clients from client-ca', async ({ kc, pki }) => {
  const fwd = await forwardLocal(kc, 'vc-0', 6443);
  try {
    const ok = await getVersion(fwd.port, adminTls(pki));
    assert.is(ok.code, 200);
    assert.is(JSON.parse(ok.body).gitVersion, 'v1.33.4');
    assert.ok(ok.chain[0]!.raw.equals(firstCert(pki.get('apiserver.crt')!).raw), 'serves apiserver.crt');
    assert.is((await getVersion(fwd.port, {})).code, 401);
    const { frontProxy, foreign } = strangers(pki);
    assert.is((await getVersion(fwd.port, foreign)).code, 401);
    assert.is((await getVersion(fwd.port, { ...frontProxy, headers: { 'X-Remote-User': 'alice' } })).code, 200, '--requestheader-allowed-names=front-proxy-client');
  } finally {
    fwd.close();
  }
});

test('staleServing fault: a restarted pod keeps the certificate it served before, on the named port only', async ({ cluster, pki }) => {
  const before = { 8443: cluster.servedChain(NS, 'vc-0', 8443)!, 6443: cluster.servedChain(NS, 'vc-0', 6443)! };
  const fault = cluster.faults.add({ staleServing: { namespace: NS, name: 'vc', port: 6443 } });
  try {
    const old = cluster.store.peek(PODS, NS, 'vc-0')!.metadata.uid;
    cluster.deletePod(NS, 'vc-0');
    await until('vc-0 restarted', () => cluster.store.peek(PODS, NS, 'vc-0')?.metadata.uid !== old);
    await cluster.waitReady(NS, 'vc');
    assert.is(cluster.servedChain(NS, 'vc-0', 6443), before[6443], '6443 kept');
    assert.is.not(cluster.servedChain(NS, 'vc-0', 8443), before[8443], '8443 made anew');
    assert.ok(fault.hits > 0);
  } finally {
    fault.remove();
  }
  const fwd = await forwardLocal(kubeConfigFrom(cluster.kubeconfigPath), 'vc-0', 6443);
  try {
    // what it keeps is what it served: the same apiserver.crt here, as the PKI did not change
    assert.ok((await getVersion(fwd.port, adminTls(pki))).chain[0]!.raw.equals(firstCert(pki.get('apiserver.crt')!).raw));
  } finally {
    fwd.close();
  }
});

test('port-forward: other ports answer on the error channel', async ({ kc }) => {
  const pf = new PortForward(kc);
  const out = new PassThrough();
  const err = collector();
  const ws = (await pf.portForward(NS, 'vc-0', [9999], out, err.stream, new PassThrough())) as unknown as WebSocket;
  await new Promise<void>((r) => ws.on('close', () => r()));
  assert.match(err.text(), /error forwarding port 9999 to pod vc-0, uid .*connection refused/);
});

test('podEndpoint (8443 and 6443) + the real kubectl with the vCluster admin.conf', async ({ cluster, pki }) => {
  const dir = await mkdtemp(join(tmpdir(), 'admin-conf-'));
  await writeFile(join(dir, 'admin.conf'), pki.get('admin.conf') as Buffer);
  for (const port of [8443, 6443] as const) {
    const ep = await cluster.podEndpoint(NS, 'vc-0', port);
    const r = await run('kubectl', ['--kubeconfig', join(dir, 'admin.conf'), '--server', `https://${ep.host}:${ep.port}`, 'get', '--raw', '/version'],
      { env: { KUBECACHEDIR: join(dir, 'cache') } });
    assert.is(r.code, 0, `${port}: ${r.stderr}`);
    assert.is(JSON.parse(r.stdout).gitVersion, 'v1.33.4');
  }
  await rm(dir, { recursive: true, force: true });
});

test.run();
