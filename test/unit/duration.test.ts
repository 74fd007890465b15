import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration } from '../../src/cli/duration.js';

const test = suite('cli/duration');

test('durations: Go style plus d/w/y, errors on junk', () => {
  assert.is(parseDuration('30d', 'x'), 30 * 86_400_000);
  assert.is(parseDuration('1h30m', 'x'), 5_400_000);
  assert.is(parseDuration('8760h', 'x'), 365 * 86_400_000);
  assert.is(parseDuration('0', 'x'), 0);
  for (const bad of ['', '30', 'd', '3 days', '-1d', '1h-']) assert.throws(() => parseDuration(bad, '--warn-within'), /invalid --warn-within/);
});

test.run();
