// etcd interop: the etcd certificates that `rotate` and `rotate-ca` write into `<name>-certs` work
// with the real etcd 3.4 from Debian (etcd-server, etcd-client): server and peer TLS with client
// certificate auth, apiserver-etcd-client and etcd/healthcheck-client accepted, a client
// certificate of the old CA refused. Needs /usr/bin/etcd and /usr/bin/etcdctl, else a named skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/index.js';
import { execFileP, freePort, opensslFacts, runCli } from './helpers.js';
import { fingerprint, secretFiles, x509, type Files } from './pki-oracle.js';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';
const can = existsSync(ETCD) && existsSync(ETCDCTL);
if (!can) console.log('skip: etcd interop needs the real etcd 3.4 (Debian etcd-server and etcd-client: /usr/bin/etcd, /usr/bin/etcdctl)');

const test = suite('etcd interop');
const NAME = 'etcdvc';
const NS = 'ns-etcdvc';
let cluster: SimCluster;
let env: Record<string, string>;
let original: Files;
const ETCD_FILES = ['etcd/ca.crt', 'etcd/server.crt', 'etcd/server.key', 'etcd/peer.crt', 'etcd/peer.key', 'apiserver-etcd-client.crt', 'apiserver-etcd-client.key', 'etcd/healthcheck-client.crt', 'etcd/healthcheck-client.key'];

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  if (!can) return;
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  original = await generatePki({ name: NAME, namespace: NS, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name: NAME, namespace: NS, pki: original, deployedEtcd: true });
  await cluster.waitReady(NS, NAME);
}
test.after(async () => {
  await cluster?.close();
});

interface RealEtcd {
  pid: number;
  port: number;
  /** the certificate files, as written (test-only temp dir) */
  dir: string;
  /** what etcd logged so far */
  log(): string;
  stop(): Promise<void>;
}

/** Writes the etcd certificates of `files` to a temp dir (test only). */
function writeCerts(files: Files, dir: string): void {
  for (const f of ETCD_FILES) {
    const data = files.get(f);
    if (!data) throw new Error(`the Secret lacks ${f}`);
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), data, { mode: 0o600 });
  }
}

