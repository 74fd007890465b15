// Key generation, leaf re-issue and CA creation, checked with `openssl` and node:crypto.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { generateKeyLike, randomSerialHex, reissueLeaf, KeyPair } from '../../src/pki/issue.js';
import { createCA } from '../../src/pki/issue-ca.js';
import { parseCertificate } from '../../src/pki/x509.js';
import { generatePki } from '../cluster/index.js';
import { leaksKey, nodeCert, openssl, opensslCert, opensslVerify, profileText } from './helpers.js';
import type { PkiFiles } from '../../src/pki/types.js';

const test = suite('pki/issue');
const DAY = 86_400_000;
const MIN5 = 5 * 60_000;

let rsaPki: PkiFiles;
let ecPki: PkiFiles;
test.before(async () => {
  [rsaPki, ecPki] = await Promise.all([
    generatePki({ name: 'iss', namespace: 'ns', reuseKeys: true }),
    generatePki({ name: 'iss-ec', namespace: 'ns', keyType: 'ecdsa' }),
  ]);
});

const sec = (d: Date | number) => Math.floor(new Date(d).getTime() / 1000) * 1000;

function inRange(serialHex: string) {
  const n = BigInt(`0x${serialHex}`);
  return n >= 1n && n < (1n << 63n) - 1n;
}

test('generateKeyLike: RSA-2048 PKCS#1 and EC P-256 SEC1, openssl reads them; KeyPair never prints the key', async () => {
  const [rsa, ec, ec384] = await Promise.all([
    generateKeyLike({ algorithm: 'RSA', bits: 2048 }),
    generateKeyLike(parseCertificate(ecPki.get('apiserver.crt')!)),
    generateKeyLike({ algorithm: 'EC', curve: 'P-384' }),
  ]);
  assert.ok(rsa.privateKeyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'));
  assert.ok(ec.privateKeyPem.startsWith('-----BEGIN EC PRIVATE KEY-----\n'));
  assert.match(await openssl(['pkey', '-noout', '-text'], rsa.privateKeyPem), /Private-Key: \(2048 bit, 2 primes\)/);
  assert.match(await openssl(['pkey', '-noout', '-text'], ec.privateKeyPem), /ASN1 OID: prime256v1/);
  assert.match(await openssl(['pkey', '-noout', '-text'], ec384.privateKeyPem), /ASN1 OID: secp384r1/);
  assert.is(createPrivateKey(rsa.privateKeyPem).asymmetricKeyDetails!.publicExponent, 65537n);
  // the public half is the private key's
  assert.ok(createPublicKey(rsa.privateKeyPem).export({ type: 'spki', format: 'der' }).equals(createPublicKey(rsa.publicKeyPem).export({ type: 'spki', format: 'der' })));
  for (const k of [rsa, ec]) {
    for (const shown of [JSON.stringify(k), inspect(k, { depth: 5, showHidden: true }), String(k), `${k}`, JSON.stringify({ k })]) {
      assert.not.ok(leaksKey(shown, k.privateKeyPem), shown);
    }
  }
  assert.ok(rsa instanceof KeyPair);
  assert.is.not(rsa.privateKeyPem, (await generateKeyLike({ algorithm: 'RSA', bits: 2048 })).privateKeyPem);
  const err = await generateKeyLike({ algorithm: 'Ed25519' }).then(() => undefined, (e: Error) => e);
  assert.match(String(err?.message), /unsupported key algorithm Ed25519/);
});

test('randomSerialHex: [1, 2^63-1), minimal positive DER content, distinct', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = randomSerialHex();
    assert.ok(inRange(s), s);
    // even length; positive (high bit of the first byte clear); minimal (a 00 byte only before a byte >= 0x80)
    assert.ok(s.length % 2 === 0 && parseInt(s[0]!, 16) < 8, s);
    if (s.startsWith('00')) assert.ok(parseInt(s[2]!, 16) >= 8, s);
    assert.ok(BigInt(`0x${s}`).toString(16).length + 2 >= s.length, s);
    seen.add(s);
  }
  assert.is(seen.size, 2000);
});

