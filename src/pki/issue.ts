// Issuing certificates: new keys (node:crypto, async), TBSCertificate built with jsrsasign, signature by
// node:crypto (native and constant-time, unlike jsrsasign's BigInteger RSA), the final
// Certificate assembled by jsrsasign. Pure, no I/O.

import { createHash, createPrivateKey, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import jsrsasign from './fast/jsrsasign.js';
import { describeKey, keyInfoOf, normalizeCurve, parsePrivateKey } from './keys.js';
import { certHandles, certPublicKey, extensionOids, extensionValueHex, parseCertificate } from './x509.js';
import type { CertInfo, KeyInfo } from './types.js';

const { KJUR, ASN1HEX } = jsrsasign;

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
/** kubeadm backdates every certificate by this much (pkiutil: NotBefore = now - 5 min). */
export const BACKDATE_MS = 5 * MINUTE_MS;

// ---------------------------------------------------------------------------------------------
// Keys

export interface KeySpec {
  algorithm: 'RSA' | 'EC';
  bits?: number;
  curve?: string;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A freshly generated key pair. The private key PEM is reachable only through `privateKeyPem`;
 * console.log, util.inspect, JSON.stringify and String() show just the algorithm.
 */
export class KeyPair {
  readonly #privateKeyPem: string;
  #privateKey?: KeyObject;

  constructor(
    readonly algorithm: 'RSA' | 'EC',
    readonly bits: number | undefined,
    readonly curve: string | undefined,
    /** SubjectPublicKeyInfo PEM ('PUBLIC KEY') */
    readonly publicKeyPem: string,
    privateKeyPem: string,
  ) {
    this.#privateKeyPem = privateKeyPem;
  }

  /** PKCS#1 'RSA PRIVATE KEY' or SEC1 'EC PRIVATE KEY' PEM, as kubeadm writes keys. */
  get privateKeyPem(): string {
    return this.#privateKeyPem;
  }

  get privateKey(): KeyObject {
    return (this.#privateKey ??= createPrivateKey(this.#privateKeyPem));
  }

  describe(): string {
    return describeKey(this.algorithm === 'RSA' ? { algorithm: 'RSA', bits: this.bits } : { algorithm: 'EC', curve: this.curve });
  }

  toString(): string {
    return `[KeyPair ${this.describe()}]`;
  }

  toJSON(): Record<string, unknown> {
    return { algorithm: this.algorithm, bits: this.bits, curve: this.curve, publicKeyPem: this.publicKeyPem };
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/** The key spec of a certificate's public key (RSA bits or EC curve); throws for anything else. */
export function keySpecOf(k: CertInfo | KeyInfo | KeySpec): KeySpec {
  const info: KeyInfo = 'publicKey' in k ? k.publicKey : (k as KeyInfo);
  if (info.algorithm === 'RSA') {
    const bits = info.bits ?? 2048;
    if (bits < 2048) throw new Error(`refusing to generate an RSA key of ${bits} bits (minimum 2048)`);
    return { algorithm: 'RSA', bits };
  }
  if (info.algorithm === 'EC' || info.algorithm === 'ECDSA') {
    const curve = normalizeCurve(info.curve ?? 'prime256v1');
    if (!['prime256v1', 'secp384r1', 'secp521r1'].includes(curve)) throw new Error(`unsupported EC curve ${curve}`);
    return { algorithm: 'EC', curve };
  }
  throw new Error(`unsupported key algorithm ${info.algorithm} (RSA and ECDSA are supported)`);
}

function generateKeyPairAsync(type: 'rsa' | 'ec', options: object): Promise<{ publicKey: string; privateKey: string }> {
  return new Promise((resolve, reject) => {
    // The overloads of generateKeyPair do not accept a computed type; the options are PEM-encoded.
    (generateKeyPair as unknown as (t: string, o: object, cb: (e: Error | null, pub: string, priv: string) => void) => void)(
      type,
      options,
      (err, publicKey, privateKey) => (err ? reject(new Error(`key generation failed: ${err.message}`)) : resolve({ publicKey, privateKey })),
    );
  });
}

/**
 * A new key pair like the given certificate's (or spec): RSA -> PKCS#1 'RSA PRIVATE KEY',
 * EC -> SEC1 'EC PRIVATE KEY'. Uses node:crypto's asynchronous generateKeyPair (libuv thread pool),
 * so many calls run in parallel.
 */
export async function generateKeyLike(like: CertInfo | KeyInfo | KeySpec): Promise<KeyPair> {
  const spec = keySpecOf(like);
  if (spec.algorithm === 'RSA') {
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
      modulusLength: spec.bits,
      publicExponent: 0x10001,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    return new KeyPair('RSA', spec.bits, undefined, publicKey, privateKey);
  }
  const { publicKey, privateKey } = await generateKeyPairAsync('ec', {
    namedCurve: spec.curve,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
  });
  return new KeyPair('EC', undefined, spec.curve, publicKey, privateKey);
}

// ---------------------------------------------------------------------------------------------
// Certificate building blocks

/** Random serial in [1, 2^63-1), as kubeadm's pkiutil draws it; minimal DER INTEGER content hex. */
export function randomSerialHex(): string {
  const max = (1n << 63n) - 1n; // exclusive upper bound of the result
  for (;;) {
    const r = randomBytes(8).readBigUInt64BE() & ((1n << 63n) - 1n); // [0, 2^63)
    if (r >= max - 1n) continue; // keep [0, 2^63-2) so that r+1 is in [1, 2^63-1)
    let hex = (r + 1n).toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    if (parseInt(hex[0]!, 16) >= 8) hex = `00${hex}`; // never: r+1 < 2^63, but keep DER positive
    return hex;
  }
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). Seconds precision. */
export function asn1Time(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const y = d.getUTCFullYear();
  const body = iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return y >= 1950 && y < 2050 ? String(y).slice(2) + body : String(y).padStart(4, '0') + body;
}

/** Drop milliseconds: certificates carry seconds only; keep Dates comparable with parsed ones. */
export function truncateToSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** The contents of the subjectPublicKey BIT STRING of an SPKI (DER), without the unused-bits byte. */
function subjectPublicKeyBits(spkiDer: Buffer): Buffer {
  const hex = spkiDer.toString('hex');
  const bitString = ASN1HEX.getVbyList(hex, 0, [1], '03');
  if (!bitString) throw new Error('malformed public key');
  return Buffer.from(bitString.slice(2), 'hex');
}

/**
 * SubjectKeyIdentifier the way Go 1.25+ (vCluster builds with Go 1.26) computes it:
 * the first 160 bits of SHA-256 of the subjectPublicKey bits (RFC 7093 method 1).
 */
export function subjectKeyIdFor(publicKey: KeyObject | string): string {
  const der =
    typeof publicKey === 'string'
      ? Buffer.from(publicKey.replace(/-----[^-]+-----|\s+/g, ''), 'base64')
      : publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(subjectPublicKeyBits(der)).digest('hex').slice(0, 40);
}

interface SigAlg {
  /** jsrsasign / TBS AlgorithmIdentifier name */
  js: string;
  /** node:crypto digest */
  hash: string;
}

/** The signature algorithm that fits a CA key, as Go picks it: RSA -> SHA256withRSA, P-256 -> SHA256, P-384 -> SHA384, P-521 -> SHA512. */
export function signatureAlgorithmFor(caKey: KeyObject): SigAlg {
  const info = keyInfoOf(caKey);
  if (info.algorithm === 'RSA') return { js: 'SHA256withRSA', hash: 'sha256' };
  if (info.algorithm === 'EC') {
    if (info.curve === 'secp384r1') return { js: 'SHA384withECDSA', hash: 'sha384' };
    if (info.curve === 'secp521r1') return { js: 'SHA512withECDSA', hash: 'sha512' };
    if (info.curve === 'prime256v1') return { js: 'SHA256withECDSA', hash: 'sha256' };
  }
  throw new Error(`unsupported CA key type ${info.algorithm}${info.curve ? ` ${info.curve}` : ''} for signing`);
}

export type ExtParam = { extname: string; [k: string]: unknown };

export interface BuildParams {
  subjectHex: string;
  issuerHex: string;
  publicKeyPem: string;
  notBefore: Date;
  notAfter: Date;
  extensions: ExtParam[];
  signer: KeyObject;
}

/** Build the TBSCertificate with jsrsasign, sign it with node:crypto, assemble with jsrsasign. */
export function buildCertificate(p: BuildParams): string {
  const alg = signatureAlgorithmFor(p.signer);
  const C = KJUR.asn1.x509;
  const tbs = new C.TBSCertificate({
    version: 3,
    serial: { hex: randomSerialHex() },
    sigalg: alg.js,
    issuer: { hex: p.issuerHex } as never,
    notbefore: asn1Time(p.notBefore),
    notafter: asn1Time(p.notAfter),
    subject: { hex: p.subjectHex } as never,
    sbjpubkey: p.publicKeyPem,
    ext: p.extensions,
  });
  const tbsHex = tbs.getEncodedHex();
  const signature = sign(alg.hash, Buffer.from(tbsHex, 'hex'), p.signer);
  const cert = new C.Certificate({ tbsobj: tbs, sigalg: alg.js, sighex: signature.toString('hex') } as never);
  return cert.getPEM().replace(/\r\n/g, '\n');
}

function rawExtension(oid: string, v: { hex: string; critical: boolean }): ExtParam {
  return { extname: oid, extn: v.hex, critical: v.critical };
}

const OID = {
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
} as const;

// ---------------------------------------------------------------------------------------------
// Leaf re-issue

export interface ReissueOptions {
  caCertPem: string | Buffer;
  caKeyPem: string | Buffer;
  newKey: KeyPair;
  now: Date;
  validityMs: number;
  /** NotBefore to use instead of now - 5 min (kubeconfig client certs: the CA's NotBefore) */
  notBefore?: Date;
}

/** Parsed CA ready to sign: its certificate and private key object (parse once, sign many). */
export interface Signer {
  cert: CertInfo;
  key: KeyObject;
}

export function loadSigner(caCertPem: string | Buffer | CertInfo, caKeyPem: string | Buffer, what = 'CA'): Signer {
  const cert = typeof caCertPem === 'object' && 'der' in caCertPem ? caCertPem : parseCertificate(caCertPem);
  const key = parsePrivateKey(caKeyPem, `${what} private key`);
  if (!certHandles(cert).node.checkPrivateKey(key)) throw new Error(`${what} private key does not match its certificate`);
  if (!cert.isCA) throw new Error(`${what} certificate is not a CA (BasicConstraints CA:TRUE missing)`);
  return { cert, key };
}

/**
 * Re-issue a leaf from the certificate it replaces. Copied: subject (exact DER), SubjectAltName (all
 * names, in order), KeyUsage, ExtKeyUsage and any other extension verbatim, in the old order;
 * BasicConstraints CA:FALSE (added if absent); a new SubjectKeyIdentifier only when the old cert had one. New: serial, validity (NotBefore = now - 5 min
 * or opts.notBefore; NotAfter = now + validity), AuthorityKeyIdentifier = the CA's SKID, public key.
 */
export function reissueLeafWith(old: CertInfo, signer: Signer, newKey: KeyPair, now: Date, validityMs: number, notBefore?: Date): string {
  if (old.isCA) throw new Error(`"${old.subjectCN}" is a CA certificate, not a leaf`);
  if (!(validityMs > 0)) throw new Error('validity must be positive');
  // Keep the old certificate's extension order (Go: KU, EKU, BC, SKID, AKID, SAN; openssl: BC first).
  const ext: ExtParam[] = [];
  let hasBC = false;
  let hasAKID = false;
  const akid = signer.cert.subjectKeyId ? { extname: 'authorityKeyIdentifier', kid: { hex: signer.cert.subjectKeyId } } : undefined;
  for (const oid of extensionOids(old)) {
    const v = extensionValueHex(old, oid)!;
    if (oid === OID.basicConstraints) {
      ext.push({ extname: 'basicConstraints', critical: v.critical });
      hasBC = true;
    } else if (oid === OID.subjectKeyId) {
      ext.push({ extname: 'subjectKeyIdentifier', kid: { hex: subjectKeyIdFor(newKey.publicKeyPem) } });
    } else if (oid === OID.authorityKeyId) {
      if (akid) ext.push(akid);
      hasAKID = true;
    } else {
      ext.push(rawExtension(oid, v));
    }
  }
  if (!hasBC) {
    // BasicConstraints CA:FALSE (critical, as Go writes it) after KeyUsage/ExtKeyUsage
    const at = ext.reduce((pos, e, i) => (e.extname === OID.keyUsage || e.extname === OID.extKeyUsage ? i + 1 : pos), 0);
    ext.splice(at, 0, { extname: 'basicConstraints', critical: true });
  }
  if (!hasAKID && akid) {
    const san = ext.findIndex((e) => e.extname === OID.subjectAltName);
    ext.splice(san < 0 ? ext.length : san, 0, akid);
  }
  const nb = truncateToSeconds(notBefore ?? new Date(now.getTime() - BACKDATE_MS));
  const na = truncateToSeconds(new Date(now.getTime() + validityMs));
  const pem = buildCertificate({
    subjectHex: certHandles(old).subjectHex,
    issuerHex: certHandles(signer.cert).subjectHex,
    publicKeyPem: newKey.publicKeyPem,
    notBefore: nb,
    notAfter: na,
    extensions: ext,
    signer: signer.key,
  });
  assertIssued(pem, signer, newKey);
  return pem;
}

/** Re-issue a leaf certificate (PEM) from its CA (PEM cert + key) with a new key; returns the new PEM. */
export function reissueLeaf(oldCertPem: string | Buffer, opts: ReissueOptions): string {
  const old = parseCertificate(oldCertPem);
  const signer = loadSigner(opts.caCertPem, opts.caKeyPem);
  return reissueLeafWith(old, signer, opts.newKey, opts.now, opts.validityMs, opts.notBefore);
}

/** Cheap native self-check of every certificate we issue: it parses, verifies, and carries the new key. */
export function assertIssued(pem: string, signer: Signer, key: KeyPair): void {
  const x = new X509Certificate(pem);
  if (!x.verify(certPublicKey(signer.cert))) {
    throw new Error('internal error: issued certificate does not verify against its CA');
  }
  if (!x.checkPrivateKey(key.privateKey)) throw new Error('internal error: issued certificate does not carry the new key');
}
