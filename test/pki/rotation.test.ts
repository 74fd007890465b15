// Leaf and CA rotation plans/applications on openssl-made PKIs, checked with `openssl verify`,
// `openssl x509 -text` and node:crypto.X509Certificate.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../../src/errors.js';
import { refusalAsUserError } from '../../src/flows/rotate.js';
import { inspectPki } from '../../src/pki/inspect.js';
import { applyCARotation, applyLeafRotation, planCARotation, planLeafRotation, RotationRefusal, type RefusalKind, type RotationPlan } from '../../src/pki/rotation.js';
import { verifyPki } from '../../src/pki/verify.js';
import { generatePki } from '../cluster/index.js';
import { leaksKey, opensslCert, opensslKeyMatches, opensslVerify, profileText } from './helpers.js';
import type { PkiFiles } from '../../src/pki/types.js';

const test = suite('pki/rotation');
const DAY = 86_400_000;
const MIN5 = 5 * 60_000;
const YEAR = 365 * DAY;

const LEAF_CA: Record<string, string> = {
  'apiserver.crt': 'ca.crt',
  'apiserver-kubelet-client.crt': 'ca.crt',
  'apiserver-etcd-client.crt': 'etcd/ca.crt',
  'front-proxy-client.crt': 'front-proxy-ca.crt',
  'etcd/server.crt': 'etcd/ca.crt',
  'etcd/peer.crt': 'etcd/ca.crt',
  'etcd/healthcheck-client.crt': 'etcd/ca.crt',
};
const CA_FILES = ['ca', 'server-ca', 'client-ca', 'front-proxy-ca', 'etcd/ca'].flatMap((c) => [`${c}.crt`, `${c}.key`]);
const KUBECONFIGS = ['admin.conf', 'controller-manager.conf', 'scheduler.conf'];
const sec = (t: number) => Math.floor(t / 1000) * 1000;

function kc(data: Buffer) {
  const y = parseYaml(data.toString());
  const dec = (s: string) => Buffer.from(s, 'base64').toString();
  return {
    cert: dec(y.users[0].user['client-certificate-data']),
    key: dec(y.users[0].user['client-key-data']),
    ca: dec(y.clusters[0].cluster['certificate-authority-data']),
  };
}

/** The core refuses (typed, no CLI error), and the command turns that into exit 3 with the same one line. */
async function expectRefusal(fn: () => unknown, kind: RefusalKind, re: RegExp, keys: PkiFiles): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, RotationRefusal);
    assert.is((e as RotationRefusal).kind, kind);
    const msg = (e as Error).message;
    assert.match(msg, re);
    assert.not.ok(msg.includes('\n'), 'one line');
    const mapped = refusalAsUserError(e);
    assert.instance(mapped, UserError);
    assert.is((mapped as UserError).exitCode, 3);
    assert.is((mapped as UserError).message, msg);
    for (const [p, v] of keys) if (p.endsWith('.key')) assert.not.ok(leaksKey(msg, v), `leaks ${p}`);
    return;
  }
  assert.unreachable(`no error, expected ${re}`);
}

let rsa: PkiFiles;
test.before(async () => {
  rsa = await generatePki({ name: 'rot', namespace: 'ns' });
  rsa.set('custom/notes.txt', Buffer.from('keep me\n'));
});

test('planLeafRotation: what changes, what not, issuers and expiries', async () => {
  const now = new Date();
  const plan = planLeafRotation(rsa, { now, validityMs: YEAR });
  const by = new Map(plan.entries.map((e) => [e.path, e]));
  assert.is(plan.entries.length, rsa.size);
  for (const [leaf, ca] of Object.entries(LEAF_CA)) {
    assert.is(by.get(leaf)!.action, 'reissue', leaf);
    assert.is(by.get(leaf)!.issuer, ca, leaf);
    assert.is(by.get(leaf.replace('.crt', '.key'))!.action, 'reissue');
    assert.is(by.get(leaf)!.oldNotAfter!.getTime(), (await opensslCert(rsa.get(leaf)!)).notAfter.getTime());
    assert.is(by.get(leaf)!.newNotAfter!.getTime(), sec(now.getTime() + YEAR));
    assert.is(by.get(leaf)!.keyAlgorithm, 'RSA-2048');
  }
  for (const k of KUBECONFIGS) assert.equal([by.get(k)!.action, by.get(k)!.issuer], ['reissue', 'ca.crt']);
  for (const f of [...CA_FILES, 'sa.key', 'sa.pub']) assert.is(by.get(f)!.action, 'keep', f);
  assert.is(by.get('custom/notes.txt')!.action, 'unknown');
  assert.equal(plan.warnings, []);
  assert.not.ok(JSON.stringify(plan).includes('PRIVATE KEY'));
});