async function checkReissue(pki: PkiFiles, leaf: string, caPath: string, label: string) {
  const now = new Date();
  const validityMs = 365 * DAY;
  const oldPem = pki.get(leaf)!;
  const newKey = await generateKeyLike(parseCertificate(oldPem));
  const pem = reissueLeaf(oldPem, { caCertPem: pki.get(caPath)!, caKeyPem: pki.get(caPath.replace('.crt', '.key'))!, newKey, now, validityMs });
  const v = await opensslVerify(pki.get(caPath)!, pem, ['-x509_strict']);
  assert.ok(v.ok, `${label}: ${v.out}`);
  const [o, n, ca] = await Promise.all([opensslCert(oldPem), opensslCert(pem), opensslCert(pki.get(caPath)!)]);
  assert.fixture(profileText(n), profileText(o)); // subject, issuer, sig alg, key type, every extension
  assert.equal(n.dns, o.dns, `${label} dns order`);
  assert.equal(n.ips, o.ips, `${label} ip order`);
  assert.is(n.akid, ca.skid, `${label} AKID = CA SKID`);
  assert.ok(n.akid && n.akid.length >= 40);
  assert.is(n.notBefore.getTime(), sec(now.getTime() - MIN5), `${label} notBefore`);
  assert.is(n.notAfter.getTime(), sec(now.getTime() + validityMs), `${label} notAfter`);
  assert.ok(inRange(n.serialHex), n.serialHex);
  assert.is.not(n.sha256, o.sha256);
  const x = new X509Certificate(pem);
  assert.ok(x.checkPrivateKey(createPrivateKey(newKey.privateKeyPem)), `${label} key matches`);
  assert.not.ok(x.checkPrivateKey(createPrivateKey(pki.get(leaf.replace('.crt', '.key'))!)), `${label} old key no longer matches`);
  assert.ok(x.verify(nodeCert(pki.get(caPath)!).publicKey));
  return { pem, newKey };
}

test('reissueLeaf copies the profile of every RSA leaf (openssl -text) and verifies (openssl verify -x509_strict)', async () => {
  const leafs: Array<[string, string]> = [
    ['apiserver.crt', 'ca.crt'],
    ['apiserver-kubelet-client.crt', 'ca.crt'],
    ['apiserver-etcd-client.crt', 'etcd/ca.crt'],
    ['front-proxy-client.crt', 'front-proxy-ca.crt'],
    ['etcd/server.crt', 'etcd/ca.crt'],
    ['etcd/peer.crt', 'etcd/ca.crt'],
    ['etcd/healthcheck-client.crt', 'etcd/ca.crt'],
  ];
  for (const [leaf, ca] of leafs) await checkReissue(rsaPki, leaf, ca, leaf);
});

test('reissueLeaf on an ECDSA PKI: ECDSA key, ecdsa-with-SHA256 signature, same profile', async () => {
  const { pem, newKey } = await checkReissue(ecPki, 'etcd/server.crt', 'etcd/ca.crt', 'ec etcd/server');
  assert.ok(newKey.privateKeyPem.startsWith('-----BEGIN EC PRIVATE KEY-----'));
  const o = await opensslCert(pem);
  assert.is(o.signatureAlgorithm, 'ecdsa-with-SHA256');
  assert.is(o.publicKey, 'EC prime256v1');
  await checkReissue(ecPki, 'apiserver.crt', 'ca.crt', 'ec apiserver');
});

test('reissueLeaf with notBefore (kubeconfig client cert: the CA NotBefore) and subject with O', async () => {
  const admin = Buffer.from(/client-certificate-data: (\S+)/.exec(rsaPki.get('admin.conf')!.toString())![1]!, 'base64');
  const ca = await opensslCert(rsaPki.get('ca.crt')!);
  const newKey = await generateKeyLike({ algorithm: 'RSA', bits: 2048 });
  const now = new Date();
  const pem = reissueLeaf(admin, { caCertPem: rsaPki.get('ca.crt')!, caKeyPem: rsaPki.get('ca.key')!, newKey, now, validityMs: 100 * DAY, notBefore: ca.notBefore });
  const [o, n] = await Promise.all([opensslCert(admin), opensslCert(pem)]);
  assert.is(n.notBefore.getTime(), ca.notBefore.getTime());
  assert.is(n.subject, '/O=system:masters/CN=kubernetes-super-admin');
  assert.fixture(profileText(n), profileText(o));
  assert.ok((await opensslVerify(rsaPki.get('ca.crt')!, pem, ['-x509_strict'])).ok);
});

