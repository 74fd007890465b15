// Fault injection at every step of `rotate`: afterwards the Secret and every disk are
// all-old or all-new, a backup exists once the backup step began, the exit code is
// non-zero and the message says which state was left. A rerun after a kill completes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { runCli, type CliResult } from './helpers.js';
import { assertFailedWith, FaultHarness, waitFor, type VC } from './fault-harness.js';

const SECRETS = typeByKind('Secret');
const test = suite('rotate under faults');
let cluster: SimCluster;
let env: Record<string, string>;
let h: FaultHarness;

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  h = new FaultHarness(cluster, env);
}
test.after(() => cluster?.close());

function rotate(vc: VC, ...extra: string[]): Promise<CliResult> {
  return runCli(['rotate', vc.name, '-n', vc.ns, '--yes', '--timeout', '4s', ...extra], env);
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
    const vc = await h.freshVCluster({ replicas: 2 });
    inject(vc);
    const r = await rotate(vc);
    assertFailedWith(r, code, message);
    assert.is(await h.consistentState(vc), 'all-old');
    assert.is(h.backups(vc).length > 0, expectBackup, `backup secret ${expectBackup ? 'kept' : 'not yet made'}`);
    await h.assertNoStagingLeft(vc);
    const again = await rotate(vc);
    assert.is(again.code, 0, `a clean rerun succeeds: ${again.stderr}`);
    assert.is(await h.consistentState(vc), 'all-new');
  });
}

test('API 500 deleting pods (restart): rolled back to the backup, exit 2', async () => {
  const vc = await h.freshVCluster();
  cluster.faults.add({ verb: 'delete', resource: 'pods', namespace: vc.ns, status: 500 });
  const r = await rotate(vc);
  assertFailedWith(r, 2, /rolled back: the vCluster has its previous PKI again \(backup secret f\d+-certs-backup-\d+\)/);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await h.consistentState(vc), 'all-old');
  assert.ok(h.backups(vc).length > 0);
});

test('a pod that never becomes Ready: rolled back (old pods serve the old PKI), exit 2', async () => {
  const vc = await h.freshVCluster({ replicas: 2 });
  const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
  const commits = h.secretUpdates(vc);
  const cli = rotate(vc);
  // The rollback writes the Secret a second time; from then on pods may become Ready again.
  await waitFor('the rollback to start', () => h.secretUpdates(vc) >= commits + 2, 30_000);
  never.remove();
  const r = await cli;
  assertFailedWith(r, 2, /rolled back/);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await h.consistentState(vc), 'all-old');
});

test('rollback impossible too: exit 4, state unknown, the command to restore by hand', async () => {
  const vc = await h.freshVCluster();
  const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
  try {
    const r = await rotate(vc);
    assertFailedWith(r, 4, /rollback failed too .* state is unknown\. Restore the previous PKI by hand with: kubectl vcluster-certs restore f\d+ -n ns-f\d+ --backup \d+ --from secret --no-rotate/);
    assert.ok(h.backups(vc).length > 0);
  } finally {
    never.remove();
  }
  // The hint works: restoring that backup brings the vCluster back with the old PKI.
  await cluster.waitReady(vc.ns, vc.name, 20_000);
  const stamp = h.backups(vc)[0]!.split('-').pop()!;
  const restore = await runCli(['restore', vc.name, '-n', vc.ns, '--backup', stamp, '--from', 'secret', '--no-rotate', '--yes', '--force'], env);
  assert.is(restore.code, 0, restore.stderr);
  assert.is(await h.consistentState(vc), 'all-old');
});

test('--no-rollback: exit 4, the new PKI stays committed, the message says so', async () => {
  const vc = await h.freshVCluster();
  const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
  try {
    const r = await rotate(vc, '--no-rollback');
    assertFailedWith(r, 4, /--no-rollback was given, so the vCluster is left with the new PKI in the Secret/);
  } finally {
    never.remove();
  }
  await cluster.waitReady(vc.ns, vc.name, 20_000);
  assert.is(await h.consistentState(vc), 'all-new');
});

test('port-forward dropped while verifying: rolled back, exit 2', async () => {
  const vc = await h.freshVCluster();
  cluster.faults.add({ portForward: true, namespace: vc.ns, dropAfterBytes: 0 });
  const r = await rotate(vc);
  assertFailedWith(r, 2, /rolled back/);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await h.consistentState(vc), 'all-old');
});

test('a backup name already taken in this second: the next free stamp is used', async () => {
  const vc = await h.freshVCluster();
  const now = Math.floor(Date.now() / 1000);
  for (const stamp of [now, now + 1, now + 2]) {
    cluster.createObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${vc.name}-certs-backup-${stamp}`, namespace: vc.ns }, data: {} });
  }
  const r = await runCli(['rotate', vc.name, '-n', vc.ns, '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(Number(report.stamp) >= now + 3, `stamp ${report.stamp} skips the taken ones`);
  assert.is(report.backups.secret, `${vc.name}-certs-backup-${report.stamp}`);
  assert.equal(report.backups.pods.map((p: { dir: string }) => p.dir), [`/data/pki.bak/${report.stamp}`]);
});

test('killed between the Secret update and the restart: a backup exists, and a second run completes', async () => {
  const vc = await h.freshVCluster({ replicas: 2 });
  await h.killAfterCommit(vc, ['rotate', vc.name, '-n', vc.ns, '--yes']);
  assert.ok(h.backups(vc).length > 0, 'a backup exists');
  const secret = cluster.store.get(SECRETS, vc.ns, `${vc.name}-certs`) as { metadata: { annotations?: Record<string, string> } };
  assert.match(secret.metadata.annotations?.['vcluster-certs.dev/last-change'] ?? '', /^committed\//);
  const told = await runCli(['check', vc.name, '-n', vc.ns, '--source', 'secret'], env);
  assert.is(told.code, 1, 'check flags the unfinished change');
  assert.match(told.stdout, /warning: a rotate committed at .* did not finish: run "kubectl vcluster-certs resume f\d+ -n ns-f\d+" to restart and verify it, or "kubectl vcluster-certs restore f\d+ -n ns-f\d+ --backup \d+ --from secret --no-rotate" to go back/);
  const again = await rotate(vc);
  assert.is(again.code, 0, `the second run completes: ${again.stderr}`);
  assert.is(await h.consistentState(vc), 'all-new');
  const check = await runCli(['check', vc.name, '-n', vc.ns], env);
  assert.is(check.code, 0, check.stdout);
});

test.run();
