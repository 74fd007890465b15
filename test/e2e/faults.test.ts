// Fault injection at every step of `rotate`: afterwards the Secret and every disk are
// all-old or all-new, a backup exists once the backup step began, the exit code is
// non-zero and the message says which state was left. A rerun after a kill completes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/pkigen.js';
import { BINARY, execFileP, runCli, type CliResult } from './helpers.js';
import { secretFiles, type Files } from './pki-oracle.js';

const SECRETS = typeByKind('Secret');
const PODS = typeByKind('Pod');
const test = suite('rotate under faults');
let cluster: SimCluster;
let env: Record<string, string>;
let counter = 0;

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
}
test.after(() => cluster?.close());

interface VC { name: string; ns: string; original: Files }

async function freshVCluster(opts: Record<string, unknown> = {}): Promise<VC> {
  const name = `f${++counter}`;
  const ns = `ns-${name}`;
  const original = await generatePki({ name, namespace: ns, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name, namespace: ns, pki: original, ...opts });
  await cluster.waitReady(ns, name);
  return { name, ns, original };
}

function runningPods(vc: VC): string[] {
  return (cluster.store.list(PODS, vc.ns) as Array<{ metadata: { name: string; labels?: Record<string, string> }; status?: { phase?: string } }>)
    .filter((p) => p.metadata.labels?.release === vc.name && p.metadata.labels?.app === 'vcluster' && p.status?.phase === 'Running')
    .map((p) => p.metadata.name);
}

