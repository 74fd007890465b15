// `kubeconfig issue` and `kubeconfig check` end to end: the built binary against the simulated
// host cluster. Issued certificates are judged by openssl and node:crypto, never by the code
// that made them; checked kubeconfigs are made here with openssl (test/cluster/pkigen.ts).
import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { buildKubeconfig, createCA, generatePki, issueLeaf, pemBlocks, type CertAndKey } from '../cluster/pkigen.js';
import { assertOneLineError, DAY, execFileP, freePort, parseJsonOutput, runCli } from './helpers.js';

const test = suite('kubeconfig e2e');
const SECRETS = typeByKind('Secret');
let cluster: SimCluster;
let env: Record<string, string>;
let scratch = '';
/** the kc vCluster's PKI as its Secret holds it after start */
let pki: Map<string, Buffer>;
let clientCA: CertAndKey;
let serverCAPem = '';

function secretFiles(ns: string, name: string): Map<string, Buffer> {
  const s = cluster.store.get(SECRETS, ns, `${name}-certs`) as unknown as { data: Record<string, string> };
  return new Map(Object.entries(s.data).map(([k, v]) => [k.replace(/^etcd-/, 'etcd/'), Buffer.from(v, 'base64')]));
}

const json = parseJsonOutput;

/** What upstream's WriteKubeConfig puts in vc-NAME: admin.conf with the proxy's local server, and its parts. */
function file(name: string, content: string | Buffer): string {
  const p = join(scratch, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));

async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-kc-e2e-'));
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  const [a, b] = await Promise.all([
    generatePki({ name: 'kc', namespace: 'ns-kc' }),
    generatePki({ name: 'nosec', namespace: 'ns-kc', reuseKeys: true }),
  ]);
  await cluster.addVCluster({ name: 'kc', namespace: 'ns-kc', pki: a });
  // A syncer that has not written vc-nosec (yet): the kubeconfig check has nothing to read.
  await cluster.addVCluster({ name: 'nosec', namespace: 'ns-kc', pki: b, writeKubeconfigSecret: false });
  await cluster.waitReady('ns-kc', 'kc');
  pki = secretFiles('ns-kc', 'kc');
  clientCA = { cert: pemBlocks(pki.get('client-ca.crt')!)[0]!, key: pki.get('client-ca.key')!.toString() };
  serverCAPem = pemBlocks(pki.get('server-ca.crt')!)[0]!;
}

