// src/pki/fast/cert-der.ts reads a certificate from its DER without node:crypto's X509Certificate
// and without jsrsasign's reader of the whole certificate, and x509.ts checks signatures it read
// with crypto.verify. The judges: the CertInfo read with every fast path off (node:crypto and
// jsrsasign, as before), node:crypto.X509Certificate itself (fields, acceptance, verify) and
// `openssl verify`; over certificates of every shape openssl and the test PKI generator make,
// and thousands of mutated ones.

import { X509Certificate } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readCertDer } from '../../src/pki/fast/cert-der.js';
import { fastPathsOn, fastUses, setFastPaths } from '../../src/pki/fast/switch.js';
import { inspectPki } from '../../src/pki/inspect.js';
import type { CertInfo, PkiFiles } from '../../src/pki/types.js';
import { certHandles, isIssuedBy, namesChain, parseCertificateDer, signatureVerifies } from '../../src/pki/x509.js';
import { generatePki } from '../cluster/index.js';
import { CA_EXT, certBlocks, makeCert, opensslVerify, type MadeCert } from './helpers.js';

const test = suite('pki/cert-der');

interface Sample {
  label: string;
  der: Buffer;
}

/** made by openssl, by label; the PKIs' certificates follow in `samples` */
const made = new Map<string, MadeCert>();
let samples: Sample[] = [];
let pkis: PkiFiles[] = [];

const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
const pemOf = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;

/** Every certificate of a PKI: the blocks of its .crt files and of its kubeconfigs. */
function pkiCerts(files: PkiFiles, prefix: string): Sample[] {
  const out: Sample[] = [];
  for (const [name, body] of files) {
    const text = body.toString();
    const pems = name.endsWith('.crt')
      ? certBlocks(text)
      : [...text.matchAll(/(?:client-certificate|certificate-authority)-data: (\S+)/g)].flatMap((m) => certBlocks(Buffer.from(m[1]!, 'base64').toString()));
    pems.forEach((pem, i) => out.push({ label: `${prefix}:${name}#${i}`, der: derOf(pem) }));
  }
  const seen = new Set<string>();
  return out.filter((s) => !seen.has(s.der.toString('hex')) && !!seen.add(s.der.toString('hex')));
}

/** `fn` with the fast paths on or off, restored after. */
function withFast<T>(on: boolean, fn: () => T): T {
  const was = fastPathsOn();
  setFastPaths(on);
  try {
    return fn();
  } finally {
    setFastPaths(was);
  }
}

