// PEM text <-> DER blocks. Pure, no I/O.

export interface PemBlock {
  /** the word(s) between BEGIN/END, e.g. 'CERTIFICATE', 'RSA PRIVATE KEY' */
  label: string;
  der: Buffer;
}

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const B64_BODY_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode base64 that may contain whitespace and may lack padding; undefined when it is not base64.
 * Buffer.from silently skips bad characters, so its bytes are trusted at once only in the form the
 * API server and Go write, when decodedWhole proves nothing was skipped; anything else takes the
 * character check.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const buf = Buffer.from(text, 'base64');
  if (decodedWhole(buf, text, text.length, text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0)) return buf;
  return B64_BODY_RE.test(text.replace(/\s+/g, '')) ? buf : undefined;
}

/**
 * Buffer.from(text, 'base64') skipped nothing but what it should: `chars` base64 characters with
 * `padding` '=' at the end make exactly this many bytes (a skipped character makes fewer), and no
 * base64url character, which Buffer.from also decodes, is in the text.
 */
function decodedWhole(buf: Buffer, text: string, chars: number, padding: number): boolean {
  return chars % 4 === 0 && buf.length === (chars / 4) * 3 - padding && !text.includes('-') && !text.includes('_');
}

/**
 * Split a PEM text into its blocks, in order. Text around blocks is ignored (comments, blank lines).
 * Throws on a block whose END label differs from its BEGIN label or whose body is not base64.
 * The error never contains the block body (it may be a private key).
 */
export function splitPem(text: string | Buffer): PemBlock[] {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  const blocks: PemBlock[] = [];
  for (const m of s.matchAll(BLOCK_RE)) {
    const [, begin, rawBody, end] = m as unknown as [string, string, string, string];
    if (begin !== end) throw new Error(`malformed PEM: block "${begin}" ends with "${end}"`);
    let der = canonicalPemDer(rawBody);
    if (!der) {
      // RFC 1421 headers (Proc-Type: ...) mean an encrypted legacy key; we cannot use those.
      if (/^[A-Za-z-]+:/m.test(rawBody)) throw new Error(`PEM block "${begin}" has headers (encrypted?), not supported`);
      der = lenientPemDer(rawBody);
      if (!der) throw new Error(`malformed PEM: block "${begin}" is not valid base64`);
    }
    if (der.length === 0) throw new Error(`malformed PEM: block "${begin}" is empty`);
    blocks.push({ label: begin, der });
  }
  return blocks;
}

/** 64-character lines each ending in \n, as Go's pem.Encode writes them. */
function wrap64(b64: string): string {
  let out = '';
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out;
}

/**
 * The DER of a PEM body laid out as Go's pem.Encode writes it (64-character lines, each ending in
 * \n), else undefined. Read in place, without re-encoding to compare: Buffer.from skips the line
 * ends, and decodedWhole proves it skipped nothing else.
 */
function canonicalPemDer(rawBody: string): Buffer | undefined {
  const n = rawBody.length;
  if (n === 0 || rawBody.charCodeAt(n - 1) !== 0x0a) return undefined;
  const lines = Math.ceil(n / 65);
  for (let i = 64; i < n - 1; i += 65) if (rawBody.charCodeAt(i) !== 0x0a) return undefined;
  // the last line holds the rest: 1 to 64 characters, never an empty line
  if ((n - 1) % 65 === 0) return undefined;
  const der = Buffer.from(rawBody, 'base64');
  return decodedWhole(der, rawBody, n - lines, rawBody.endsWith('==\n') ? 2 : rawBody.endsWith('=\n') ? 1 : 0) ? der : undefined;
}

/** The DER of any base64 PEM body (other line widths, CRLF; padding required), else undefined. */
function lenientPemDer(rawBody: string): Buffer | undefined {
  const body = rawBody.replace(/\s+/g, '');
  return B64_BODY_RE.test(body) && body.length % 4 === 0 ? Buffer.from(body, 'base64') : undefined;
}

/** True when the text contains at least one PEM BEGIN line. */
export function looksLikePem(text: string | Buffer): boolean {
  const s = typeof text === 'string' ? text : text.subarray(0, 64 * 1024).toString('latin1');
  return s.includes('-----BEGIN ');
}

/** Encode DER as PEM the way Go's pem.Encode does: 64-character lines, trailing newline. */
export function encodePem(label: string, der: Buffer | Uint8Array): string {
  return `-----BEGIN ${label}-----\n${wrap64(Buffer.from(der).toString('base64'))}-----END ${label}-----\n`;
}

/** The PEM text of the first block with the given label, re-encoded canonically, or undefined. */
export function firstPemBlock(text: string | Buffer, label: string): PemBlock | undefined {
  return splitPem(text).find((b) => b.label === label);
}
