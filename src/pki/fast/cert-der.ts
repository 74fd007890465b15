// An X.509 certificate read straight from its DER: where each field lies, its validity as
// dates. Pure, no I/O.
//
// Replaces: node:crypto's `new X509Certificate(der)` (OpenSSL's decoder, an object per
//   certificate) and jsrsasign's readCertHex over the hex of the whole certificate, which a
//   fleet check does for every distinct certificate. x509.ts decodes names and extension values
//   from the bytes found here with jsrsasign's own functions, as before, and makes the
//   X509Certificate only when something asks for it.
// Fallback: undefined for anything outside the profile CAs write: DER lengths in their shortest
//   form with nothing left over anywhere, version 1 or 3, a serial in its shortest form,
//   AlgorithmIdentifiers with no or NULL parameters (an OID for a key's curve), names of
//   UTF8/Printable/T61/IA5 strings (UTF-8 valid), UTCTime or GeneralizedTime to the
//   second in Z, no unique IDs, extensions with distinct OIDs, `critical` only when TRUE and
//   one TLV inside each value, the outer signature algorithm byte for byte the inner one, a
//   signature with no unused bits. x509.ts then reads the certificate as it always did (and
//   gives the error it always gave); likewise for everything when the fast paths are off
//   (switch.ts).
// Oracle test: test/pki/cert-der.test.ts (certificates of every shape openssl and the test PKI
//   generator make, thousands of mutated ones: what is read here is node:crypto's and
//   jsrsasign's reading; signatures checked here are X509Certificate.verify's answers).

import { children, readTlv, soleChild, type Tlv } from './der.js';

/** [start, end) of some bytes of the certificate. */
export interface Span {
  start: number;
  end: number;
}

export interface CertExtension {
  /** dotted, e.g. '2.5.29.19' */
  oid: string;
  critical: boolean;
  /** the one TLV inside the extension's OCTET STRING */
  value: Span;
}

