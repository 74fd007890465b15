// The change path through a fake ChangePort (a leaf rotation, and a CA rollover's graceful start and
// finalize computed for real): every call of a run failing, the Secret changing
// under it, the process stopping between any two calls, signals, pruning, RBAC derivation.
// Whatever happens, the vCluster ends all-old or all-new (Secret == every disk), a backup
// exists once one was taken, the Lease is released, and the error says which state was left.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT, UserError } from '../../src/errors.js';
import { runChange, type ChangeOptions, type ChangeSpec } from '../../src/flows/change.js';
import { parseMarker } from '../../src/flows/change-marker.js';
import { callsOnPath, requiredPermissions, startRun } from '../../src/flows/change-steps.js';
import { runResume } from '../../src/flows/resume.js';
import { caRolloverFinalizeSpec, caRolloverStartSpec, leafRotationSpec, type RolloverSpecOptions } from '../../src/flows/rotate.js';
import { CALL_NEEDS, permissionKey, restartNeeds, type PortCall } from '../../src/kube/change-port.js';
import type { VCluster } from '../../src/kube/discovery.js';
import { STATE_ANNOTATION } from '../../src/kube/secrets.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/index.js';
import { FakeCluster, FakePort, PKI, ProcessStopped, sameFiles } from './fake-port.js';

const test = suite('change flow through the fake port');
let OLD: PkiFiles;
let NEW: PkiFiles;
/** an ECDSA PKI (fast keys: the rollover phases compute for real in every run) and it with a window open */
let ROLL_OLD: PkiFiles;
let ROLL_OPEN: PkiFiles;
const ROLL_OPTS = (): RolloverSpecOptions => ({ now: new Date(), validityMs: 365 * 86_400_000, caValidityMs: 3650 * 86_400_000, allowShortValidity: false });

test.before(async () => {
  OLD = await generatePki({ name: 'vc', namespace: 'ns', now: new Date(Date.now() - 3_600_000) });
  OLD.set('custom-note', Buffer.from('kept byte for byte'));
  NEW = (await leafRotationSpec({ now: new Date(), validityMs: 365 * 86_400_000, force: false }).compute(OLD)).files;
  ROLL_OLD = await generatePki({ name: 'vc', namespace: 'ns', keyType: 'ecdsa', now: new Date(Date.now() - 3_600_000) });
  ROLL_OPEN = (await caRolloverStartSpec(ROLL_OPTS()).compute(ROLL_OLD)).files;
});

/**
 * A change for the fault loops: the PKI it starts from and a spec. The rollover phases compute for
 * real on every run, so what "all-new" means is what that run's compute produced.
 */
interface Phase {
  name: string;
  old: () => PkiFiles;
  make: () => { spec: ChangeSpec; produced: () => PkiFiles | undefined };
}

function realCompute(name: string, old: () => PkiFiles, make: () => ChangeSpec): Phase {
  return {
    name, old,
    make: () => {
      const real = make();
      let produced: PkiFiles | undefined;
      const compute: ChangeSpec['compute'] = async (current) => {
        const change = await real.compute(current);
        produced = change.files;
        return change;
      };
      return { spec: { ...real, compute }, produced: () => produced };
    },
  };
}

const PHASES: Phase[] = [
  { name: 'rotate', old: () => OLD, make: () => ({ spec: spec(), produced: () => NEW }) },
  realCompute('rotate-ca --graceful', () => ROLL_OLD, () => caRolloverStartSpec(ROLL_OPTS())),
  realCompute('rotate-ca --finalize', () => ROLL_OPEN, () => caRolloverFinalizeSpec(ROLL_OPTS())),
];

/** A spec whose compute hands out the precomputed NEW (no key generation per run). */
function spec(over: Partial<ChangeSpec> = {}): ChangeSpec {
  return { kind: 'rotate', restartMode: 'rolling', confirm: 'yes', compute: async () => ({ files: NEW, lines: [], warnings: [] }), ...over };
}