test.after(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A kubeconfig for `kc` with a client certificate made by openssl. */
async function clientKubeconfig(name: string, o: { issuer?: CertAndKey; caPem?: string; notBefore?: Date; notAfter?: Date; keyFrom?: string }): Promise<string> {
  const leaf = await issueLeaf(o.issuer ?? clientCA, { cn: `user-${name}`, org: ['dev'], eku: ['clientAuth'], notBefore: o.notBefore, notAfter: o.notAfter });
  return file(`${name}.kubeconfig`, buildKubeconfig({ user: `user-${name}`, caPem: o.caPem ?? serverCAPem, certPem: leaf.cert, keyPem: o.keyFrom ?? leaf.key, server: 'https://localhost:8443', cluster: `vcluster_kc_ns-kc` }));
}

// ---------------------------------------------------------------------------------------------
// issue

test('issue: a kubeconfig whose certificate openssl and node:crypto accept against client-ca.crt', async () => {
  const out = join(scratch, 'alice.kubeconfig');
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'alice', '--group', 'dev', '--group', 'ops', '--validity', '30d', '--out', out], env);
  assert.is(r.code, 0, r.stderr);
  assert.is(statSync(out).mode & 0o777, 0o600, 'mode 0600');
  const kc = parseYaml(readFileSync(out, 'utf8'));
  const certPem = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64').toString();
  const keyPem = Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString();
  const caData = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  assert.not.match(r.stdout + r.stderr, /PRIVATE KEY/, 'the key is not printed');
  assert.not.ok((r.stdout + r.stderr).includes(kc.users[0].user['client-key-data'].slice(0, 40)), 'nor its base64');

  // openssl: signed by client-ca.crt, fit for client authentication
  const certFile = file('alice.crt', certPem);
  const caFile = file('client-ca.crt', pki.get('client-ca.crt')!);
  const v = await execFileP('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', certFile]);
  assert.match(v.stdout, /: OK$/m);
  const other = await createCA('kubernetes');
  const otherFile = file('other-ca.crt', other.cert);
  const bad = await execFileP('openssl', ['verify', '-CAfile', otherFile, certFile]).then(() => 'accepted', () => 'refused');
  assert.is(bad, 'refused', 'another CA of the same name does not accept it');

  // node:crypto
  const x = new X509Certificate(certPem);
  assert.ok(x.verify(new X509Certificate(pki.get('client-ca.crt')!).publicKey), 'signature by client-ca');
  assert.ok(x.checkPrivateKey(createPrivateKey(keyPem)), 'the key in the file is the certificate\'s');
  // the groups in one multi-valued RDN, as Go marshals pkix.Name{Organization: [...]}
  assert.is(x.subject, 'O=dev + O=ops\nCN=alice');
  const subj = await execFileP('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', certFile]);
  assert.match(subj.stdout, /^subject=CN=alice,O=(dev\+O=ops|ops\+O=dev)$/m);
  assert.equal(x.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
  assert.not.ok(x.ca);
  assert.is(createPrivateKey(keyPem).asymmetricKeyType, 'rsa');
  assert.is(createPrivateKey(keyPem).asymmetricKeyDetails?.modulusLength, 2048);
  const now = Date.now();
  const from = new Date(x.validFrom).getTime();
  const to = new Date(x.validTo).getTime();
  assert.ok(from <= now - 4 * 60_000 && from >= now - 10 * 60_000, `NotBefore about 5 minutes ago: ${x.validFrom}`);
  assert.ok(Math.abs(to - (now + 30 * DAY)) < 10 * 60_000, `NotAfter about 30 days ahead: ${x.validTo}`);

  // the kubeconfig trusts what the proxy chains to, and points at the port-forward
  assert.ok(new X509Certificate(caData).raw.equals(new X509Certificate(serverCAPem).raw), 'CA data = first certificate of server-ca.crt');
  assert.is(kc.clusters[0].cluster.server, 'https://localhost:8443');
  assert.is(kc['current-context'], 'alice@vcluster_kc_ns-kc');
  assert.match(r.stderr, /port-forward -n ns-kc svc\/kc 8443:443/);

  // and our own check agrees
  const c = await runCli(['kubeconfig', 'check', out, 'kc', '-n', 'ns-kc', '--files-only', '--warn-within', '7d', '-o', 'json'], env);
  assert.is(c.code, 0, c.stdout + c.stderr);
  const ctx = json(c).kubeconfigs[0].contexts[0];
  assert.is(ctx.status, 'OK');
  assert.is(ctx.client.status, 'accepted');
  assert.is(ctx.ca.status, 'trusted');
});

test('issue --key-type ecdsa-p256 --server: a P-256 key, the server as given', async () => {
  const out = join(scratch, 'bob.kubeconfig');
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'bob', '--key-type', 'ecdsa-p256', '--server', 'https://kc.example.com', '--out', out, '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const doc = json(r);
  assert.is(doc.result, 'written');
  assert.equal(doc.groups, []);
  const kc = parseYaml(readFileSync(out, 'utf8'));
  const key = createPrivateKey(Buffer.from(kc.users[0].user['client-key-data'], 'base64'));
  assert.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const x = new X509Certificate(Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'));
  assert.is(x.subject, 'CN=bob');
  assert.ok(Math.abs(new Date(x.validTo).getTime() - (Date.now() + 365 * DAY)) < 10 * 60_000, 'one year by default');
  assert.is(kc.clusters[0].cluster.server, 'https://kc.example.com');
  assert.not.match(r.stderr, /port-forward/);
});

test('issue refuses an existing file unless --overwrite, and leaves it alone', async () => {
  const out = file('taken.kubeconfig', 'precious\n');
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'carol', '--out', out], env);
  assertOneLineError(r, 3, /already exists.*--overwrite/);
  assert.is(readFileSync(out, 'utf8'), 'precious\n');
  const o = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'carol', '--out', out, '--overwrite'], env);
  assert.is(o.code, 0, o.stderr);
  assert.is(statSync(out).mode & 0o777, 0o600);
  assert.match(readFileSync(out, 'utf8'), /client-key-data: /);
});

