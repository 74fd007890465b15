// parseCertificate / PEM helpers, checked against `openssl x509` and node:crypto.X509Certificate.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBase64, encodePem, splitPem } from '../../src/pki/pem.js';
import { parseCertificate, parseCertificates, certMatchesKey, extensionOids, isIssuedBy, isSelfSigned, readSanNamesWithJsrsasign } from '../../src/pki/x509.js';
import { readSanNames } from '../../src/pki/fast/san.js';
import jsrsasign from '../../src/pki/fast/jsrsasign.js';
import { generatePki } from '../cluster/index.js';
import { generateKeyLike } from '../../src/pki/issue.js';
import { createCA } from '../../src/pki/issue-ca.js';
import { CA_EXT, certBlocks, leaksKey, makeCert, nodeCert, openssl, opensslCert, withTmp, type MadeCert } from './helpers.js';
import type { CertInfo } from '../../src/pki/types.js';

const test = suite('pki/x509');

let rsaCA: MadeCert;
let ecLeaf: MadeCert;
let ecCA: MadeCert;
let rsaLeafOfEc: MadeCert;

test.before(async () => {
  rsaCA = await makeCert({ subj: '/CN=kubernetes', ext: [...CA_EXT, 'subjectAltName=DNS:kubernetes'], days: 3650 });
  ecLeaf = await makeCert({
    subj: '/O=system:masters/O=second org/CN=kube-apiserver',
    key: 'ec',
    issuer: rsaCA,
    days: 365,
    ext: [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      'subjectAltName=DNS:vc1,DNS:kubernetes.default.svc,IP:10.96.0.1,IP:127.0.0.1,IP:::1,IP:fd00::a:1',
      'authorityKeyIdentifier=keyid',
    ],
  });
  ecCA = await makeCert({ subj: '/CN=etcd-ca', key: 'ec384', ext: CA_EXT, days: 100 });
  rsaLeafOfEc = await makeCert({ subj: '/CN=kube-etcd-healthcheck-client', issuer: ecCA, ext: ['extendedKeyUsage=clientAuth'], days: 10 });
});

/** Field-by-field comparison of parseCertificate with openssl and X509Certificate. */
async function agree(info: CertInfo, pem: string, label: string) {
  const o = await opensslCert(pem);
  const x = nodeCert(pem);
  assert.is(info.subject, o.subject, `${label}: subject`);
  assert.is(info.issuer, o.issuer, `${label}: issuer`);
  assert.is(info.notAfter.getTime(), o.notAfter.getTime(), `${label}: notAfter`);
  assert.is(info.notBefore.getTime(), o.notBefore.getTime(), `${label}: notBefore`);
  assert.is(info.notAfter.getTime(), new Date(x.validTo).getTime(), `${label}: notAfter vs node`);
  assert.is(info.serialHex.replace(/^0+/, ''), o.serialHex.replace(/^0+/, ''), `${label}: serial`);
  assert.is(info.serialHex.replace(/^0+/, ''), x.serialNumber.toLowerCase().replace(/^0+/, ''), `${label}: serial vs node`);
  assert.is(info.sha256, o.sha256, `${label}: sha256 vs openssl`);
  assert.is(info.sha256, x.fingerprint256, `${label}: sha256 vs node`);
  assert.equal(info.dnsNames, o.dns, `${label}: dns`);
  // openssl prints IPv6 uncompressed; compare as canonical addresses via node's output
  const nodeIps = (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11));
  assert.is(info.ipAddresses.length, o.ips.length, `${label}: ip count`);
  assert.equal(info.ipAddresses.map(canonIp), nodeIps.map(canonIp), `${label}: ips`);
  assert.is(info.isCA, o.basicConstraints.includes('CA:TRUE'), `${label}: isCA`);
  assert.is(info.isCA, x.ca, `${label}: isCA vs node`);
  assert.is(info.hasBasicConstraints, o.basicConstraints !== '', `${label}: hasBasicConstraints`);
  assert.is(info.subjectKeyId, o.skid, `${label}: skid`);
  assert.is(info.authorityKeyId, o.akid, `${label}: akid`);
  assert.is(info.signatureAlgorithm, o.signatureAlgorithm, `${label}: signature algorithm`);
  const pk = info.publicKey.algorithm === 'RSA' ? `RSA ${info.publicKey.bits}` : `EC ${info.publicKey.curve}`;
  assert.is(pk, o.publicKey, `${label}: public key`);
  const kuWords: Record<string, string> = { digitalSignature: 'Digital Signature', keyEncipherment: 'Key Encipherment', keyCertSign: 'Certificate Sign', cRLSign: 'CRL Sign' };
  assert.is(info.keyUsage.map((k) => kuWords[k] ?? k).join(', '), o.keyUsage.replace(/^critical:/, ''), `${label}: keyUsage`);
  const ekuWords: Record<string, string> = { serverAuth: 'TLS Web Server Authentication', clientAuth: 'TLS Web Client Authentication' };
  assert.is(info.extKeyUsage.map((k) => ekuWords[k] ?? k).join(', '), o.extKeyUsage, `${label}: extKeyUsage`);
  assert.ok(Buffer.from(info.der).equals(x.raw), `${label}: der`);
}

function canonIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  // expand to 8 groups of 4 hex digits
  const [head, tail] = ip.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const mid = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...mid, ...t].map((g) => g.padStart(4, '0')).join(':');
}

test('RSA CA, ECDSA leaf with two O and v4/v6 SANs, EC P-384 CA and its RSA leaf agree with openssl and node', async () => {
  for (const [label, m] of [['rsaCA', rsaCA], ['ecLeaf', ecLeaf], ['ecCA', ecCA], ['rsaLeafOfEc', rsaLeafOfEc]] as const) {
    await agree(parseCertificate(m.certPem), m.certPem, label);
  }
  const leaf = parseCertificate(ecLeaf.certPem);
  assert.is(leaf.subjectCN, 'kube-apiserver');
  assert.equal(leaf.subjectO, ['system:masters', 'second org']);
  assert.is(leaf.issuerCN, 'kubernetes');
  assert.equal(leaf.ipAddresses, ['10.96.0.1', '127.0.0.1', '::1', 'fd00::a:1']);
  assert.equal(leaf.dnsNames, ['vc1', 'kubernetes.default.svc']);
  assert.equal(leaf.extKeyUsage, ['serverAuth', 'clientAuth']);
  assert.equal(parseCertificate(ecCA.certPem).publicKey, { algorithm: 'EC', curve: 'secp384r1', bits: 384 });
  assert.is(parseCertificate(rsaLeafOfEc.certPem).signatureAlgorithm, 'ecdsa-with-SHA256'); // openssl's default digest
});

