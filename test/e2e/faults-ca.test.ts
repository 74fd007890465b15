// Fault injection for rotate-ca and restore, on the same change path as rotate: never a new
// CA in the Secret with old leafs on a disk, a backup kept, a clear state in the message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type SimCluster } from '../cluster/index.js';
import { runCli, type CliResult } from './helpers.js';
import { assertFailedWith, FaultHarness, waitFor, type VC } from './fault-harness.js';
import { secretFiles } from './pki-oracle.js';

const test = suite('rotate-ca and restore under faults');
let cluster: SimCluster;
let env: Record<string, string>;
let h: FaultHarness;

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  h = new FaultHarness(cluster, env, 'c');
}
test.after(() => cluster?.close());

interface Command {
  name: string;
  /** makes a vCluster ready for the command; returns it with its pre-command state */
  prepare(): Promise<VC>;
  args(vc: VC): string[];
}

const commands: Command[] = [
  {
    name: 'rotate-ca',
    prepare: () => h.freshVCluster({ replicas: 2 }),
    args: (vc) => ['rotate-ca', vc.name, '-n', vc.ns, '--yes', '--timeout', '4s'],
  },
  {
    name: 'restore',
    // A rotate-ca first leaves a backup of the original CA to restore.
    async prepare() {
      const vc = await h.freshVCluster({ replicas: 2 });
      const r = await runCli(['rotate-ca', vc.name, '-n', vc.ns, '--yes'], env);
      assert.is(r.code, 0, r.stderr);
      return h.snapshot(vc);
    },
    args: (vc) => ['restore', vc.name, '-n', vc.ns, '--yes', '--from', 'secret', '--timeout', '4s'],
  },
];

const run = (args: string[]): Promise<CliResult> => runCli(args, env);

for (const cmd of commands) {
  const faults: Array<[string, (vc: VC) => void, number, RegExp]> = [
    ['exec dropped while staging', (vc) => cluster.faults.add({ exec: true, namespace: vc.ns, commandIncludes: '-xf -', dropAfterStdinBytes: 2000 }), 2, /nothing was changed/],
    ['API 500 on the Secret update', (vc) => cluster.faults.add({ verb: 'update', resource: 'secrets', namespace: vc.ns, name: `${vc.name}-certs`, status: 500 }), 2, /nothing was changed/],
    ['409 on the Secret update', (vc) => cluster.faults.add({ verb: 'update', resource: 'secrets', namespace: vc.ns, name: `${vc.name}-certs`, status: 409 }), 2, /changed by someone else/],
    ['API 500 deleting pods', (vc) => cluster.faults.add({ verb: 'delete', resource: 'pods', namespace: vc.ns, status: 500 }), 2, /rolled back: the vCluster has its previous PKI again/],
  ];
  for (const [what, inject, code, message] of faults) {
    test(`${cmd.name}: ${what} → all-old, exit ${code}, backup kept`, async () => {
      const vc = await cmd.prepare();
      const backupsBefore = h.backups(vc).length;
      inject(vc);
      assertFailedWith(await run(cmd.args(vc)), code, message);
      await cluster.waitReady(vc.ns, vc.name);
      assert.is(await h.consistentState(vc), 'all-old');
      assert.ok(h.backups(vc).length > backupsBefore, 'a backup of the pre-command state exists');
      await h.assertNoStagingLeft(vc);
    });
  }

  test(`${cmd.name}: pods never Ready → rolled back, all-old`, async () => {
    const vc = await cmd.prepare();
    const never = cluster.faults.add({ podNeverReady: { namespace: vc.ns, name: vc.name } });
    const commits = h.secretUpdates(vc);
    const cli = run(cmd.args(vc));
    await waitFor('the rollback to start', () => h.secretUpdates(vc) >= commits + 2, 30_000);
    never.remove();
    assertFailedWith(await cli, 2, /rolled back/);
    await cluster.waitReady(vc.ns, vc.name);
    assert.is(await h.consistentState(vc), 'all-old');
  });

  test(`${cmd.name}: killed after the commit → a backup exists, a second run completes`, async () => {
    const vc = await cmd.prepare();
    await h.killAfterCommit(vc, cmd.args(vc));
    assert.ok(h.backups(vc).length > 0);
    const again = await run(cmd.args(vc));
    assert.is(again.code, 0, again.stderr);
    await cluster.waitReady(vc.ns, vc.name);
    assert.is(await h.consistentState(vc), 'all-new');
    // rotate-ca: a new CA again; restore: the backup that was meant, so the CA differs from the pre-command one.
    const now = await secretFiles(cluster, vc.ns, vc.name);
    assert.not.ok(now.get('ca.crt')!.equals(vc.original.get('ca.crt')!), 'the CA changed as the command intends');
    assert.is((await run(['check', vc.name, '-n', vc.ns])).code, 0);
  });
}

test.run();
