// English-only ICU data for the embedded Node (issue 5: archive size). Official Node builds
// link ICU's whole common data package (symbol icudt<N>_dat, "CmnD" format, ~33 MB, every
// locale of every service). This module finds that package inside a Node binary, keeps the
// items an English-only runtime needs (the idea of Node's own --with-intl=small-icu, plus
// the break rules, normalization and time zone data our dependencies use) and writes the
// smaller package at the same offset, zeroing the rest of the old region. Pure JavaScript:
// no icupkg or genrb at build time.
//
// Package layout (ICU udata.h / ucmndata.h, little-endian):
//   DataHeader: uint16 headerSize, 0xda 0x27, UDataInfo { uint16 size, uint16 reserved,
//     isBigEndian, charsetFamily, sizeofUChar, reserved, dataFormat "CmnD", formatVersion[4],
//     dataVersion[4] }, copyright, padding up to headerSize
//   TOC: uint32 count, count x { uint32 nameOffset, uint32 dataOffset } (from the TOC start)
//   names ("icudt78l/zone/en.res\0", sorted: ICU binary-searches them), 0xaa padding
//   item data, each item 16-byte aligned in the package
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PAD = 0xaa; // what ICU's own tools pad with
const align16 = (n) => (n + 15) & ~15;

/** Changes with this file, so a pkg cache seeded by an older trim rebuilds. */
export const TRIM_ID = createHash('sha256').update(fs.readFileSync(fileURLToPath(import.meta.url))).digest('hex').slice(0, 12);

// ---------------------------------------------------------------------------
// Data headers
// ---------------------------------------------------------------------------
/**
 * The ICU DataHeader at `at`, or null. `format` is the 4-character data format ("CmnD",
 * "ResB"); only little-endian ASCII data with 16-bit UChars is accepted (every official
 * Node build).
 */
export function readDataHeader(buf, at = 0) {
  if (at < 0 || at + 24 > buf.length) return null;
  const headerSize = buf.readUInt16LE(at);
  if (buf[at + 2] !== 0xda || buf[at + 3] !== 0x27) return null;
  const infoSize = buf.readUInt16LE(at + 4);
  if (infoSize < 20 || headerSize < 4 + infoSize || at + headerSize > buf.length) return null;
  if (buf[at + 8] !== 0 || buf[at + 9] !== 0 || buf[at + 10] !== 2) return null;
  return {
    headerSize,
    format: buf.toString('latin1', at + 12, at + 16),
    formatVersion: [...buf.subarray(at + 16, at + 20)],
    dataVersion: [...buf.subarray(at + 20, at + 24)],
  };
}

// ---------------------------------------------------------------------------
// Resource bundles (.res, "ResB"): just enough to size one and to filter a locale list
// ---------------------------------------------------------------------------
const URES_TABLE = 2;
const URES_TABLE32 = 4;
const URES_TABLE16 = 5;

function resBundle(data) {
  const h = readDataHeader(data);
  if (!h || h.format !== 'ResB' || h.formatVersion[0] < 2) throw new Error('not a ResB bundle of format 2 or later');
  const root = h.headerSize;
  const indexLength = data.readUInt32LE(root + 4) & 0xff;
  // URES_INDEX_BUNDLE_TOP (3) and URES_INDEX_16BIT_TOP (6) are needed below.
  if (indexLength < 7 || root + 4 + 4 * indexLength > data.length) throw new Error(`resource bundle has ${indexLength} indexes`);
  const index = (i) => data.readUInt32LE(root + 4 + 4 * i);
  return { h, root, keysTop: index(1) * 4, bundleTop: index(3) * 4, attributes: index(5) };
}

/** Bytes a .res item occupies in a package (header + bundle, 16-byte aligned), or null. */
export function resItemLength(data) {
  try {
    const r = resBundle(data);
    return align16(r.root + r.bundleTop);
  } catch {
    return null;
  }
}

/** A table resource's layout: where its count, keys and values live. */
function tableAt(data, b, res) {
  const type = res >>> 28;
  const off = res & 0x0fffffff;
  if (type === URES_TABLE) {
    const p = b.root + off * 4;
    const count = off === 0 ? 0 : data.readUInt16LE(p);
    return { type, p, count, keyWidth: 2, valueWidth: 4, keysAt: p + 2, valuesAt: (n) => p + ((2 + 2 * n + 3) & ~3) };
  }
  if (type === URES_TABLE16) {
    const p = b.root + b.keysTop + off * 2; // 16-bit units follow the keys
    return { type, p, count: data.readUInt16LE(p), keyWidth: 2, valueWidth: 2, keysAt: p + 2, valuesAt: (n) => p + 2 + 2 * n };
  }
  if (type === URES_TABLE32) {
    const p = b.root + off * 4;
    return { type, p, count: data.readInt32LE(p), keyWidth: 4, valueWidth: 4, keysAt: p + 4, valuesAt: (n) => p + 4 + 4 * n };
  }
  return null;
}