test('planLeafRotation refuses: validity <= 90 d, CA without key / wrong key / expired, leaf not verifying, corrupt leaf', async () => {
  const now = new Date();
  await expectRefusal(() => planLeafRotation(rsa, { now, validityMs: 90 * DAY }), 'validity', /90 days or less.*--allow-short-validity/, rsa);
  planLeafRotation(rsa, { now, validityMs: 90 * DAY, force: true });
  planLeafRotation(rsa, { now, validityMs: 91 * DAY });
  await expectRefusal(() => planLeafRotation(rsa, { now, validityMs: 0, force: true }), 'validity', /must be positive/, rsa);

  const noKey = new Map(rsa);
  noKey.delete('etcd/ca.key');
  await expectRefusal(() => planLeafRotation(noKey, { now, validityMs: YEAR }), 'unplannable', /CA etcd\/ca\.crt has no private key etcd\/ca\.key/, rsa);

  const wrongKey = new Map(rsa).set('front-proxy-ca.key', rsa.get('ca.key')!);
  await expectRefusal(() => planLeafRotation(wrongKey, { now, validityMs: YEAR }), 'unplannable', /CA key front-proxy-ca\.key does not match front-proxy-ca\.crt/, rsa);

  const expired = await generatePki({ name: 'rotx', namespace: 'ns', expiredCA: true, reuseKeys: true });
  await expectRefusal(() => planLeafRotation(expired, { now, validityMs: YEAR }), 'unplannable', /CA ca\.crt expired on .*use rotate-ca/, expired);

  const foreign = await generatePki({ name: 'rotf', namespace: 'ns', reuseKeys: true });
  const mixed = new Map(rsa).set('front-proxy-client.crt', foreign.get('front-proxy-client.crt')!);
  await expectRefusal(() => planLeafRotation(mixed, { now, validityMs: YEAR }), 'unplannable', /front-proxy-client\.crt does not verify against any CA in the PKI/, rsa);

  const corrupt = await generatePki({ name: 'rotc', namespace: 'ns', corrupt: ['etcd/peer.crt'], reuseKeys: true });
  await expectRefusal(() => planLeafRotation(corrupt, { now, validityMs: YEAR }), 'unplannable', /etcd\/peer\.crt: malformed certificate/, corrupt);

  const missing = new Map(rsa);
  missing.delete('apiserver.crt');
  await expectRefusal(() => planLeafRotation(missing, { now, validityMs: YEAR }), 'unplannable', /apiserver\.crt is missing/, rsa);
});

let rotated: PkiFiles;
let leafPlan: RotationPlan;

