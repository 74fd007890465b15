// Targeted leaf rotation (`rotate --only`, `--expiring-within`): only the selected certificates are
// re-issued (checked with openssl verify), every other file stays byte for byte, and a rotation that
// leaves a leaf within vCluster's 90-day start-up renewal threshold is refused or warned about.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { applyLeafRotation, planLeafRotation, resolveRotationNames, RotationRefusal, rotationNames } from '../../src/pki/rotation.js';
import { verifyPki } from '../../src/pki/verify.js';
import { ISSUER_OF, KUBECONFIGS, generatePki } from '../cluster/index.js';
import { opensslVerify } from './helpers.js';
import type { PkiFiles } from '../../src/pki/types.js';

const test = suite('pki/rotation-targets');
const DAY = 86_400_000;
const YEAR = 365 * DAY;

const ISSUER: Record<string, string> = { ...ISSUER_OF, ...Object.fromEntries(KUBECONFIGS.map((k) => [k, 'ca.crt'])) };
const ETCD = ['etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt'];

const t0 = new Date(Math.floor(Date.now() / 1000) * 1000 - 400 * DAY);
let pki: PkiFiles;
test.before(async () => {
  pki = await generatePki({ name: 'tgt', namespace: 'ns', now: t0 });
  pki.set('custom/notes.txt', Buffer.from('keep me\n'));
});

function clientCert(conf: Buffer): string {
  const y = parseYaml(conf.toString());
  return Buffer.from(y.users[0].user['client-certificate-data'], 'base64').toString();
}

/** The files a plan re-issued: exactly `selected` (with their keys) changed, every other byte the same. */
async function assertOnly(before: PkiFiles, after: PkiFiles, selected: string[], at: Date): Promise<void> {
  assert.equal([...after.keys()].sort(), [...before.keys()].sort());
  const changed = new Set(selected.flatMap((f) => (f.endsWith('.crt') ? [f, f.replace(/\.crt$/, '.key')] : [f])));
  for (const [f, data] of before) {
    if (changed.has(f)) assert.not.ok(after.get(f)!.equals(data), `${f} re-issued`);
    else assert.ok(after.get(f)!.equals(data), `${f} byte-identical`);
  }
  for (const f of selected) {
    const pem = f.endsWith('.conf') ? clientCert(after.get(f)!) : after.get(f)!;
    const v = await opensslVerify(after.get(ISSUER[f]!)!, pem, ['-x509_strict', '-attime', String(Math.floor(at.getTime() / 1000) + 60)]);
    assert.ok(v.ok, `${f} verifies against ${ISSUER[f]}: ${v.out}`);
  }
}

test('names: files as check prints them, with or without .crt/.conf, and the groups; unknown names listed in one line', () => {
  assert.equal(resolveRotationNames(['apiserver', 'front-proxy-client.crt']), ['apiserver.crt', 'front-proxy-client.crt']);
  assert.equal(resolveRotationNames(['etcd']), ETCD.slice(3).concat(ETCD.slice(0, 3)));
  assert.equal(resolveRotationNames(['kubeconfigs', 'admin']), ['admin.conf', 'controller-manager.conf', 'scheduler.conf']);
  assert.equal(resolveRotationNames(['etcd/server', 'etcd/server.crt']), ['etcd/server.crt']);
  assert.is(resolveRotationNames(['all']).length, 10);
  try {
    resolveRotationNames(['apiserver', 'ca.crt', 'bogus']);
    assert.unreachable('unknown names accepted');
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, /unknown certificate names "ca\.crt", "bogus" for --only; valid: admin\.conf|valid: apiserver\.crt/);
    for (const n of rotationNames()) assert.ok(msg.includes(n), `lists ${n}`);
    assert.not.ok(msg.includes('\n'));
  }
});

