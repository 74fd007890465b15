// scripts/icu-trim.mjs on the real ICU data: the package embedded in node_modules' official
// Node binary (the base of the host build). Parser and writer round-trip it byte for byte;
// the English-only package is a sorted, aligned subset whose items are the source's bytes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';
import * as I from '../../scripts/icu-trim.mjs';

const test = suite('build: ICU data trim');
const node = fs.readFileSync(B.LOCAL_NODE);
const starts = I.findPackages(node);
const pkg = I.parsePackage(node, starts[0]);
const rel = (name: string) => name.slice(pkg.prefix.length + 1);
const trimmed = I.trimPackage(pkg);
const written = I.writePackage(Buffer.from(pkg.header), trimmed.items);
const out = I.parsePackage(written);
const outNames = out.items.map((it) => rel(it.name));
const source = new Map(pkg.items.map((it) => [rel(it.name), it.data]));

test('the official Node binary holds exactly one ICU common data package, with thousands of items', () => {
  assert.is(starts.length, 1);
  assert.match(pkg.prefix, /^icudt\d+l$/);
  assert.ok(pkg.items.length > 4000, String(pkg.items.length));
  assert.is(pkg.prefix, `icudt${process.versions.icu?.split('.')[0]}l`);
});

const nm = ['/usr/bin/nm', '/bin/nm'].find((p) => fs.existsSync(p));
const elfX64 = node.readUInt32BE(0) === 0x7f454c46 && process.arch === 'x64';
const why = !nm ? ' (skipped: nm not installed)' : !elfX64 ? ' (skipped: host is not linux-x64)' : '';
if (why) console.log(`skip: ICU package length vs nm -S${why}`);
(why ? test.skip : test)(`package length computed from its last bundle equals the icudt_dat symbol size from nm -S (linux-x64)${why}`, () => {
  const r = spawnSync(nm!, ['-S', B.LOCAL_NODE], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.is(r.status, 0, r.stderr);
  const m = r.stdout.match(/^([0-9a-f]+) ([0-9a-f]+) [Rr] icudt\d+_dat$/m);
  assert.ok(m, 'icudt*_dat in nm -S output');
  assert.is(pkg.length, parseInt(m![2]!, 16));
});

test('round trip: writing the untouched item list reproduces the package byte for byte', () => {
  const again = I.writePackage(Buffer.from(pkg.header), pkg.items);
  assert.is(again.length, pkg.length);
  assert.ok(again.equals(node.subarray(pkg.start, pkg.start + pkg.length)));
});

test('every resource bundle\'s recorded size is its slot in the package (the rule that sizes the last item)', () => {
  let bundles = 0;
  for (const it of pkg.items) {
    if (!it.name.endsWith('.res')) continue;
    bundles++;
    assert.is(I.resItemLength(it.data), it.data.length, it.name);
  }
  assert.ok(bundles > 4000);
});

test('English-only package: parses (sorted, 16-byte aligned), about an eighth of the size, same header', () => {
  assert.ok(out.length < pkg.length / 6, `${out.length} of ${pkg.length}`);
  assert.ok(out.header.equals(pkg.header));
  const sorted = [...out.items.map((it) => it.name)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.equal(out.items.map((it) => it.name), sorted);
  for (const it of out.items) assert.is((it.data.byteOffset - written.byteOffset) % 16, 0, it.name);
});

test('every kept item is the source\'s bytes; only res_index.res tables differ, same length', () => {
  for (const it of out.items) {
    const r = rel(it.name);
    const src = source.get(r)!;
    assert.ok(src, r);
    if (trimmed.indexes.includes(r)) {
      assert.is(it.data.length, src.length, r);
      assert.not.ok(it.data.equals(src), r);
    } else {
      assert.ok(it.data.equals(src), r);
    }
  }
  assert.equal([...trimmed.indexes].sort(), ['brkitr/res_index.res', 'coll/res_index.res', 'curr/res_index.res', 'res_index.res', 'unit/res_index.res', 'zone/res_index.res']);
});

test('kept: English locale data, break rules, normalization, collation root, time zones, pools, windows-1252', () => {
  const must = [
    'root.res', 'en.res', 'en_US.res', 'en_US_POSIX.res', 'pool.res', 'res_index.res',
    'supplementalData.res', 'zoneinfo64.res', 'metaZones.res', 'timezoneTypes.res', 'windowsZones.res', 'langInfo.res', 'plurals.res', 'numberingSystems.res',
    'nfkc.nrm', 'nfkc_cf.nrm', 'uts46.nrm', 'cnvalias.icu', 'ibm-5348_P100-1997.cnv', 'uemoji.icu',
    'brkitr/char.brk', 'brkitr/word.brk', 'brkitr/line.brk', 'brkitr/sent.brk', 'brkitr/root.res', 'brkitr/en.res',
    'coll/root.res', 'coll/ucadata.icu', 'coll/en.res', 'curr/en.res', 'curr/pool.res', 'curr/supplementalData.res',
    'zone/en.res', 'zone/pool.res', 'zone/tzdbNames.res', 'unit/en.res', 'unit/pool.res',
  ];
  for (const m of must) assert.ok(outNames.includes(m), m);
});

test('dropped: other locales in every tree, display names, spell-out, transliteration, table converters, dictionaries', () => {
  for (const n of outNames) {
    const base = path.basename(n);
    assert.not.ok(/^(lang|region|rbnf|translit)\//.test(n), n);
    assert.not.ok(n.endsWith('.dict'), n);
    if (n.endsWith('.cnv')) assert.ok(I.KEEP_CONVERTERS.includes(n), n);
    if (/^[a-z]{2,3}(_[A-Za-z0-9]*)*\.res$/.test(base) && base !== 'res_index.res') assert.ok(I.KEEP_LOCALES.includes(base.slice(0, -4)), n);
  }
  for (const gone of ['de.res', 'en_GB.res', 'zone/de.res', 'coll/de__PHONEBOOK.res', 'curr/ja.res', 'brkitr/ja.res', 'brkitr/cjdict.dict', 'lang/en.res', 'ibm-37_P100-1995.cnv', 'translit/root.res']) {
    assert.ok(source.has(gone), `${gone} exists in the source`);
    assert.not.ok(outNames.includes(gone), gone);
  }
});

test('keepEnglish classifies item names', () => {
  const yes = ['res_index.res', 'pool.res', 'root.res', 'en.res', 'en_US_POSIX.res', 'unit/en.res', 'zone/tzdbNames.res', 'icuver.res', 'keyTypeData.res', 'brkitr/line_cj.brk', 'coll/ucadata.icu', 'rfc3491.spp'];
  const no = ['de.res', 'en_001.res', 'sr_Latn_BA.res', 'coll/de__PHONEBOOK.res', 'zone/fr.res', 'lang/en.res', 'region/root.res', 'rbnf/en.res', 'brkitr/thaidict.dict', 'gb18030-2022.cnv'];
  for (const n of yes) assert.ok(I.keepEnglish(n), n);
  for (const n of no) assert.not.ok(I.keepEnglish(n), n);
});

test('res_index.res: InstalledLocales and AliasLocales list only the kept bundles of their tree', () => {
  const idx = (name: string) => out.items.find((it) => rel(it.name) === name)!.data;
  assert.equal(I.tableKeys(idx('res_index.res'), 'InstalledLocales'), ['en', 'en_US', 'en_US_POSIX']);
  assert.equal(I.tableKeys(idx('res_index.res'), 'AliasLocales'), []);
  assert.equal(I.tableKeys(idx('zone/res_index.res'), 'InstalledLocales'), ['en']);
  assert.equal(I.tableKeys(idx('brkitr/res_index.res'), 'InstalledLocales'), ['en', 'en_US', 'en_US_POSIX']);
  const full = source.get('res_index.res')!;
  assert.ok(I.tableKeys(full, 'InstalledLocales').length > 500);
  assert.ok(I.tableKeys(full, 'AliasLocales').includes('en_NH'));
  assert.ok(I.filterLocaleIndex(full, () => true).equals(full), 'keeping everything changes nothing');
  // The root table itself (its keys and where they point) is untouched.
  assert.equal(I.rootTable(idx('res_index.res')), I.rootTable(full));
});

/** Byte range of a table resource in a bundle (decoded here independently of the module). */
function tableSlot(data: Buffer, res: number): [number, number] {
  const root = data.readUInt16LE(0);
  const keysTop = data.readUInt32LE(root + 8) * 4;
  const type = res >>> 28;
  const off = res & 0x0fffffff;
  if (type === 5) { const p = root + keysTop + off * 2; return [p, p + 2 + 4 * data.readUInt16LE(p)]; }
  if (type === 2) { const p = root + off * 4; const n = off ? data.readUInt16LE(p) : 0; return [p, p + ((2 + 2 * n + 3) & ~3) + 4 * n]; }
  if (type === 4) { const p = root + off * 4; return [p, p + 4 + 8 * data.readInt32LE(p)]; }
  throw new Error(`resource type ${type} is no table`);
}

test('res_index.res rewrite changes bytes only inside the two locale tables', () => {
  for (const name of trimmed.indexes) {
    const before = source.get(name)!;
    const after = out.items.find((it) => rel(it.name) === name)!.data;
    const slots = I.rootTable(before).filter((e) => e.key === 'InstalledLocales' || e.key === 'AliasLocales').map((e) => tableSlot(before, e.value));
    assert.ok(slots.length >= 1, name);
    for (let i = 0; i < before.length; i++) {
      if (before[i] !== after[i]) assert.ok(slots.some(([a, b]) => i >= a && i < b), `${name}: byte ${i} changed outside the locale tables`);
    }
  }
});

test('a package whose last item is not a resource bundle is refused (its length would be a guess)', () => {
  const items = pkg.items.filter((it) => it.name.endsWith('/nfkc.nrm') || it.name.endsWith('/zu.res'));
  const reordered = I.writePackage(Buffer.from(pkg.header), items.reverse());
  assert.throws(() => I.parsePackage(reordered), /names not sorted/);
  const cnvLast = I.writePackage(Buffer.from(pkg.header), pkg.items.filter((it) => it.name.startsWith(`${pkg.prefix}/af`)).concat(pkg.items.filter((it) => it.name.endsWith('/windows-950-2000.cnv'))));
  assert.throws(() => I.parsePackage(cnvLast), /last item .* is no resource bundle/);
});

test('trimIcuInBinary: one package is trimmed in place, the rest of its region zeroed, bytes around it untouched', () => {
  const src = node.subarray(pkg.start, pkg.start + pkg.length);
  const buf = Buffer.concat([Buffer.alloc(1000, 7), src, Buffer.alloc(999, 9)]);
  const r = I.trimIcuInBinary(buf);
  assert.ok(r.trimmed, r.skipped);
  assert.is(r.before, pkg.length);
  assert.is(r.after, out.length);
  assert.ok(buf.subarray(0, 1000).equals(Buffer.alloc(1000, 7)));
  assert.ok(buf.subarray(1000 + pkg.length).equals(Buffer.alloc(999, 9)));
  assert.ok(buf.subarray(1000 + out.length, 1000 + pkg.length).equals(Buffer.alloc(pkg.length - out.length)));
  assert.equal(I.findPackages(buf), [1000]);
  const again = I.parsePackage(buf, 1000);
  assert.equal(again.items.map((it) => it.name), out.items.map((it) => it.name));
  // Deterministic: the same input trims to the same bytes.
  const buf2 = Buffer.concat([Buffer.alloc(1000, 7), src, Buffer.alloc(999, 9)]);
  I.trimIcuInBinary(buf2);
  assert.ok(buf.equals(buf2));
});

test('trimIcuInBinary: no package or two packages -> nothing changes, with the reason', () => {
  const none = Buffer.from('no ICU here, just CmnD mentioned twice: CmnD');
  const r0 = I.trimIcuInBinary(none);
  assert.not.ok(r0.trimmed);
  assert.match(r0.skipped!, /found 0 ICU data packages/);
  const src = node.subarray(pkg.start, pkg.start + pkg.length);
  const two = Buffer.concat([src, Buffer.alloc(32), src]);
  const copy = Buffer.from(two);
  const r2 = I.trimIcuInBinary(two);
  assert.not.ok(r2.trimmed);
  assert.match(r2.skipped!, /found 2 ICU data packages, expected exactly 1/);
  assert.ok(two.equals(copy));
});

test('trimIcuFile: a file without ICU data is copied unchanged, with a warning', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icu-trim-'));
  try {
    const src = path.join(dir, 'src');
    fs.writeFileSync(src, 'not a node binary', { mode: 0o755 });
    const warnings: string[] = [];
    const r = I.trimIcuFile(src, path.join(dir, 'dest'), { warn: (s) => warnings.push(s) });
    assert.not.ok(r.trimmed);
    assert.is(fs.readFileSync(path.join(dir, 'dest'), 'utf8'), 'not a node binary');
    assert.is(fs.statSync(path.join(dir, 'dest')).mode & 0o777, 0o755);
    assert.is(warnings.length, 1);
    assert.match(warnings[0]!, /ICU data left in full \(found 0 ICU data packages/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