function options(over: Partial<ChangeOptions> = {}): ChangeOptions {
  return {
    dryRun: false, yes: true, allow: { notRunning: false, drift: false, incomplete: false }, noRollback: false,
    timeoutMs: 1000, progress: () => undefined, ...over,
  };
}

/** The exit code a run ends with; -1 when the simulated process stopped (nothing after that ran). */
async function attempt(p: Promise<unknown>, port?: FakePort): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: 0, message: '' };
  } catch (err) {
    if (err instanceof ProcessStopped || port?.stopped) return { code: -1, message: (err as Error).message };
    assert.ok(err instanceof UserError, `a UserError, not ${(err as Error).stack}`);
    return { code: (err as UserError).exitCode, message: (err as Error).message };
  }
}

function state(c: FakeCluster, old = OLD, neu: PkiFiles | undefined = NEW): 'all-old' | 'all-new' | 'mixed' {
  if (!c.consistent()) return 'mixed';
  if (sameFiles(c.secret.files, old)) return 'all-old';
  if (neu && sameFiles(c.secret.files, neu)) return 'all-new';
  return 'mixed';
}

test('a rotation: all-new, marker done, backups in the Secret and every pod, Lease released, unknown keys kept', async () => {
  const c = new FakeCluster(OLD, 2);
  const { report, files } = await runChange(c.port(), spec(), options());
  assert.is(report.result, 'done');
  assert.is(report.state, 'all-new');
  assert.is(state(c), 'all-new');
  assert.ok(files && sameFiles(files, NEW));
  assert.is(c.secret.files.get('custom-note')?.toString(), 'kept byte for byte');
  assert.equal(parseMarker(c.secret.annotations[STATE_ANNOTATION]), { state: 'done', stamp: report.stamp, kind: 'rotate' });
  assert.ok(sameFiles(c.backups.get(`vc-certs-backup-${report.stamp}`)!, OLD));
  for (const p of c.pods) assert.ok(sameFiles(p.dirs.get(`/data/pki.bak/${report.stamp}`)!, OLD), `${p.name} backup`);
  assert.is(c.lease, undefined, 'Lease released');
  assert.equal(c.restarts, ['rolling']);
  assert.equal(report.steps.map((s) => s.step.split(' ')[0]), ['preflight', 'plan', 'backup', 'stage', 'commit', 'swap', 'restart', 'verify']);
});

// The calls a clean run makes, numbered, for the loops below.
async function happyCalls(replicas = 2, phase: Phase = PHASES[0]!): Promise<PortCall[]> {
  const c = new FakeCluster(phase.old(), replicas);
  await runChange(c.port(), phase.make().spec, options());
  return c.calls;
}

for (const phase of PHASES) test(`${phase.name}: every call failing once: exit 2 and all-old (nothing changed, or rolled back), or exit 4 naming the way back`, async () => {
  const calls = await happyCalls(2, phase);
  for (let n = 1; n <= calls.length; n++) {
    const c = new FakeCluster(phase.old(), 2);
    const { spec: phaseSpec, produced } = phase.make();
    const call = calls[n - 1]!;
    const nth = calls.slice(0, n).filter((x) => x === call).length;
    c.faults.push({ call, nth, kind: 'error' });
    const r = await attempt(runChange(c.port(), phaseSpec, options()));
    const now = () => state(c, phase.old(), produced());
    const where = `${phase.name}: call ${n} (${call} #${nth}): ${r.message}`;
    if (call === 'pruneBackupSecrets' || call === 'readKubeconfigSecret') {
      assert.is(r.code, 0, `pruning and the vc-<name> check are best effort: ${where}`);
      assert.is(now(), 'all-new', where);
      continue;
    }
    assert.ok([EXIT.BROKEN, EXIT.PARTIAL, EXIT.USAGE].includes(r.code as 2), where);
    assert.is(c.lease, undefined, `Lease released: ${where}`);
    if (r.code === EXIT.PARTIAL) {
      assert.match(r.message, /kubectl vcluster-certs (resume|restore) vc -n ns/, where);
    } else if (r.code === EXIT.USAGE) {
      assert.ok(!c.calls.some((x) => ['writeCertsSecret', 'createBackupSecret', 'backupInPod', 'stageInPod'].includes(x)), `could not start, wrote nothing: ${where}`);
      assert.is(now(), 'all-old', where);
    } else {
      assert.is(now(), 'all-old', where);
      assert.ok(c.pods.every((p) => !p.dirs.has('/data/pki.new')), `no staging left: ${where}`);
      assert.match(r.message, /nothing was changed|rolled back|nothing of theirs|lack/, where);
    }
    if (calls.slice(0, n).includes('createBackupSecret') && call !== 'createBackupSecret') assert.ok(c.backups.size > 0, `backup kept: ${where}`);
  }
});