async function disk(vc: VC, pod: string): Promise<Files> {
  const { stdout } = await execFileP('tar', ['-C', join(cluster.podRoot(vc.ns, pod), 'data', 'pki'), '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 26 });
  const { untarFiles } = await import('../../src/kube/pki-source.js');
  return untarFiles(stdout as unknown as Buffer);
}

function equalOn(a: Files, b: Files, keys: Iterable<string>): boolean {
  for (const k of keys) if (!a.get(k) || !b.get(k) || !a.get(k)!.equals(b.get(k)!)) return false;
  return true;
}

/** 'all-old' or 'all-new' (Secret changed and every running disk equals it); throws when mixed. */
async function consistentState(vc: VC): Promise<'all-old' | 'all-new'> {
  const secret = await secretFiles(cluster, vc.ns, vc.name);
  const certMap = [...vc.original.keys()];
  const old = equalOn(secret, vc.original, certMap);
  for (const pod of runningPods(vc)) {
    const d = await disk(vc, pod);
    assert.ok(equalOn(d, secret, certMap), `${pod}: /data/pki differs from the Secret (${old ? 'old' : 'new'} Secret): a mixed state`);
  }
  return old ? 'all-old' : 'all-new';
}

function backups(vc: VC): string[] {
  return (cluster.store.list(SECRETS, vc.ns) as Array<{ metadata: { name: string } }>)
    .map((s) => s.metadata.name)
    .filter((n) => n.startsWith(`${vc.name}-certs-backup-`));
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function secretUpdates(vc: VC): number {
  return cluster.requests.filter((r) => r.verb === 'update' && r.resource === 'secrets' && r.name === `${vc.name}-certs` && r.code === 200).length;
}

function rotate(vc: VC, ...extra: string[]): Promise<CliResult> {
  return runCli(['rotate', vc.name, '-n', vc.ns, '--yes', '--timeout', '4s', ...extra], env);
}

function assertFailedWith(r: CliResult, code: number, state: RegExp) {
  assert.is(r.code, code, `exit code; stderr: ${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop()!;
  assert.match(last, /^error: /);
  assert.match(last, state);
}

const beforeWrite: Array<[string, (vc: VC) => void, number, RegExp, boolean]> = [
  ['exec dropped twice while reading /data/pki', (vc) => cluster.faults.add({ exec: true, namespace: vc.ns, commandIncludes: 'tar -C /data/pki -cf', dropAfterBytes: 100, times: 2 }), 3, /dropped/, false],
  ['exec dropped while backing up', (vc) => cluster.faults.add({ exec: true, namespace: vc.ns, commandIncludes: 'cp -a', dropAfterBytes: 0 }), 2, /nothing was changed \(backup kept: secret f\d+-certs-backup-\d+\)/, true],
  ['exec dropped while staging', (vc) => cluster.faults.add({ exec: true, namespace: vc.ns, commandIncludes: '-xf -', dropAfterStdinBytes: 2000 }), 2, /nothing was changed/, true],
  ['API 500 on the Secret update', (vc) => cluster.faults.add({ verb: 'update', resource: 'secrets', namespace: vc.ns, name: `${vc.name}-certs`, status: 500 }), 2, /nothing was changed/, true],
  ['409 on the Secret update (someone else wrote it)', (vc) => cluster.faults.add({ verb: 'update', resource: 'secrets', namespace: vc.ns, name: `${vc.name}-certs`, status: 409 }), 2, /changed by someone else.*nothing was (overwritten|changed)/, true],
  ['API 500 creating the backup Secret', (vc) => cluster.faults.add({ verb: 'create', resource: 'secrets', namespace: vc.ns, status: 500 }), 2, /nothing was changed/, false],
];
for (const [what, inject, code, message, expectBackup] of beforeWrite) {
  test(`${what}: all-old, exit ${code}`, async () => {
    const vc = await freshVCluster({ replicas: 2 });
    inject(vc);
    const r = await rotate(vc);
    assertFailedWith(r, code, message);
    assert.is(await consistentState(vc), 'all-old');
    assert.is(backups(vc).length > 0, expectBackup, `backup secret ${expectBackup ? 'kept' : 'not yet made'}`);
    for (const pod of runningPods(vc)) {
      const root = join(cluster.podRoot(vc.ns, pod), 'data');
      const { stdout } = await execFileP('ls', ['-a', root]);
      assert.not.match(stdout, /pki\.new|pki\.old/, `${pod}: no staging left behind`);
    }
    const again = await rotate(vc);
    assert.is(again.code, 0, `a clean rerun succeeds: ${again.stderr}`);
    assert.is(await consistentState(vc), 'all-new');
  });
}

test('API 500 deleting pods (restart): rolled back to the backup, exit 2', async () => {
  const vc = await freshVCluster();
  cluster.faults.add({ verb: 'delete', resource: 'pods', namespace: vc.ns, status: 500 });
  const r = await rotate(vc);
  assertFailedWith(r, 2, /rolled back: the vCluster has its previous PKI again \(backup secret f\d+-certs-backup-\d+\)/);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await consistentState(vc), 'all-old');
  assert.ok(backups(vc).length > 0);
});

test('a pod that never becomes Ready: rolled back (old pods serve the old PKI), exit 2', async () => {
  const vc = await freshVCluster({ replicas: 2 });
  const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
  const commits = secretUpdates(vc);
  const cli = rotate(vc);
  // The rollback writes the Secret a second time; from then on pods may become Ready again.
  await waitFor('the rollback to start', () => secretUpdates(vc) >= commits + 2, 30_000);
  never.remove();
  const r = await cli;
  assertFailedWith(r, 2, /rolled back/);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await consistentState(vc), 'all-old');
});

test('rollback impossible too: exit 4, state unknown, the command to restore by hand', async () => {
  const vc = await freshVCluster();
  const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
  try {
    const r = await rotate(vc);
    assertFailedWith(r, 4, /rollback failed too .* state is unknown\. Restore by hand with: kubectl vcluster-certs restore f\d+ -n ns-f\d+ --backup \d+ --from secret/);
    assert.ok(backups(vc).length > 0);
  } finally {
    never.remove();
  }
  // The hint works: restoring that backup brings the vCluster back with the old PKI.
  await cluster.waitReady(vc.ns, vc.name, 20_000);
  const stamp = backups(vc)[0]!.split('-').pop()!;
  const restore = await runCli(['restore', vc.name, '-n', vc.ns, '--backup', stamp, '--from', 'secret', '--no-rotate', '--yes', '--force'], env);
  assert.is(restore.code, 0, restore.stderr);
  assert.is(await consistentState(vc), 'all-old');
});

test('--no-rollback: exit 4, the new PKI stays committed, the message says so', async () => {
  const vc = await freshVCluster();
  const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
  try {
    const r = await rotate(vc, '--no-rollback');
    assertFailedWith(r, 4, /--no-rollback was given, so the vCluster is left with the new PKI in the Secret/);
  } finally {
    never.remove();
  }
  await cluster.waitReady(vc.ns, vc.name, 20_000);
  assert.is(await consistentState(vc), 'all-new');
});

test('port-forward dropped while verifying: rolled back, exit 2', async () => {
  const vc = await freshVCluster();
  cluster.faults.add({ portForward: true, namespace: vc.ns, dropAfterBytes: 0 });
  const r = await rotate(vc);
  assertFailedWith(r, 2, /rolled back/);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await consistentState(vc), 'all-old');
});

test('killed between the Secret update and the restart: a backup exists, and a second run completes', async () => {
  const vc = await freshVCluster({ replicas: 2 });
  const commits = secretUpdates(vc);
  const child = spawn(BINARY, ['rotate', vc.name, '-n', vc.ns, '--yes'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(signal ? -1 : code)));
  // Kill it the moment the commit lands, before it can swap or restart anything.
  const push = cluster.requests.push.bind(cluster.requests);
  cluster.requests.push = (...recs) => {
    const n = push(...recs);
    if (recs.some((r) => r.verb === 'update' && r.resource === 'secrets' && r.name === `${vc.name}-certs` && r.code === 200)) child.kill('SIGKILL');
    return n;
  };
  try {
    assert.is(await exited, -1, 'killed by the test');
  } finally {
    cluster.requests.push = push;
  }
  assert.is(secretUpdates(vc), commits + 1, 'the commit landed');
  assert.ok(backups(vc).length > 0, 'a backup exists');
  const secret = cluster.store.get(SECRETS, vc.ns, `${vc.name}-certs`) as { metadata: { annotations?: Record<string, string> } };
  assert.match(secret.metadata.annotations?.['vcluster-certs.dev/last-change'] ?? '', /^committed\//);
  const again = await rotate(vc);
  assert.is(again.code, 0, `the second run completes: ${again.stderr}`);
  assert.is(await consistentState(vc), 'all-new');
  const check = await runCli(['check', vc.name, '-n', vc.ns], env);
  assert.is(check.code, 0, check.stdout);
});

test.run();
