// X.509 parsing: jsrsasign reads the fields, node:crypto checks the DER, reads the validity,
// fingerprints and verifies. The fast paths of fast/ (behind its one switch) stand in for some
// of them. Pure, no I/O.

import { createPublicKey, hash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readCertDer, type CertDer, type Span } from './fast/cert-der.js';
import jsrsasign from './fast/jsrsasign.js';
import { rsaKeyMatchesCertificate, rsaPublicKeyBits } from './fast/key-match.js';
import { readSanNames, type SanFields } from './fast/san.js';
import { readWithSharedReader, sharedReader, type ReaderState } from './fast/shared-reader.js';
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
  /** node's object for this certificate; read from the DER on first use when cert-der read it */
  readonly node: X509Certificate;
  /** DER of the subject / issuer Name, as hex (exact bytes, for name chaining and copying) */
  subjectHex: string;
  issuerHex: string;
  /** memo of the public key object (node builds a new KeyObject on every `.publicKey` access) */
  publicKey?: KeyObject;
  /** memo of signature checks of this certificate, by the issuer candidate's handles */
  verified?: Map<CertHandles, boolean>;
  /** memo of private key matches, by the key's PEM (compared by content: ca.key and its copies) */
  keyMatches?: Array<{ pem: string | Buffer; ok: boolean }>;
  /** where cert-der found what a signature check needs (absent when the libraries read it) */
  signed?: Signed;
}

interface Signed {
  tbs: Span;
  signature: Span;
  spki: Span;
  /** the digest and key type of the signature algorithm, when node:crypto.verify can check it */
  check?: SignatureCheck;
}

/** Handles whose X509Certificate is made when first asked for. */
class Handles implements CertHandles {
  js?: JsX509;
  publicKey?: KeyObject;
  verified?: Map<CertHandles, boolean>;
  keyMatches?: Array<{ pem: string | Buffer; ok: boolean }>;
  #node: X509Certificate | undefined;

  constructor(
    readonly der: Buffer,
    readonly subjectHex: string,
    readonly issuerHex: string,
    node: X509Certificate | undefined,
    readonly signed?: Signed,
  ) {
    this.#node = node;
  }

