// --kubeconfig-out writes the only private key this tool ever writes locally: 0600 from the start,
// and never over an existing file unless --overwrite says so (not even one that appears meanwhile).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../src/errors.js';
import { assertWritable, writePrivateFile } from '../../src/flows/kubeconfig-out.js';

const test = suite('kubeconfig-out');
let dir = '';
test.before.each(() => { dir = mkdtempSync(join(tmpdir(), 'kco-')); });
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => void): UserError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, UserError);
    return err as UserError;
  }
  throw new Error('expected an error');
}

test('an existing file is refused up front without --overwrite, and kept', () => {
  const path = join(dir, 'config');
  writeFileSync(path, 'precious');
  const err = thrown(() => assertWritable(path));
  assert.is(err.exitCode, 3);
  assert.match(err.message, /exists \(--kubeconfig-out\): pass --overwrite to replace it, or pick another path \(nothing was changed\)/);
  assertWritable(path, true);
  assert.is(readFileSync(path, 'utf8'), 'precious');
});

test('a new file is written 0600; an existing one only with overwrite', () => {
  const path = join(dir, 'new.kubeconfig');
  assertWritable(path);
  writePrivateFile(path, 'apiVersion: v1\n');
  assert.is(statSync(path).mode & 0o777, 0o600);
  const err = thrown(() => writePrivateFile(path, 'other\n'));
  assert.is(err.exitCode, 4);
  assert.is(readFileSync(path, 'utf8'), 'apiVersion: v1\n', 'a file that appeared after the check is not replaced');
  writePrivateFile(path, 'replaced\n', true);
  assert.is(readFileSync(path, 'utf8'), 'replaced\n');
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.equal(readdirNames(), ['new.kubeconfig'], 'no temp files left');
});

function readdirNames(): string[] {
  return readdirSync(dir).sort();
}

test.run();
