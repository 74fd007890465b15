// inspectPki statuses on openssl-made PKIs (test/cluster/pkigen.ts uses only the openssl CLI and
// node:crypto), rows cross-checked with `openssl x509` / `openssl verify`.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inspectPki, diffPki } from '../../src/pki/inspect.js';
import { comparePaths } from '../../src/pki/model.js';
import { generatePki } from '../cluster/index.js';
import { certBlocks, leaksKey, makeCert, opensslCert, opensslVerify, CA_EXT } from './helpers.js';
import type { CertRow, PkiFiles } from '../../src/pki/types.js';

const test = suite('pki/inspect');
const DAY = 86_400_000;
const WARN = 30 * DAY;

function clientCertOf(kubeconfig: Buffer): string {
  return Buffer.from(/client-certificate-data: (\S+)/.exec(kubeconfig.toString())![1]!, 'base64').toString();
}

function row(rows: CertRow[], filename: string, block = 0): CertRow {
  const r = rows.find((x) => x.filename === filename && x.block === block);
  if (!r) throw new Error(`no row ${filename}#${block}`);
  return r;
}

/** Every row's subject CN, issuer CN and expiry agree with openssl on the same PEM block. */
async function agreeWithOpenssl(files: PkiFiles, rows: CertRow[]) {
  for (const r of rows) {
    if (!r.expiryTime) continue; // unparseable row
    const data = files.get(r.filename)!;
    const pem = r.filename.endsWith('.conf') ? clientCertOf(data) : certBlocks(data)[r.block]!;
    const o = await opensslCert(pem);
    assert.is(r.expiryTime, o.notAfter.toISOString().replace('.000Z', 'Z'), `${r.filename} expiry`);
    assert.is(r.subject, /CN=([^/]*)$/.exec(o.subject)?.[1] ?? '', `${r.filename} subject CN`);
    assert.is(r.issuer, /CN=([^/]*)$/.exec(o.issuer)?.[1] ?? '', `${r.filename} issuer CN`);
    assert.is(r.sha256, o.sha256, `${r.filename} fingerprint`);
  }
}

function noKeyLeak(files: PkiFiles, rows: CertRow[]) {
  const text = JSON.stringify(rows);
  for (const [p, v] of files) if (p.endsWith('.key')) assert.not.ok(leaksKey(text, v), `row text leaks ${p}`);
}

let good: PkiFiles;
test.before(async () => {
  good = await generatePki({ name: 'insp', namespace: 'ns' });
});

test('healthy kubeadm-profile PKI: 12 .crt rows + 3 kubeconfig rows, all OK, walk order, openssl agrees', async () => {
  const now = new Date();
  const rows = inspectPki(good, { now, warnWithinMs: WARN });
  assert.equal(
    rows.map((r) => r.filename),
    [
      'admin.conf', 'apiserver-etcd-client.crt', 'apiserver-kubelet-client.crt', 'apiserver.crt', 'ca.crt', 'client-ca.crt',
      'controller-manager.conf', 'etcd/ca.crt', 'etcd/healthcheck-client.crt', 'etcd/peer.crt', 'etcd/server.crt',
      'front-proxy-ca.crt', 'front-proxy-client.crt', 'scheduler.conf', 'server-ca.crt',
    ],
  );
  for (const r of rows) assert.is(r.status, 'OK', `${r.filename}: ${r.problems.join('; ')}`);
  for (const r of rows) assert.equal(r.problems, [], r.filename);
  await agreeWithOpenssl(good, rows);
  // issuedBy agrees with openssl verify
  for (const r of rows.filter((x) => x.filename.endsWith('.crt'))) {
    const v = await opensslVerify(good.get(r.issuedBy!)!, good.get(r.filename)!);
    assert.ok(v.ok, `${r.filename} by ${r.issuedBy}: ${v.out}`);
  }
  assert.is(row(rows, 'etcd/server.crt').issuedBy, 'etcd/ca.crt');
  assert.is(row(rows, 'admin.conf').subject, 'kubernetes-super-admin');
  assert.is(row(rows, 'admin.conf').subjectDN, '/O=system:masters/CN=kubernetes-super-admin');
  assert.is(row(rows, 'apiserver.crt').keyType, 'RSA-2048');
  assert.is(row(rows, 'ca.crt').isCA, true);
  const days = row(rows, 'apiserver.crt').daysLeft;
  assert.ok(days === 364 || days === 365, String(days));
  assert.ok(row(rows, 'apiserver.crt').dnsNames.includes('kubernetes.default.svc.cluster.local'));
  assert.ok(row(rows, 'apiserver.crt').ipAddresses.includes('10.96.0.1'));
});