for (const phase of PHASES) test(`${phase.name}: the process stopping between any two calls: resume (or nothing) leaves all-old or all-new, a backup exists`, async () => {
  const calls = await happyCalls(2, phase);
  for (let n = 0; n < calls.length; n++) {
    const c = new FakeCluster(phase.old(), 2);
    const { spec: phaseSpec, produced } = phase.make();
    c.stopAfter = n;
    const port = c.port();
    const first = await attempt(runChange(port, phaseSpec, options()), port);
    // Pruning is best effort after a verified change: a stop there still ends in success.
    assert.is(first.code, calls[n] === 'pruneBackupSecrets' ? 0 : -1, `stopped at ${n}`);
    c.stopAfter = undefined;
    const marker = parseMarker(c.secret.annotations[STATE_ANNOTATION]);
    const resumed = await runResume(c.port(), options());
    const after = state(c, phase.old(), produced());
    const where = `${phase.name}: stopped after ${n} calls (${calls[n - 1] ?? 'start'}), marker ${marker?.state ?? 'none'}`;
    assert.ok(after === 'all-old' || after === 'all-new', `${where}: ${after}`);
    if (marker?.state === 'committed') {
      assert.is(resumed.report.result, 'done', where);
      assert.is(after, 'all-new', where);
      assert.is(parseMarker(c.secret.annotations[STATE_ANNOTATION])?.state, 'done', where);
    } else {
      assert.is(resumed.report.result, 'nothing-to-do', where);
      assert.is(after, marker?.state === 'done' ? 'all-new' : 'all-old', where);
    }
    if (calls.slice(0, n).includes('createBackupSecret')) assert.ok(c.backups.size > 0, `backup: ${where}`);
    assert.ok(!c.lease || c.lease.dead, `no live Lease left: ${where}`);
  }
});

test('stopped during the rollback: the marker says rolling-back and resume finishes it to all-old', async () => {
  const calls: PortCall[] = [];
  {
    const c = new FakeCluster(OLD, 2);
    c.faults.push({ call: 'verify', nth: 1, kind: 'error' });
    await attempt(runChange(c.port(), spec(), options()));
    calls.push(...c.calls);
  }
  const firstRollbackWrite = calls.findIndex((x, i) => x === 'writeCertsSecret' && i > calls.indexOf('verify'));
  for (let n = firstRollbackWrite + 1; n < calls.length; n++) {
    const c = new FakeCluster(OLD, 2);
    c.faults.push({ call: 'verify', nth: 1, kind: 'error' });
    c.stopAfter = n;
    const port = c.port();
    assert.is((await attempt(runChange(port, spec(), options()), port)).code, -1);
    c.stopAfter = undefined;
    c.faults = [];
    assert.is(parseMarker(c.secret.annotations[STATE_ANNOTATION])?.state, 'rolling-back', `after ${n}`);
    const r = await runResume(c.port(), options());
    assert.is(r.report.result, 'rolled-back');
    assert.is(state(c), 'all-old', `after ${n}`);
  }
});