test('issue refuses system:masters unless --allow-system-masters', async () => {
  const out = join(scratch, 'root.kubeconfig');
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'root', '--group', 'system:masters', '--out', out], env);
  assertOneLineError(r, 3, /system:masters.*--allow-system-masters/);
  assert.not.ok(existsSync(out), 'nothing written');
  const ok = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'root', '--group', 'system:masters', '--allow-system-masters', '--out', out], env);
  assert.is(ok.code, 0, ok.stderr);
  const kc = parseYaml(readFileSync(out, 'utf8'));
  assert.match(new X509Certificate(Buffer.from(kc.users[0].user['client-certificate-data'], 'base64')).subject, /O=system:masters/);
});

test('issue --dry-run shows the certificate and writes nothing', async () => {
  const out = join(scratch, 'dry.kubeconfig');
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'dave', '--group', 'dev', '--validity', '30d', '--out', out, '--dry-run'], env);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(out));
  assert.match(r.stdout, /Would issue/);
  assert.match(r.stdout, /user \(CN\) +dave/);
  assert.match(r.stdout, /Dry run: no key was generated/);
});

test('issue: a validity beyond the client CA is refused with the longest that fits', async () => {
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'eve', '--validity', '20y', '--out', join(scratch, 'eve.kubeconfig')], env);
  assertOneLineError(r, 3, /client CA expires on .*--validity 36\d\dd or less/);
});

/**
 * A Go TLS server and client as the oracle: etcd serving apiserver.crt (what kube-apiserver serves
 * on 6443) and requiring client certificates from client-ca.crt, as kube-apiserver does; etcdctl
 * with an issued kubeconfig's CA data, certificate and key.
 */
