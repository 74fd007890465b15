// The one switch of src/pki/fast/: with it off, every answer comes from the libraries (no fast
// path answers, jsrsasign holds its own helpers); with it on, each fast path answers; and the
// rows are the same either way. `npm test` runs this file (and all of test/pki) both ways.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import jsrsasign, { fastGetVblen, originalGetVblen } from '../../src/pki/fast/jsrsasign.js';
import { fastPathsOn, fastUses, setFastPaths, type FastPath } from '../../src/pki/fast/switch.js';
import { inspectPki } from '../../src/pki/inspect.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/pkigen.js';

const test = suite('pki/fast switch');
const now = new Date();
const opts = { now, warnWithinMs: 30 * 86_400_000 };
const PATHS = Object.keys(fastUses) as FastPath[];
const getVblen = () => (jsrsasign as unknown as { ASN1HEX: { getVblen: unknown } }).ASN1HEX.getVblen;
let pkis: PkiFiles[] = [];

test.before(async () => {
  // distinct PKIs: nothing of one is in the parse memos when the next is read
  pkis = await Promise.all(['a', 'b', 'c'].map((name) => generatePki({ name, namespace: 'ns', reuseKeys: true })));
});

/** inspectPki of `files`, and how many answers each fast path gave meanwhile. */
function inspectCounting(files: PkiFiles) {
  const before = { ...fastUses };
  const rows = inspectPki(files, opts);
  return { rows, used: Object.fromEntries(PATHS.map((p) => [p, fastUses[p] - before[p]])) as Record<FastPath, number> };
}

test('the environment sets the switch: VCERTS_NO_FAST=1 leaves every answer to the libraries', () => {
  const on = process.env.VCERTS_NO_FAST !== '1';
  assert.is(fastPathsOn(), on);
  assert.is(getVblen(), on ? fastGetVblen : originalGetVblen);
  const { rows, used } = inspectCounting(pkis[0]!);
  assert.ok(rows.length >= 10, `${rows.length} rows`);
  for (const p of PATHS) {
    if (on) assert.ok(used[p] > 0, `${p} answered nothing with the fast paths on`);
    else assert.is(used[p], 0, `${p} answered with VCERTS_NO_FAST=1`);
  }
});

test('setFastPaths switches at run time, and the rows are the same either way', () => {
  const initially = fastPathsOn();
  try {
    setFastPaths(false);
    assert.is(getVblen(), originalGetVblen);
    const off = inspectCounting(pkis[1]!);
    for (const p of PATHS) assert.is(off.used[p], 0, `${p} answered while off`);
    setFastPaths(true);
    assert.is(getVblen(), fastGetVblen);
    const on = inspectCounting(pkis[2]!);
    for (const p of PATHS) assert.ok(on.used[p] > 0, `${p} answered nothing while on`);
    // the same PKI read both ways (fresh parses: the memos only hold names and extensions)
    setFastPaths(false);
    const libraryRows = inspectPki(pkis[2]!, opts);
    assert.equal(on.rows, libraryRows);
  } finally {
    setFastPaths(initially);
  }
});

test.run();