test('reissueLeaf refuses a CA as the old cert and a CA key that does not match, without echoing keys', async () => {
  const newKey = await generateKeyLike({ algorithm: 'RSA', bits: 2048 });
  const base = { newKey, now: new Date(), validityMs: 365 * DAY };
  assert.throws(() => reissueLeaf(rsaPki.get('front-proxy-ca.crt')!, { ...base, caCertPem: rsaPki.get('ca.crt')!, caKeyPem: rsaPki.get('ca.key')! }), /is a CA certificate, not a leaf/);
  try {
    reissueLeaf(rsaPki.get('apiserver.crt')!, { ...base, caCertPem: rsaPki.get('ca.crt')!, caKeyPem: rsaPki.get('etcd/ca.key')! });
    assert.unreachable();
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, /private key does not match its certificate/);
    assert.not.ok(leaksKey(msg, rsaPki.get('etcd/ca.key')!));
  }
  try {
    reissueLeaf(rsaPki.get('apiserver.crt')!, { ...base, caCertPem: rsaPki.get('ca.crt')!, caKeyPem: rsaPki.get('ca.key')!.toString().slice(0, 300) });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /not a readable unencrypted PEM private key/);
    assert.not.ok(leaksKey((e as Error).message, rsaPki.get('ca.key')!));
  }
});

function skidSha256Trunc(pubPem: string): string {
  const k = createPublicKey(pubPem);
  let bits: Buffer;
  if (k.asymmetricKeyType === 'rsa') bits = k.export({ type: 'pkcs1', format: 'der' });
  else {
    const j = k.export({ format: 'jwk' });
    bits = Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]);
  }
  return createHash('sha256').update(bits).digest('hex').slice(0, 40);
}

test('createCA: kubeadm CA profile, self-verifies strictly, SKID = truncated SHA-256 (Go 1.25+)', async () => {
  const now = new Date();
  for (const spec of [{ algorithm: 'RSA', bits: 2048 }, { algorithm: 'EC', curve: 'prime256v1' }] as const) {
    const key = await generateKeyLike(spec);
    const pem = createCA({ commonName: 'front-proxy-ca', now, validityMs: 3650 * DAY, key });
    const o = await opensslCert(pem);
    assert.is(o.subject, '/CN=front-proxy-ca');
    assert.is(o.issuer, '/CN=front-proxy-ca');
    assert.is(o.basicConstraints, 'critical:CA:TRUE');
    assert.is(o.keyUsage, 'critical:Digital Signature, Key Encipherment, Certificate Sign');
    assert.is(o.extKeyUsage, '');
    assert.equal(o.dns, ['front-proxy-ca']);
    assert.is(o.skid, skidSha256Trunc(key.publicKeyPem));
    assert.is(o.akid, undefined);
    assert.is(o.notBefore.getTime(), sec(now.getTime() - MIN5));
    assert.is(o.notAfter.getTime(), sec(now.getTime() + 3650 * DAY));
    assert.ok(inRange(o.serialHex));
    assert.ok((await opensslVerify(pem, pem, ['-x509_strict', '-purpose', 'any'])).ok);
    assert.ok(new X509Certificate(pem).checkPrivateKey(createPrivateKey(key.privateKeyPem)));
    const asn1 = await openssl(['asn1parse'], pem);
    assert.match(asn1, /PRINTABLESTRING\s+:front-proxy-ca/);
    assert.is(o.signatureAlgorithm, spec.algorithm === 'RSA' ? 'sha256WithRSAEncryption' : 'ecdsa-with-SHA256');
  }
});

test('createCA keeps an old CA subject byte for byte; times after 2049 use GeneralizedTime', async () => {
  const key = await generateKeyLike({ algorithm: 'RSA', bits: 2048 });
  const old = parseCertificate(rsaPki.get('etcd/ca.crt')!);
  const pem = createCA({ commonName: 'ignored', subjectFrom: old, now: new Date('2045-06-01T00:00:00Z'), validityMs: 3650 * DAY, key });
  const oldSubj = (await openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], rsaPki.get('etcd/ca.crt')!)).trim();
  assert.is((await openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], pem)).trim(), oldSubj);
  const asn1 = await openssl(['asn1parse'], pem);
  assert.match(asn1, /UTCTIME\s+:450531235500Z/);
  assert.match(asn1, /GENERALIZEDTIME\s+:20550530000000Z/);
  const o = await opensslCert(pem);
  assert.is(o.notAfter.toISOString(), new Date(Date.parse('2045-06-01T00:00:00Z') + 3650 * DAY).toISOString());
  assert.equal(o.dns, ['etcd-ca']);
});

test.run();