test('--only: just the named certificates re-issued (openssl verify), the rest byte for byte', async () => {
  const now = new Date(t0.getTime() + 10 * DAY);
  for (const only of [['apiserver.crt', 'front-proxy-client.crt'], ETCD, ['admin.conf', 'scheduler.conf']]) {
    const plan = planLeafRotation(pki, { now, validityMs: YEAR, select: { only } });
    const reissued = plan.entries.filter((e) => e.action === 'reissue' && e.role !== 'leaf-key').map((e) => e.path);
    assert.equal(reissued.sort(), [...only].sort());
    assert.equal(plan.warnings, []);
    const out = await applyLeafRotation(pki, plan);
    await assertOnly(pki, out, only, now);
    assert.equal(verifyPki(out, { now }), []);
  }
});

test('--expiring-within picks by time left; nothing expiring is refused with the first expiry', async () => {
  // etcd's leafs renewed 100 days after t0: at t0+300 d the others have 65 days left, etcd's 165.
  const etcdPlan = planLeafRotation(pki, { now: new Date(t0.getTime() + 100 * DAY), validityMs: YEAR, select: { only: ETCD } });
  const mixed = await applyLeafRotation(pki, etcdPlan);
  const now = new Date(t0.getTime() + 300 * DAY);
  const plan = planLeafRotation(mixed, { now, validityMs: YEAR, select: { expiringWithinMs: 70 * DAY } });
  const reissued = plan.entries.filter((e) => e.action === 'reissue' && e.role !== 'leaf-key').map((e) => e.path);
  const others = Object.keys(ISSUER).filter((f) => !ETCD.includes(f));
  assert.equal(reissued.sort(), others.sort());
  await assertOnly(mixed, await applyLeafRotation(mixed, plan), others, now);

  // Combined with --only: the named ones that expire within the time.
  const both = planLeafRotation(mixed, { now, validityMs: YEAR, select: { only: ['apiserver.crt', ...ETCD], expiringWithinMs: 70 * DAY }, allowStartupRenewal: true });
  assert.equal(both.entries.filter((e) => e.action === 'reissue' && e.role !== 'leaf-key').map((e) => e.path), ['apiserver.crt']);

  try {
    planLeafRotation(mixed, { now, validityMs: YEAR, select: { expiringWithinMs: 30 * DAY } });
    assert.unreachable('nothing selected, yet planned');
  } catch (e) {
    assert.instance(e, RotationRefusal);
    assert.is((e as RotationRefusal).kind, 'nothing-selected');
    assert.match((e as Error).message, /no certificate expires within 30d: nothing to rotate; the first to expire is \S+ on \d{4}-/);
  }
});

test("start-up renewal: a leaf left out with <= 90 days is refused, warned with the flag, only warned for versions without it", async () => {
  // At t0+300 d every leaf has 65 days left: rotating only apiserver leaves six within vCluster's threshold.
  const now = new Date(t0.getTime() + 300 * DAY);
  const only = ['apiserver.crt'];
  try {
    planLeafRotation(pki, { now, validityMs: YEAR, select: { only } });
    assert.unreachable('planned although vCluster would renew everything on start');
  } catch (e) {
    assert.instance(e, RotationRefusal);
    assert.is((e as RotationRefusal).kind, 'startup-renewal');
    const msg = (e as Error).message;
    assert.match(msg, /apiserver-kubelet-client\.crt \(65 days left\).* are not in this rotation: vCluster .* re-issues every leaf and kubeconfig certificate on start .*--allow-startup-renewal/);
    assert.not.ok(msg.includes('apiserver.crt (65'), 'the rotated one is not named');
    assert.not.ok(msg.includes('\n'));
  }
  const allowed = planLeafRotation(pki, { now, validityMs: YEAR, select: { only }, allowStartupRenewal: true });
  assert.equal(allowed.warnings.filter((w) => /vCluster will renew every leaf and kubeconfig certificate when it restarts/.test(w)).length, 1);
  const old = planLeafRotation(pki, { now, validityMs: YEAR, select: { only }, startupRenewal: false });
  assert.match(old.warnings.join('\n'), /not rotated and within 90 days: .*this vCluster version does not renew leafs on start/);
  // Everything due included: nothing to warn about; a full rotation never warns.
  assert.equal(planLeafRotation(pki, { now, validityMs: YEAR, select: { expiringWithinMs: 90 * DAY } }).warnings, []);
  assert.equal(planLeafRotation(pki, { now, validityMs: YEAR }).warnings, []);
});

test.run();