test('issue: Go (etcd + etcdctl) trusts the issued CA data and accepts the issued certificate; a foreign one is refused', async () => {
  if (!existsSync('/usr/bin/etcd') || !existsSync('/usr/bin/etcdctl')) {
    console.log('skip: the Go oracle needs /usr/bin/etcd and /usr/bin/etcdctl (Debian etcd-server, etcd-client)');
    return;
  }
  const out = join(scratch, 'go.kubeconfig');
  const r = await runCli(['kubeconfig', 'issue', 'kc', '-n', 'ns-kc', '--user', 'gopher', '--group', 'dev', '--key-type', 'ecdsa-p256', '--out', out], env);
  assert.is(r.code, 0, r.stderr);
  const kc = parseYaml(readFileSync(out, 'utf8'));
  const part = (v: string) => Buffer.from(v, 'base64');
  const goDir = mkdtempSync(join(scratch, 'go-'));
  const put = (name: string, data: string | Buffer) => { writeFileSync(join(goDir, name), data, { mode: 0o600 }); return join(goDir, name); };
  const server = { cert: put('server.crt', pki.get('apiserver.crt')!), key: put('server.key', pki.get('apiserver.key')!), clientCA: put('client-ca.crt', pki.get('client-ca.crt')!) };
  const [port, peer] = [await freePort(), await freePort()];
  const etcd = spawn('/usr/bin/etcd', [
    '--name', 'oracle', '--data-dir', join(goDir, 'data'),
    '--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `oracle=http://127.0.0.1:${peer}`,
    '--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', server.clientCA, '--client-cert-auth',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
  let log = '';
  etcd.stdout.on('data', (d) => { log += d; });
  etcd.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => etcd.on('exit', resolve));
  try {
    for (const end = Date.now() + 20_000; !/ready to serve client requests/.test(log);) {
      if (etcd.exitCode !== null || Date.now() > end) throw new Error(`etcd did not start:\n${log.slice(-1500)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const ctl = (ca: string, cert: string, key: string) => execFileP('/usr/bin/etcdctl', [
      '--endpoints', `https://127.0.0.1:${port}`, '--cacert', ca, '--cert', cert, '--key', key, '--dial-timeout', '3s', '--command-timeout', '5s', 'put', '/oracle', 'ok',
    ], { env: { PATH: '/usr/bin:/bin', ETCDCTL_API: '3' } }).then((x) => ({ ok: true, out: x.stdout + x.stderr }), (e: { stderr?: string; message: string }) => ({ ok: false, out: e.stderr ?? e.message }));
    const issued = await ctl(
      put('issued-ca.crt', part(kc.clusters[0].cluster['certificate-authority-data'])),
      put('issued.crt', part(kc.users[0].user['client-certificate-data'])),
      put('issued.key', part(kc.users[0].user['client-key-data'])),
    );
    assert.ok(issued.ok, `etcdctl with the issued kubeconfig: ${issued.out}`);
    const other = await createCA('kubernetes');
    const foreign = await issueLeaf(other, { cn: 'gopher', org: ['dev'], eku: ['clientAuth'] });
    const refused = await ctl(put('issued-ca2.crt', part(kc.clusters[0].cluster['certificate-authority-data'])), put('foreign.crt', foreign.cert), put('foreign.key', foreign.key));
    assert.not.ok(refused.ok, 'a certificate of another CA with the same name is refused');
  } finally {
    etcd.kill('SIGTERM');
    await exited;
  }
});

// ---------------------------------------------------------------------------------------------
// check

test('check: the vc-NAME Secret as vCluster writes it is trusted and accepted, exit 0', async () => {
  const r = await runCli(['kubeconfig', 'check', 'kc', '-n', 'ns-kc', '-o', 'json'], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const doc = json(r);
  assert.is(doc.kind, 'KubeconfigCheck');
  assert.is(doc.kubeconfigs.length, 1);
  const k = doc.kubeconfigs[0];
  assert.is(k.source, 'secret ns-kc/vc-kc (key config)');
  const ctx = k.contexts[0];
  assert.is(ctx.status, 'OK');
  assert.is(ctx.endpoint, 'proxy');
  assert.equal(ctx.ca.trusts, { proxy: true, apiserver: true });
  assert.is(ctx.client.subject, 'kubernetes-super-admin');
  assert.equal(ctx.client.groups, ['system:masters']);
  assert.is(ctx.client.keyMatches, true);
  // the expiry shown is the admin certificate's, as openssl reads it
  const admin = parseYaml(pki.get('admin.conf')!.toString());
  const x = new X509Certificate(Buffer.from(admin.users[0].user['client-certificate-data'], 'base64'));
  assert.is(new Date(ctx.client.certificate.expiryTime).getTime(), new Date(x.validTo).getTime());
  assert.not.match(r.stdout, /PRIVATE KEY|client-key-data/);
  const table = await runCli(['kubeconfig', 'check', 'kc', '-n', 'ns-kc'], env);
  assert.match(table.stdout, /^ {2}CONTEXT +\| USER +\| CA +\| CLIENT +\| EXPIRES ON +\| STATUS$/m);
  assert.match(table.stdout, /^ {2}kubernetes-super-admin@kubernetes \| kubernetes-super-admin \| TRUSTED \| ACCEPTED \| [A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC \| OK$/m);
});

test('check: an expired kubeconfig is EXPIRED, exit 2', async () => {
  const f = await clientKubeconfig('expired', { notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
  const r = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only', '-o', 'json'], env);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const ctx = json(r).kubeconfigs[0].contexts[0];
  assert.is(ctx.status, 'EXPIRED');
  assert.is(ctx.ca.status, 'trusted');
  assert.ok(ctx.client.certificate.daysLeft < 0);
  assert.match(ctx.problems.join('\n'), /expired on/);
});

test('check: a kubeconfig of another CA is UNTRUSTED and its certificate rejected, exit 2', async () => {
  const other = await createCA('kubernetes');
  const f = await clientKubeconfig('foreign', { issuer: other, caPem: other.cert });
  const r = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only', '-o', 'json'], env);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const ctx = json(r).kubeconfigs[0].contexts[0];
  assert.is(ctx.ca.status, 'untrusted');
  assert.equal(ctx.ca.trusts, { proxy: false, apiserver: false });
  assert.is(ctx.client.status, 'rejected');
  assert.ok(['UNTRUSTED', 'REJECTED'].includes(ctx.status), ctx.status);
  assert.match(ctx.problems.join('\n'), /signature does not verify against client-ca\.crt/);
  const table = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only'], env);
  assert.match(table.stdout, /UNTRUSTED \| REJECTED/);
});

test('check: a kubeconfig expiring in 10 days is EXPIRING, exit 1; --warn-within 5d makes it OK', async () => {
  const f = await clientKubeconfig('soon', { notAfter: new Date(Date.now() + 10 * DAY) });
  const r = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only', '-o', 'json'], env);
  assert.is(r.code, 1, r.stdout + r.stderr);
  const ctx = json(r).kubeconfigs[0].contexts[0];
  assert.is(ctx.status, 'EXPIRING');
  assert.ok(ctx.client.certificate.daysLeft === 9 || ctx.client.certificate.daysLeft === 10, String(ctx.client.certificate.daysLeft));
  const calm = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only', '--warn-within', '5d'], env);
  assert.is(calm.code, 0, calm.stdout);
});

test('check: a key that does not match its certificate is INVALID, exit 2, and the key is never printed', async () => {
  const stray = await issueLeaf(clientCA, { cn: 'stray' });
  const f = await clientKubeconfig('mismatch', { keyFrom: stray.key });
  const r = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only', '-o', 'yaml'], env);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const doc = parseYaml(r.stdout);
  assert.is(doc.kubeconfigs[0].contexts[0].status, 'INVALID');
  assert.is(doc.kubeconfigs[0].contexts[0].client.keyMatches, false);
  const keyBody = stray.key.split('\n')[1]!;
  assert.not.ok((r.stdout + r.stderr).includes(keyBody), 'no key material in the output');
});

test('check: in a file with several contexts only this vCluster\'s are judged; a token user is not a certificate', async () => {
  const other = await createCA('kubernetes');
  const foreign = await issueLeaf(other, { cn: 'someone', eku: ['clientAuth'] });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const doc = {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'prod',
    clusters: [
      { name: 'prod', cluster: { server: 'https://prod.example.com', 'certificate-authority-data': b64(other.cert) } },
      { name: 'kc-svc', cluster: { server: 'https://kc.ns-kc.svc:443', 'certificate-authority-data': b64(serverCAPem) } },
    ],
    users: [
      { name: 'prod-user', user: { 'client-certificate-data': b64(foreign.cert), 'client-key-data': b64(foreign.key) } },
      { name: 'robot', user: { token: 'abc.def' } },
    ],
    contexts: [
      { name: 'prod', context: { cluster: 'prod', user: 'prod-user' } },
      { name: 'in-cluster', context: { cluster: 'kc-svc', user: 'robot' } },
    ],
  };
  const f = file('multi.kubeconfig', toYaml(doc));
  const r = await runCli(['kubeconfig', 'check', f, 'kc', '-n', 'ns-kc', '--files-only', '-o', 'json'], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const k = json(r).kubeconfigs[0];
  assert.equal(k.skipped, ['prod']);
  assert.is(k.contexts.length, 1);
  assert.is(k.contexts[0].context, 'in-cluster');
  assert.is(k.contexts[0].client.kind, 'token');
  assert.is(k.contexts[0].client.status, 'not-certificate');
  assert.is(k.contexts[0].ca.status, 'trusted');
});

test('check: no vc-NAME Secret is "could not check", exit 3, one error line', async () => {
  const r = await runCli(['kubeconfig', 'check', 'nosec', '-n', 'ns-kc'], env);
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /^error: secret ns-kc\/vc-nosec: secret ns-kc\/vc-nosec not found/);
  assert.is(r.stderr.trim().split('\n').length, 1);
  const missing = await runCli(['kubeconfig', 'check', 'ghost', '-n', 'ns-kc'], env);
  assertOneLineError(missing, 3, /vCluster "ghost" not found/);
});

test('check: a vc-NAME Secret whose client-certificate key is not its config\'s is a warning, exit 1', async () => {
  const files = secretFiles('ns-kc', 'nosec');
  // Its syncer starts again, this time writing vc-nosec as upstream's does.
  cluster.setSyncerBehaviour('ns-kc', 'nosec', { writeKubeconfigSecret: true });
  cluster.deletePod('ns-kc', 'nosec-0');
  for (let i = 0; i < 300 && !cluster.store.peek(SECRETS, 'ns-kc', 'vc-nosec'); i++) await new Promise((r) => setTimeout(r, 100));
  await cluster.waitReady('ns-kc', 'nosec');
  cluster.store.mutate(SECRETS, 'ns-kc', 'vc-nosec', (o) => {
    (o as unknown as { data: Record<string, string> }).data['client-certificate'] = Buffer.from(pemBlocks(files.get('apiserver.crt')!)[0]!).toString('base64');
  });
  const r = await runCli(['kubeconfig', 'check', 'nosec', '-n', 'ns-kc', '-o', 'json'], env);
  assert.is(r.code, 1, r.stdout + r.stderr);
  const k = json(r).kubeconfigs[0];
  assert.is(k.contexts[0].status, 'OK');
  assert.is(k.result, 'EXPIRING');
  assert.match(k.warnings.join('\n'), /"client-certificate" key differs/);
  assert.is(k.warnings.length, 1, 'the CA and key parts agree');
});

test.run();