function tableEntries(data, b, t) {
  const read = (at, w) => (w === 2 ? data.readUInt16LE(at) : data.readUInt32LE(at));
  const out = [];
  for (let i = 0; i < t.count; i++) {
    const k = read(t.keysAt + i * t.keyWidth, t.keyWidth);
    // Keys in a pool bundle (offsets past the local keys, or negative 32-bit ones) would
    // need pool.res to read: refuse rather than guess.
    if ((t.keyWidth === 4 && k >= 0x80000000) || k >= b.keysTop) throw new Error('table key lives in the pool bundle');
    const end = data.indexOf(0, b.root + k);
    out.push({ key: data.toString('latin1', b.root + k, end), keyRaw: k, value: read(t.valuesAt(t.count) + i * t.valueWidth, t.valueWidth) });
  }
  return out;
}

/** Key -> value resource of a bundle's root table. */
export function rootTable(data) {
  const b = resBundle(data);
  const t = tableAt(data, b, data.readUInt32LE(b.root));
  if (!t) throw new Error('root resource is not a table');
  return tableEntries(data, b, t);
}

/** Keys of the table `name` in the bundle's root table ([] when absent). */
export function tableKeys(data, name) {
  const b = resBundle(data);
  const entry = rootTable(data).find((e) => e.key === name);
  if (!entry) return [];
  const t = tableAt(data, b, entry.value);
  if (!t) throw new Error(`${name} is not a table`);
  return tableEntries(data, b, t).map((e) => e.key);
}

/**
 * A copy of a res_index.res whose InstalledLocales and AliasLocales tables list only the
 * locales `keep(locale)` accepts: ICU's available-locale lists (Intl's supportedLocalesOf)
 * then name only data that is really there. Rewritten in place: a shorter table at the
 * start of the old one's slot, the rest of the slot padding, every other byte unchanged.
 */
