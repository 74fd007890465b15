// Release archives without external tools: ustar .tar.gz and .zip (deflate) writers and
// readers, in plain Node (zlib). Used by scripts/release.mjs and test/release/.
// Plain ESM JavaScript: runs on the system Node 20 and on Node 22.
//
// Writers are deterministic: same entries + same mtime -> same bytes -> same sha256.
// Readers return every entry with its mode and data, and refuse names that would
// escape the extraction directory (as krew's extractor does).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);

/**
 * @typedef {{ name: string, data: Buffer, mode: number }} Entry
 * name: forward-slash path inside the archive; mode: permission bits (0o755, 0o644).
 */

// ---------------------------------------------------------------------------------------
// tar (POSIX ustar) + gzip
// ---------------------------------------------------------------------------------------
function octal(n, width) {
  // width includes the terminating NUL
  const s = n.toString(8);
  if (s.length > width - 1) throw new Error(`tar: ${n} does not fit in ${width - 1} octal digits`);
  return s.padStart(width - 1, '0') + '\0';
}

function tarHeader({ name, size, mode, mtime, type = '0' }) {
  const h = Buffer.alloc(512);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder (8 spaces)
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 32, 'ascii'); // uname
  h.write('root', 297, 32, 'ascii'); // gname
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** Uncompressed ustar bytes for `entries` (regular files only). */
export function tarBytes(entries, { mtime = 0 } = {}) {
  const parts = [];
  for (const e of entries) {
    parts.push(tarHeader({ name: e.name, size: e.data.length, mode: e.mode, mtime }));
    parts.push(e.data);
    const pad = (512 - (e.data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

/** .tar.gz bytes; gzip runs on libuv's thread pool, so several archives compress in parallel. */
export async function tarGz(entries, { mtime = 0, level = 9 } = {}) {
  // gzip's header mtime stays 0 (zlib writes 0): the output depends only on the inputs.
  return gzip(tarBytes(entries, { mtime }), { level });
}

function cstr(buf, start, len) {
  const s = buf.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString('utf8');
}

function readOctal(buf, start, len) {
  const s = cstr(buf, start, len).trim();
  return s ? parseInt(s, 8) : 0;
}

/** Entries of a tar (optionally gzipped) buffer: [{ name, type, mode, size, mtime, data }]. Checks header checksums. */
export async function readTar(buf) {
  const raw = buf[0] === 0x1f && buf[1] === 0x8b ? await gunzip(buf) : buf;
  const out = [];
  let off = 0;
  let longName = null;
  while (off + 512 <= raw.length) {
    const h = raw.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== readOctal(h, 148, 8)) throw new Error(`tar: bad header checksum at offset ${off}`);
    const size = readOctal(h, 124, 12);
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = h.subarray(257, 262).toString('ascii') === 'ustar' ? cstr(h, 345, 155) : '';
    let name = prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100);
    const data = raw.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = cstr(data, 0, data.length); continue; } // GNU long name
    if (type === 'x' || type === 'g') continue; // pax headers: names here are short
    if (longName) { name = longName; longName = null; }
    out.push({ name, type: type === '\0' ? '0' : type, mode: readOctal(h, 100, 8), size, mtime: readOctal(h, 136, 12), data: Buffer.from(data) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// zip (deflate, no zip64: every file < 4 GiB)
// ---------------------------------------------------------------------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(buf) >>> 0; // Node >= 20.15 / 22.2
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function dosDateTime(unixSeconds) {
  const d = new Date(Math.max(unixSeconds, 315532800) * 1000); // DOS epoch is 1980
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return { time, date };
}

/** .zip bytes; "version made by" is Unix so the mode (0755 for the binary) travels in the external attributes. */
export async function zip(entries, { mtime = 0, level = 9 } = {}) {
  const { time, date } = dosDateTime(mtime);
  const locals = [];
  const centrals = [];
  let offset = 0;
  const compressed = await Promise.all(entries.map((e) => deflateRaw(e.data, { level })));
  entries.forEach((e, i) => {
    const name = Buffer.from(e.name, 'utf8');
    const data = compressed[i];
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk number, internal attributes: 0
    central.writeUInt32LE((((0o100000 | (e.mode & 0o7777)) << 16) >>> 0), 38); // S_IFREG | mode
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  });
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Entries of a zip buffer: [{ name, type, mode, size, data }]. Checks every CRC-32. */
export async function readZip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('zip: end of central directory not found');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`zip: bad central directory entry at ${p}`);
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28);
    const xlen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const ext = buf.readUInt32LE(p + 38);
    const loff = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString('utf8');
    p += 46 + nlen + xlen + clen;
    if (buf.readUInt32LE(loff) !== 0x04034b50) throw new Error(`zip: bad local header for ${name}`);
    const start = loff + 30 + buf.readUInt16LE(loff + 26) + buf.readUInt16LE(loff + 28);
    const raw = buf.subarray(start, start + csize);
    const data = method === 8 ? await inflateRaw(raw) : method === 0 ? Buffer.from(raw) : null;
    if (!data) throw new Error(`zip: ${name}: unsupported method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`zip: ${name}: size or CRC-32 mismatch`);
    const unixMode = madeBy === 3 ? (ext >>> 16) : 0;
    const isDir = name.endsWith('/');
    out.push({ name, type: isDir ? '5' : '0', mode: (unixMode & 0o7777) || (isDir ? 0o755 : 0o644), size, data });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Common
// ---------------------------------------------------------------------------------------
/** 'tar.gz' | 'zip' | null, from the content (krew detects the type from the bytes too). */
export function archiveType(buf) {
  if (buf[0] === 0x1f && buf[1] === 0x8b) return 'tar.gz';
  if (buf.readUInt32LE(0) === 0x04034b50) return 'zip';
  return null;
}

export async function readArchive(buf) {
  const t = archiveType(buf);
  if (t === 'tar.gz') return readTar(buf);
  if (t === 'zip') return readZip(buf);
  throw new Error('not a .tar.gz or .zip archive');
}

/**
 * Extracts `buf` into `dir` like krew: directories and regular files only, file modes
 * kept, any entry whose path leaves `dir` is an error. Returns the extracted paths.
 */
export async function extractArchive(buf, dir) {
  const root = path.resolve(dir);
  const written = [];
  for (const e of await readArchive(buf)) {
    const dest = path.resolve(root, e.name);
    if (dest !== root && !dest.startsWith(root + path.sep)) throw new Error(`archive entry "${e.name}" points outside the target directory`);
    if (e.type === '5') { fs.mkdirSync(dest, { recursive: true }); continue; }
    if (e.type !== '0') throw new Error(`archive entry "${e.name}" has unsupported type ${e.type}`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, e.data, { mode: e.mode });
    fs.chmodSync(dest, e.mode); // the umask must not drop the executable bit
    written.push(path.relative(root, dest).split(path.sep).join('/'));
  }
  return written;
}

export function sha256Hex(buf) {
  return createHash('sha256').update(buf).digest('hex');
}
