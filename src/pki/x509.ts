// X.509 parsing: jsrsasign reads the fields, node:crypto checks the DER, reads the validity,
// fingerprints and verifies. The fast paths of fast/ (behind its one switch) stand in for some
// of them. Pure, no I/O.

import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import jsrsasign from './fast/jsrsasign.js';
import { rsaKeyMatchesCertificate, rsaPublicKeyBits } from './fast/key-match.js';
import { readSanNames, type SanFields } from './fast/san.js';
import { readWithSharedReader, type ReaderState } from './fast/shared-reader.js';
import { fastOr } from './fast/switch.js';
import { looksLikePem, splitPem } from './pem.js';
import { describeKey, keyInfoOf, parsePrivateKey } from './keys.js';
import type { CertInfo, KeyInfo } from './types.js';

const { X509, ASN1HEX } = jsrsasign;
type JsX509 = InstanceType<typeof X509>;

/** The parsed objects behind a CertInfo, for verification and re-issuing. Not part of CertInfo itself. */
export interface CertHandles {
  /** the certificate's own jsrsasign reader, made on first use by jsReader() */
  js?: JsX509;
  der: Buffer;
  node: X509Certificate;
  /** DER of the subject / issuer Name, as hex (exact bytes, for name chaining and copying) */
  subjectHex: string;
  issuerHex: string;
  /** memo of the public key object (node builds a new KeyObject on every `.publicKey` access) */
  publicKey?: KeyObject;
  /** memo of signature checks of this certificate, by the issuer candidate's handles */
  verified?: Map<CertHandles, boolean>;
  /** memo of private key matches, by the key's PEM (compared by content: ca.key and its copies) */
  keyMatches?: Array<{ pem: string | Buffer; ok: boolean }>;
}

function publicKeyOf(h: CertHandles): KeyObject {
  return (h.publicKey ??= h.node.publicKey);
}

/** A jsrsasign reader of one certificate (DER as hex), of its own. */
function newReader(hex: string): JsX509 {
  const js = new X509();
  js.readCertHex(hex);
  return withExtensionList(js);
}

/** A jsrsasign reader of this certificate alone (for re-issuing; parsing may share one). */
function jsReader(h: CertHandles): JsX509 {
  return (h.js ??= newReader(h.der.toString('hex')));
}

/** A reader loaded with `hex`, for parsing: the thread's shared one on the fast path. */
function readerFor(hex: string): JsX509 {
  return fastOr('sharedReader', () => withExtensionList(readWithSharedReader(hex)), () => newReader(hex));
}

/** jsrsasign leaves a version 1 certificate (no extensions) without an extension list, and its
 * getExtInfo then throws: give it the empty list it has. */
function withExtensionList(js: JsX509): JsX509 {
  const state = js as unknown as ReaderState;
  state.aExtInfo ??= [];
  return js;
}

const handles = new WeakMap<CertInfo, CertHandles>();

export function certHandles(info: CertInfo): CertHandles {
  let h = handles.get(info);
  if (!h) {
    // A CertInfo built elsewhere (e.g. by JSON) - re-parse from its DER.
    h = parseDer(Buffer.from(info.der)).handles;
    handles.set(info, h);
  }
  return h;
}

/** jsrsasign signature algorithm names -> OpenSSL's long names, as `openssl x509 -text` prints them. */
const SIG_ALG_NAMES: Record<string, string> = {
  SHA1withRSA: 'sha1WithRSAEncryption',
  SHA224withRSA: 'sha224WithRSAEncryption',
  SHA256withRSA: 'sha256WithRSAEncryption',
  SHA384withRSA: 'sha384WithRSAEncryption',
  SHA512withRSA: 'sha512WithRSAEncryption',
  SHA256withRSAandMGF1: 'rsassaPss',
  SHA384withRSAandMGF1: 'rsassaPss',
  SHA512withRSAandMGF1: 'rsassaPss',
  SHA1withECDSA: 'ecdsa-with-SHA1',
  SHA224withECDSA: 'ecdsa-with-SHA224',
  SHA256withECDSA: 'ecdsa-with-SHA256',
  SHA384withECDSA: 'ecdsa-with-SHA384',
  SHA512withECDSA: 'ecdsa-with-SHA512',
  Ed25519: 'ED25519',
};

/** SHA-256 of the DER as upper-case colon-separated hex (upstream e2e fingerprint format). */
/**
 * A copy of `s` that does not keep its source alive. V8 makes a substring a view into the whole
 * string: jsrsasign's serial is a slice of the certificate's hex, which a check's rows (kept for
 * every vCluster of a fleet) would otherwise hold on to, a few KiB per certificate.
 */