test('walk order: comparePaths sorts like splitting into segments and comparing those', () => {
  const bySegments = (a: string, b: string) => {
    const sa = a.split('/');
    const sb = b.split('/');
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) if (sa[i] !== sb[i]) return sa[i]! < sb[i]! ? -1 : 1;
    return sa.length - sb.length;
  };
  const names = ['ca.crt', 'etcd/ca.crt', 'etcd.crt', 'etcd-x.crt', 'etcd', 'etcd/peer.crt', 'a/b', 'a-c', 'a//b', '/x', 'a', 'ab', 'a/b/c', 'A.crt', 'z', ''];
  for (const a of names) for (const b of names) assert.is(Math.sign(comparePaths(a, b)), Math.sign(bySegments(a, b)), `${a} vs ${b}`);
  assert.equal(['etcd/peer.crt', 'etcd.conf', 'etcd/ca.crt', 'ca.crt'].sort(comparePaths), ['ca.crt', 'etcd/ca.crt', 'etcd/peer.crt', 'etcd.conf']);
});

test('split-CA and ECDSA PKIs inspect all OK (apiserver.crt from server-ca)', async () => {
  const [split, ec] = await Promise.all([
    generatePki({ name: 'isplit', namespace: 'ns', splitCA: true, reuseKeys: true }),
    generatePki({ name: 'iec', namespace: 'ns', keyType: 'ecdsa' }),
  ]);
  for (const pki of [split, ec]) {
    const rows = inspectPki(pki, { now: new Date(), warnWithinMs: WARN });
    assert.is(rows.length, 15);
    for (const r of rows) assert.is(r.status, 'OK', `${r.filename}: ${r.problems.join('; ')}`);
    await agreeWithOpenssl(pki, rows);
  }
  assert.is(row(inspectPki(split, { now: new Date(), warnWithinMs: WARN }), 'apiserver.crt').issuedBy, 'server-ca.crt');
  assert.ok((await opensslVerify(split.get('server-ca.crt')!, split.get('apiserver.crt')!)).ok);
  assert.is(row(inspectPki(ec, { now: new Date(), warnWithinMs: WARN }), 'etcd/peer.crt').keyType, 'ECDSA-P256');
});

test('EXPIRING within --warn-within: leafs and kubeconfig certs, not the CAs', () => {
  const rows = inspectPki(good, { now: new Date(), warnWithinMs: 400 * DAY });
  for (const r of rows) assert.is(r.status, r.isCA ? 'OK' : 'EXPIRING', r.filename);
  const edge = row(rows, 'apiserver.crt');
  const at = new Date(Date.parse(edge.expiryTime) - 10 * DAY);
  assert.is(row(inspectPki(good, { now: at, warnWithinMs: 10 * DAY }), 'apiserver.crt').status, 'EXPIRING'); // == boundary
  assert.is(row(inspectPki(good, { now: at, warnWithinMs: 10 * DAY - 1000 }), 'apiserver.crt').status, 'OK');
});

test('expired leafs -> EXPIRED leafs and kubeconfig rows, CAs OK', async () => {
  const pki = await generatePki({ name: 'exl', namespace: 'ns', expiredLeafs: true, reuseKeys: true });
  const now = new Date();
  const rows = inspectPki(pki, { now, warnWithinMs: WARN });
  for (const r of rows) assert.is(r.status, r.isCA ? 'OK' : 'EXPIRED', r.filename);
  assert.ok(row(rows, 'apiserver.crt').daysLeft < 0);
  await agreeWithOpenssl(pki, rows);
  for (const r of rows.filter((x) => !x.isCA)) assert.ok((await opensslCert(r.filename.endsWith('.conf') ? clientCertOf(pki.get(r.filename)!) : pki.get(r.filename)!)).notAfter < now);
});

test('expired CA -> every row EXPIRED', async () => {
  const pki = await generatePki({ name: 'exc', namespace: 'ns', expiredCA: true, reuseKeys: true });
  const rows = inspectPki(pki, { now: new Date(), warnWithinMs: WARN });
  for (const r of rows) assert.is(r.status, 'EXPIRED', r.filename);
  assert.ok(row(rows, 'ca.crt').problems.length === 0);
});

