// Does a PKCS#1 RSA private key belong to a certificate, and how big is a certificate's RSA key?
// Read from the bytes, without node:crypto. Pure, no I/O.
//
// Replaces: node:crypto loading the key through OpenSSL's decoders (createPrivateKey) and
//   comparing public halves, and building a KeyObject only to ask a certificate's key size; a
//   fleet check does this for every key of every vCluster. The comparison itself (modulus and exponent,
//   as OpenSSL's X509_check_private_key and Go's tls.X509KeyPair do) is cheap, so a key in the
//   form kubeadm and vCluster write ('RSA PRIVATE KEY', strict DER) is compared here, and only a
//   match is answered here.
// Fallback: node:crypto (x509.ts) for anything else: another key type, PKCS#8, extra PEM text,
//   non-canonical DER, a mismatch; it gives the answer and the error it always gave. And for
//   everything when the fast paths are off (switch.ts).
// Oracle test: test/pki/key-match.test.ts (thousands of corrupted keys and certificates, held to
//   node:crypto's answers).
// Nothing here ever reports key bytes.

import { splitPem } from '../pem.js';
import { children, readTlv, type Tlv } from './der.js';

/** A DER INTEGER in its shortest form and not negative. */
function isCanonicalNonNegativeInteger(der: Buffer, t: Tlv): boolean {
  if (t.tag !== 0x02 || t.end <= t.start) return false;
  const first = der[t.start]!;
  if (first & 0x80) return false;
  return !(first === 0 && t.end - t.start > 1 && (der[t.start + 1]! & 0x80) === 0);
}

function sameBytes(a: Buffer, ta: Tlv, b: Buffer, tb: Tlv): boolean {
  return ta.end - ta.start === tb.end - tb.start && a.compare(b, tb.start, tb.end, ta.start, ta.end) === 0;
}

/** rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters: the AlgorithmIdentifier's value bytes. */
const RSA_ENCRYPTION_ALG = Buffer.from('06092a864886f70d0101010500', 'hex');

/** Modulus and exponent of the certificate's RSA public key (PKCS#1 inside the SPKI), or undefined. */
function certRsaPublicKey(cert: Buffer): { der: Buffer; n: Tlv; e: Tlv } | undefined {
  const top = readTlv(cert, 0, cert.length);
  if (!top || top.tag !== 0x30) return undefined;
  const tbs = readTlv(cert, top.start, top.end);
  if (!tbs || tbs.tag !== 0x30) return undefined;
  const fields = children(cert, tbs.start, tbs.end);
  if (!fields) return undefined;
  // version [0] is optional; then serial, signature, issuer, validity, subject, subjectPublicKeyInfo
  const spki = fields[fields[0]?.tag === 0xa0 ? 6 : 5];
  if (!spki || spki.tag !== 0x30) return undefined;
  const parts = children(cert, spki.start, spki.end);
  if (!parts || parts.length !== 2 || parts[0]!.tag !== 0x30 || parts[1]!.tag !== 0x03) return undefined;
  const alg = parts[0]!;
  if (alg.end - alg.start !== RSA_ENCRYPTION_ALG.length) return undefined;
  // byte by byte: Buffer#compare's argument checks cost more than these 13 bytes
  for (let i = 0; i < RSA_ENCRYPTION_ALG.length; i++) if (cert[alg.start + i] !== RSA_ENCRYPTION_ALG[i]) return undefined;
  const bits = parts[1]!;
  if (bits.end - bits.start < 2 || cert[bits.start] !== 0) return undefined; // no unused bits
  const rsa = readTlv(cert, bits.start + 1, bits.end);
  if (!rsa || rsa.tag !== 0x30 || rsa.end !== bits.end) return undefined;
  const ne = children(cert, rsa.start, rsa.end);
  if (!ne || ne.length !== 2 || !ne.every((t) => isCanonicalNonNegativeInteger(cert, t))) return undefined;
  return { der: cert, n: ne[0]!, e: ne[1]! };
}

/**
 * Modulus size in bits (as OpenSSL counts it) of the certificate's RSA public key, read from the
 * bytes; undefined for anything but an rsaEncryption key of 1024 to 16384 bits with an odd
 * exponent of at least 3, which node:crypto then reads. Building a KeyObject only to ask its size
 * is most of what describing a leaf's key costs.
 */
export function rsaPublicKeyBits(certDer: Buffer): number | undefined {
  const pub = certRsaPublicKey(certDer);
  if (!pub) return undefined;
  const { der, n, e } = pub;
  let start = n.start;
  while (start < n.end && der[start] === 0) start++;
  if (start === n.end) return undefined;
  const bits = (n.end - start - 1) * 8 + (32 - Math.clz32(der[start]!));
  const eLast = der[e.end - 1]!;
  const eSmall = e.end - e.start === 1 ? eLast : Infinity;
  if (bits < 1024 || bits > 16384 || (eLast & 1) === 0 || eSmall < 3) return undefined;
  return bits;
}

/** The one 'RSA PRIVATE KEY' block of a PEM text with nothing but whitespace around it, or undefined. */
function soleRsaKeyDer(pem: string | Buffer): Buffer | undefined {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  if (!text.trimStart().startsWith('-----BEGIN RSA PRIVATE KEY-----')) return undefined;
  if (!text.trimEnd().endsWith('-----END RSA PRIVATE KEY-----')) return undefined;
  let blocks;
  try {
    blocks = splitPem(text);
  } catch {
    return undefined;
  }
  return blocks.length === 1 ? blocks[0]!.der : undefined;
}

/**
 * True when `keyPem` is a two-prime PKCS#1 RSA private key in strict DER whose modulus and public
 * exponent are those of the certificate `certDer`. Undefined when that cannot be told here: the
 * caller asks node:crypto.
 */
export function rsaKeyMatchesCertificate(certDer: Buffer, keyPem: string | Buffer): true | undefined {
  const pub = certRsaPublicKey(certDer);
  if (!pub) return undefined;
  const key = soleRsaKeyDer(keyPem);
  if (!key) return undefined;
  const top = readTlv(key, 0, key.length);
  if (!top || top.tag !== 0x30 || top.end !== key.length) return undefined;
  // version (0: two primes), n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1 mod p
  const ints = children(key, top.start, top.end);
  if (!ints || ints.length !== 9 || !ints.every((t) => isCanonicalNonNegativeInteger(key, t))) return undefined;
  const version = ints[0]!;
  if (version.end - version.start !== 1 || key[version.start] !== 0) return undefined;
  return sameBytes(key, ints[1]!, pub.der, pub.n) && sameBytes(key, ints[2]!, pub.der, pub.e) ? true : undefined;
}