test("the Secret changed by vCluster's renewal before the commit: exit 2, nothing overwritten, says who", async () => {
  const c = new FakeCluster(OLD, 1);
  c.beforeCall = (call) => {
    if (call === 'writeCertsSecret' && c.secret.rv === 1) c.writeBehind(OLD, 'vcluster');
  };
  const r = await attempt(runChange(c.port(), spec(), options()));
  assert.is(r.code, EXIT.BROKEN);
  assert.match(r.message, /vCluster's own certificate renewal.*nothing was changed/);
  assert.is(c.secret.manager, 'vcluster', 'their write stands');
  assert.is(state(c), 'all-old');
});

test('the Secret changed after our commit: no rollback over it, exit 4 with the exact commands', async () => {
  const c = new FakeCluster(OLD, 1);
  c.beforeCall = (call) => {
    if (call === 'readCertsSecret' && c.calls.includes('verify') && c.secret.manager !== 'someone-else') {
      c.writeBehind(new Map([...c.secret.files, ['their-key', Buffer.from('x')]]), 'someone-else');
    }
  };
  const r = await attempt(runChange(c.port(), spec(), options()));
  assert.is(r.code, EXIT.PARTIAL, r.message);
  assert.match(r.message, /changed by someone else \(field manager "someone-else"\)/);
  assert.match(r.message, /kubectl vcluster-certs resume vc -n ns/);
  assert.match(r.message, /kubectl vcluster-certs restore vc -n ns --backup \d+ --from secret --no-rotate/);
  assert.is(c.secret.manager, 'someone-else', 'not overwritten');
  assert.is(c.lease, undefined);
});

test('rollback guarded too: a write behind our back during the rollback stops it with exit 4', async () => {
  const c = new FakeCluster(OLD, 1);
  c.neverReady = true;
  let writes = 0;
  c.beforeCall = (call) => {
    if (call === 'writeCertsSecret' && ++writes === 2) c.writeBehind(NEW, 'other-admin');
  };
  const r = await attempt(runChange(c.port(), spec(), options()));
  assert.is(r.code, EXIT.PARTIAL);
  assert.match(r.message, /rollback failed too .*changed by someone else \(field manager "other-admin"\).*did not overwrite/);
  assert.is(c.secret.manager, 'other-admin');
});

test("the rollback goes over vCluster's own renewal of what we committed (our restart set it off), not over anyone else", async () => {
  const c = new FakeCluster(OLD, 1);
  c.faults.push({ call: 'verify', nth: 1, kind: 'error' });
  let writes = 0;
  c.beforeCall = (call) => {
    if (call === 'writeCertsSecret' && ++writes === 2) {
      const renewed = new Map(c.secret.files);
      renewed.set('apiserver.crt', Buffer.from(`${renewed.get('apiserver.crt')}\n`));
      c.writeBehind(renewed, 'vcluster');
    }
  };
  const said: string[] = [];
  const r = await attempt(runChange(c.port(), spec(), options({ progress: (l) => said.push(l) })));
  assert.is(r.code, EXIT.BROKEN, r.message);
  assert.match(r.message, /rolled back: the vCluster has its previous PKI again/);
  assert.is(state(c), 'all-old');
  assert.ok(said.some((l) => /vCluster renewed the committed leafs when it restarted; the rollback replaces them too/.test(l)));
});

test('SIGINT before the commit: staging removed, Lease released, backup kept, exit 2', async () => {
  const c = new FakeCluster(OLD, 2);
  const ac = new AbortController();
  c.beforeCall = (call) => {
    if (call === 'stageInPod') ac.abort();
  };
  const r = await attempt(runChange(c.port(), spec(), options({ signal: ac.signal })));
  assert.is(r.code, EXIT.BROKEN);
  assert.match(r.message, /^interrupted before the commit; nothing was changed \(backup kept: secret vc-certs-backup-\d+\)$/);
  assert.is(state(c), 'all-old');
  assert.ok(c.pods.every((p) => !p.dirs.has('/data/pki.new')));
  assert.is(c.lease, undefined);
  assert.ok(!c.calls.includes('writeCertsSecret'));
});

test('SIGINT after the commit: the change is finished, not left half-way', async () => {
  const c = new FakeCluster(OLD, 2);
  const ac = new AbortController();
  const said: string[] = [];
  c.beforeCall = (call) => {
    if (call === 'swapInPod') ac.abort();
  };
  const { report } = await runChange(c.port(), spec(), options({ signal: ac.signal, progress: (l) => said.push(l) }));
  assert.is(report.result, 'done');
  assert.is(state(c), 'all-new');
  assert.ok(said.some((l) => /interrupted after the commit: finishing/.test(l)));
});

test('SIGINT while waiting for confirmation or the Lease: nothing written, Lease released', async () => {
  const c = new FakeCluster(OLD, 1);
  const ac = new AbortController();
  c.beforeCall = (call) => {
    if (call === 'acquireLease') ac.abort();
  };
  const r = await attempt(runChange(c.port(), spec(), options({ signal: ac.signal })));
  assert.is(r.code, EXIT.BROKEN);
  assert.is(c.lease, undefined);
  assert.is(c.backups.size, 0);
});

test('pruning: only after a verified change, never the protected backup; a failed change prunes nothing', async () => {
  const c = new FakeCluster(OLD, 1);
  for (let i = 0; i < 7; i++) c.backups.set(`vc-certs-backup-${1000 + i}`, OLD);
  const failing = new FakeCluster(OLD, 1);
  for (const [k, v] of c.backups) failing.backups.set(k, v);
  failing.faults.push({ call: 'verify', nth: 1, kind: 'error' });
  await attempt(runChange(failing.port(), spec({ protectBackups: ['vc-certs-backup-1000'] }), options()));
  assert.ok(!failing.calls.includes('pruneBackupSecrets'));
  assert.is(failing.backups.size, 8);
  const { report } = await runChange(c.port(), spec({ protectBackups: ['vc-certs-backup-1000'] }), options());
  const pruneAt = c.calls.indexOf('pruneBackupSecrets');
  assert.ok(pruneAt > c.calls.lastIndexOf('verify'), 'after verify');
  assert.ok(c.backups.has('vc-certs-backup-1000'), 'the protected one stays');
  assert.ok(c.backups.has(`vc-certs-backup-${report.stamp}`), 'the new one stays');
  assert.is(c.backups.size, 6);
});

const SHAPES: Array<[string, Partial<VCluster>, number, boolean]> = [
  ['single replica', {}, 1, false],
  ['HA StatefulSet (template roll)', { replicas: 3 }, 3, false],
  ['HA OnDelete', { replicas: 2, object: { spec: { updateStrategy: { type: 'OnDelete' } } } as VCluster['object'] }, 2, false],
  ['HA Deployment', { kind: 'Deployment', replicas: 2 }, 2, false],
  ['deployed etcd', { replicas: 2 }, 2, true],
];

test('RBAC: the preflight asks for every permission the calls of the path (and of a rollback) need', async () => {
  for (const [what, vc, replicas, etcd] of SHAPES) {
    for (const mode of ['rolling', 'all-at-once'] as const) {
      const c = new FakeCluster(OLD, replicas);
      c.deployedEtcd = etcd;
      c.faults.push({ call: 'verify', nth: 1, kind: 'error' });
      const port = c.port(vc);
      await attempt(runChange(port, spec({ restartMode: mode }), options()));
      const run = startRun(port, spec({ restartMode: mode }), options());
      run.ready = c.pods.map((p) => p.name);
      run.restartMode = mode;
      const asked = new Set((await requiredPermissions(run)).map(permissionKey));
      const used = new Set<string>();
      for (const call of new Set(c.calls)) {
        if (call === 'restart') continue;
        for (const p of CALL_NEEDS[call]) used.add(permissionKey(p));
      }
      for (const m of new Set(c.restarts)) for (const p of restartNeeds(port.vc, m, etcd)) used.add(permissionKey(p));
      for (const k of used) assert.ok(asked.has(k), `${what}, ${mode}: ${k} is used but not asked for`);
      for (const call of new Set(c.calls)) assert.ok(callsOnPath(run).includes(call), `${what}: ${call} is on the declared path`);
    }
  }
});

test('RBAC: any one permission missing stops the run before anything is written (exit 3)', async () => {
  const c0 = new FakeCluster(OLD, 3);
  const port0 = c0.port({ replicas: 3 });
  const run = startRun(port0, spec(), options());
  run.ready = c0.pods.map((p) => p.name);
  run.restartMode = 'rolling';
  const needed = await requiredPermissions(run);
  assert.ok(needed.some((p) => p.verb === 'patch' && p.resource === 'statefulsets'), 'a template roll needs patch statefulsets');
  assert.ok(needed.some((p) => p.verb === 'delete' && p.resource === 'secrets'), 'pruning needs delete secrets');
  for (const p of needed) {
    const c = new FakeCluster(OLD, 3);
    c.denied = [p];
    const r = await attempt(runChange(c.port({ replicas: 3 }), spec(), options()));
    assert.is(r.code, EXIT.USAGE, permissionKey(p));
    assert.match(r.message, /you lack RBAC permissions .*nothing was changed/);
    assert.ok(!c.calls.some((x) => ['writeCertsSecret', 'createBackupSecret', 'stageInPod', 'backupInPod', 'acquireLease'].includes(x)), `no write for ${permissionKey(p)}`);
  }
});

test('RBAC: a leaf rotation with a deployed etcd asks to read and patch <name>-etcd (its roll reads the StatefulSet first)', () => {
  const vc = new FakeCluster(OLD, 1).port().vc;
  const keys = restartNeeds(vc, 'rolling', true).map(permissionKey);
  assert.ok(keys.includes('get/apps/statefulsets/'), keys.join(' '));
  assert.ok(keys.includes('patch/apps/statefulsets/'), keys.join(' '));
  assert.not.ok(restartNeeds(vc, 'rolling', false).map(permissionKey).includes('get/apps/statefulsets/'));
});

test('refusals name the one flag that accepts the risk', async () => {
  const notRunning = new FakeCluster(OLD, 1);
  let r = await attempt(runChange(notRunning.port({ status: 'CrashLoopBackOff' }), spec(), options()));
  assert.is(r.code, EXIT.USAGE);
  assert.match(r.message, /--allow-not-running/);
  const drift = new FakeCluster(OLD, 1);
  drift.pods[0]!.dirs.set(PKI, NEW);
  r = await attempt(runChange(drift.port(), spec(), options()));
  assert.match(r.message, /pass --ignore-drift/);
  const ok = await runChange(drift.port(), spec(), options({ allow: { notRunning: false, drift: true, incomplete: false } }));
  assert.is(ok.report.result, 'done');
  const empty = new FakeCluster(OLD, 1);
  empty.secret.files.set('sa.pub', Buffer.alloc(0));
  r = await attempt(runChange(empty.port(), spec(), options()));
  assert.match(r.message, /pass --allow-incomplete/);
});

test('dry run: no write, no Lease; a missing permission becomes a warning', async () => {
  const c = new FakeCluster(OLD, 1);
  c.denied = [{ verb: 'update', resource: 'secrets' }];
  const { report } = await runChange(c.port(), spec(), options({ dryRun: true }));
  assert.is(report.result, 'dry-run');
  assert.ok(report.warnings.some((w) => /would stop here: you lack RBAC permissions for update secrets/.test(w)));
  assert.equal([...new Set(c.calls)].sort(), ['hasDeployedEtcd', 'listPods', 'readCertsSecret', 'readPodDir']);
});

test.run();
