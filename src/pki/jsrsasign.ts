// jsrsasign, with two of its ASN.1 helpers made fast. Every src/ module imports jsrsasign from here.
//
// jsrsasign reads every TLV length (ASN1HEX.getVblen) and every OID arc (oidHexToInt) by building
// a BigInteger from a hex or binary string; that was a fifth of the CPU of inspecting a PKI
// (`check -A`, issue 2). The replacements give the same answer for every input the originals get
// from us, hex from Buffer#toString('hex'), and hand anything else (odd characters, huge values)
// to the originals, so their behaviour on strange input is jsrsasign's own. The originals stay
// reachable for the equivalence tests (test/pki/jsrsasign.test.ts).

import jsrsasign from 'jsrsasign';

type Asn1Hex = { getL(s: string, idx: number): string; getVblen(s: string, idx: number): number };
type Asn1Util = { oidHexToInt(hex: string): string };

const asn1hex = (jsrsasign as unknown as { ASN1HEX: Asn1Hex }).ASN1HEX;
const asn1util = (jsrsasign as unknown as { KJUR: { asn1: { ASN1Util: Asn1Util } } }).KJUR.asn1.ASN1Util;

const HEX = /^[0-9a-fA-F]*$/;
const HEX_PAIRS = /^(?:[0-9a-fA-F]{2})+$/;

/** jsrsasign's own helpers, as loaded. */
export const originalGetVblen = asn1hex.getVblen;
export const originalOidHexToInt = asn1util.oidHexToInt;

/**
 * The length (in bytes) of the value of the TLV at `idx`, -1 when there is no length field.
 * Like the original, a long-form length is read as a 32-bit signed integer (its low 32 bits).
 */
export function fastGetVblen(s: string, idx: number): number {
  const l = asn1hex.getL(s, idx);
  if (l === '') return -1;
  const digits = l.charCodeAt(0) === 0x38 /* '8': long form */ ? l.substring(2) : l;
  if (!HEX.test(digits)) return originalGetVblen(s, idx);
  if (digits === '') return 0;
  return parseInt(digits.length > 8 ? digits.substring(digits.length - 8) : digits, 16) | 0;
}

/** OID value bytes (hex) to dotted decimal, e.g. '2a864886f70d010101' -> '1.2.840.113549.1.1.1'. */
export function fastOidHexToInt(hex: string): string {
  if (!HEX_PAIRS.test(hex)) return originalOidHexToInt(hex);
  const first = parseInt(hex.substring(0, 2), 16);
  // the original splits the first byte as X*40+Y even when X is 2 and Y >= 40; so do we
  let out = `${Math.floor(first / 40)}.${first % 40}`;
  let arc = 0;
  for (let i = 2; i < hex.length; i += 2) {
    const b = parseInt(hex.substring(i, i + 2), 16);
    // past 2^53 a Number is no longer exact (e.g. 2.25.<UUID> arcs): the original's BigInteger is
    if (arc > 0x3fffffffffff) return originalOidHexToInt(hex);
    arc = arc * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      out += `.${arc}`;
      arc = 0;
    }
  }
  return out;
}

asn1hex.getVblen = fastGetVblen;
asn1util.oidHexToInt = fastOidHexToInt;

export default jsrsasign;