test('one jsrsasign reader for every parse: a v1 certificate read between v3 ones keeps none of their fields, and theirs come back the same', async () => {
  // `openssl x509 -req` without extensions writes a version 1 certificate
  const v1 = await withTmp(async (dir) => {
    const csr = await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-subj', '/CN=old-style'], undefined, dir);
    return openssl(['x509', '-req', '-key', 'k.pem', '-days', '5'], csr, dir);
  });
  const first = parseCertificate(ecLeaf.certPem);
  const old = parseCertificate(v1);
  await agree(old, v1, 'v1');
  assert.equal([old.dnsNames, old.ipAddresses, old.keyUsage, old.extKeyUsage, old.isCA, old.hasBasicConstraints], [[], [], [], [], false, false]);
  assert.is(old.subjectKeyId, undefined);
  assert.equal(parseCertificate(ecLeaf.certPem), first);
  await agree(parseCertificate(rsaCA.certPem), rsaCA.certPem, 'rsa CA after v1');
  // re-issuing reads extensions through the certificate's own reader, not the shared one
  parseCertificate(rsaCA.certPem);
  assert.equal(extensionOids(first), ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17', '2.5.29.35', '2.5.29.14']);
  assert.equal(extensionOids(old), []);
});

test('names and extensions read once per process: every CertInfo still gets its own arrays', () => {
  const a = parseCertificate(ecLeaf.certPem);
  a.dnsNames.push('mutated');
  a.subjectO.push('mutated');
  a.keyUsage.push('mutated');
  a.extKeyUsage.length = 0;
  const b = parseCertificate(ecLeaf.certPem);
  assert.equal(b.dnsNames, ['vc1', 'kubernetes.default.svc']);
  assert.equal(b.subjectO, ['system:masters', 'second org']);
  assert.equal(b.keyUsage, ['digitalSignature', 'keyEncipherment']);
  assert.equal(b.extKeyUsage, ['serverAuth', 'clientAuth']);
  // the issuer Name of the leaf is the CA's subject Name: the same bytes, the same answer
  assert.is(b.issuer, parseCertificate(rsaCA.certPem).subject);
});

test('DER input and PEM input give the same result', () => {
  const der = nodeCert(ecLeaf.certPem).raw;
  const a = parseCertificate(der);
  const b = parseCertificate(ecLeaf.certPem);
  assert.is(a.sha256, b.sha256);
  assert.ok(a.der.equals(b.der));
  assert.is(encodePem('CERTIFICATE', a.der), ecLeaf.certPem);
});

test('bundle: one CertInfo per block, in order', async () => {
  const bundle = ecLeaf.certPem + rsaCA.certPem;
  const all = parseCertificates(bundle);
  assert.is(all.length, 2);
  assert.is(all[0]!.sha256, nodeCert(certBlocks(bundle)[0]!).fingerprint256);
  assert.is(all[1]!.sha256, nodeCert(certBlocks(bundle)[1]!).fingerprint256);
  await agree(all[1]!, rsaCA.certPem, 'bundle[1]');
  // parseCertificate takes the first block
  assert.is(parseCertificate(bundle).sha256, all[0]!.sha256);
});

test('kubeconfig-embedded client certificate (pkigen admin.conf) agrees with openssl', async () => {
  const pki = await generatePki({ name: 'x509vc', namespace: 'ns', reuseKeys: true });
  const yamlText = pki.get('admin.conf')!.toString();
  const b64 = /client-certificate-data: (\S+)/.exec(yamlText)![1]!;
  const pem = Buffer.from(b64, 'base64').toString();
  const info = parseCertificate(pem);
  await agree(info, pem, 'admin.conf');
  assert.is(info.subjectCN, 'kubernetes-super-admin');
  assert.equal(info.subjectO, ['system:masters']);
  for (const f of ['apiserver.crt', 'etcd/server.crt', 'etcd/ca.crt', 'front-proxy-client.crt']) {
    await agree(parseCertificate(pki.get(f)!), pki.get(f)!.toString(), f);
  }
});

test('issuer / self-signed / key match use the real signature and key', () => {
  const ca = parseCertificate(rsaCA.certPem);
  const leaf = parseCertificate(ecLeaf.certPem);
  const other = parseCertificate(ecCA.certPem);
  assert.ok(isSelfSigned(ca));
  assert.not.ok(isSelfSigned(leaf));
  assert.ok(isIssuedBy(leaf, ca));
  assert.not.ok(isIssuedBy(leaf, other));
  assert.ok(certMatchesKey(leaf, ecLeaf.keyPem));
  assert.not.ok(certMatchesKey(leaf, rsaCA.keyPem));
  assert.not.ok(certMatchesKey(leaf, 'garbage'));
});

test('clear one-line errors, never echoing key material', () => {
  const cases: Array<[string | Buffer, RegExp]> = [
    ['', /^not a PEM certificate \(empty\)$/],
    ['hello world', /^not a PEM certificate$/],
    [Buffer.from([1, 2, 3]), /^malformed certificate: not PEM and not DER$/],
    [Buffer.from('plain text'), /^not a PEM certificate$/],
    [rsaCA.keyPem, /^not a PEM certificate \(found RSA PRIVATE KEY\)$/],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /^malformed certificate/],
    ['-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n', /^malformed PEM/],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END RSA PRIVATE KEY-----\n', /^malformed PEM/],
  ];
  for (const [input, re] of cases) {
    try {
      parseCertificate(input);
      assert.unreachable(`no error for ${String(input).slice(0, 20)}`);
    } catch (e) {
      const msg = (e as Error).message;
      assert.match(msg, re);
      assert.not.ok(msg.includes('\n'), 'one line');
      assert.not.ok(leaksKey(msg, rsaCA.keyPem), 'no key bytes');
    }
  }
  // a broken key block inside a cert file: message names the label only
  const broken = rsaCA.keyPem.replace('-----END RSA PRIVATE KEY-----', '-----END EC PRIVATE KEY-----');
  try {
    parseCertificate(broken);
    assert.unreachable();
  } catch (e) {
    assert.not.ok(leaksKey((e as Error).message, rsaCA.keyPem));
  }
});

