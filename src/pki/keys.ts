// Private/public key helpers on node:crypto. Pure (no I/O).
// Rule: nothing derived from private key bytes ever goes into an error message.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyInfo } from './types.js';

/** Names as OpenSSL prints them (`openssl x509 -text`: "ASN1 OID: prime256v1"). */
const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };
/** node reports 'prime256v1' already; jsrsasign and Go use other names for the same curves. */
const CURVE_ALIASES: Record<string, string> = {
  'P-256': 'prime256v1', secp256r1: 'prime256v1', prime256v1: 'prime256v1',
  'P-384': 'secp384r1', secp384r1: 'secp384r1',
  'P-521': 'secp521r1', secp521r1: 'secp521r1',
};

export function normalizeCurve(name: string): string {
  return CURVE_ALIASES[name] ?? name;
}

export function curveBits(curve: string): number | undefined {
  return CURVE_BITS[normalizeCurve(curve)];
}

/** Algorithm and size of a node KeyObject (public or private). */
export function keyInfoOf(key: KeyObject): KeyInfo {
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') return { algorithm: type === 'rsa' ? 'RSA' : 'RSA-PSS', bits: d.modulusLength };
  if (type === 'ec') {
    const curve = normalizeCurve(d.namedCurve ?? 'unknown');
    return { algorithm: 'EC', curve, bits: curveBits(curve) };
  }
  if (type === 'ed25519') return { algorithm: 'Ed25519', bits: 256 };
  if (type === 'ed448') return { algorithm: 'Ed448', bits: 456 };
  return { algorithm: String(type ?? 'unknown').toUpperCase() };
}

/** 'RSA-2048', 'ECDSA-P256', 'Ed25519' - the form shown in tables. */
export function describeKey(k: KeyInfo): string {
  if (k.algorithm === 'RSA' || k.algorithm === 'RSA-PSS') return `${k.algorithm}-${k.bits ?? '?'}`;
  if (k.algorithm === 'EC') {
    const short: Record<string, string> = { prime256v1: 'P256', secp384r1: 'P384', secp521r1: 'P521' };
    return `ECDSA-${short[k.curve ?? ''] ?? k.curve ?? '?'}`;
  }
  return k.algorithm;
}

/**
 * Parse a PEM private key (PKCS#1, SEC1 or PKCS#8). Throws a generic message on failure:
 * OpenSSL errors are replaced so that no key material or decoder detail leaks.
 */
export function parsePrivateKey(pem: string | Buffer, what = 'private key'): KeyObject {
  try {
    const k = createPrivateKey({ key: pem, format: 'pem' });
    if (k.type !== 'private') throw new Error('not private');
    return k;
  } catch {
    throw new Error(`${what} is not a readable unencrypted PEM private key`);
  }
}

/** SPKI DER of the public half of a private key or of a public key. */
export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/** Parse a PEM public key ('PUBLIC KEY' or 'RSA PUBLIC KEY'); generic error message. */
export function parsePublicKey(pem: string | Buffer, what = 'public key'): KeyObject {
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error(`${what} is not a readable PEM public key`);
  }
}

/** Does the private key (PEM) belong to the public key? Never throws. */
export function privateKeyMatchesPublic(privatePem: string | Buffer, publicKey: KeyObject): boolean {
  try {
    return spkiDer(parsePrivateKey(privatePem)).equals(spkiDer(publicKey));
  } catch {
    return false;
  }
}