test('leaf still within its dates under an expired CA -> INVALID (the CA EXPIRED)', async () => {
  const pki = await generatePki({ name: 'exc2', namespace: 'ns', caValiditySeconds: 100 * 86_400, reuseKeys: true });
  const caEnd = (await opensslCert(pki.get('ca.crt')!)).notAfter;
  const leafEnd = (await opensslCert(pki.get('apiserver.crt')!)).notAfter;
  assert.ok(leafEnd > caEnd, 'fixture: leaf outlives CA');
  const rows = inspectPki(pki, { now: new Date(caEnd.getTime() + DAY), warnWithinMs: 0 });
  assert.is(row(rows, 'ca.crt').status, 'EXPIRED');
  assert.is(row(rows, 'etcd/ca.crt').status, 'EXPIRED');
  const a = row(rows, 'apiserver.crt');
  assert.is(a.status, 'INVALID');
  assert.match(a.problems.join(), /its issuing CA ca\.crt expired on/);
  assert.is(row(rows, 'admin.conf').status, 'INVALID');
});

test('not yet valid', async () => {
  const pki = await generatePki({ name: 'nyv', namespace: 'ns', notYetValid: ['apiserver.crt', 'scheduler.conf'], reuseKeys: true });
  const rows = inspectPki(pki, { now: new Date(), warnWithinMs: WARN });
  assert.is(row(rows, 'apiserver.crt').status, 'NOT YET VALID');
  assert.is(row(rows, 'scheduler.conf').status, 'NOT YET VALID');
  assert.is(row(rows, 'apiserver-kubelet-client.crt').status, 'OK');
  assert.ok(new Date(row(rows, 'apiserver.crt').notBefore) > new Date());
});

test('wrong issuer: etcd/server signed by ca.crt; front-proxy-client from a foreign CA with the same name', async () => {
  const pki = new Map(good);
  const byCa = await makeCert({
    subj: '/CN=insp',
    issuer: { certPem: good.get('ca.crt')!.toString(), keyPem: good.get('ca.key')!.toString() },
    ext: ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=serverAuth,clientAuth', 'subjectAltName=DNS:localhost'],
    days: 300,
  });
  pki.set('etcd/server.crt', Buffer.from(byCa.certPem)).set('etcd/server.key', Buffer.from(byCa.keyPem));
  const foreign = await generatePki({ name: 'foreign', namespace: 'ns', reuseKeys: true });
  pki.set('front-proxy-client.crt', foreign.get('front-proxy-client.crt')!).set('front-proxy-client.key', foreign.get('front-proxy-client.key')!);
  const rows = inspectPki(pki, { now: new Date(), warnWithinMs: WARN });
  const es = row(rows, 'etcd/server.crt');
  assert.is(es.status, 'INVALID');
  assert.match(es.problems.join(), /issued by ca\.crt, but etcd\/server\.crt must be issued by etcd\/ca\.crt/);
  const fp = row(rows, 'front-proxy-client.crt');
  assert.is(fp.status, 'INVALID');
  assert.match(fp.problems.join(), /signature does not verify against front-proxy-ca\.crt/);
  // openssl agrees on both
  assert.not.ok((await opensslVerify(pki.get('etcd/ca.crt')!, pki.get('etcd/server.crt')!)).ok);
  assert.not.ok((await opensslVerify(pki.get('front-proxy-ca.crt')!, pki.get('front-proxy-client.crt')!)).ok);
  for (const r of rows) if (!['etcd/server.crt', 'front-proxy-client.crt'].includes(r.filename)) assert.is(r.status, 'OK', r.filename);
  noKeyLeak(pki, rows);
});

test('key mismatch: swapped .key and a kubeconfig client-key-data from another user', async () => {
  const pki = new Map(good);
  pki.set('apiserver.key', good.get('apiserver-kubelet-client.key')!);
  const otherKey = Buffer.from(/client-key-data: (\S+)/.exec(good.get('scheduler.conf')!.toString())![1]!, 'base64');
  const admin = good.get('admin.conf')!.toString().replace(/client-key-data: \S+/, `client-key-data: ${otherKey.toString('base64')}`);
  pki.set('admin.conf', Buffer.from(admin));
  const rows = inspectPki(pki, { now: new Date(), warnWithinMs: WARN });
  assert.is(row(rows, 'apiserver.crt').status, 'INVALID');
  assert.match(row(rows, 'apiserver.crt').problems.join(), /private key apiserver\.key does not match/);
  assert.is(row(rows, 'admin.conf').status, 'INVALID');
  assert.match(row(rows, 'admin.conf').problems.join(), /client-key-data does not match/);
  assert.is(row(rows, 'apiserver-kubelet-client.crt').status, 'OK');
  noKeyLeak(pki, rows);
  // missing key of a certMap cert
  const noKey = new Map(good);
  noKey.delete('etcd/peer.key');
  assert.match(row(inspectPki(noKey, { now: new Date(), warnWithinMs: WARN }), 'etcd/peer.crt').problems.join(), /etcd\/peer\.key is missing/);
});