export interface CertDer {
  /** the whole TBSCertificate TLV: the signed bytes */
  tbs: Span;
  version: 1 | 3;
  /** content bytes of the serial INTEGER */
  serial: Span;
  /** the signature AlgorithmIdentifier TLV (inner and outer are the same bytes) */
  signatureAlgorithm: Span;
  /** content bytes of its OID */
  signatureOid: Span;
  issuer: Span;
  notBefore: Date;
  notAfter: Date;
  subject: Span;
  /** the SubjectPublicKeyInfo TLV */
  spki: Span;
  spkiAlgorithmOid: string;
  extensions: CertExtension[];
  /** the signature bytes (after the BIT STRING's unused-bits byte) */
  signature: Span;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;

/** The certificate's fields, or undefined when it is outside the profile above. */
export function readCertDer(der: Buffer): CertDer | undefined {
  const top = readTlv(der, 0, der.length);
  if (!top || top.tag !== SEQUENCE || top.end !== der.length) return undefined;
  const outer = children(der, top.start, top.end);
  if (!outer || outer.length !== 3) return undefined;
  const [tbs, outerAlg, sig] = outer as [Tlv, Tlv, Tlv];
  if (tbs.tag !== SEQUENCE || sig.tag !== 0x03 || sig.end === sig.start || der[sig.start] !== 0) return undefined;
  const f = children(der, tbs.start, tbs.end);
  if (!f) return undefined;
  let i = 0;
  let version: 1 | 3 = 1;
  if (f[0]?.tag === 0xa0) {
    const v = soleChild(der, f[0], 0x02);
    if (!v || v.end - v.start !== 1 || der[v.start] !== 2) return undefined;
    version = 3;
    i = 1;
  }
  const [serial, alg, issuer, validity, subject, spki, ...rest] = f.slice(i);
  if (!spki || !isInteger(der, serial!) || !sameBytes(der, alg!, outerAlg)) return undefined;
  const signatureOid = algorithmOid(der, alg!, false);
  if (!signatureOid || !isName(der, issuer!) || !isName(der, subject!) || validity!.tag !== SEQUENCE) return undefined;
  const times = children(der, validity!.start, validity!.end);
  const notBefore = times?.length === 2 ? readTime(der, times[0]!) : undefined;
  const notAfter = times?.length === 2 ? readTime(der, times[1]!) : undefined;
  if (!notBefore || !notAfter) return undefined;
  const spkiAlgorithmOid = spkiAlgorithm(der, spki);
  if (spkiAlgorithmOid === undefined) return undefined;
  let extensions: CertExtension[] = [];
  if (rest.length > 0) {
    // unique IDs ([1], [2]) and anything else after the key: not this profile
    if (version !== 3 || rest.length !== 1 || rest[0]!.tag !== 0xa3) return undefined;
    const list = soleChild(der, rest[0]!, SEQUENCE);
    const read = list && readExtensions(der, list);
    if (!read) return undefined;
    extensions = read;
  }
  return {
    tbs: { start: tbs.head, end: tbs.end },
    version,
    serial: span(serial!),
    signatureAlgorithm: { start: alg!.head, end: alg!.end },
    signatureOid: span(signatureOid),
    issuer: { start: issuer!.head, end: issuer!.end },
    notBefore,
    notAfter,
    subject: { start: subject!.head, end: subject!.end },
    spki: { start: spki.head, end: spki.end },
    spkiAlgorithmOid,
    extensions,
    signature: { start: sig.start + 1, end: sig.end },
  };
}

function span(t: Tlv): Span {
  return { start: t.start, end: t.end };
}

function sameBytes(der: Buffer, a: Tlv, b: Tlv): boolean {
  return a.end - a.head === b.end - b.head && der.compare(der, b.head, b.end, a.head, a.end) === 0;
}

/** A DER INTEGER in its shortest form. */
function isInteger(der: Buffer, t: Tlv): boolean {
  if (t.tag !== 0x02 || t.end === t.start) return false;
  if (t.end - t.start === 1) return true;
  const a = der[t.start]!;
  const b = der[t.start + 1]! & 0x80;
  return !((a === 0 && b === 0) || (a === 0xff && b !== 0));
}

/** An OBJECT IDENTIFIER with every arc in its shortest form. */
function isOid(der: Buffer, t: Tlv): boolean {
  if (t.tag !== OID || t.end === t.start || der[t.end - 1]! & 0x80) return false;
  for (let p = t.start; p < t.end; p++) if (der[p] === 0x80 && (p === t.start || !(der[p - 1]! & 0x80))) return false;
  return true;
}

/** Dotted form of a valid OID, or undefined when an arc would not fit 32 bits. */
function dottedOid(der: Buffer, t: Tlv): string | undefined {
  const arcs: number[] = [];
  let v = 0;
  for (let p = t.start; p < t.end; p++) {
    v = v * 128 + (der[p]! & 0x7f);
    if (v > 0xffffffff) return undefined;
    if (!(der[p]! & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/** The OID of an AlgorithmIdentifier with no parameters or NULL (or a curve OID when `curve`). */
function algorithmOid(der: Buffer, t: Tlv, curve: boolean): Tlv | undefined {
  if (t.tag !== SEQUENCE) return undefined;
  const parts = children(der, t.start, t.end);
  if (!parts || parts.length < 1 || parts.length > 2 || !isOid(der, parts[0]!)) return undefined;
  const p = parts[1];
  if (p && !(p.tag === 0x05 && p.end === p.start) && !(curve && isOid(der, p))) return undefined;
  return parts[0];
}

/** SubjectPublicKeyInfo: its algorithm OID (dotted), the key a BIT STRING with no unused bits. */
function spkiAlgorithm(der: Buffer, t: Tlv): string | undefined {
  if (t.tag !== SEQUENCE) return undefined;
  const parts = children(der, t.start, t.end);
  if (!parts || parts.length !== 2) return undefined;
  const oid = algorithmOid(der, parts[0]!, true);
  const key = parts[1]!;
  if (!oid || key.tag !== 0x03 || key.end === key.start || der[key.start] !== 0) return undefined;
  return dottedOid(der, oid);
}

/** Directory string types OpenSSL and jsrsasign both read: UTF8, Printable, T61, IA5 (OpenSSL refuses a VisibleString in a Name). */
const NAME_STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A Name: RDNs of one or more (OID, string) pairs. */
function isName(der: Buffer, t: Tlv): boolean {
  if (t.tag !== SEQUENCE) return false;
  const rdns = children(der, t.start, t.end);
  if (!rdns) return false;
  for (const rdn of rdns) {
    const atvs = rdn.tag === SET ? children(der, rdn.start, rdn.end) : undefined;
    if (!atvs || atvs.length === 0) return false;
    for (const atv of atvs) {
      const pair = atv.tag === SEQUENCE ? children(der, atv.start, atv.end) : undefined;
      if (!pair || pair.length !== 2 || !isOid(der, pair[0]!)) return false;
      const s = pair[1]!;
      if (!NAME_STRING_TAGS.has(s.tag) || (s.tag === 0x0c && !isUtf8(der, s))) return false;
    }
  }
  return true;
}

function isUtf8(der: Buffer, t: Tlv): boolean {
  for (let p = t.start; p < t.end; p++) {
    if (der[p]! & 0x80) {
      try {
        utf8.decode(der.subarray(t.start, t.end));
        return true;
      } catch {
        return false;
      }
    }
  }
  return true;
}

/** UTCTime YYMMDDHHMMSSZ (RFC 5280: YY < 50 is 20YY) or GeneralizedTime YYYYMMDDHHMMSSZ, from 1950 on. */
function readTime(der: Buffer, t: Tlv): Date | undefined {
  const n = t.end - t.start;
  const yearDigits = t.tag === 0x17 && n === 13 ? 2 : t.tag === 0x18 && n === 15 ? 4 : 0;
  if (yearDigits === 0 || der[t.end - 1] !== 0x5a) return undefined; // 'Z'
  let p = t.start;
  const digits = (count: number): number => {
    let v = 0;
    for (let k = 0; k < count; k++, p++) {
      const d = der[p]! - 0x30;
      if (d < 0 || d > 9) return NaN;
      v = v * 10 + d;
    }
    return v;
  };
  let year = digits(yearDigits);
  if (yearDigits === 2) year += year < 50 ? 2000 : 1900;
  const month = digits(2);
  const day = digits(2);
  const hour = digits(2);
  const minute = digits(2);
  const second = digits(2);
  if (!(year >= 1950) || !(month >= 1 && month <= 12) || !(hour <= 23) || !(minute <= 59) || !(second <= 59)) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return day >= 1 && date.getUTCDate() === day ? date : undefined; // no 31 April
}

/** Extensions: distinct OIDs, `critical` only when TRUE, one TLV inside each OCTET STRING. */
function readExtensions(der: Buffer, list: Tlv): CertExtension[] | undefined {
  const items = children(der, list.start, list.end);
  if (!items || items.length === 0) return undefined;
  const out: CertExtension[] = [];
  for (const item of items) {
    const parts = item.tag === SEQUENCE ? children(der, item.start, item.end) : undefined;
    if (!parts || parts.length < 2 || parts.length > 3 || !isOid(der, parts[0]!)) return undefined;
    const critical = parts.length === 3;
    if (critical) {
      const b = parts[1]!;
      if (b.tag !== 0x01 || b.end - b.start !== 1 || der[b.start] !== 0xff) return undefined;
    }
    const octets = parts[parts.length - 1]!;
    const value = octets.tag === 0x04 ? readTlv(der, octets.start, octets.end) : undefined;
    const oid = dottedOid(der, parts[0]!);
    if (!value || value.end !== octets.end || !oid || out.some((e) => e.oid === oid)) return undefined;
    out.push({ oid, critical, value: { start: value.head, end: value.end } });
  }
  return out;
}