/** What parseCertificateDer gives: the CertInfo or the error message. */
function outcome(der: Buffer, fast: boolean): CertInfo | string {
  return withFast(fast, () => {
    try {
      return parseCertificateDer(Buffer.from(der));
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  });
}

function nodeAccepts(der: Buffer): boolean {
  try {
    new X509Certificate(der);
    return true;
  } catch {
    return false;
  }
}

/** X509Certificate.verify's answer, the one signatureVerifies gave before cert-der. */
function nodeVerifies(child: Buffer, parent: Buffer): boolean {
  try {
    return new X509Certificate(child).verify(new X509Certificate(parent).publicKey);
  } catch {
    return false;
  }
}

test.before(async () => {
  const ca = await makeCert({ subj: '/CN=kubernetes', ext: CA_EXT, days: 3650 });
  const ecCA = await makeCert({ subj: '/CN=ec-ca', key: 'ec', ext: CA_EXT, days: 3650 });
  const leafExt = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];
  const specs: Array<[string, Parameters<typeof makeCert>[0]]> = [
    ['rsa3072 CA', { subj: '/CN=rsa3072-ca', key: 'rsa3072', ext: CA_EXT, days: 3650 }],
    ['ec384 CA', { subj: '/CN=ec384-ca', key: 'ec384', ext: CA_EXT, days: 3650, digest: 'sha384' }],
    ['ed25519 CA', { subj: '/CN=ed25519-ca', key: 'ed25519', ext: CA_EXT, days: 3650 }],
    ['rsa leaf', { subj: '/O=system:masters/CN=admin', issuer: ca, ext: [...leafExt, 'subjectAltName=DNS:a.example,IP:10.0.0.1,IP:fd00::1'] }],
    ['ec leaf of rsa', { subj: '/CN=ec-leaf', key: 'ec', issuer: ca, ext: leafExt }],
    ['rsa leaf of ec, sha512', { subj: '/CN=rsa-of-ec', issuer: ecCA, ext: leafExt, digest: 'sha512' }],
    ['ec384 leaf of ec, sha384', { subj: '/CN=ec384-of-ec', key: 'ec384', issuer: ecCA, ext: leafExt, digest: 'sha384' }],
    ['rsa leaf sha384', { subj: '/CN=sha384', issuer: ca, ext: leafExt, digest: 'sha384' }],
    ['v1', { subj: '/CN=old-style', issuer: ca, ext: [] }],
    ['v1 ec', { subj: '/CN=old-style-ec', key: 'ec', issuer: ecCA, ext: [] }],
    ['several RDNs, repeated O', { subj: '/C=DE/ST=Bayern/L=Nürnberg/O=a/O=b/OU=ops/CN=many', utf8: true, issuer: ca, ext: leafExt }],
    ['multi-valued RDN', { subj: '/O=a+OU=b/CN=multi', issuer: ca, ext: leafExt }],
    ['UTF8String names', { subj: '/O=Grüße/CN=ünïcödé ✓', utf8: true, stringMask: 'utf8only', issuer: ca, ext: leafExt }],
    ['PrintableString names', { subj: '/O=printable/CN=plain', stringMask: 'nombstr', issuer: ca, ext: leafExt }],
    ['T61String names', { subj: '/O=Grüße/CN=t61', utf8: true, stringMask: 'nombstr', issuer: ca, ext: leafExt }],
    ['GeneralizedTime (after 2049)', { subj: '/CN=long-lived', issuer: ca, ext: leafExt, days: 40_000 }],
    ['serial with a leading 00', { subj: '/CN=high-serial', issuer: ca, ext: leafExt, serial: '0x80a1b2c3d4e5f60718293a4b5c6d7e8f' }],
    ['serial 0', { subj: '/CN=zero-serial', issuer: ca, ext: leafExt, serial: '0' }],
    ['critical and non-critical extensions', { subj: '/CN=crit', issuer: ca, ext: ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=critical,clientAuth', 'subjectAltName=critical,DNS:crit.example', 'authorityKeyIdentifier=keyid,issuer'] }],
    ['unknown extensions', { subj: '/CN=unknown', issuer: ca, ext: [...leafExt, '1.2.3.4.5=ASN1:UTF8String:hello', '1.3.6.1.4.1.99999.1=critical,DER:0500', 'nsComment=made by a test'] }],
    ['PSS', { subj: '/CN=pss', issuer: ca, ext: leafExt, sigopt: ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32'] }],
    ['PSS CA', { subj: '/CN=pss-ca', ext: CA_EXT, sigopt: ['rsa_padding_mode:pss'] }],
  ];
  made.set('rsa CA', ca);
  made.set('ec CA', ecCA);
  for (const [label, spec] of specs) made.set(label, await makeCert(spec));
  const ed = made.get('ed25519 CA')!;
  made.set('ed25519 leaf of ed25519', await makeCert({ subj: '/CN=ed-leaf', key: 'ed25519', issuer: ed, ext: leafExt }));
  made.set('rsa leaf of ed25519', await makeCert({ subj: '/CN=rsa-of-ed', issuer: ed, ext: leafExt }));
  pkis = await Promise.all([
    generatePki({ name: 'alpha', namespace: 'ns', reuseKeys: true }),
    generatePki({ name: 'alpha', namespace: 'ns' }), // the same names, other keys
    generatePki({ name: 'ecvc', namespace: 'ns', keyType: 'ecdsa' }),
  ]);
  samples = [
    ...[...made].map(([label, m]) => ({ label, der: derOf(m.certPem) })),
    ...pkis.flatMap((p, i) => pkiCerts(p, `pki${i}`)),
  ];
});

test('every shape: the CertInfo read from the DER is the one node:crypto and jsrsasign give, field by field', () => {
  let fast = 0;
  let namesCompared = 0;
  for (const { label, der } of samples) {
    const read = readCertDer(der);
    const expectRead = !label.startsWith('PSS');
    assert.is(read !== undefined, expectRead, `${label}: read by cert-der`);
    if (read) fast++;
    const before = fastUses.certDer;
    const on = outcome(der, true);
    const off = outcome(der, false);
    assert.is(fastUses.certDer - before, read ? 1 : 0, `${label}: fast path used`);
    assert.type(on, 'object', `${label}: ${String(on)}`);
    assert.equal(on, off, label);
    const info = on as CertInfo;
    const x = new X509Certificate(der);
    assert.is(info.notBefore.getTime(), x.validFromDate.getTime(), `${label}: notBefore`);
    assert.is(info.notAfter.getTime(), x.validToDate.getTime(), `${label}: notAfter`);
    assert.is(info.sha256, x.fingerprint256, `${label}: sha256`);
    assert.is(info.serialHex.replace(/^0+/, ''), x.serialNumber.toLowerCase().replace(/^0+/, ''), `${label}: serial`);
    assert.is(info.isCA, x.ca, `${label}: ca`);
    assert.ok(info.der.equals(x.raw), `${label}: der`);
    // node prints names one attribute a line, in order; comparable when nothing needs escaping
    for (const [ours, node] of [[info.subject, x.subject], [info.issuer, x.issuer]] as const) {
      if (!/^(\/[A-Za-z]+=[\w:. -]+)+$/.test(ours)) continue;
      assert.is(ours.slice(1).replaceAll('/', '\n'), node, `${label}: name`);
      namesCompared++;
    }
    // the handles of a certificate read here make node's object on demand, the same certificate
    assert.ok(certHandles(info).node.raw.equals(der), `${label}: lazy X509Certificate`);
  }
  assert.ok(fast >= samples.length - 2, `${fast} of ${samples.length} read by cert-der`);
  assert.ok(samples.length > 60, `${samples.length} samples`);
  assert.ok(namesCompared > samples.length, `${namesCompared} names compared with node's`);
});

test('the shapes are what they claim to be (so the comparison above covers them)', () => {
  const by = (label: string) => readCertDer(derOf(made.get(label)!.certPem))!;
  const der = (label: string) => derOf(made.get(label)!.certPem);
  assert.is(by('v1').version, 1);
  assert.is(by('rsa leaf').version, 3);
  assert.is(der('serial with a leading 00').toString('hex', by('serial with a leading 00').serial.start, by('serial with a leading 00').serial.start + 2), '0080');
  const gen = by('GeneralizedTime (after 2049)');
  assert.ok(gen.notAfter.getUTCFullYear() > 2049 && der('GeneralizedTime (after 2049)').includes(Buffer.from(`${gen.notAfter.getUTCFullYear()}`)));
  const tags = (label: string) => {
    const c = by(label);
    return der(label).subarray(c.subject.start, c.subject.end).toString('hex');
  };
  // the O attribute (2.5.4.10) and its string type
  assert.ok(tags('UTF8String names').includes('060355040a0c'), 'UTF8String');
  assert.ok(tags('PrintableString names').includes('060355040a13'), 'PrintableString');
  assert.ok(tags('T61String names').includes('060355040a14'), 'T61String');
  const crit = by('critical and non-critical extensions').extensions;
  assert.equal(crit.map((e) => [e.oid, e.critical]), [['2.5.29.19', false], ['2.5.29.15', false], ['2.5.29.37', true], ['2.5.29.17', true], ['2.5.29.35', false], ['2.5.29.14', false]]); // openssl adds the SKID
  assert.ok(by('unknown extensions').extensions.some((e) => e.oid === '1.3.6.1.4.1.99999.1' && e.critical));
  assert.is(by('ed25519 CA').spkiAlgorithmOid, '1.3.101.112');
});

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(der: Buffer, rnd: () => number): Buffer {
  const at = Math.floor(rnd() * der.length);
  const byte = Math.floor(rnd() * 256);
  const kind = rnd();
  if (kind < 0.45) {
    const m = Buffer.from(der);
    m[at] = byte === m[at] ? byte ^ 1 : byte;
    return m;
  }
  if (kind < 0.6) {
    const m = Buffer.from(der);
    m[at]! ^= 1 << Math.floor(rnd() * 8);
    return m;
  }
  if (kind < 0.75) return Buffer.concat([der.subarray(0, at), Buffer.from([byte]), der.subarray(at)]);
  if (kind < 0.9) return Buffer.concat([der.subarray(0, at), der.subarray(at + 1)]);
  return der.subarray(0, at);
}

test('mutation fuzz: whatever cert-der accepts node:crypto accepts too, and reads the same with the fast paths on and off', () => {
  const labels = ['rsa leaf', 'ec leaf of rsa', 'v1', 'several RDNs, repeated O', 'UTF8String names', 'unknown extensions', 'ed25519 leaf of ed25519', 'GeneralizedTime (after 2049)'];
  const bases: Buffer[] = [
    ...labels.map((l) => derOf(made.get(l)!.certPem)),
    ...samples.filter((s) => /pki0:(apiserver\.crt|ca\.crt|admin\.conf)/.test(s.label)).map((s) => s.der),
  ];
  const rnd = prng(0x5eed);
  let accepted = 0;
  let total = 0;
  let errorsCompared = 0;
  for (const base of bases) {
    for (let i = 0; i < 500; i++) {
      const m = mutate(base, rnd);
      total++;
      // what cert-der leaves to the libraries is read as before (node even reads some invalid
      // times differently from one call to the next): nothing to compare
      if (!readCertDer(m)) continue;
      accepted++;
      assert.ok(nodeAccepts(m), `cert-der accepted what node rejects: ${m.toString('hex')}`);
      const on = outcome(m, true);
      const off = outcome(m, false);
      if (typeof off === 'string') errorsCompared++;
      assert.equal(on, off, `mutant ${total}: ${m.toString('hex')}`);
    }
  }
  assert.ok(accepted > total / 5, `cert-der accepted ${accepted} of ${total} mutants`);
  assert.ok(errorsCompared > 20, `${errorsCompared} errors compared`);
  console.log(`cert-der accepted ${accepted} of ${total} mutants, ${errorsCompared} of them errors`);
});

test('every single-byte change of a certificate that cert-der accepts, node:crypto accepts', () => {
  const der = derOf(made.get('several RDNs, repeated O')!.certPem);
  const sig = readCertDer(der)!.signature;
  let accepted = 0;
  for (let i = 0; i < der.length; i++) {
    if (i > sig.start && i < sig.end) continue; // opaque bytes: the first stands for them all
    const m = Buffer.from(der);
    for (let v = 0; v < 256; v++) {
      if (v === der[i]) continue;
      m[i] = v;
      if (readCertDer(m) && ++accepted && !nodeAccepts(m)) assert.unreachable(`byte ${i} set to ${v}: ${m.toString('hex')}`);
    }
  }
  assert.ok(accepted > (der.length - 256) * 50, `${accepted} accepted`);
});

/** The same bytes with the `n`th occurrence (from the end when negative) of `from` replaced by `to`. */
function replaceNth(der: Buffer, from: string, to: string, n: number): Buffer {
  const hex = der.toString('hex');
  const at: number[] = [];
  for (let i = hex.indexOf(from); i >= 0; i = hex.indexOf(from, i + 1)) if (i % 2 === 0) at.push(i);
  const i = at[n < 0 ? at.length + n : n];
  assert.ok(i !== undefined, `${from} in ${hex}`);
  return Buffer.from(hex.slice(0, i) + to + hex.slice(i! + from.length), 'hex');
}

const RSA_SHA256 = '300d06092a864886f70d01010b0500';
const RSA_SHA384 = '300d06092a864886f70d01010c0500';
const EC_SHA256 = '300a06082a8648ce3d040302';
const EC_SHA384 = '300a06082a8648ce3d040303';

test('signature checks: every (child, candidate issuer) pair answers as X509Certificate.verify does', async () => {
  const ders = samples.map((s) => s.der);
  const rsaLeaf = derOf(made.get('rsa leaf')!.certPem);
  const ecdsaSha512 = derOf(made.get('rsa leaf of ec, sha512')!.certPem);
  const ecSigned = samples.find((s) => s.label.startsWith('pki2:') && s.label.includes('apiserver.crt'))!.der;
  const flipLast = (d: Buffer) => {
    const m = Buffer.from(d);
    m[m.length - 5]! ^= 0x40;
    return m;
  };
  const odd = [
    flipLast(rsaLeaf), // a bad RSA signature
    flipLast(ecSigned), // a bad ECDSA signature
    replaceNth(rsaLeaf, RSA_SHA256, RSA_SHA384, -1), // outer algorithm differs from the inner one
    replaceNth(rsaLeaf, RSA_SHA256, RSA_SHA384, 0), // inner differs from outer
    replaceNth(replaceNth(rsaLeaf, RSA_SHA256, RSA_SHA384, 0), RSA_SHA256, RSA_SHA384, 0), // both: signed with another digest
    replaceNth(ecSigned, EC_SHA256, EC_SHA384, -1),
    replaceNth(replaceNth(ecSigned, EC_SHA256, EC_SHA384, 0), EC_SHA256, EC_SHA384, 0),
    ecdsaSha512,
  ];
  for (const d of odd) assert.ok(nodeAccepts(d));
  assert.ok(readCertDer(odd[4]!) && readCertDer(odd[0]!) && !readCertDer(odd[2]!) && !readCertDer(odd[3]!), 'the mutants take the paths meant');
  const all = [...ders, ...odd];
  const infos = withFast(true, () => all.map((d) => parseCertificateDer(d)));
  const before = fastUses.certDer;
  let trueCount = 0;
  let pairs = 0;
  withFast(true, () => {
    for (let c = 0; c < all.length; c++) {
      for (let p = 0; p < all.length; p++) {
        // only issuers' keys are worth the time for every child; leaves as issuers for a few
        if (!infos[p]!.isCA && c % 7 !== 0) continue;
        const expected = nodeVerifies(all[c]!, all[p]!);
        pairs++;
        if (expected) trueCount++;
        assert.is(signatureVerifies(infos[c]!, infos[p]!), expected, `verify child ${c} by ${p}`);
        assert.is(isIssuedBy(infos[c]!, infos[p]!), expected && namesChain(infos[c]!, infos[p]!), `issued ${c} by ${p}`);
      }
    }
  });
  assert.ok(fastUses.certDer - before > pairs / 3, `${fastUses.certDer - before} of ${pairs} checked by crypto.verify`);
  assert.ok(trueCount > 40, `${trueCount} pairs verify`);
  // openssl agrees on a few: a PKI's leaf by its CA, by the CA of the same names and other keys
  const pem = (i: number, f: string) => pkis[i]!.get(f)!;
  const leaf = parseCertificateDer(derOf(pem(1, 'apiserver.crt').toString()));
  for (const [i, f] of [[1, 'ca.crt'], [0, 'ca.crt'], [2, 'ca.crt']] as const) {
    const ca = parseCertificateDer(derOf(certBlocks(pem(i, f))[0]!));
    const o = await opensslVerify(pemOf(ca.der), pemOf(leaf.der));
    assert.is(isIssuedBy(leaf, ca), o.ok, `openssl verify against pki${i} ${f}: ${o.out}`);
  }
});

test('fastUses.certDer counts the certificates read here, and nothing with the fast paths off', () => {
  const count = (on: boolean, files: PkiFiles) => {
    const before = fastUses.certDer;
    withFast(on, () => inspectPki(files, { now: new Date(), warnWithinMs: 86_400_000 }));
    return fastUses.certDer - before;
  };
  assert.is(count(false, pkis[0]!), 0);
  assert.ok(count(true, pkis[1]!) >= 10);
  if (process.env.VCERTS_NO_FAST === '1') assert.not.ok(fastPathsOn());
});

test.run();
