// /data/pki is read with busybox tar; file names come from tar headers and stay data.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { safeRelativePath, untarFiles } from '../../src/kube/pki-source.js';

const run = promisify(execFile);
const test = suite('tar reading');

test('names with shell syntax, spaces and newlines survive as data (busybox tar)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-tar-'));
  const marker = join(dir, 'pki', 'PWNED');
  try {
    const names = ['ca.crt', 'etcd/ca.crt', '$(touch PWNED).crt', 'with space.crt', 'new\nline.crt', '`id`;rm -rf x.crt'];
    mkdirSync(join(dir, 'pki', 'etcd'), { recursive: true });
    for (const n of names) writeFileSync(join(dir, 'pki', n), `content of ${n}`);
    const { stdout } = await run('busybox', ['tar', '-C', join(dir, 'pki'), '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 24 });
    const files = await untarFiles(stdout as unknown as Buffer);
    assert.equal([...files.keys()].sort(), [...names].sort());
    for (const n of names) assert.is(files.get(n)!.toString(), `content of ${n}`);
    assert.not.ok(existsSync(marker), 'nothing was executed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('path traversal, absolute names and links are skipped', async () => {
  const pack = tar.pack();
  pack.entry({ name: '../evil.crt' }, 'x');
  pack.entry({ name: '/etc/passwd' }, 'y');
  pack.entry({ name: 'link.crt', type: 'symlink', linkname: '/etc/shadow' });
  pack.entry({ name: './ok.crt' }, 'z');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const files = await untarFiles(Buffer.concat(chunks));
  assert.equal([...files.keys()].sort(), ['etc/passwd', 'ok.crt']);
  assert.is(safeRelativePath('a/../../b'), null);
  assert.is(safeRelativePath('./etcd//ca.crt'), 'etcd/ca.crt');
});

test('a damaged archive is a clear error', async () => {
  try {
    await untarFiles(Buffer.from('this is not a tar archive at all, but long enough '.repeat(20)));
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /damaged|invalid|tar/i);
  }
});

test.run();