test('kubeconfig certificate-authority-data that does not verify apiserver.crt -> INVALID', () => {
  const pki = new Map(good);
  const other = good.get('front-proxy-ca.crt')!.toString('base64');
  pki.set('controller-manager.conf', Buffer.from(good.get('controller-manager.conf')!.toString().replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${other}`)));
  const r = row(inspectPki(pki, { now: new Date(), warnWithinMs: WARN }), 'controller-manager.conf');
  assert.is(r.status, 'INVALID');
  assert.match(r.problems.join(), /certificate-authority-data does not verify apiserver\.crt/);
});

test('corrupt and non-PEM files give INVALID rows, not throws; bundles give one row per block', async () => {
  const pki = await generatePki({ name: 'cor', namespace: 'ns', corrupt: ['apiserver-etcd-client.crt', 'scheduler.conf'], reuseKeys: true });
  pki.set('notpem.crt', Buffer.from('hello'));
  pki.set('empty.crt', Buffer.alloc(0));
  pki.set('keyonly.crt', pki.get('ca.key')!);
  pki.set('extra/bundle.crt', Buffer.concat([pki.get('apiserver.crt')!, pki.get('ca.crt')!, pki.get('etcd/ca.crt')!]));
  const rows = inspectPki(pki, { now: new Date(), warnWithinMs: WARN });
  const cor = row(rows, 'apiserver-etcd-client.crt');
  assert.is(cor.status, 'INVALID');
  assert.match(cor.problems[0]!, /^malformed certificate/, cor.problems[0]);
  assert.is(row(rows, 'scheduler.conf').status, 'INVALID');
  assert.match(row(rows, 'scheduler.conf').problems[0]!, /kubeconfig is not valid YAML/);
  assert.equal(row(rows, 'notpem.crt').problems, ['not a PEM certificate']);
  assert.match(row(rows, 'empty.crt').problems[0]!, /empty/);
  assert.match(row(rows, 'keyonly.crt').problems[0]!, /not a PEM certificate \(found RSA PRIVATE KEY\)/);
  const bundle = rows.filter((r) => r.filename === 'extra/bundle.crt');
  assert.equal(bundle.map((r) => [r.block, r.subject, r.status]), [[0, 'kube-apiserver', 'OK'], [1, 'kubernetes', 'OK'], [2, 'etcd-ca', 'OK']]);
  assert.equal(bundle.map((r) => r.issuedBy), ['ca.crt', 'extra/bundle.crt', 'extra/bundle.crt']); // CAs are self-signed
  await agreeWithOpenssl(pki, rows);
  // the walk puts extra/ between etcd/ and front-proxy
  const order = rows.map((r) => r.filename);
  assert.ok(order.indexOf('extra/bundle.crt') > order.indexOf('etcd/server.crt'));
  assert.ok(order.indexOf('extra/bundle.crt') < order.indexOf('front-proxy-ca.crt'));
  noKeyLeak(pki, rows);
});

test('self-signed leaf in place of apiserver.crt (upstream e2e test cert) -> INVALID', async () => {
  const pki = new Map(good);
  const selfSigned = await makeCert({ subj: '/CN=kube-apiserver', key: 'ec', ext: ['extendedKeyUsage=serverAuth'], days: 30 });
  pki.set('apiserver.crt', Buffer.from(selfSigned.certPem)).set('apiserver.key', Buffer.from(selfSigned.keyPem));
  const r = row(inspectPki(pki, { now: new Date(), warnWithinMs: WARN }), 'apiserver.crt');
  assert.is(r.status, 'INVALID');
  assert.is(r.keyType, 'ECDSA-P256');
  const ca = await makeCert({ subj: '/CN=unrelated', ext: CA_EXT, days: 3650 });
  pki.set('unrelated.crt', Buffer.from(ca.certPem));
  assert.is(row(inspectPki(pki, { now: new Date(), warnWithinMs: WARN }), 'unrelated.crt').status, 'OK');
});

test('diffPki reports files only on one side and differing files', () => {
  const disk = new Map(good);
  disk.delete('sa.pub');
  disk.set('apiserver.crt', Buffer.from('changed'));
  disk.set('etcd/extra', Buffer.from('x'));
  const d = diffPki(good, disk);
  assert.equal(d, { onlyInA: ['sa.pub'], onlyInB: ['etcd/extra'], differing: ['apiserver.crt'], equal: false });
  assert.is(diffPki(good, new Map(good)).equal, true);
});

test.run();
