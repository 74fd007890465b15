// X.509 parsing: jsrsasign reads the fields, node:crypto checks the DER, fingerprints and verifies.
// Pure, no I/O.

import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import jsrsasign from './jsrsasign.js';
import { encodePem, looksLikePem, splitPem } from './pem.js';
import { describeKey, keyInfoOf, parsePrivateKey } from './keys.js';
import type { CertInfo, KeyInfo } from './types.js';

const { X509, ASN1HEX } = jsrsasign;
type JsX509 = InstanceType<typeof X509>;


/** The parsed objects behind a CertInfo, for verification and re-issuing. Not part of CertInfo itself. */
export interface CertHandles {
  js: JsX509;
  node: X509Certificate;
  /** DER of the subject / issuer Name, as hex (exact bytes, for name chaining and copying) */
  subjectHex: string;
  issuerHex: string;
  /** memo of the public key object (node builds a new KeyObject on every `.publicKey` access) */
  publicKey?: KeyObject;
  /** memo of signature checks of this certificate, by the issuer candidate's handles */
  verified?: Map<CertHandles, boolean>;
  /** memo of private key matches, by the key's PEM text */
  keyMatches?: Map<string, boolean>;
}

function publicKeyOf(h: CertHandles): KeyObject {
  return (h.publicKey ??= h.node.publicKey);
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

/** ASN.1 time (UTCTime 'YYMMDDHHMMSSZ' or GeneralizedTime 'YYYYMMDDHHMMSSZ') -> Date. */
export function parseAsn1Time(s: string): Date {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new Error(`malformed certificate: unsupported time "${s}"`);
  let year = Number(m[1]);
  if (m[1]!.length === 2) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** SHA-256 of the DER as upper-case colon-separated hex (upstream e2e fingerprint format). */
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
  const js = new X509();
  try {
    js.readCertHex(der.toString('hex'));
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

function buildInfo(der: Buffer, js: JsX509, node: X509Certificate): ParsedDer {
  const subject = js.getSubject() as unknown as { str: string; array: Array<Array<{ type: string; value: string }>> };
  const issuer = js.getIssuer() as unknown as { str: string; array: Array<Array<{ type: string; value: string }>> };
  const attrs = (n: typeof subject, type: string) => n.array.flat().filter((a) => a.type === type).map((a) => a.value);
  const lastOf = (xs: string[]) => (xs.length ? xs[xs.length - 1]! : '');

  const bcInfo = js.getExtInfo('basicConstraints');
  const bc = bcInfo ? (js.getExtBasicConstraints() as { cA?: boolean } | undefined) : undefined;
  const ku = js.getExtInfo('keyUsage') ? (js.getExtKeyUsage() as unknown as { names?: string[] }) : undefined;
  const eku = js.getExtInfo('extKeyUsage') ? (js.getExtExtKeyUsage() as unknown as { array?: string[] }) : undefined;
  const san = js.getExtInfo('subjectAltName')
    ? (js.getExtSubjectAltName() as unknown as { array?: Array<Record<string, unknown>> })
    : undefined;
  const skid = js.getExtInfo('subjectKeyIdentifier')
    ? (js.getExtSubjectKeyIdentifier() as unknown as { kid?: { hex?: string } })
    : undefined;
  const akid = js.getExtInfo('authorityKeyIdentifier')
    ? (js.getExtAuthorityKeyIdentifier() as unknown as { kid?: { hex?: string } })
    : undefined;

  const sigName = js.getSignatureAlgorithmField();
  const info: CertInfo = {
    subjectCN: lastOf(attrs(subject, 'CN')),
    subjectO: attrs(subject, 'O'),
    subject: subject.str,
    issuerCN: lastOf(attrs(issuer, 'CN')),
    issuer: issuer.str,
    serialHex: js.getSerialNumberHex().toLowerCase(),
    notBefore: parseAsn1Time(js.getNotBefore()),
    notAfter: parseAsn1Time(js.getNotAfter()),
    isCA: bc?.cA === true,
    hasBasicConstraints: bcInfo !== undefined,
    keyUsage: ku?.names ?? [],
    extKeyUsage: (eku?.array ?? []).map(String),
    dnsNames: (san?.array ?? []).filter((g) => typeof g.dns === 'string').map((g) => g.dns as string),
    ipAddresses: (san?.array ?? []).filter((g) => typeof g.ip === 'string').map((g) => g.ip as string),
    subjectKeyId: skid?.kid?.hex?.toLowerCase(),
    authorityKeyId: akid?.kid?.hex?.toLowerCase(),
    signatureAlgorithm: SIG_ALG_NAMES[sigName] ?? sigName,
    publicKey: undefined as unknown as KeyInfo,
    sha256: sha256Fingerprint(der),
    pem: encodePem('CERTIFICATE', der),
    der,
  };
  if (info.subjectKeyId === undefined) delete info.subjectKeyId;
  if (info.authorityKeyId === undefined) delete info.authorityKeyId;
  const h: CertHandles = { js, node, subjectHex: js.getSubjectHex(), issuerHex: js.getIssuerHex() };
  info.publicKey = keyInfoOf(publicKeyOf(h));
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
  const seen = new Map<string, ParsedDer | Error>();
  return (der: Buffer) => {
    const key = der.toString('latin1');
    let p = seen.get(key);
    if (p === undefined) {
      try {
        const parsed = parseDer(der);
        seen.set(key, parsed);
        return parsed.info;
      } catch (e) {
        seen.set(key, e as Error);
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

/** A check that never throws (a throw means false), answered once per key. */
function memoCheck<K>(memo: Map<K, boolean>, key: K, check: () => boolean): boolean {
  let ok = memo.get(key);
  if (ok === undefined) {
    try {
      ok = check();
    } catch {
      ok = false;
    }
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
  const key = typeof privateKeyPem === 'string' ? `s:${privateKeyPem}` : `b:${privateKeyPem.toString('latin1')}`;
  return memoCheck((h.keyMatches ??= new Map()), key, () => h.node.checkPrivateKey(parsePrivateKey(privateKeyPem)));
}

/** 'RSA-2048', 'ECDSA-P256' */
export function keyTypeOf(cert: CertInfo): string {
  return describeKey(cert.publicKey);
}

/** The DER (hex) of one extension's value (inside the OCTET STRING), and its criticality; undefined if absent. */
export function extensionValueHex(cert: CertInfo, oidOrName: string): { hex: string; critical: boolean } | undefined {
  const { js } = certHandles(cert);
  const e = js.getExtInfo(oidOrName);
  if (!e) return undefined;
  const hex = (js as unknown as { hex: string }).hex;
  return { hex: ASN1HEX.getTLV(hex, e.vidx), critical: e.critical === true };
}

/** OIDs of every extension in the certificate, in order. */
export function extensionOids(cert: CertInfo): string[] {
  const { js } = certHandles(cert);
  const list = (js as unknown as { aExtInfo?: Array<{ oid: string }> }).aExtInfo ?? [];
  return list.map((e) => e.oid);
}