function detached(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

export function sha256Fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

function certificateDer(input: string | Buffer): Buffer {
  if (Buffer.isBuffer(input) && !looksLikePem(input)) {
    if (input.length === 0) throw new Error('not a PEM certificate (empty)');
    if (input[0] !== 0x30) {
      const text = /^[\x09\x0a\x0d\x20-\x7e]*$/.test(input.subarray(0, 256).toString('latin1'));
      throw new Error(text ? 'not a PEM certificate' : 'malformed certificate: not PEM and not DER');
    }
    return input;
  }
  if (!looksLikePem(input)) throw new Error(String(input).trim() === '' ? 'not a PEM certificate (empty)' : 'not a PEM certificate');
  const blocks = splitPem(input);
  const cert = blocks.find((b) => b.label === 'CERTIFICATE');
  if (!cert) {
    const labels = [...new Set(blocks.map((b) => b.label))].join(', ');
    throw new Error(`not a PEM certificate (found ${labels || 'no PEM block'})`);
  }
  return cert.der;
}

interface ParsedDer {
  info: CertInfo;
  handles: CertHandles;
}

function parseDer(der: Buffer): ParsedDer {
  let node: X509Certificate;
  try {
    node = new X509Certificate(der);
  } catch {
    throw new Error('malformed certificate: the DER does not parse as X.509');
  }
  let js: JsX509;
  try {
    js = readerFor(der.toString('hex'));
  } catch (e) {
    throw new Error(`malformed certificate: ${(e as Error).message}`);
  }
  try {
    return buildInfo(der, js, node);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith('malformed certificate') ? msg : `malformed certificate: ${msg}`);
  }
}

/**
 * What jsrsasign reads out of a Name or an extension value, by its DER (hex). PKIs of one profile
 * repeat these bytes: every leaf names the same issuer and has the same key usages, and across a
 * fleet every apiserver.crt has the subject CN=kube-apiserver. Reading them once per process keeps
 * a fleet check from parsing the same bytes thousands of times. Values are never handed out
 * themselves (callers get copies), and each memo is bounded.
 */
class ParseMemo<V> {
  private readonly values = new Map<string, V>();

  constructor(private readonly limit = 4096) {}

  get(key: string, read: () => V): V {
    let v = this.values.get(key);
    if (v === undefined) {
      v = read(); // a throw is not remembered: the same bytes throw again
      if (this.values.size >= this.limit) this.values.clear();
      this.values.set(key, v);
    }
    return v;
  }
}

interface NameFields {
  str: string;
  cn: string;
  o: readonly string[];
}

const nameMemo = new ParseMemo<NameFields>();
const bcMemo = new ParseMemo<{ cA: boolean }>();
const kuMemo = new ParseMemo<readonly string[]>();
const ekuMemo = new ParseMemo<readonly string[]>();
const sanMemo = new ParseMemo<SanFields>();
/** by the signature AlgorithmIdentifier (one or two per fleet) */
const sigAlgMemo = new ParseMemo<string>();

function readName(js: JsX509, hex: string): NameFields {
  return nameMemo.get(hex, () => {
    const n = js.getX500Name(hex) as unknown as { str: string; array: Array<Array<{ type: string; value: string }>> };
    const attrs = (type: string) => n.array.flat().filter((a) => a.type === type).map((a) => a.value);
    const cns = attrs('CN');
    return { str: n.str, cn: cns.length ? cns[cns.length - 1]! : '', o: attrs('O') };
  });
}

/** One extension's value read through `memo`: undefined when the certificate does not have it. */
function readExt<V>(js: JsX509, name: string, memo: ParseMemo<V>, read: (valueHex: string, critical: boolean) => V): V | undefined {
  const e = js.getExtInfo(name);
  if (!e) return undefined;
  const hex = ASN1HEX.getTLV((js as unknown as { hex: string }).hex, e.vidx);
  const critical = e.critical === true;
  return memo.get(`${critical ? 'c' : 'n'}${hex}`, () => read(hex, critical));
}

/** The DNS names and IPs of a SubjectAltName value (hex), read by jsrsasign's getExtSubjectAltName. */
export function readSanNamesWithJsrsasign(js: JsX509, hex: string, crit: boolean): SanFields {
  const names = (js.getExtSubjectAltName(hex, crit) as unknown as { array?: Array<Record<string, unknown>> }).array ?? [];
  return {
    dns: names.filter((g) => typeof g.dns === 'string').map((g) => g.dns as string),
    ip: names.filter((g) => typeof g.ip === 'string').map((g) => g.ip as string),
  };
}

