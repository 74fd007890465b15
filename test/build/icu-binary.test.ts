// The English-only ICU data in practice: the base Node binary seeded into pkg's cache (a
// plain node until pkg injects the bundle) runs test/build/fixtures/icu-probe.cjs and must
// print what the untrimmed official binary prints for English; other locales fall back to
// English on purpose. dist/kubectl-vcluster_certs (npm test builds it) carries that data.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';
import * as I from '../../scripts/icu-trim.mjs';

const test = suite('build: English-only ICU in the binaries');
const PROBE = path.join(B.ROOT, 'test/build/fixtures/icu-probe.cjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'icu-binary-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const host = B.TARGETS[B.hostTargetName()]!;
// Same cache and settings as `node build.mjs`: normally already seeded, so no work here.
const { seeded, icu } = B.preparePkgCache(host);

interface Probe { english: Record<string, unknown>; locales: Record<string, unknown> }
function probe(bin: string, env: NodeJS.ProcessEnv = {}): Probe {
  const r = spawnSync(bin, [PROBE], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: tmp, TZ: 'America/New_York', LANG: 'C.UTF-8', ...env } });
  assert.is(r.status, 0, `${bin} ${PROBE}: ${r.signal ?? `exit ${r.status}`} ${r.stderr}`);
  return JSON.parse(r.stdout);
}
const trimmed = probe(seeded);
const full = probe(B.LOCAL_NODE);
const itemNames = (file: string) => {
  const buf = fs.readFileSync(file);
  const at = I.findPackages(buf);
  assert.is(at.length, 1, `${file}: ICU packages`);
  return I.parsePackage(buf, at[0]).items.map((it) => it.name);
};

test('the seeded base binary pkg injects into has English-only ICU data', () => {
  assert.ok(icu?.trimmed, `trim result: ${JSON.stringify(icu)}`);
  assert.ok(icu!.after! < icu!.before! / 6);
  const names = itemNames(seeded);
  assert.is(names.length, icu!.itemsAfter);
  assert.ok(names.length < 200, String(names.length));
});

test('English results: as expected, and identical to the untrimmed official binary', () => {
  const e = trimmed.english;
  assert.is(e.icu, process.versions.icu);
  assert.is(e.month, 'January');
  assert.equal(e.graphemes, ['👩‍👩‍👧', 'e\u0301']);
  assert.is(e.nfc, true);
  assert.is(e.propL, true);
  assert.is(e.lowerEn, 'i\u0307');
  assert.is(e.compare, -1);
  assert.is(e.utf8, 'héllo ✓');
  assert.is(e.utf16le, 'héllo ✓');
  assert.is(e.latin1, 'hé€');
  assert.is(e.latin1Stream, 'hé€');
  assert.is(e.unit, '5 kB');
  assert.match(String(e.dateString), /GMT-0400 \(Eastern Daylight Time\)$/);
  assert.match(String(e.dateStringWinter), /GMT-0500 \(Eastern Standard Time\)$/);
  for (const [k, v] of Object.entries(e)) assert.not.match(String(v), /^throws /, `${k}: ${v}`);
  assert.equal(trimmed.english, full.english);
});

test('other locales fall back to English; display names and legacy encodings are gone', () => {
  const l = trimmed.locales;
  assert.equal(l.supportedLocales, ['en', 'en-GB']);
  assert.equal(l.collatorLocales, ['en']);
  assert.is(l.germanMonth, 'January');
  assert.is(l.germanResolved, 'en-US');
  assert.is(l.regionName, 'DE');
  assert.match(String(l.shiftJis), /^throws RangeError/);
  // ...where the full data has them.
  assert.is(full.locales.germanMonth, 'Januar');
  assert.is(full.locales.regionName, 'Germany');
});

test('dist/kubectl-vcluster_certs embeds the trimmed ICU data', () => {
  const bin = path.join(B.DIST, B.BIN_NAME);
  assert.ok(fs.existsSync(bin), `${bin} missing: run npm run build`);
  assert.equal(itemNames(bin), itemNames(seeded));
});

test('the cache stamp carries the ICU setting: full and English-only seeds replace each other', () => {
  const home = path.join(tmp, 'home');
  const base = B.baseNodeBinary(host);
  const bin = B.seedPkgCache(host, base, { home, strip: false, icu: 'full' });
  assert.ok(itemNames(bin).length > 4000);
  assert.is(B.icuTrimResult(bin), null);
  B.seedPkgCache(host, base, { home, strip: false, icu: 'en' });
  assert.ok(itemNames(bin).length < 200);
  assert.ok(B.icuTrimResult(bin)?.trimmed);
  assert.ok(itemNames(base).length > 4000, 'the base binary itself is never modified');
  const mtime = fs.statSync(bin).mtimeMs;
  B.seedPkgCache(host, base, { home, strip: false, icu: 'en' });
  assert.is(fs.statSync(bin).mtimeMs, mtime, 'same setting: cache reused');
});

test.run();
