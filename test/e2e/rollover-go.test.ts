// Go as the oracle for a graceful CA rollover's trust, phase by phase: the real etcd 3.4 from Debian
// plays kube-apiserver (it serves apiserver.crt with its chain and accepts client certificates
// against client-ca.crt, a bundle during the window), and etcdctl plays kubectl with the CA data,
// client certificate and key of an old or a new admin.conf. Needs /usr/bin/etcd and etcdctl.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { finalizeRollover, startRollover } from '../../src/pki/rollover.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/index.js';
import { execFileP, freePort } from './helpers.js';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';
const can = existsSync(ETCD) && existsSync(ETCDCTL);
if (!can) console.log('skip: the rollover Go oracle needs the real etcd 3.4 (Debian etcd-server and etcd-client)');

const test = suite('CA rollover, Go oracle');
const DAY = 86_400_000;

type Phase = 'before' | 'window' | 'finalized' | 'aborted';
/** Whose admin.conf connects: one issued before the rollover, or one issued when it started. */
type Client = 'old' | 'new';
/** The expectation, phase by phase (README "Changing the CA without an outage"). */
const TABLE: Array<[Phase, Client, boolean]> = [
  ['before', 'old', true],
  ['window', 'old', true],
  ['window', 'new', true],
  ['finalized', 'old', false],
  ['finalized', 'new', true],
  ['aborted', 'old', true],
  ['aborted', 'new', false],
];

function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [f, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), data, { mode: 0o600 });
  }
}

function field(conf: Buffer, name: string): Buffer {
  return Buffer.from(new RegExp(`${name}: (\\S+)`).exec(conf.toString())![1]!, 'base64');
}

/** etcd with the PKI's kube-apiserver material: --cert-file apiserver.crt, --trusted-ca-file client-ca.crt. */
async function withApiserverLikeEtcd(pki: PkiFiles, fn: (port: number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-rollover-etcd-'));
  writeFiles(join(dir, 'pki'), Object.fromEntries(['apiserver.crt', 'apiserver.key', 'client-ca.crt', 'etcd/ca.crt', 'etcd/peer.crt', 'etcd/peer.key'].map((f) => [f, pki.get(f)!])));
  const p = (f: string) => join(dir, 'pki', f);
  const [port, peerPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(ETCD, [
    '--name', 'm', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
    '--listen-peer-urls', `https://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${peerPort}`,
    '--initial-cluster', `m=https://127.0.0.1:${peerPort}`, '--initial-cluster-state', 'new',
    '--cert-file', p('apiserver.crt'), '--key-file', p('apiserver.key'), '--trusted-ca-file', p('client-ca.crt'), '--client-cert-auth',
    '--peer-cert-file', p('etcd/peer.crt'), '--peer-key-file', p('etcd/peer.key'), '--peer-trusted-ca-file', p('etcd/ca.crt'), '--peer-client-cert-auth',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
  let log = '';
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  child.stdout!.on('data', (d) => { log += d; });
  child.stderr!.on('data', (d) => { log += d; });
  try {
    const end = Date.now() + 20_000;
    while (!/ready to serve client requests/.test(log)) {
      if (exited || Date.now() > end) throw new Error(`etcd did not start:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await fn(port);
  } finally {
    if (!exited) child.kill('SIGKILL');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** etcdctl with an admin.conf's CA data, client certificate and key: does the TLS handshake pass both ways? */
async function connects(port: number, adminConf: Buffer): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-rollover-client-'));
  try {
    writeFiles(dir, { 'ca.crt': field(adminConf, 'certificate-authority-data'), 'c.crt': field(adminConf, 'client-certificate-data'), 'c.key': field(adminConf, 'client-key-data') });
    const r = await execFileP(ETCDCTL, ['--endpoints', `https://127.0.0.1:${port}`, '--cacert', join(dir, 'ca.crt'), '--cert', join(dir, 'c.crt'), '--key', join(dir, 'c.key'),
      '--dial-timeout', '2s', '--command-timeout', '4s', 'endpoint', 'health'], { env: { PATH: '/usr/bin:/bin', ETCDCTL_API: '3' } });
    return { ok: /is healthy/.test(r.stdout + r.stderr), output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

(can ? test : test.skip)('old and new admin kubeconfigs against kube-apiserver material at every phase, as the table says', async () => {
  const old = await generatePki({ name: 'vc', namespace: 'ns', now: new Date(Date.now() - 3_600_000) });
  const window = (await startRollover(old, { now: new Date(), validityMs: 365 * DAY, caValidityMs: 3650 * DAY })).files;
  const finalized = finalizeRollover(window, { now: new Date(), caValidityMs: 3650 * DAY }).files;
  const pkiOf: Record<Phase, PkiFiles> = { before: old, window, finalized, aborted: old };
  const clients: Record<Client, Buffer> = { old: old.get('admin.conf')!, new: window.get('admin.conf')! };
  const seen: string[] = [];
  for (const phase of ['before', 'window', 'finalized', 'aborted'] as Phase[]) {
    await withApiserverLikeEtcd(pkiOf[phase], async (port) => {
      for (const [p, client, expected] of TABLE.filter(([x]) => x === phase)) {
        const r = await connects(port, clients[client]);
        seen.push(`${p}/${client}=${r.ok}`);
        assert.is(r.ok, expected, `${p}: the ${client} admin.conf ${expected ? 'works' : 'is refused'} (${r.output.trim().split('\n').pop()})`);
      }
    });
  }
  assert.is(seen.length, TABLE.length, 'every row of the table was tried');
});

test.run();