function buildInfo(der: Buffer, js: JsX509, node: X509Certificate): ParsedDer {
  const subjectHex = js.getSubjectHex();
  const issuerHex = js.getIssuerHex();
  const subject = readName(js, subjectHex);
  const issuer = readName(js, issuerHex);
  const bc = readExt(js, 'basicConstraints', bcMemo, (hex, crit) => ({
    cA: (js.getExtBasicConstraints(hex, crit) as { cA?: boolean } | undefined)?.cA === true,
  }));
  const ku = readExt(js, 'keyUsage', kuMemo, (hex, crit) => (js.getExtKeyUsage(hex, crit) as unknown as { names?: string[] }).names ?? []);
  const eku = readExt(js, 'extKeyUsage', ekuMemo, (hex, crit) =>
    ((js.getExtExtKeyUsage(hex, crit) as unknown as { array?: unknown[] }).array ?? []).map(String),
  );
  const san = readExt(js, 'subjectAltName', sanMemo, (hex, crit) => fastOr('san', () => readSanNames(hex), () => readSanNamesWithJsrsasign(js, hex, crit)));
  const skid = js.getExtInfo('subjectKeyIdentifier')
    ? (js.getExtSubjectKeyIdentifier() as unknown as { kid?: { hex?: string } })
    : undefined;
  // key identifiers are one CA's or one certificate's own: nothing to share across a fleet
  const akid = js.getExtInfo('authorityKeyIdentifier')
    ? (js.getExtAuthorityKeyIdentifier() as unknown as { kid?: { hex?: string } })
    : undefined;

  const sigAlgHex = ASN1HEX.getTLVbyListEx((js as unknown as { hex: string }).hex, 0, [0, 1]);
  const sigName = sigAlgHex ? sigAlgMemo.get(sigAlgHex, () => js.getSignatureAlgorithmField()) : js.getSignatureAlgorithmField();
  const info: CertInfo = {
    subjectCN: subject.cn,
    subjectO: [...subject.o],
    subject: subject.str,
    issuerCN: issuer.cn,
    issuer: issuer.str,
    serialHex: detached(js.getSerialNumberHex().toLowerCase()),
    notBefore: node.validFromDate,
    notAfter: node.validToDate,
    isCA: bc?.cA === true,
    hasBasicConstraints: bc !== undefined,
    keyUsage: [...(ku ?? [])],
    extKeyUsage: [...(eku ?? [])],
    dnsNames: [...(san?.dns ?? [])],
    ipAddresses: [...(san?.ip ?? [])],
    subjectKeyId: skid?.kid?.hex?.toLowerCase(),
    authorityKeyId: akid?.kid?.hex?.toLowerCase(),
    signatureAlgorithm: SIG_ALG_NAMES[sigName] ?? sigName,
    publicKey: undefined as unknown as KeyInfo,
    sha256: node.fingerprint256, // what sha256Fingerprint(der) gives, formatted by node in C++
    der,
  };
  if (info.subjectKeyId === undefined) delete info.subjectKeyId;
  if (info.authorityKeyId === undefined) delete info.authorityKeyId;
  const h: CertHandles = { der, node, subjectHex, issuerHex };
  // RSA sizes come from the bytes; other keys (and odd RSA keys) from node's KeyObject
  info.publicKey = fastOr<KeyInfo>('rsaBits', () => {
    const bits = rsaPublicKeyBits(der);
    return bits === undefined ? undefined : { algorithm: 'RSA', bits };
  }, () => keyInfoOf(publicKeyOf(h)));
  handles.set(info, h);
  return { info, handles: h };
}

/**
 * Parse one certificate: the first CERTIFICATE block of a PEM text, or DER bytes.
 * Errors are one-line messages: 'not a PEM certificate', 'malformed certificate: ...'.
 */
export function parseCertificate(input: string | Buffer, parse?: (der: Buffer) => CertInfo): CertInfo {
  const der = certificateDer(input);
  return parse ? parse(der) : parseDer(der).info;
}

/** Parse DER bytes (e.g. the body of a PEM block); errors start with 'malformed certificate'. */
export function parseCertificateDer(der: Buffer): CertInfo {
  return parseDer(der).info;
}

/** A copy of a CertInfo that shares its parsed handles (same certificate, distinct object). */
function cloneInfo(p: ParsedDer): CertInfo {
  const src = p.info;
  const info: CertInfo = {
    ...src,
    subjectO: [...src.subjectO],
    notBefore: new Date(src.notBefore.getTime()),
    notAfter: new Date(src.notAfter.getTime()),
    keyUsage: [...src.keyUsage],
    extKeyUsage: [...src.extKeyUsage],
    dnsNames: [...src.dnsNames],
    ipAddresses: [...src.ipAddresses],
    publicKey: { ...src.publicKey },
    der: Buffer.from(src.der),
  };
  handles.set(info, p.handles);
  return info;
}

