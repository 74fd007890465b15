// The DNS names and IP addresses of a SubjectAltName extension value. Pure, no I/O.
//
// Replaces: jsrsasign's getExtSubjectAltName, which decodes each DNS name one character at a
//   time; a fleet's SANs are all different (they carry the vCluster's name), so no memo helps.
//   Here the names are walked with jsrsasign's own ASN1HEX, DNS names decoded whole (latin1, as
//   its hextorstr does for byte-aligned hex) and IPs go through its own hextoip.
// Fallback: undefined when a name of a kind jsrsasign parses further (directoryName, otherName)
//   is there; x509.ts then asks jsrsasign, as it always does when the fast paths are off (switch.ts).
// Oracle test: test/pki/x509.test.ts (3000 generated name lists read as jsrsasign reads them,
//   errors included).

import jsrsasign from './jsrsasign.js';

export interface SanFields {
  dns: readonly string[];
  ip: readonly string[];
}

type Asn1HexReads = { getChildIdx(h: string, i: number): number[]; getV(h: string, i: number): string };
const { hextoip } = jsrsasign as unknown as { hextoip(hex: string): string };

/** The SubjectAltName value (hex) read as getExtSubjectAltName reads it, or undefined (see above). */
export function readSanNames(hex: string): SanFields | undefined {
  const a = jsrsasign.ASN1HEX as unknown as Asn1HexReads;
  const dns: string[] = [];
  const ip: string[] = [];
  for (const idx of a.getChildIdx(hex, 0)) {
    const tag = hex.substring(idx, idx + 2);
    if (tag === '82') dns.push(Buffer.from(a.getV(hex, idx), 'hex').toString('latin1'));
    else if (tag === '87') ip.push(hextoip(a.getV(hex, idx)));
    else if (tag === 'a4' || tag === 'a0') return undefined;
    // rfc822Name, URI and other kinds are not kept (jsrsasign reads them without parsing further)
  }
  return { dns, ip };
}