test('applyLeafRotation: every leaf re-issued (openssl verify, same profile, new key), CAs/sa/unknown byte-identical', async () => {
  const now = new Date();
  leafPlan = planLeafRotation(rsa, { now, validityMs: YEAR });
  rotated = await applyLeafRotation(rsa, leafPlan);
  assert.equal([...rotated.keys()].sort(), [...rsa.keys()].sort());
  for (const f of [...CA_FILES, 'sa.key', 'sa.pub', 'custom/notes.txt']) assert.ok(rotated.get(f)!.equals(rsa.get(f)!), `${f} unchanged`);
  const caSkid = new Map<string, string | undefined>();
  for (const [leaf, ca] of Object.entries(LEAF_CA)) {
    const pem = rotated.get(leaf)!;
    const key = rotated.get(leaf.replace('.crt', '.key'))!;
    assert.not.ok(pem.equals(rsa.get(leaf)!), `${leaf} changed`);
    assert.not.ok(key.equals(rsa.get(leaf.replace('.crt', '.key'))!), `${leaf} key changed`);
    assert.ok(key.toString().startsWith('-----BEGIN RSA PRIVATE KEY-----\n'), `${leaf} PKCS#1`);
    const v = await opensslVerify(rsa.get(ca)!, pem, ['-x509_strict']);
    assert.ok(v.ok, `${leaf}: ${v.out}`);
    const [o, n] = await Promise.all([opensslCert(rsa.get(leaf)!), opensslCert(pem)]);
    assert.fixture(profileText(n), profileText(o));
    if (!caSkid.has(ca)) caSkid.set(ca, (await opensslCert(rsa.get(ca)!)).skid);
    assert.is(n.akid, caSkid.get(ca), `${leaf} AKID`);
    assert.is(n.notBefore.getTime(), sec(now.getTime() - MIN5), `${leaf} NotBefore`);
    assert.is(n.notAfter.getTime(), sec(now.getTime() + YEAR), `${leaf} NotAfter`);
    const serial = BigInt(`0x${n.serialHex}`);
    assert.ok(serial >= 1n && serial < (1n << 63n) - 1n);
    assert.ok(new X509Certificate(pem).checkPrivateKey(createPrivateKey(key)), `${leaf} key matches (node)`);
  }
  assert.ok(await opensslKeyMatches(rotated.get('apiserver.crt')!, rotated.get('apiserver.key')!));
  assert.not.ok(await opensslKeyMatches(rotated.get('apiserver.crt')!, rsa.get('apiserver.key')!));
});

test('applyLeafRotation: kubeconfigs get new client cert+key (NotBefore = CA NotBefore), CA data and other lines unchanged', async () => {
  const ca = await opensslCert(rsa.get('ca.crt')!);
  for (const k of KUBECONFIGS) {
    const before = kc(rsa.get(k)!);
    const after = kc(rotated.get(k)!);
    assert.is(after.ca, before.ca, `${k} CA data`);
    assert.is.not(after.cert, before.cert);
    assert.is.not(after.key, before.key);
    assert.ok((await opensslVerify(rsa.get('ca.crt')!, after.cert, ['-x509_strict'])).ok, k);
    const [o, n] = await Promise.all([opensslCert(before.cert), opensslCert(after.cert)]);
    assert.fixture(profileText(n), profileText(o));
    assert.is(n.notBefore.getTime(), ca.notBefore.getTime(), `${k} NotBefore = CA NotBefore`);
    assert.ok(new X509Certificate(after.cert).checkPrivateKey(createPrivateKey(after.key)));
    const a = rsa.get(k)!.toString().split('\n');
    const b = rotated.get(k)!.toString().split('\n');
    const changed = a.flatMap((l, i) => (l === b[i] ? [] : [l.trim().split(':')[0]]));
    assert.equal(changed.sort(), ['client-certificate-data', 'client-key-data'], k);
  }
});

test('rotated PKI passes verifyPki and inspectPki (all OK); applying to a changed PKI is refused', async () => {
  assert.equal(verifyPki(rotated, { now: new Date() }), []);
  for (const r of inspectPki(rotated, { now: new Date(), warnWithinMs: 30 * DAY })) assert.is(r.status, 'OK', `${r.filename} ${r.problems}`);
  const changed = new Map(rsa).set('sa.pub', Buffer.from('x'));
  await expectRefusal(() => applyLeafRotation(changed, leafPlan), 'stale-plan', /PKI changed since the rotation was planned/, rsa);
});