  get node(): X509Certificate {
    return (this.#node ??= new X509Certificate(this.der));
  }
}

/** The certificate's public key, made once per certificate (from its SPKI when cert-der read it). */
export function certPublicKey(cert: CertInfo): KeyObject {
  return publicKeyOf(certHandles(cert));
}

function publicKeyOf(h: CertHandles): KeyObject {
  return (h.publicKey ??= (h.signed && keyFromSpki(h.der, h.signed.spki)) || h.node.publicKey);
}

/** The key of a SubjectPublicKeyInfo; undefined when node cannot read it (node's X509Certificate then says why). */
function keyFromSpki(der: Buffer, spki: Span): KeyObject | undefined {
  try {
    return createPublicKey({ key: der.subarray(spki.start, spki.end), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
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
  const hex = hash('sha256', der, 'hex').toUpperCase();
  let out = hex.slice(0, 2);
  for (let i = 2; i < hex.length; i += 2) out += `:${hex.slice(i, i + 2)}`;
  return out;
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
  const cert = fastOr<CertDer | null>('certDer', () => readCertDer(der), () => null);
  return cert ? fromCertDer(der, cert) : withLibraries(der);
}

/** Today's reading: node:crypto checks the DER, jsrsasign's reader finds the fields. */
function withLibraries(der: Buffer): ParsedDer {
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
  const hex = (js as unknown as { hex: string }).hex;
  return malformedIfThrows(() =>
    buildInfo(der, js, new Handles(der, js.getSubjectHex(), js.getIssuerHex(), node), {
      ext(oid) {
        const e = js.getExtInfo(oid);
        return e && { hex: ASN1HEX.getTLV(hex, e.vidx), critical: e.critical === true };
      },
      signatureAlgorithm() {
        const sigAlgHex = ASN1HEX.getTLVbyListEx(hex, 0, [0, 1]);
        return sigAlgHex ? sigAlgMemo.get(sigAlgHex, () => js.getSignatureAlgorithmField()) : js.getSignatureAlgorithmField();
      },
      serialHex: () => detached(js.getSerialNumberHex().toLowerCase()),
      notBefore: () => node.validFromDate,
      notAfter: () => node.validToDate,
      sha256: () => node.fingerprint256, // what sha256Fingerprint(der) gives, formatted by node in C++
    }),
  );
}

/** From what cert-der found: no X509Certificate and no jsrsasign reader of the certificate. */
function fromCertDer(der: Buffer, cert: CertDer): ParsedDer {
  const hexOf = (s: Span) => der.toString('hex', s.start, s.end);
  // jsrsasign's decoders used here read only their arguments
  const js = fastOr('sharedReader', sharedReader, () => new X509());
  const sigAlgHex = hexOf(cert.signatureAlgorithm);
  const signed: Signed = { tbs: cert.tbs, signature: cert.signature, spki: cert.spki, check: SIGNATURE_CHECKS[hexOf(cert.signatureOid)] };
  return malformedIfThrows(() =>
    buildInfo(der, js, new Handles(der, hexOf(cert.subject), hexOf(cert.issuer), undefined, signed), {
      ext(oid) {
        const e = cert.extensions.find((x) => x.oid === oid);
        return e && { hex: hexOf(e.value), critical: e.critical };
      },
      signatureAlgorithm: () => sigAlgMemo.get(sigAlgHex, () => (js as unknown as AlgorithmNames).getAlgorithmIdentifierName(sigAlgHex)),
      serialHex: () => hexOf(cert.serial),
      notBefore: () => cert.notBefore,
      notAfter: () => cert.notAfter,
      sha256: () => sha256Fingerprint(der),
    }),
  );
}

type AlgorithmNames = { getAlgorithmIdentifierName(algorithmIdentifierHex: string): string };

function malformedIfThrows(build: () => ParsedDer): ParsedDer {
  try {
    return build();
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith('malformed certificate') ? msg : `malformed certificate: ${msg}`);
  }
}

/** What buildInfo asks of one certificate, in the order it asks (a malformed one fails at the same step either way). */
interface CertFields {
  /** an extension's value (hex of the TLV inside its OCTET STRING) and criticality, by OID */
  ext(oid: string): { hex: string; critical: boolean } | undefined;
  signatureAlgorithm(): string;
  serialHex(): string;
  notBefore(): Date;
  notAfter(): Date;
  sha256(): string;
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
function readExt<V>(c: CertFields, oid: string, memo: ParseMemo<V>, read: (valueHex: string, critical: boolean) => V): V | undefined {
  const e = c.ext(oid);
  return e && memo.get(`${e.critical ? 'c' : 'n'}${e.hex}`, () => read(e.hex, e.critical));
}

/** The DNS names and IPs of a SubjectAltName value (hex), read by jsrsasign's getExtSubjectAltName. */
export function readSanNamesWithJsrsasign(js: JsX509, hex: string, crit: boolean): SanFields {
  const names = (js.getExtSubjectAltName(hex, crit) as unknown as { array?: Array<Record<string, unknown>> }).array ?? [];
  return {
    dns: names.filter((g) => typeof g.dns === 'string').map((g) => g.dns as string),
    ip: names.filter((g) => typeof g.ip === 'string').map((g) => g.ip as string),
  };
}

/** Extensions read for a CertInfo (jsrsasign's getExtInfo takes these dotted OIDs as well). */
const EXT = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
};

function buildInfo(der: Buffer, js: JsX509, h: Handles, c: CertFields): ParsedDer {
  const subject = readName(js, h.subjectHex);
  const issuer = readName(js, h.issuerHex);
  const bc = readExt(c, EXT.basicConstraints, bcMemo, (hex, crit) => ({
    cA: (js.getExtBasicConstraints(hex, crit) as { cA?: boolean } | undefined)?.cA === true,
  }));
  const ku = readExt(c, EXT.keyUsage, kuMemo, (hex, crit) => (js.getExtKeyUsage(hex, crit) as unknown as { names?: string[] }).names ?? []);
  const eku = readExt(c, EXT.extKeyUsage, ekuMemo, (hex, crit) =>
    ((js.getExtExtKeyUsage(hex, crit) as unknown as { array?: unknown[] }).array ?? []).map(String),
  );
  const san = readExt(c, EXT.subjectAltName, sanMemo, (hex, crit) => fastOr('san', () => readSanNames(hex), () => readSanNamesWithJsrsasign(js, hex, crit)));
  // key identifiers are one CA's or one certificate's own: nothing to share across a fleet
  const skidExt = c.ext(EXT.subjectKeyIdentifier);
  const skid = skidExt && (js.getExtSubjectKeyIdentifier(skidExt.hex, skidExt.critical) as unknown as { kid?: { hex?: string } });
  const akidExt = c.ext(EXT.authorityKeyIdentifier);
  const akid = akidExt && (js.getExtAuthorityKeyIdentifier(akidExt.hex, akidExt.critical) as unknown as { kid?: { hex?: string } });
  const sigName = c.signatureAlgorithm();
  const info: CertInfo = {
    subjectCN: subject.cn,
    subjectO: [...subject.o],
    subject: subject.str,
    issuerCN: issuer.cn,
    issuer: issuer.str,
    serialHex: c.serialHex(),
    notBefore: c.notBefore(),
    notAfter: c.notAfter(),
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
    sha256: c.sha256(),
    der,
  };
  if (info.subjectKeyId === undefined) delete info.subjectKeyId;
  if (info.authorityKeyId === undefined) delete info.authorityKeyId;
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
  return memoCheck((ch.verified ??= new Map()), ph, () =>
    fastOr('certDer', () => verifyWithCrypto(ch, ph), () => ch.node.verify(publicKeyOf(ph))),
  );
}

interface SignatureCheck {
  digest: 'sha256' | 'sha384' | 'sha512';
  keyType: 'rsa' | 'ec';
}

/** Signature algorithms node:crypto.verify checks as X509Certificate.verify does, by the hex of their OID. */
const SIGNATURE_CHECKS: Record<string, SignatureCheck | undefined> = {
  '2a864886f70d01010b': { digest: 'sha256', keyType: 'rsa' }, // sha256WithRSAEncryption
  '2a864886f70d01010c': { digest: 'sha384', keyType: 'rsa' },
  '2a864886f70d01010d': { digest: 'sha512', keyType: 'rsa' },
  '2a8648ce3d040302': { digest: 'sha256', keyType: 'ec' }, // ecdsa-with-SHA256
  '2a8648ce3d040303': { digest: 'sha384', keyType: 'ec' },
  '2a8648ce3d040304': { digest: 'sha512', keyType: 'ec' },
};

/**
 * The signature of a certificate cert-der read, checked over its TBS bytes. OpenSSL's X509_verify
 * also refuses differing inner and outer algorithm identifiers and unused bits in the signature,
 * which cert-der does not let through, and a key of another type than the algorithm's, which is
 * left to it here (undefined), with PSS, EdDSA and any other algorithm.
 */
function verifyWithCrypto(child: CertHandles, parent: CertHandles): boolean | undefined {
  const check = child.signed?.check;
  if (!check) return undefined;
  const key = publicKeyOf(parent);
  if (key.asymmetricKeyType !== check.keyType) return undefined;
  const { der, signed } = child as CertHandles & { signed: Signed };
  return verify(check.digest, der.subarray(signed.tbs.start, signed.tbs.end), key, der.subarray(signed.signature.start, signed.signature.end));
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
