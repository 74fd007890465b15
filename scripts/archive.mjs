// Release archives: .tar.gz (tar-stream + node:zlib) and .zip (yazl to write, yauzl to
// read). Used by scripts/release.mjs and test/release/. Plain ESM JavaScript: runs on the
// system Node 20 (>= 20.15, for zlib.crc32) and on Node 22.
//
// Writers are deterministic: same entries + same mtime -> same bytes -> same sha256 (fixed
// mtime, uid/gid 0, root/root, modes as given; the gzip header has mtime 0).
// Readers return every entry with its mode and data; extractArchive refuses names that
// would escape the extraction directory (as krew's extractor does), and readZip refuses
// them already (yauzl validates names).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buffer as collect } from 'node:stream/consumers';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import yazl from 'yazl';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/**
 * @typedef {{ name: string, data: Buffer, mode: number }} Entry
 * name: forward-slash path inside the archive; mode: permission bits (0o755, 0o644).
 */

// ---- tar + gzip -------------------------------------------------------------------------
/** Uncompressed ustar bytes for `entries` (regular files only). */
export async function tarBytes(entries, { mtime = 0 } = {}) {
  const pack = tar.pack();
  const date = new Date(mtime * 1000);
  for (const e of entries) {
    pack.entry({ name: e.name, type: 'file', mode: e.mode & 0o7777, mtime: date, uid: 0, gid: 0, uname: 'root', gname: 'root' }, e.data);
  }
  pack.finalize();
  return collect(pack);
}

/** .tar.gz bytes; gzip runs on libuv's thread pool, so several archives compress in parallel. */
export async function tarGz(entries, { mtime = 0, level = 9 } = {}) {
  const out = await gzip(await tarBytes(entries, { mtime }), { level }); // header mtime: 0
  out[9] = 3; // header OS byte: Unix, whichever platform zlib was built for
  return out;
}

// tar-stream's type names -> ustar typeflags (what extractArchive checks).
const TYPEFLAG = { file: '0', 'contiguous-file': '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6' };

/** Entries of a tar (optionally gzipped) buffer: [{ name, type, mode, size, mtime, data }]. Checks header checksums. */
export async function readTar(buf) {
  const ex = tar.extract();
  ex.end(archiveType(buf) === 'tar.gz' ? await gunzip(buf) : buf);
  const out = [];
  for await (const entry of ex) {
    const h = entry.header;
    const data = await collect(entry);
    out.push({ name: h.name, type: TYPEFLAG[h.type] ?? String(h.type), mode: h.mode & 0o7777, size: h.size, mtime: Math.floor(h.mtime.getTime() / 1000), data });
  }
  return out;
}

// ---- zip --------------------------------------------------------------------------------
export function crc32(buf) {
  return zlib.crc32(buf) >>> 0;
}

/** yazl writes the DOS date/time from a Date's local-time getters: read UTC so the bytes don't depend on $TZ. */
class UtcDate extends Date {
  getFullYear() { return this.getUTCFullYear(); }
  getMonth() { return this.getUTCMonth(); }
  getDate() { return this.getUTCDate(); }
  getHours() { return this.getUTCHours(); }
  getMinutes() { return this.getUTCMinutes(); }
  getSeconds() { return this.getUTCSeconds(); }
}

/** .zip bytes (deflate); "version made by" is Unix so the mode (0755 for the binary) travels in the external attributes. */
export async function zip(entries, { mtime = 0, level = 9 } = {}) {
  const zf = new yazl.ZipFile();
  const date = new UtcDate(mtime * 1000);
  for (const e of entries) zf.addBuffer(e.data, e.name, { mtime: date, mode: 0o100000 | (e.mode & 0o7777), compressionLevel: level });
  zf.end();
  return collect(zf.outputStream);
}

/** Entries of a zip buffer: [{ name, type, mode, size, data }]. Checks sizes and every CRC-32. */
export async function readZip(buf) {
  const zf = await yauzl.fromBufferPromise(buf, { lazyEntries: true });
  const out = [];
  for await (const entry of zf.eachEntry()) {
    const name = entry.fileName;
    const isDir = name.endsWith('/');
    const data = isDir ? Buffer.alloc(0) : await collect(await zf.openReadStreamPromise(entry));
    if (crc32(data) !== entry.crc32) throw new Error(`zip: ${name}: CRC-32 mismatch`);
    const unixMode = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
    out.push({ name, type: isDir ? '5' : '0', mode: (unixMode & 0o7777) || (isDir ? 0o755 : 0o644), size: data.length, data });
  }
  return out;
}

// ---- common -----------------------------------------------------------------------------
/** 'tar.gz' | 'zip' | null, from the content (krew detects the type from the bytes too). */
export function archiveType(buf) {
  if (buf[0] === 0x1f && buf[1] === 0x8b) return 'tar.gz';
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) return 'zip';
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