export function filterLocaleIndex(data, keep) {
  const out = Buffer.from(data);
  const b = resBundle(out);
  for (const name of ['InstalledLocales', 'AliasLocales']) {
    const entry = rootTable(out).find((e) => e.key === name);
    if (!entry) continue;
    const t = tableAt(out, b, entry.value);
    if (!t) throw new Error(`${name} is not a table`);
    const all = tableEntries(out, b, t);
    const kept = all.filter((e) => keep(e.key));
    if (kept.length === all.length) continue;
    const write = (at, w, v) => (w === 2 ? out.writeUInt16LE(v, at) : out.writeUInt32LE(v >>> 0, at));
    const oldEnd = t.valuesAt(t.count) + t.count * t.valueWidth;
    out.fill(PAD, t.p, oldEnd);
    write(t.p, t.keyWidth, kept.length); // the count is as wide as a key
    kept.forEach((e, i) => {
      write(t.keysAt + i * t.keyWidth, t.keyWidth, e.keyRaw);
      write(t.valuesAt(kept.length) + i * t.valueWidth, t.valueWidth, e.value);
    });
    const check = tableKeys(out, name);
    if (check.join() !== kept.map((e) => e.key).join()) throw new Error(`rewriting ${name} failed`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The common data package
// ---------------------------------------------------------------------------
/**
 * Parses the package starting at `start` in `buf`. Items are views into `buf`, each
 * running to the next item's start (alignment padding included). The last item has no
 * successor, so its length comes from its own content: only a resource bundle (which
 * records its size) is accepted there. Throws on anything unexpected.
 * Returns { start, length, header, prefix, items: [{ name, data }] }.
 */
export function parsePackage(buf, start = 0) {
  const h = readDataHeader(buf, start);
  if (!h || h.format !== 'CmnD' || h.formatVersion[0] !== 1) throw new Error('no ICU common data package (CmnD 1) here');
  const toc = start + h.headerSize;
  const count = buf.readUInt32LE(toc);
  if (count < 1 || toc + 4 + 8 * count > buf.length) throw new Error(`implausible item count ${count}`);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const nameAt = toc + buf.readUInt32LE(toc + 4 + 8 * i);
    const dataAt = toc + buf.readUInt32LE(toc + 8 + 8 * i);
    const end = buf.indexOf(0, nameAt);
    if (nameAt < toc + 4 + 8 * count || end < 0 || end - nameAt > 200) throw new Error(`item ${i}: bad name offset`);
    const name = buf.toString('latin1', nameAt, end);
    const prev = entries[i - 1];
    if (prev && !(dataAt > prev.dataAt)) throw new Error(`item ${i} (${name}): data offsets not increasing`);
    if (prev && Buffer.compare(Buffer.from(prev.name, 'latin1'), Buffer.from(name, 'latin1')) >= 0) throw new Error(`item ${i} (${name}): names not sorted`);
    if ((dataAt - start) % 16 !== 0) throw new Error(`item ${i} (${name}): data not 16-byte aligned`);
    entries.push({ name, nameAt, dataAt });
  }
  const prefix = entries[0].name.split('/')[0];
  if (!/^icudt\d+[lbe]$/.test(prefix) || !entries.every((e) => e.name.startsWith(`${prefix}/`))) throw new Error(`unexpected item names (${entries[0].name})`);
  const last = entries[count - 1];
  if (!last.name.endsWith('.res')) throw new Error(`last item ${last.name} is no resource bundle: its length is unknown`);
  const lastLength = resItemLength(buf.subarray(last.dataAt, Math.min(buf.length, last.dataAt + (1 << 24))));
  if (lastLength === null || last.dataAt + lastLength > buf.length) throw new Error(`cannot size the last item ${last.name}`);
  const end = last.dataAt + lastLength;
  const items = entries.map((e, i) => ({ name: e.name, data: buf.subarray(e.dataAt, i + 1 < count ? entries[i + 1].dataAt : end) }));
  return { start, length: end - start, header: buf.subarray(start, toc), prefix, items };
}

/** Serialises a package: `header` bytes as they are, then TOC, names and 16-byte aligned items. */
export function writePackage(header, items) {
  const names = items.map((it) => Buffer.from(`${it.name}\0`, 'latin1'));
  const tocLength = 4 + 8 * items.length;
  let pos = align16(header.length + tocLength + names.reduce((s, n) => s + n.length, 0));
  const offsets = items.map((it) => { const at = pos; pos = align16(pos + it.data.length); return at; });
  const out = Buffer.alloc(pos, PAD);
  header.copy(out, 0);
  const toc = header.length;
  out.writeUInt32LE(items.length, toc);
  let nameAt = toc + tocLength;
  items.forEach((it, i) => {
    out.writeUInt32LE(nameAt - toc, toc + 4 + 8 * i);
    out.writeUInt32LE(offsets[i] - toc, toc + 8 + 8 * i);
    names[i].copy(out, nameAt);
    nameAt += names[i].length;
    it.data.copy(out, offsets[i]);
  });
  return out;
}

/** Offsets of every parseable ICU common data package in `buf` (an executable). */
export function findPackages(buf) {
  const found = [];
  for (let at = buf.indexOf('CmnD', 0, 'latin1'); at >= 0; at = buf.indexOf('CmnD', at + 1, 'latin1')) {
    const start = at - 12;
    if (readDataHeader(buf, start)?.format !== 'CmnD') continue;
    try { parsePackage(buf, start); found.push(start); } catch { /* a stray "CmnD", not a package */ }
  }
  return found;
}

// ---------------------------------------------------------------------------
// What to keep
// ---------------------------------------------------------------------------
/** Locale bundles kept in every tree: English and what it inherits from. */
export const KEEP_LOCALES = ['root', 'en', 'en_US', 'en_US_POSIX'];
/** Trees dropped whole: display names (Intl.DisplayNames), spell-out rules, transliterators. */
export const DROP_TREES = ['lang', 'region', 'rbnf', 'translit'];
/**
 * Table converters kept: windows-1252 is what WHATWG's "latin1"/"ascii" labels mean and
 * Node's TextDecoder streams it through ICU. UTF-8/16/32 and ISO-8859-1 are algorithmic
 * in ICU and need no file.
 */
export const KEEP_CONVERTERS = ['ibm-5348_P100-1997.cnv'];

const isLocaleBundle = (base) => base !== 'res_index' && base !== 'pool' && /^(root|[a-z]{2,3}(_[A-Za-z0-9]*)*)$/.test(base);

/**
 * The English-only profile, for an item name without its package prefix ("zone/de.res").
 * Dropped: locale bundles other than KEEP_LOCALES in every tree, the DROP_TREES, table
 * converters, break dictionaries (Thai/Lao/Khmer/Burmese/CJK word breaking). Kept: every
 * tree's pool.res and res_index.res, break rules (*.brk, Intl.Segmenter), normalization
 * (*.nrm), collation root (ucadata.icu), time zones, supplemental data, converter aliases,
 * stringprep, character names.
 */
export function keepEnglish(name) {
  const slash = name.lastIndexOf('/');
  const tree = slash < 0 ? '' : name.slice(0, slash);
  const file = name.slice(slash + 1);
  if (DROP_TREES.includes(tree)) return false;
  if (file.endsWith('.cnv')) return KEEP_CONVERTERS.includes(file);
  if (file.endsWith('.dict')) return false;
  if (file.endsWith('.res') && isLocaleBundle(file.slice(0, -4))) return KEEP_LOCALES.includes(file.slice(0, -4));
  return true;
}

/**
 * The package `pkg` (from parsePackage) cut down to the items `keep` accepts (name without
 * prefix), with every kept res_index.res listing only the locales still present.
 * Returns { items, dropped, indexes } where indexes names the rewritten res_index items.
 */
export function trimPackage(pkg, keep = keepEnglish) {
  const rel = (it) => it.name.slice(pkg.prefix.length + 1);
  const kept = pkg.items.filter((it) => keep(rel(it)));
  const present = new Set(kept.map(rel));
  const indexes = [];
  const items = kept.map((it) => {
    const r = rel(it);
    if (!r.endsWith('res_index.res')) return it;
    const tree = r.slice(0, -'res_index.res'.length);
    const data = filterLocaleIndex(it.data, (locale) => present.has(`${tree}${locale}.res`));
    if (!data.equals(it.data)) indexes.push(r);
    return { name: it.name, data };
  });
  return { items, dropped: pkg.items.length - kept.length, indexes };
}

// ---------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------
/**
 * Trims the ICU package inside the executable image `buf` in place. Needs exactly one
 * package; otherwise nothing changes and `skipped` says why (the binary stays valid).
 * Returns { trimmed, skipped?, before, after, itemsBefore, itemsAfter, indexes }.
 */
export function trimIcuInBinary(buf, keep = keepEnglish) {
  const starts = findPackages(buf);
  if (starts.length !== 1) return { trimmed: false, skipped: `found ${starts.length} ICU data packages, expected exactly 1` };
  const pkg = parsePackage(buf, starts[0]);
  const { items, indexes } = trimPackage(pkg, keep);
  const next = writePackage(Buffer.from(pkg.header), items);
  if (next.length > pkg.length) return { trimmed: false, skipped: 'trimmed package is not smaller' };
  // Parse the result before touching the binary: never write something ICU cannot read.
  const again = parsePackage(next);
  if (again.items.length !== items.length || again.length !== next.length || !again.items.every((it, i) => it.name === items[i].name && it.data.equals(items[i].data))) {
    return { trimmed: false, skipped: 'trimmed package does not read back' };
  }
  const result = { trimmed: true, before: pkg.length, after: next.length, itemsBefore: pkg.items.length, itemsAfter: items.length, indexes };
  next.copy(buf, pkg.start);
  buf.fill(0, pkg.start + next.length, pkg.start + pkg.length);
  return result;
}

/**
 * Writes `src` to `dest` with its ICU data trimmed to English (dest may equal src). A binary
 * whose package cannot be located unambiguously is copied unchanged and `warn` says so.
 * Returns the trimIcuInBinary result.
 */
export function trimIcuFile(src, dest, { keep = keepEnglish, warn = (s) => console.warn(s) } = {}) {
  const buf = fs.readFileSync(src);
  let r;
  try {
    r = trimIcuInBinary(buf, keep);
  } catch (e) {
    r = { trimmed: false, skipped: `could not parse the ICU data: ${e?.message ?? e}` };
  }
  if (!r.trimmed) warn(`warning: ${path.basename(src)}: ICU data left in full (${r.skipped})`);
  const tmp = `${dest}.icu-${process.pid}`;
  fs.writeFileSync(tmp, buf, { mode: fs.statSync(src).mode });
  fs.renameSync(tmp, dest);
  return r;
}