/**
 * A parser that reads each distinct certificate (by DER) once: for the copies inside one PKI
 * (ca.crt, server-ca.crt, client-ca.crt, the kubeconfigs' certificate-authority-data). Each call
 * still returns its own CertInfo object. Meant to live for one PKI only (e.g. one PkiModel).
 */
export function certParser(): (der: Buffer) => CertInfo {
  // A PKI has some twenty distinct certificates: a list compared byte for byte (length first)
  // costs less than building and hashing a string key per lookup.
  const seen: Array<{ der: Buffer; parsed: ParsedDer | Error }> = [];
  return (der: Buffer) => {
    const p = seen.find((s) => s.der.length === der.length && s.der.equals(der))?.parsed;
    if (p === undefined) {
      try {
        const parsed = parseDer(der);
        seen.push({ der, parsed });
        return parsed.info;
      } catch (e) {
        seen.push({ der, parsed: e as Error });
        throw e;
      }
    }
    if (p instanceof Error) throw new Error(p.message);
    return cloneInfo(p);
  };
}

/** Parse every CERTIFICATE block of a PEM text (a bundle gives several). Throws when there is none. */
export function parseCertificates(input: string | Buffer): CertInfo[] {
  if (!looksLikePem(input)) return [parseCertificate(input)];
  const blocks = splitPem(input).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) return [parseCertificate(input)]; // throws the right message
  return blocks.map((b) => parseDer(b.der).info);
}

/** True when the certificate's issuer name equals the candidate's subject name (exact DER). */
export function namesChain(child: CertInfo, parent: CertInfo): boolean {
  return certHandles(child).issuerHex === certHandles(parent).subjectHex;
}

/** Does `parent`'s public key verify `child`'s signature? Never throws. */
export function signatureVerifies(child: CertInfo, parent: CertInfo): boolean {
  const ch = certHandles(child);
  const ph = certHandles(parent);
  return memoCheck((ch.verified ??= new Map()), ph, () => ch.node.verify(publicKeyOf(ph)));
}

/** A check that never throws: a throw means false. */
function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** safely(check), answered once per key. */
function memoCheck<K>(memo: Map<K, boolean>, key: K, check: () => boolean): boolean {
  let ok = memo.get(key);
  if (ok === undefined) {
    ok = safely(check);
    memo.set(key, ok);
  }
  return ok;
}

/** child was issued by parent: names chain and the signature verifies. */
export function isIssuedBy(child: CertInfo, parent: CertInfo): boolean {
  return namesChain(child, parent) && signatureVerifies(child, parent);
}

export function isSelfSigned(cert: CertInfo): boolean {
  return isIssuedBy(cert, cert);
}

/** Does the PEM private key belong to this certificate? Never throws, never echoes the key. */
export function certMatchesKey(cert: CertInfo, privateKeyPem: string | Buffer): boolean {
  const h = certHandles(cert);
  const seen = (h.keyMatches ??= []);
  const same = (a: string | Buffer) =>
    typeof a === 'string' || typeof privateKeyPem === 'string' ? String(a) === String(privateKeyPem) : a.equals(privateKeyPem);
  const hit = seen.find((m) => same(m.pem));
  if (hit) return hit.ok;
  const ok = safely(() => fastOr('rsaKeyMatch', () => rsaKeyMatchesCertificate(h.der, privateKeyPem), () => h.node.checkPrivateKey(parsePrivateKey(privateKeyPem))));
  seen.push({ pem: privateKeyPem, ok });
  return ok;
}

/** 'RSA-2048', 'ECDSA-P256' */
export function keyTypeOf(cert: CertInfo): string {
  return describeKey(cert.publicKey);
}

/** The DER (hex) of one extension's value (inside the OCTET STRING), and its criticality; undefined if absent. */
export function extensionValueHex(cert: CertInfo, oidOrName: string): { hex: string; critical: boolean } | undefined {
  const js = jsReader(certHandles(cert));
  const e = js.getExtInfo(oidOrName);
  if (!e) return undefined;
  const hex = (js as unknown as { hex: string }).hex;
  return { hex: ASN1HEX.getTLV(hex, e.vidx), critical: e.critical === true };
}

/** OIDs of every extension in the certificate, in order. */
export function extensionOids(cert: CertInfo): string[] {
  const js = jsReader(certHandles(cert));
  const list = (js as unknown as { aExtInfo?: Array<{ oid: string }> }).aExtInfo ?? [];
  return list.map((e) => e.oid);
}