test('validity times in every form CAs write: UTCTime 19xx and 20xx, GeneralizedTime; openssl reads the same instants', async () => {
  const key = await generateKeyLike({ algorithm: 'RSA', bits: 2048 });
  const DAY = 86_400_000;
  const cases: Array<[string, Date, number]> = [
    ['UTCTime 1950s to 1990s', new Date('1955-03-04T05:06:07Z'), 15_000 * DAY],
    ['UTCTime across 2049/2050', new Date('2040-12-31T23:59:59Z'), 4000 * DAY],
    ['GeneralizedTime', new Date('2051-01-02T03:04:05Z'), 36_500 * DAY],
  ];
  for (const [label, now, validityMs] of cases) {
    const pem = createCA({ commonName: label, now, validityMs, key });
    const info = parseCertificate(pem);
    const o = await opensslCert(pem);
    assert.is(info.notBefore.toISOString(), o.notBefore.toISOString(), `${label}: notBefore`);
    assert.is(info.notAfter.toISOString(), o.notAfter.toISOString(), `${label}: notAfter`);
    assert.is(info.notAfter.getTime(), new Date(nodeCert(pem).validTo).getTime(), `${label}: notAfter vs node`);
  }
  // openssl writes seconds-only UTCTime for these too
  const made = await makeCert({ subj: '/CN=long', ext: CA_EXT, days: 40_000 });
  const o = await opensslCert(made.certPem);
  assert.is(parseCertificate(made.certPem).notAfter.toISOString(), o.notAfter.toISOString());
  assert.ok(o.notAfter.getUTCFullYear() > 2100);
});

test('SubjectAltName DNS names and IPs read in place are what jsrsasign reads, on 3000 generated name lists', () => {
  const { X509 } = jsrsasign as unknown as { X509: new () => Parameters<typeof readSanNamesWithJsrsasign>[0] };
  const js = new X509();
  let seed = 99;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));
  const tlv = (tag: number, value: Buffer) => {
    const n = value.length;
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    return Buffer.concat([Buffer.from([tag, ...len]), value]);
  };
  const name = tlv(0x30, tlv(0x31, tlv(0x30, Buffer.concat([Buffer.from('0603550403', 'hex'), tlv(0x0c, Buffer.from('dir'))]))));
  const kinds = [
    () => tlv(0x82, Buffer.from(`host-${rand(1e6)}.team-${rand(99)}.svc.cluster.local`)), // dNSName
    () => tlv(0x82, bytes(rand(300))), // any bytes, also past 127 and 255 (long lengths)
    () => tlv(0x87, bytes(4)), // IPv4
    () => tlv(0x87, bytes(16)), // IPv6
    () => tlv(0x87, bytes([5, 8, 32][rand(3)]!)), // odd IP lengths
    () => tlv(0x81, Buffer.from('admin@example.com')), // rfc822Name
    () => tlv(0x86, Buffer.from('https://example.com/x')), // URI
    () => tlv(0x88, Buffer.from('2a0304', 'hex')), // registeredID
    () => tlv(0xa4, name), // directoryName
    () => tlv(0xa4, Buffer.from('3003310130', 'hex')), // a directoryName jsrsasign cannot read
    () => tlv(0xa0, Buffer.concat([Buffer.from('06032a0304', 'hex'), tlv(0xa0, tlv(0x0c, Buffer.from('x')))])), // otherName
  ];
  const outcome = (f: () => unknown) => {
    try {
      return { ok: JSON.stringify(f()) };
    } catch (e) {
      return { err: (e as Error).message };
    }
  };
  let readHere = 0;
  for (let i = 0; i < 3000; i++) {
    const names = Array.from({ length: 1 + rand(12) }, () => kinds[i % 7 === 0 ? rand(kinds.length) : rand(5)]!());
    const hex = tlv(0x30, Buffer.concat(names)).toString('hex');
    const here = outcome(() => readSanNames(hex));
    const theirs = outcome(() => readSanNamesWithJsrsasign(js, hex, false));
    if ('ok' in here && here.ok === undefined) continue; // handed to jsrsasign (directoryName, otherName)
    readHere++;
    assert.equal(here, theirs, `names ${i}: ${hex.slice(0, 80)}`);
  }
  assert.ok(readHere > 1500, `${readHere} read here`);
  // a real certificate's SAN goes the fast way and agrees with openssl (first test above too)
  assert.ok(readSanNames('3006820461626364') !== undefined);
});

test('splitPem / encodePem round trip, CRLF and surrounding text', () => {
  const text = `# comment\r\n${rsaCA.certPem.replace(/\n/g, '\r\n')}junk\n${ecLeaf.certPem}`;
  const blocks = splitPem(text);
  assert.is(blocks.length, 2);
  assert.is(encodePem(blocks[0]!.label, blocks[0]!.der), rsaCA.certPem);
  assert.is(encodePem(blocks[1]!.label, blocks[1]!.der), ecLeaf.certPem);
  assert.equal(splitPem('no pem here'), []);
});

