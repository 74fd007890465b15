// jsrsasign, with three of its ASN.1 helpers made fast. Every src/ module imports jsrsasign from here.
//
// Replaces: ASN1HEX.getVblen (every TLV length), KJUR.asn1.ASN1Util.oidHexToInt and
//   ASN1HEX.hextooidstr (every OID), which go through a BigInteger or a binary string built from
//   hex. They are installed into jsrsasign itself (it calls them from inside), while the fast
//   paths are on (switch.ts).
// Fallback: jsrsasign's originals, for anything these are not sure of (odd characters, huge
//   values, more than 4 length bytes), and all of it when the fast paths are off.
// Oracle test: test/pki/jsrsasign.test.ts (every TLV and OID of real certificates, random and
//   malformed input, whole getParam() parses); test/unit/internals.test.ts fails when jsrsasign
//   no longer has these helpers.

import jsrsasign from 'jsrsasign';
import { onFastPathsSwitch } from './switch.js';

type Asn1Hex = { getVblen(s: string, idx: number): number; hextooidstr(hex: string): string };
type Asn1Util = { oidHexToInt(hex: string): string };

const asn1hex = (jsrsasign as unknown as { ASN1HEX: Asn1Hex }).ASN1HEX;
const asn1util = (jsrsasign as unknown as { KJUR: { asn1: { ASN1Util: Asn1Util } } }).KJUR.asn1.ASN1Util;

const WHOLE_HEX_BYTES = /^(?:[0-9a-fA-F]{2})+$/;

/** jsrsasign's own helpers, as loaded. */
export const originalGetVblen = asn1hex.getVblen;
export const originalOidHexToInt = asn1util.oidHexToInt;
export const originalHexToOidStr = asn1hex.hextooidstr;

/** The value of one hex digit character, -1 for anything else. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * The length (in bytes) of the value of the TLV at `idx`, read in place (no substrings: this runs
 * for every TLV jsrsasign walks). Short form: the one length byte. Long form ('8n'): n bytes, read
 * as a 32-bit signed integer like the original does. Anything else (an end of text, a character
 * that is not hex, more than 4 length bytes, indefinite length) is the original's to answer.
 */
export function fastGetVblen(s: string, idx: number): number {
  const p = idx + 2;
  if (p + 2 > s.length) return originalGetVblen(s, idx);
  const c = s.charCodeAt(p);
  if (c !== 0x38 /* '8' */) {
    const hi = hexDigit(c);
    const lo = hexDigit(s.charCodeAt(p + 1));
    return hi < 0 || lo < 0 ? originalGetVblen(s, idx) : hi * 16 + lo;
  }
  // jsrsasign reads the count of length bytes as a decimal digit
  const n = s.charCodeAt(p + 1) - 0x30;
  if (n < 1 || n > 4 || p + 2 + 2 * n > s.length) return originalGetVblen(s, idx);
  let v = 0;
  for (let i = p + 2; i < p + 2 + 2 * n; i++) {
    const d = hexDigit(s.charCodeAt(i));
    if (d < 0) return originalGetVblen(s, idx);
    v = v * 16 + d;
  }
  return v | 0;
}

/**
 * OID value bytes (hex) to dotted decimal, e.g. '2a864886f70d010101' -> '1.2.840.113549.1.1.1', as
 * jsrsasign's `original` does it; what it alone decides (odd hex, arcs past 2^53) goes to it.
 */
function oidFromHex(hex: string, original: (hex: string) => string): string {
  if (!WHOLE_HEX_BYTES.test(hex)) return original(hex);
  const first = parseInt(hex.substring(0, 2), 16);
  // the originals split the first byte as X*40+Y even when X is 2 and Y >= 40; so do we
  let out = `${Math.floor(first / 40)}.${first % 40}`;
  let arc = 0;
  for (let i = 2; i < hex.length; i += 2) {
    const b = parseInt(hex.substring(i, i + 2), 16);
    // past 2^53 a Number is no longer exact (e.g. 2.25.<UUID> arcs): leave those to the original
    if (arc > 0x3fffffffffff) return original(hex);
    arc = arc * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      out += `.${arc}`;
      arc = 0;
    }
  }
  return out;
}

/** KJUR.asn1.ASN1Util.oidHexToInt (BigInteger per arc in the original). */
export function fastOidHexToInt(hex: string): string {
  return oidFromHex(hex, originalOidHexToInt);
}

/** ASN1HEX.hextooidstr (binary strings per arc in the original), which reads every extension's OID. */
export function fastHexToOidStr(hex: string): string {
  return oidFromHex(hex, originalHexToOidStr);
}

onFastPathsSwitch((on) => {
  asn1hex.getVblen = on ? fastGetVblen : originalGetVblen;
  asn1util.oidHexToInt = on ? fastOidHexToInt : originalOidHexToInt;
  asn1hex.hextooidstr = on ? fastHexToOidStr : originalHexToOidStr;
});

export default jsrsasign;
