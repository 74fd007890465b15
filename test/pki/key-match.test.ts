// src/pki/fast/key-match.ts answers "does this RSA key belong to this certificate?" from the bytes,
// without node:crypto. Its answers must be node:crypto's (createPrivateKey + checkPrivateKey) and
// the openssl CLI's: on kubeadm-form keys, on every other key form (which it hands back), and on
// thousands of corrupted keys and PEM texts.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rsaKeyMatchesCertificate, rsaPublicKeyBits } from '../../src/pki/fast/key-match.js';
import { certMatchesKey, parseCertificate } from '../../src/pki/x509.js';
import { generatePki } from '../cluster/index.js';
import { CA_EXT, certBlocks, makeCert, openssl, opensslKeyMatches, withTmp, type MadeCert } from './helpers.js';

const test = suite('pki/key-match');

let ca: MadeCert;
let leaf: MadeCert;
let ecLeaf: MadeCert;
/** an RSA key made by `openssl genrsa -traditional` (not by node) and its self-signed certificate */
let opensslMade: MadeCert;

const derOf = (pem: string) => Buffer.from(certBlocks(pem)[0]!.replace(/-----[^-]+-----|\s/g, ''), 'base64');
const pemOf = (label: string, der: Buffer) =>
  `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
const keyDerOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

/** node:crypto's answer, the one certMatchesKey gave before key-match.ts: a throw is false. */
function nodeSays(certPem: string, keyPem: string | Buffer): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey({ key: keyPem, format: 'pem' }));
  } catch {
    return false;
  }
}

test.before(async () => {
  ca = await makeCert({ subj: '/CN=kubernetes', ext: CA_EXT, days: 3650 });
  leaf = await makeCert({ subj: '/CN=kube-apiserver', issuer: ca, ext: ['extendedKeyUsage=serverAuth'] });
  ecLeaf = await makeCert({ subj: '/CN=ec', key: 'ec', issuer: ca, ext: ['extendedKeyUsage=serverAuth'] });
  opensslMade = await withTmp(async (dir) => {
    await openssl(['genrsa', '-traditional', '-out', 'key.pem', '3072'], undefined, dir);
    const certPem = await openssl(['req', '-x509', '-new', '-key', 'key.pem', '-subj', '/CN=openssl-made', '-days', '3'], undefined, dir);
    return { keyPem: await readFile(join(dir, 'key.pem'), 'utf8'), certPem };
  });
});

test('kubeadm-form keys: a match is answered here, as openssl and node:crypto answer it', async () => {
  assert.ok(opensslMade.keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----'));
  for (const [label, c] of [['node-made', ca], ['node-made leaf', leaf], ['openssl-made', opensslMade]] as const) {
    assert.is(rsaKeyMatchesCertificate(derOf(c.certPem), c.keyPem), true, label);
    assert.is(rsaKeyMatchesCertificate(derOf(c.certPem), Buffer.from(c.keyPem)), true, `${label} (Buffer)`);
    assert.ok(await opensslKeyMatches(c.certPem, c.keyPem), `${label}: openssl agrees`);
    assert.ok(nodeSays(c.certPem, c.keyPem), `${label}: node agrees`);
  }
});

test('another RSA key is never a match here (node:crypto then says no)', async () => {
  const pairs: Array<[MadeCert, MadeCert]> = [[leaf, ca], [ca, leaf], [opensslMade, ca], [ca, opensslMade]];
  for (const [c, k] of pairs) {
    assert.is(rsaKeyMatchesCertificate(derOf(c.certPem), k.keyPem), undefined);
    assert.not.ok(await opensslKeyMatches(c.certPem, k.keyPem));
    assert.not.ok(certMatchesKey(parseCertificate(c.certPem), k.keyPem));
  }
});

test('other key forms and certificate key types are handed to node:crypto', () => {
  const pkcs8 = createPrivateKey(leaf.keyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.is(rsaKeyMatchesCertificate(derOf(leaf.certPem), pkcs8), undefined, 'PKCS#8');
  assert.ok(certMatchesKey(parseCertificate(leaf.certPem), pkcs8), 'PKCS#8 still matches through node:crypto');
  assert.is(rsaKeyMatchesCertificate(derOf(ecLeaf.certPem), ecLeaf.keyPem), undefined, 'EC key and certificate');
  assert.ok(certMatchesKey(parseCertificate(ecLeaf.certPem), ecLeaf.keyPem), 'EC still matches through node:crypto');
  assert.is(rsaKeyMatchesCertificate(derOf(ecLeaf.certPem), leaf.keyPem), undefined, 'RSA key, EC certificate');
  // text around the block, a second block: node:crypto reads those its own way
  for (const text of [`comment\n${leaf.keyPem}`, `${leaf.keyPem}${ca.keyPem}`, `${leaf.keyPem}trailer\n`, `${ca.keyPem}${leaf.keyPem}`]) {
    assert.is(rsaKeyMatchesCertificate(derOf(leaf.certPem), text), undefined);
    assert.is(certMatchesKey(parseCertificate(leaf.certPem), text), nodeSays(leaf.certPem, text));
  }
  // whitespace around the block and CRLF line ends are the same key to node:crypto, and here
  for (const text of [`\n\n${leaf.keyPem}\n`, leaf.keyPem.replace(/\n/g, '\r\n')]) {
    assert.is(rsaKeyMatchesCertificate(derOf(leaf.certPem), text), true);
    assert.ok(nodeSays(leaf.certPem, text));
  }
});

test('non-canonical DER in the key or the certificate is handed to node:crypto', () => {
  const key = keyDerOf(leaf.keyPem);
  // the modulus with a superfluous leading zero byte (BER, not DER): same value, other bytes
  const top = key[1]! & 0x80 ? 2 + (key[1]! & 0x7f) : 2;
  const version = top + 3;
  const nLenBytes = key[version + 1]! & 0x80 ? key[version + 1]! & 0x7f : 0;
  const nLen = key.readUIntBE(version + 2, nLenBytes);
  const nStart = version + 2 + nLenBytes;
  const padded = Buffer.concat([
    key.subarray(top, version),
    Buffer.from([0x02, 0x82]), Buffer.from([(nLen + 1) >> 8, (nLen + 1) & 0xff]), Buffer.from([0]), key.subarray(nStart, nStart + nLen),
    key.subarray(nStart + nLen),
  ]);
  const seq = Buffer.concat([Buffer.from([0x30, 0x82, padded.length >> 8, padded.length & 0xff]), padded]);
  const pem = pemOf('RSA PRIVATE KEY', seq);
  assert.is(rsaKeyMatchesCertificate(derOf(leaf.certPem), pem), undefined);
  assert.is(certMatchesKey(parseCertificate(leaf.certPem), pem), nodeSays(leaf.certPem, pem));
});

/** The TLVs inside the key's outer SEQUENCE (lengths under 64 KiB). */
function keyFields(der: Buffer): Buffer[] {
  const at = (p: number) => (der[p + 1]! & 0x80 ? [p + 2 + (der[p + 1]! & 0x7f), der.readUIntBE(p + 2, der[p + 1]! & 0x7f)] : [p + 2, der[p + 1]!]) as [number, number];
  const [start, len] = at(0);
  const out: Buffer[] = [];
  for (let p = start; p < start + len; ) {
    const [vs, vl] = at(p);
    out.push(der.subarray(p, vs + vl));
    p = vs + vl;
  }
  return out;
}
const sequence = (parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
};

test('RSA key sizes read from the certificate are what openssl and node:crypto report', async () => {
  const made = await withTmp(async (dir) => {
    const out: Array<[string, string]> = [];
    for (const [label, opts] of [
      ['rsa:1024', ['-newkey', 'rsa:1024']],
      ['rsa:1025', ['-newkey', 'rsa:1025']],
      ['rsa:2047', ['-newkey', 'rsa:2047']],
      ['rsa:3072 e=3', ['-newkey', 'rsa:3072', '-pkeyopt', 'rsa_keygen_pubexp:3']],
      ['rsa:4096', ['-newkey', 'rsa:4096']],
      ['rsa:768 (below the range read here)', ['-newkey', 'rsa:768']],
    ] as const) {
      out.push([label, await openssl(['req', '-x509', ...opts, '-nodes', '-keyout', 'k.pem', '-subj', '/CN=size', '-days', '1'], undefined, dir)]);
    }
    return out;
  });
  for (const [label, pem] of made) {
    const nodeBits = new X509Certificate(pem).publicKey.asymmetricKeyDetails!.modulusLength!;
    const text = await openssl(['x509', '-noout', '-text'], pem);
    assert.match(text, new RegExp(`Public-Key: \\(${nodeBits} bit\\)`), `${label}: openssl agrees with node`);
    const bits = rsaPublicKeyBits(derOf(pem));
    if (nodeBits < 1024) assert.is(bits, undefined, label);
    else assert.is(bits, nodeBits, label);
    assert.equal(parseCertificate(pem).publicKey, { algorithm: 'RSA', bits: nodeBits }, `${label}: CertInfo`);
  }
  assert.is(rsaPublicKeyBits(derOf(ecLeaf.certPem)), undefined, 'EC key');
  assert.equal(parseCertificate(ecLeaf.certPem).publicKey, { algorithm: 'EC', curve: 'prime256v1', bits: 256 });
});

test('corrupted public keys: a size read here is always the one node:crypto reads from the same certificate', () => {
  const good = derOf(leaf.certPem);
  // the SubjectPublicKeyInfo: where the modulus (256 bytes) sits
  const at = good.indexOf(Buffer.from('06092a864886f70d0101010500', 'hex'));
  assert.ok(at > 0);
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  let readHere = 0;
  for (let i = 0; i < 2000; i++) {
    const der = Buffer.from(good);
    const k = i % 3;
    if (k === 0) der[at - 6 + rand(300)] ^= 1 << rand(8); // one bit in or near the key
    else if (k === 1) der[at - 6 + rand(30)] = rand(256); // its headers
    // k === 2: unchanged
    // parseCertificate asks only about certificates node:crypto parses (else: malformed)
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch {
      continue;
    }
    let node: number | undefined;
    try {
      node = x509.publicKey.asymmetricKeyDetails?.modulusLength;
    } catch {
      node = undefined;
    }
    const bits = rsaPublicKeyBits(der);
    if (bits !== undefined) {
      readHere++;
      assert.is(bits, node, `mutation ${i}`);
    }
  }
  assert.ok(readHere > 700, `${readHere} read here`);
});

test('keys that are not a whole two-prime RSAPrivateKey are handed to node:crypto', () => {
  const fields = keyFields(keyDerOf(leaf.keyPem));
  assert.is(fields.length, 9);
  const cases: Record<string, Buffer> = {
    'version, n and e only': sequence(fields.slice(0, 3)),
    'without qInv': sequence(fields.slice(0, 8)),
    'a tenth field': sequence([...fields, Buffer.from([0x02, 0x01, 0x05])]),
    'version 1 (multi-prime)': sequence([Buffer.from([0x02, 0x01, 0x01]), ...fields.slice(1)]),
    'n as an OCTET STRING': sequence([fields[0]!, Buffer.concat([Buffer.from([0x04]), fields[1]!.subarray(1)]), ...fields.slice(2)]),
    'a negative d': sequence([...fields.slice(0, 3), Buffer.from([0x02, 0x01, 0xff]), ...fields.slice(4)]),
    'a negative e': sequence([fields[0]!, fields[1]!, Buffer.from([0x02, 0x03, 0xff, 0x00, 0x01]), ...fields.slice(3)]),
  };
  const cert = parseCertificate(leaf.certPem);
  for (const [label, der] of Object.entries(cases)) {
    const pem = pemOf('RSA PRIVATE KEY', der);
    assert.is(rsaKeyMatchesCertificate(derOf(leaf.certPem), pem), undefined, label);
    assert.is(certMatchesKey(cert, pem), nodeSays(leaf.certPem, pem), `${label}: as node:crypto says`);
  }
  // the same fields rebuilt whole are still the key (the builder above is sound)
  assert.is(rsaKeyMatchesCertificate(derOf(leaf.certPem), pemOf('RSA PRIVATE KEY', sequence(fields))), true);
});

test('thousands of corrupted keys: a match here is always a match for node:crypto, and certMatchesKey answers as node does', () => {
  const cert = parseCertificate(leaf.certPem);
  const certDer = derOf(leaf.certPem);
  const good = keyDerOf(leaf.keyPem);
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  let fastMatches = 0;
  for (let i = 0; i < 3000; i++) {
    const der = Buffer.from(good);
    const kind = i % 6;
    let mutated: Buffer = der;
    if (kind === 0) der[rand(der.length)] ^= 1 << rand(8); // one bit anywhere
    else if (kind === 1) der[rand(24)] = rand(256); // the headers: tags and lengths
    else if (kind === 2) mutated = der.subarray(0, rand(der.length)); // truncated
    else if (kind === 3) mutated = Buffer.concat([der, Buffer.from([rand(256)])]); // trailing byte
    else if (kind === 4) der[der.length - 1 - rand(300)] ^= 0xff; // the private half (d, p, q, CRT values)
    // kind 5: unchanged
    const pem = pemOf('RSA PRIVATE KEY', mutated);
    const fast = rsaKeyMatchesCertificate(certDer, pem);
    const node = nodeSays(leaf.certPem, pem);
    if (fast) {
      fastMatches++;
      assert.ok(node, `mutation ${i} (kind ${kind}): matched here, not for node:crypto`);
    }
    assert.is(certMatchesKey(cert, pem), node, `mutation ${i} (kind ${kind})`);
  }
  // unchanged keys and private-half corruptions do match: the fast path is really taken
  assert.ok(fastMatches >= 500, `only ${fastMatches} matches answered here`);
});

test('a whole kubeadm-profile PKI: every certificate against every key, as node:crypto says', async () => {
  const pki = await generatePki({ name: 'km', namespace: 'ns', reuseKeys: true });
  const certs = [...pki.keys()].filter((p) => p.endsWith('.crt')).map((p) => [p, pki.get(p)!.toString()] as const);
  const keys = [...pki.keys()].filter((p) => p.endsWith('.key')).map((p) => [p, pki.get(p)!] as const);
  let matched = 0;
  for (const [cp, certPem] of certs) {
    const info = parseCertificate(certPem);
    for (const [kp, keyPem] of keys) {
      const node = nodeSays(certPem, keyPem);
      assert.is(certMatchesKey(info, keyPem), node, `${cp} with ${kp}`);
      if (node) {
        assert.is(rsaKeyMatchesCertificate(derOf(certPem), keyPem), true, `${cp} with ${kp}: answered here`);
        matched++;
      }
    }
  }
  assert.ok(matched >= 10, `${matched} pairs matched`);
});

test.run();