test('ECDSA PKI: leaf rotation keeps ECDSA P-256 (SEC1 keys) and verifies', async () => {
  const ec = await generatePki({ name: 'rotec', namespace: 'ns', keyType: 'ecdsa' });
  const out = await applyLeafRotation(ec, planLeafRotation(ec, { now: new Date(), validityMs: YEAR }));
  for (const [leaf, ca] of Object.entries(LEAF_CA)) {
    assert.ok(out.get(leaf.replace('.crt', '.key'))!.toString().startsWith('-----BEGIN EC PRIVATE KEY-----'), leaf);
    const n = await opensslCert(out.get(leaf)!);
    assert.is(n.publicKey, 'EC prime256v1');
    assert.is(n.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.ok((await opensslVerify(ec.get(ca)!, out.get(leaf)!, ['-x509_strict'])).ok, leaf);
  }
  assert.ok(kc(out.get('admin.conf')!).key.startsWith('-----BEGIN EC PRIVATE KEY-----'));
  assert.equal(verifyPki(out), []);
});

test('split CA: apiserver.crt from server-ca, client certs from ca, kubeconfigs keep trusting server-ca', async () => {
  const split = await generatePki({ name: 'rots', namespace: 'ns', splitCA: true, reuseKeys: true });
  const plan = planLeafRotation(split, { now: new Date(), validityMs: YEAR });
  assert.ok(plan.split);
  assert.is(plan.entries.find((e) => e.path === 'apiserver.crt')!.issuer, 'server-ca.crt');
  const out = await applyLeafRotation(split, plan);
  assert.ok((await opensslVerify(split.get('server-ca.crt')!, out.get('apiserver.crt')!)).ok);
  assert.not.ok((await opensslVerify(split.get('ca.crt')!, out.get('apiserver.crt')!)).ok);
  assert.ok((await opensslVerify(split.get('ca.crt')!, kc(out.get('admin.conf')!).cert)).ok);
  assert.is(kc(out.get('admin.conf')!).ca, kc(split.get('admin.conf')!).ca);
  assert.equal(verifyPki(out), []);
});

test('applyCARotation: new CAs (same subjects), every leaf/kubeconfig from them, CA copies, sa.* unchanged', async () => {
  const now = new Date();
  const plan = planCARotation(rsa, { now, validityMs: YEAR, caValidityMs: 3650 * DAY });
  assert.match(plan.warnings.join(), /stops working/);
  const by = new Map(plan.entries.map((e) => [e.path, e]));
  assert.equal(['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'].map((p) => by.get(p)!.action), ['create', 'create', 'create']);
  assert.equal(['server-ca.crt', 'client-ca.key'].map((p) => by.get(p)!.action), ['copy', 'copy']);
  assert.is(by.get('sa.key')!.action, 'keep');
  const out = await applyCARotation(rsa, plan);
  assert.equal([...out.keys()].sort(), [...rsa.keys()].sort());
  for (const f of ['sa.key', 'sa.pub', 'custom/notes.txt']) assert.ok(out.get(f)!.equals(rsa.get(f)!), `${f} unchanged`);
  for (const ca of ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt']) {
    const [o, n] = await Promise.all([opensslCert(rsa.get(ca)!), opensslCert(out.get(ca)!)]);
    assert.is.not(n.sha256, o.sha256, ca);
    assert.is(n.subject, o.subject, `${ca} subject`);
    assert.is(n.issuer, o.subject);
    assert.ok(n.notAfter > o.notAfter, `${ca} later`);
    assert.is(n.basicConstraints, 'critical:CA:TRUE');
    assert.is(n.keyUsage, 'critical:Digital Signature, Key Encipherment, Certificate Sign');
    assert.is(n.notBefore.getTime(), sec(now.getTime() - MIN5));
    assert.ok((await opensslVerify(out.get(ca)!, out.get(ca)!, ['-x509_strict'])).ok, ca);
    assert.ok(new X509Certificate(out.get(ca)!).checkPrivateKey(createPrivateKey(out.get(ca.replace('.crt', '.key'))!)));
  }
  for (const c of ['server-ca', 'client-ca']) {
    assert.ok(out.get(`${c}.crt`)!.equals(out.get('ca.crt')!), `${c}.crt = ca.crt`);
    assert.ok(out.get(`${c}.key`)!.equals(out.get('ca.key')!), `${c}.key = ca.key`);
  }
  for (const [leaf, ca] of Object.entries(LEAF_CA)) {
    assert.ok((await opensslVerify(out.get(ca)!, out.get(leaf)!, ['-x509_strict'])).ok, `${leaf} chains to new ${ca}`);
    assert.not.ok((await opensslVerify(rsa.get(ca)!, out.get(leaf)!)).ok, `${leaf} not to old ${ca}`);
    assert.fixture(profileText(await opensslCert(out.get(leaf)!)), profileText(await opensslCert(rsa.get(leaf)!)));
    assert.ok(new X509Certificate(out.get(leaf)!).checkPrivateKey(createPrivateKey(out.get(leaf.replace('.crt', '.key'))!)));
  }
  const newCa = await opensslCert(out.get('ca.crt')!);
  for (const k of KUBECONFIGS) {
    const c = kc(out.get(k)!);
    assert.is(c.ca, out.get('ca.crt')!.toString(), `${k} CA data = new ca.crt`);
    assert.ok((await opensslVerify(out.get('ca.crt')!, c.cert, ['-x509_strict'])).ok, k);
    assert.is((await opensslCert(c.cert)).notBefore.getTime(), newCa.notBefore.getTime());
    assert.ok(new X509Certificate(c.cert).checkPrivateKey(createPrivateKey(c.key)));
  }
  assert.equal(verifyPki(out, { now: new Date() }), []);
  for (const r of inspectPki(out, { now: new Date(), warnWithinMs: 30 * DAY })) assert.is(r.status, 'OK', r.filename);
});

test('applyCARotation recovers a fully expired PKI and merges a split CA', async () => {
  const expired = await generatePki({ name: 'rotx2', namespace: 'ns', expiredCA: true, reuseKeys: true });
  const out = await applyCARotation(expired, planCARotation(expired, { now: new Date(), validityMs: YEAR, caValidityMs: 3650 * DAY }));
  assert.equal(verifyPki(out, { now: new Date() }), []);
  for (const r of inspectPki(out, { now: new Date(), warnWithinMs: 30 * DAY })) assert.is(r.status, 'OK', r.filename);
  assert.ok(out.get('sa.key')!.equals(expired.get('sa.key')!));

  const split = await generatePki({ name: 'rots2', namespace: 'ns', splitCA: true, reuseKeys: true });
  const plan = planCARotation(split, { now: new Date(), validityMs: YEAR, caValidityMs: 3650 * DAY });
  assert.match(plan.warnings.join(), /split CA/);
  const merged = await applyCARotation(split, plan);
  assert.ok(merged.get('server-ca.crt')!.equals(merged.get('ca.crt')!));
  assert.ok((await opensslVerify(merged.get('ca.crt')!, merged.get('apiserver.crt')!)).ok);
  assert.equal(verifyPki(merged), []);
  await expectRefusal(() => planCARotation(split, { now: new Date(), validityMs: YEAR, caValidityMs: 30 * DAY }), 'validity', /CA validity 30d is 90 days or less/, split);
});

test('verifyPki names each inconsistency', async () => {
  const bad = new Map(rotated);
  bad.set('apiserver.key', rotated.get('etcd/peer.key')!);
  bad.set('etcd/server.crt', rotated.get('apiserver.crt')!);
  bad.set('server-ca.crt', rotated.get('front-proxy-ca.crt')!); // now "split" -> kubeconfigs must trust server-ca
  bad.set('sa.pub', Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'));
  bad.delete('etcd/healthcheck-client.key');
  const p = verifyPki(bad).join('\n');
  for (const re of [
    /etcd\/healthcheck-client\.key is missing or empty/,
    /apiserver\.key does not match apiserver\.crt/,
    /etcd\/server\.crt is not issued by etcd\/ca\.crt/,
    /server-ca\.key does not match server-ca\.crt/,
    /apiserver\.crt is not issued by server-ca\.crt/,
    /admin\.conf: certificate-authority-data is not server-ca\.crt/,
    /sa\.pub is not a readable PEM public key/,
  ]) assert.match(p, re);
  for (const [f, v] of bad) if (f.endsWith('.key')) assert.not.ok(leaksKey(p, v), f);
  const noCopy = new Map(rotated).set('client-ca.crt', rotated.get('front-proxy-ca.crt')!).set('client-ca.key', rotated.get('front-proxy-ca.key')!);
  assert.match(verifyPki(noCopy).join(), /client-ca\.crt is not a copy of ca\.crt/);
});

test.run();
