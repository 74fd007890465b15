// The DER walking shared by the readers of src/pki/fast/ (key-match.ts, cert-der.ts): strict
// definite lengths only, every TLV inside its parent. Pure, no I/O.

export interface Tlv {
  tag: number;
  /** first byte of the TLV (its tag) */
  head: number;
  /** first byte of the value */
  start: number;
  /** one past the last byte of the value */
  end: number;
}

/**
 * One DER TLV at `pos`, within `limit`: single-byte tag, definite length in its shortest form.
 * Undefined for anything else (BER lengths, truncation), so callers never read past the bytes.
 */
export function readTlv(der: Buffer, pos: number, limit: number): Tlv | undefined {
  if (pos + 2 > limit) return undefined;
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tag
  let len = der[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > limit || der[start] === 0) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    if (len < 0x80) return undefined; // long form for a short length is not DER
    start += n;
  }
  const end = start + len;
  return end > limit ? undefined : { tag, head: pos, start, end };
}

/** The TLVs that fill [start, end) exactly, or undefined. */
export function children(der: Buffer, start: number, end: number): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let pos = start; pos < end; ) {
    const t = readTlv(der, pos, end);
    if (!t) return undefined;
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** The value of `t` as exactly one TLV of tag `tag`, or undefined. */
export function soleChild(der: Buffer, t: Tlv, tag: number): Tlv | undefined {
  const c = readTlv(der, t.start, t.end);
  return c && c.tag === tag && c.end === t.end ? c : undefined;
}
