// What bounds a fleet check's memory. collectGarbage: the exporter and a multi-context check rely on it to keep the process near its
// live size. It must really collect on the Node the binary embeds (the run-time flag is not a
// documented API): if a release stops honouring it, this fails instead of memory quietly growing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectGarbage } from '../../src/flows/heap.js';
import { defaultContextConcurrency } from '../../src/flows/check-contexts.js';

const test = suite('heap');

test('a full collection frees what nothing holds', () => {
  let junk: string[][] | null = Array.from({ length: 40 }, (_, i) => Array.from({ length: 20_000 }, (_, j) => `${i}-${j}-${'x'.repeat(20)}`));
  assert.ok(junk.length === 40);
  const before = process.memoryUsage().heapUsed;
  junk = null;
  assert.ok(collectGarbage(), 'the runtime allows it');
  const after = process.memoryUsage().heapUsed;
  // ~40 MB of strings and arrays were garbage
  assert.ok(before - after > 20 * 2 ** 20, `freed ${((before - after) / 2 ** 20).toFixed(1)} MB`);
  assert.ok(collectGarbage(), 'and again');
});

test('contexts at once: one per CPU, at least 2, at most 4', () => {
  assert.equal([1, 2, 3, 4, 16].map((n) => defaultContextConcurrency(n)), [2, 2, 3, 4, 4]);
  assert.ok(defaultContextConcurrency() >= 2 && defaultContextConcurrency() <= 4);
});

test.run();