/** Starts the real etcd on 127.0.0.1 with the PKI's server and peer certificates and client-cert auth. */
async function startEtcd(files: Files): Promise<RealEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-etcd-'));
  writeCerts(files, join(dir, 'pki'));
  const p = (f: string) => join(dir, 'pki', f);
  const [port, peerPort] = [await freePort(), await freePort()];
  const member = (await opensslFacts(files.get('etcd/server.crt')!.toString())).subjectCN;
  const args = [
    '--name', member, '--data-dir', join(dir, 'data'),
    '--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
    '--listen-peer-urls', `https://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${peerPort}`,
    '--initial-cluster', `${member}=https://127.0.0.1:${peerPort}`, '--initial-cluster-state', 'new',
    '--cert-file', p('etcd/server.crt'), '--key-file', p('etcd/server.key'), '--trusted-ca-file', p('etcd/ca.crt'), '--client-cert-auth',
    '--peer-cert-file', p('etcd/peer.crt'), '--peer-key-file', p('etcd/peer.key'), '--peer-trusted-ca-file', p('etcd/ca.crt'), '--peer-client-cert-auth',
  ];
  const child: ChildProcess = spawn(ETCD, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
  let log = '';
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  child.stdout!.on('data', (d) => { log += d; });
  child.stderr!.on('data', (d) => { log += d; });
  const stop = async () => {
    if (!exited) {
      process.kill(child.pid!, 'SIGTERM');
      const t = setTimeout(() => { if (!exited) process.kill(child.pid!, 'SIGKILL'); }, 5_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 20_000;
  while (!/ready to serve client requests/.test(log)) {
    if (exited || Date.now() > end) {
      await stop();
      throw new Error(`etcd did not start (${exited ? 'exited' : 'timed out'}):\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid!, port, dir, log: () => log, stop };
}

/** etcdctl against `etcd` with the CA file and client certificate taken from `files`; ok + output. */
async function etcdctl(etcd: RealEtcd, files: Files, client: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-etcdctl-'));
  try {
    writeCerts(files, dir);
    const r = await execFileP(ETCDCTL, [
      '--endpoints', `https://127.0.0.1:${etcd.port}`, '--cacert', join(dir, 'etcd/ca.crt'),
      '--cert', join(dir, `${client}.crt`), '--key', join(dir, `${client}.key`), '--dial-timeout', '2s', '--command-timeout', '5s', ...args,
    ], { env: { PATH: '/usr/bin:/bin', ETCDCTL_API: '3' } });
    return { ok: true, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** put/get with apiserver-etcd-client and `endpoint health` with etcd/healthcheck-client. */
async function assertClientsWork(etcd: RealEtcd, files: Files, label: string): Promise<void> {
  const put = await etcdctl(etcd, files, 'apiserver-etcd-client', ['put', '/registry/test', label]);
  assert.ok(put.ok, `put with apiserver-etcd-client: ${put.output}`);
  const get = await etcdctl(etcd, files, 'apiserver-etcd-client', ['get', '/registry/test', '--print-value-only']);
  assert.ok(get.ok, `get with apiserver-etcd-client: ${get.output}`);
  assert.is(get.output.trim(), label);
  const health = await etcdctl(etcd, files, 'etcd/healthcheck-client', ['endpoint', 'health']);
  assert.ok(health.ok, `endpoint health with etcd/healthcheck-client: ${health.output}`);
  assert.match(health.output, /is healthy/);
}

async function withEtcd(files: Files, fn: (etcd: RealEtcd) => Promise<void>): Promise<void> {
  const etcd = await startEtcd(files);
  try {
    await fn(etcd);
  } finally {
    await etcd.stop();
  }
  assert.not.ok(existsSync(etcd.dir), 'temp dir removed');
}

(can ? test : test.skip)('after rotate: the re-issued etcd server, peer and client certificates work with the real etcd 3.4', async () => {
  const r = await runCli(['rotate', NAME, '-n', NS, '--yes'], env);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const files = await secretFiles(cluster, NS, NAME);
  assert.is.not(fingerprint(files.get('etcd/server.crt')!), fingerprint(original.get('etcd/server.crt')!), 'etcd/server.crt was re-issued');
  const san = x509(files.get('etcd/server.crt')!).subjectAltName ?? '';
  assert.match(san, /DNS:localhost/);
  assert.match(san, /IP Address:127\.0\.0\.1/);
  await withEtcd(files, (etcd) => assertClientsWork(etcd, files, 'after-rotate'));
});

(can ? test : test.skip)('after rotate-ca: new etcd certificates work; a client certificate of the old CA is refused', async () => {
  const old = await secretFiles(cluster, NS, NAME);
  const r = await runCli(['rotate-ca', NAME, '-n', NS, '--yes'], env);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const files = await secretFiles(cluster, NS, NAME);
  assert.is.not(fingerprint(files.get('etcd/ca.crt')!), fingerprint(old.get('etcd/ca.crt')!), 'etcd/ca.crt is new');
  await withEtcd(files, async (etcd) => {
    await assertClientsWork(etcd, files, 'after-rotate-ca');
    // The new CA file to verify the server, but the client certificate (and key) of the old CA.
    const oldClient = new Map(files);
    for (const f of ['apiserver-etcd-client.crt', 'apiserver-etcd-client.key']) oldClient.set(f, old.get(f)!);
    const refused = await etcdctl(etcd, oldClient, 'apiserver-etcd-client', ['get', '/registry/test']);
    assert.not.ok(refused.ok, 'a client certificate of the old etcd CA is refused');
    // etcdctl 3.4 only says "context deadline exceeded"; etcd logs why it rejected the handshake.
    assert.match(etcd.log(), /rejected connection from "127\.0\.0\.1:\d+" \(error "tls: failed to verify client certificate: x509: certificate signed by unknown authority/, 'refused by client-certificate verification');
    // And a client that still trusts only the old CA cannot verify the new server certificate.
    const oldTrust = new Map(files);
    oldTrust.set('etcd/ca.crt', old.get('etcd/ca.crt')!);
    const logged = etcd.log().length;
    const untrusted = await etcdctl(etcd, oldTrust, 'apiserver-etcd-client', ['get', '/registry/test']);
    assert.not.ok(untrusted.ok, 'the new etcd server is not trusted by the old CA');
    assert.match(etcd.log().slice(logged), /rejected connection from "127\.0\.0\.1:\d+" \(error "remote error: tls: bad certificate"/, 'the client aborted the handshake');
  });
});

test.run();
