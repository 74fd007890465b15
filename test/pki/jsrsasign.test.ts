// src/pki/fast/jsrsasign.ts replaces three jsrsasign ASN.1 helpers with faster ones. They must answer
// exactly as jsrsasign's originals do: on every TLV and OID of real certificates (openssl-made),
// on random and malformed input, and for a whole X509.getParam() parse.

import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import jsrsasign, { fastGetVblen, fastHexToOidStr, fastOidHexToInt, originalGetVblen, originalHexToOidStr, originalOidHexToInt } from '../../src/pki/fast/jsrsasign.js';
import { fastPathsOn } from '../../src/pki/fast/switch.js';
import { CA_EXT, certBlocks, makeCert, type MadeCert } from './helpers.js';

const test = suite('pki/jsrsasign');

const { ASN1HEX, X509, KJUR } = jsrsasign as unknown as {
  ASN1HEX: { getVblen(s: string, i: number): number; hextooidstr(h: string): string; getChildIdx(s: string, i: number): number[] };
  X509: new () => { readCertHex(h: string): void; getParam(): unknown };
  KJUR: { asn1: { ASN1Util: { oidHexToInt(h: string): string; oidIntToHex(s: string): string }; x509: { OID: { name2oidList: Record<string, string> } } } };
};

/** Run `fn` with jsrsasign's own helpers in place, then put back what was installed. */
function withOriginals<T>(fn: () => T): T {
  const util = KJUR.asn1.ASN1Util;
  const installed = [ASN1HEX.getVblen, ASN1HEX.hextooidstr, util.oidHexToInt] as const;
  ASN1HEX.getVblen = originalGetVblen;
  ASN1HEX.hextooidstr = originalHexToOidStr;
  util.oidHexToInt = originalOidHexToInt;
  try {
    return fn();
  } finally {
    [ASN1HEX.getVblen, ASN1HEX.hextooidstr, util.oidHexToInt] = installed;
  }
}