test('decodeBase64 and PEM bodies: the canonical fast path and the lenient path accept the same inputs', () => {
  const bytes = Buffer.from(Array.from({ length: 301 }, (_, i) => (i * 37) % 256));
  const b64 = bytes.toString('base64');
  for (const ok of [b64, b64.replace(/=+$/, ''), b64.replace(/(.{76})/g, '$1\n'), ` ${b64}\r\n`, '']) {
    assert.ok(decodeBase64(ok)?.equals(bytes.subarray(0, ok.trim() ? 301 : 0)), JSON.stringify(ok.slice(0, 20)));
  }
  // Buffer.from would skip the bad characters; these must be refused.
  for (const bad of [`${b64.slice(0, 8)}!${b64.slice(8)}`, `${b64}%`, 'Zm9v=YmFy', 'Zm9=vYmF', 'Zm9vYmE=Zm9vYmE=', '-_-_', 'Zm9-', 'Zm9_YmFy', '====']) {
    assert.is(decodeBase64(bad), undefined, bad);
  }
  // not canonical (the last character has bits that no byte uses), still base64: the same bytes as Buffer.from
  for (const odd of ['QR==', 'QUK=', 'Zm9vYmFy', 'Zm9vYg==']) assert.ok(decodeBase64(odd)?.equals(Buffer.from(odd, 'base64')), odd);
  // PEM: 64-column (fast), 76-column and CRLF (lenient) bodies give the same DER; a stray '!' is refused.
  const pem = encodePem('CERTIFICATE', bytes);
  const body = b64.replace(/(.{76})/g, '$1\n');
  for (const text of [pem, pem.replace(/\n/g, '\r\n'), `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`]) {
    assert.ok(splitPem(text)[0]!.der.equals(bytes));
  }
  assert.throws(() => splitPem(pem.replace(/\n([A-Za-z])/, '\n!$1')), /not valid base64/);
  assert.throws(() => splitPem(pem.replace(/=+\n/, '\n')), /not valid base64/);
  // Every layout gives what the plain rule gives (whitespace aside, padded standard base64 or an
  // error), whichever path reads it: lengths around the 64-column and quad edges, odd layouts.
  const plainRule = (body: string): Buffer | undefined => {
    const b = body.replace(/\s+/g, '');
    return /^[A-Za-z0-9+/]*={0,2}$/.test(b) && b.length % 4 === 0 && b.length > 0 ? Buffer.from(b, 'base64') : undefined;
  };
  const wrap = (b: string, w: number, eol = '\n') => b.replace(new RegExp(`(.{${w}})`, 'g'), `$1${eol}`).replace(/\n?$/, eol);
  for (const len of [1, 2, 3, 46, 47, 48, 49, 95, 96, 97, 300]) {
    const b = Buffer.from(Array.from({ length: len }, (_, i) => (i * 89 + len) % 256)).toString('base64');
    const layouts = [wrap(b, 64), wrap(b, 64) + '\n', wrap(b, 76), wrap(b, 64, '\r\n'), wrap(b, 64).replace(/\n/g, ' \n'), wrap(b, 64).slice(0, -1),
      wrap(b.replace(/=+$/, ''), 64), wrap(b.replace(/A/g, '-'), 64), wrap(b.slice(0, 5) + '_' + b.slice(6), 64), wrap(b.slice(0, 3) + '=' + b.slice(4), 64),
      wrap(b, 63), wrap(b, 65), wrap(b, 64).replace('\n', '\n\n')];
    for (const body of layouts) {
      const text = `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
      const want = plainRule(body);
      let got: Buffer | undefined;
      try {
        got = splitPem(text)[0]?.der;
      } catch {
        got = undefined;
      }
      assert.ok(want === undefined ? got === undefined : got?.equals(want), `${len} bytes as ${JSON.stringify(body.slice(0, 70))}`);
    }
  }
});

test('leaksKey (test helper) detects a PEM key, its base64 and its private scalar, not its public key', async () => {
  const { createPublicKey, createPrivateKey } = await import('node:crypto');
  for (const k of [rsaCA.keyPem, ecLeaf.keyPem]) {
    assert.ok(leaksKey(`x ${k} y`, k));
    assert.ok(leaksKey(Buffer.from(k).toString('base64'), k));
    assert.ok(leaksKey(JSON.stringify(createPrivateKey(k).export({ format: 'jwk' })), k));
    assert.not.ok(leaksKey(createPublicKey(k).export({ type: 'spki', format: 'pem' }).toString(), k));
    assert.not.ok(leaksKey('RSA PRIVATE KEY', k));
  }
});

test.run();
