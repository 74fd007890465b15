// SIGINT and SIGTERM at each step of rotate, rotate-ca and restore, sent to the real binary the
// moment it reports that step done. Before the commit the run stops (exit 2, nothing changed);
// after it the change is finished (exit 0). Either way the vCluster is all-old or all-new with the
// Secret equal to every disk, the backup exists once taken, and the Lease is released. A second
// signal exits at once, names the state and the command that finishes it; `resume` then does.
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { BINARY, runCli } from './helpers.js';
import { FaultHarness, type VC } from './fault-harness.js';

const LEASES = typeByKind('Lease');
const test = suite('signals');
let cluster: SimCluster;
let env: Record<string, string>;
let h: FaultHarness;

test.before(async () => {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  h = new FaultHarness(cluster, env, 's');
});
test.after(() => cluster?.close());

interface Outcome {
  code: number;
  stderr: string;
  signalled: boolean;
}

/**
 * Runs the binary and sends the first of `signals` when stderr reports `step` done, the second
 * once the binary has acknowledged the first (signals sent together would arrive as one).
 */
function runAndSignal(args: string[], step: string, signals: NodeJS.Signals[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(BINARY, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let signalled = false;
    let sent = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (!signalled && new RegExp(`^${step}[ (]`, 'm').test(stderr)) {
        signalled = true;
        child.kill(signals[sent++]!);
      }
      if (signalled && sent < signals.length && /^received SIG/m.test(stderr)) child.kill(signals[sent++]!);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stderr, signalled }));
  });
}

function leaseHeld(vc: VC): boolean {
  return cluster.store.list(LEASES, vc.ns).some((l) => (l as { metadata: { name: string } }).metadata.name === `vcluster-${vc.name}-cert-rotation`);
}

const BEFORE_COMMIT = ['preflight', 'plan', 'backup', 'stage'];
const AFTER_COMMIT = ['commit', 'swap', 'restart'];

type Cmd = 'rotate' | 'rotate-ca' | 'restore';
const argsFor = (cmd: Cmd, vc: VC) => [cmd, vc.name, '-n', vc.ns, '--yes', '--timeout', '20s'];

for (const cmd of ['rotate', 'rotate-ca', 'restore'] as Cmd[]) {
  test(`${cmd}: SIGINT and SIGTERM after each step end all-old before the commit, all-new after it`, async () => {
    let vc = await h.freshVCluster();
    if (cmd === 'restore') {
      const first = await runCli(['rotate', vc.name, '-n', vc.ns, '--yes'], env);
      assert.is(first.code, 0, first.stderr);
    }
    let i = 0;
    for (const step of [...BEFORE_COMMIT, ...AFTER_COMMIT]) {
      for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
        vc = await h.snapshot(vc);
        const backupsBefore = h.backups(vc).length;
        const r = await runAndSignal(argsFor(cmd, vc), step, [sig]);
        const where = `${cmd}, ${sig} after ${step} (run ${++i}): ${r.stderr.trim().split('\n').pop()}`;
        assert.ok(r.signalled, `the step was reported: ${where}`);
        const last = r.stderr.trim().split('\n').pop()!;
        // After "stage" the commit request goes out at once: a signal that lands while it is in
        // flight is after the commit, and the change is finished instead.
        const lateStage = step === 'stage' && /commit \(/.test(r.stderr);
        if (BEFORE_COMMIT.includes(step) && !lateStage) {
          assert.is(r.code, 2, where);
          assert.match(last, /^error: interrupted before the commit; nothing was changed/, where);
          assert.is(await h.consistentState(vc), 'all-old', where);
          await h.assertNoStagingLeft(vc);
          if (step === 'stage') assert.match(last, /backup kept: secret s\d+-certs-backup-\d+/, where);
        } else {
          assert.is(r.code, 0, where);
          // A signal that lands during the commit request, or just after it, finishes the change too.
          const said = lateStage ? new RegExp(`the commit was under way when interrupted: finishing the change|received ${sig}: finishing the committed change`) : new RegExp(`received ${sig}: finishing the committed change`);
          assert.match(r.stderr, said, where);
          await cluster.waitReady(vc.ns, vc.name);
          assert.is(await h.consistentState(vc), 'all-new', where);
          assert.ok(h.backups(vc).length > backupsBefore || h.backups(vc).length >= 5, `a backup was taken: ${where}`);
        }
        assert.ok(!leaseHeld(vc), `Lease released: ${where}`);
      }
    }
  });
}

test('a second SIGINT after the commit exits at once with exit 4, the state and the command; resume finishes it', async () => {
  const vc = await h.freshVCluster({ replicas: 2 });
  const r = await runAndSignal(argsFor('rotate', vc), 'commit', ['SIGINT', 'SIGINT']);
  assert.is(r.code, 4, r.stderr);
  const last = r.stderr.trim().split('\n').pop()!;
  assert.match(last, new RegExp(`^error: interrupted twice \\(SIGINT\\): stopped after the commit: .*finish with "kubectl vcluster-certs resume ${vc.name} -n ${vc.ns}", or go back with "kubectl vcluster-certs restore ${vc.name} -n ${vc.ns} --backup \\d+ --from secret --no-rotate"`));
  assert.ok(!leaseHeld(vc), 'Lease released even on the way out');
  const check = await runCli(['check', vc.name, '-n', vc.ns], env);
  assert.is(check.code, 1, `check warns about the unfinished change: ${check.stdout}${check.stderr}`);
  const resumed = await runCli(['resume', vc.name, '-n', vc.ns, '--yes', '-o', 'json'], env);
  assert.is(resumed.code, 0, resumed.stderr);
  assert.equal([JSON.parse(resumed.stdout).result, JSON.parse(resumed.stdout).state], ['done', 'all-new']);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await h.consistentState(vc), 'all-new');
  const again = await runCli(['resume', vc.name, '-n', vc.ns, '--yes'], env);
  assert.is(again.code, 0);
  assert.match(again.stdout, /Nothing to do/);
});

test('resume after a kill at the commit of rotate-ca restarts everything together and verifies, issuing nothing', async () => {
  const vc = await h.freshVCluster({ replicas: 2 });
  await h.killAfterCommit(vc, argsFor('rotate-ca', vc));
  const committed = await h.snapshot(vc);
  const dry = await runCli(['resume', vc.name, '-n', vc.ns, '--dry-run'], env);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /restart\+verify .*the rotate-ca committed at .*all-at-once restart/);
  const r = await runCli(['resume', vc.name, '-n', vc.ns, '--yes'], env);
  assert.is(r.code, 0, r.stderr);
  await cluster.waitReady(vc.ns, vc.name);
  assert.is(await h.consistentState(committed), 'all-old', 'the Secret is what the killed run committed: nothing re-issued');
  assert.ok(!leaseHeld(vc));
});

test.run();