const derHex = (pem: string) => Buffer.from(certBlocks(pem)[0]!.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('hex');

let certs: MadeCert[] = [];

test.before(async () => {
  const ca = await makeCert({ subj: '/CN=kubernetes', ext: CA_EXT, days: 3650 });
  // 3000 DNS names: a certificate over 64 KiB, so lengths take three bytes
  const many = Array.from({ length: 3000 }, (_, i) => `DNS:host-${String(i).padStart(4, '0')}.example.internal`).join(',');
  certs = [
    ca,
    await makeCert({ subj: '/O=system:masters/O=b/CN=admin', key: 'ec', issuer: ca, ext: ['extendedKeyUsage=clientAuth', 'subjectAltName=DNS:a,IP:10.0.0.1,IP:fd00::1,DNS:kubernetes.default.svc.cluster.local,DNS:vcluster.team-a.svc.cluster.local,DNS:localhost,DNS:vcluster-headless.team-a.svc'] }),
    await makeCert({ subj: '/CN=etcd-ca', key: 'ec384', ext: [...CA_EXT, 'certificatePolicies=1.2.3.4,2.25.329800735698586629295641978511506172918'] }),
    await makeCert({ subj: '/CN=big', issuer: ca, ext: [`subjectAltName=${many}`] }),
  ];
});

test('the installed helpers are the fast ones, or the originals with VCERTS_NO_FAST=1', () => {
  const on = fastPathsOn();
  assert.is(on, process.env.VCERTS_NO_FAST !== '1');
  assert.is(ASN1HEX.getVblen, on ? fastGetVblen : originalGetVblen);
  assert.is(KJUR.asn1.ASN1Util.oidHexToInt, on ? fastOidHexToInt : originalOidHexToInt);
  assert.is(ASN1HEX.hextooidstr, on ? fastHexToOidStr : originalHexToOidStr);
  assert.is.not(originalGetVblen, fastGetVblen);
});

test('getVblen agrees on every TLV of real certificates (1-, 2- and 3-byte lengths)', () => {
  let seen = 0;
  const lengthForms = new Set<string>();
  for (const c of certs) {
    const hex = derHex(c.certPem);
    const walk = (idx: number) => {
      seen++;
      lengthForms.add(hex.substring(idx + 2, idx + 4) >= '80' ? hex.substring(idx + 2, idx + 4) : 'short');
      assert.is(fastGetVblen(hex, idx), originalGetVblen(hex, idx), `TLV at ${idx}`);
      const tag = parseInt(hex.substring(idx, idx + 2), 16);
      if (tag & 0x20) for (const child of ASN1HEX.getChildIdx(hex, idx)) walk(child);
      // extension values: DER inside an OCTET STRING
      else if (tag === 0x04 && hex.substring(idx + 2, idx + 4) !== '00') {
        const inner = idx + (hex[idx + 2] === '8' ? 2 + 2 * (1 + Number(hex[idx + 3])) : 4);
        if (/^(30|03|04)/.test(hex.substring(inner, inner + 2))) walk(inner);
      }
    };
    walk(0);
  }
  assert.ok(seen > 150, `${seen} TLVs`);
  for (const form of ['short', '81', '82', '83']) assert.ok(lengthForms.has(form), `length form ${form} covered`);
});

test('getVblen agrees on made-up headers: every form, huge, truncated, upper case, malformed', () => {
  const cases: string[] = [];
  for (let b = 0; b < 256; b++) cases.push(`30${b.toString(16).padStart(2, '0')}00`);
  for (let n = 1; n <= 9; n++) {
    for (let k = 0; k < 40; k++) cases.push(`04${(0x80 + n).toString(16)}${randomBytes(n).toString('hex')}ff`);
    cases.push(`04${(0x80 + n).toString(16)}${'ff'.repeat(n)}`, `04${(0x80 + n).toString(16)}${'00'.repeat(n)}`);
    cases.push(`04${(0x80 + n).toString(16)}${randomBytes(n).toString('hex').toUpperCase()}`);
    cases.push(`04${(0x80 + n).toString(16)}${randomBytes(n).toString('hex').slice(0, n)}`); // truncated
  }
  cases.push('', '30', '3', '3080', '308a00', '30ff', '30zz', '3082zz01', '3082-1', '3081 1', '308g', '3082 fff');
  for (const hex of cases) {
    for (const idx of [0, 1, 2]) {
      assert.is(fastGetVblen(hex, idx), originalGetVblen(hex, idx), `getVblen(${JSON.stringify(hex)}, ${idx})`);
    }
  }
});

test('oidHexToInt and hextooidstr agree on every OID jsrsasign names, random OIDs, big arcs and malformed hex', () => {
  const util = KJUR.asn1.ASN1Util;
  const named = Object.values(KJUR.asn1.x509.OID.name2oidList);
  assert.ok(named.length > 100);
  const cases = named.map((oid) => util.oidIntToHex(oid));
  for (let i = 0; i < 2000; i++) cases.push(randomBytes(1 + (i % 24)).toString('hex'));
  cases.push(
    util.oidIntToHex('2.25.329800735698586629295641978511506172918'), // a UUID arc: 128 bits
    util.oidIntToHex('1.3.6.1.4.1.9007199254740991.9007199254740993'), // around 2^53
    util.oidIntToHex('1.2.70368744177663.70368744177664.70368744177665'), // around 2^46
    '2a864886f70d01', '2A864886F70D0101', '88', '8837', '2a8648', 'ffffffffffffffffff7f', '80808001',
    '', '2', '2a8', 'zz', '2a86zz', '2a 86', '-1',
  );
  for (const hex of cases) {
    assert.is(fastOidHexToInt(hex), originalOidHexToInt(hex), `oidHexToInt(${JSON.stringify(hex)})`);
    assert.is(fastHexToOidStr(hex), originalHexToOidStr(hex), `hextooidstr(${JSON.stringify(hex)})`);
  }
});

test('a whole X509.getParam() parse is the same with the original helpers', () => {
  for (const c of certs) {
    const hex = derHex(c.certPem);
    const parse = () => {
      const x = new X509();
      x.readCertHex(hex);
      return x.getParam();
    };
    const fast = parse();
    assert.equal(fast, withOriginals(parse));
  }
});

test.run();
