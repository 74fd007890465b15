// The esbuild half of build.mjs: lazy loading checks (static and runtime) and the
// lazy string-width front, on fixtures shaped like src/ (no dist/ needed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';

const test = suite('build: bundle');
const FIX = path.join(B.ROOT, 'test/build/fixtures');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'build-test-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('lazy fixture: --version evaluates no heavy package, --help only yargs', async () => {
  const entry = path.join(FIX, 'lazy-app/main.ts');
  const b = await B.bundle({ entry, outfile: path.join(tmp, 'lazy.cjs') });
  assert.equal(B.staticallyReached(b.metafile), []);
  const [version, help] = await B.probeLazy({ entry });
  assert.is(version.status, 0, version.stderr);
  assert.equal(version.loaded, []);
  assert.is(help.status, 0, help.stderr);
  assert.equal(help.loaded, ['yargs', 'yargs-parser']);
  assert.equal(help.forbidden, []);
});

test('runtime probe sees what a command evaluates (it is not vacuous)', async () => {
  const entry = path.join(FIX, 'lazy-app/main.ts');
  const [check] = await B.probeLazy({ entry, rules: [{ args: ['check', 'x'], forbid: B.HEAVY }] });
  assert.is(check.status, 0, check.stderr);
  for (const p of ['@kubernetes/client-node', 'jsrsasign', 'yaml', 'yargs']) assert.ok(check.forbidden.includes(p), `${p} in ${check.forbidden}`);
});

test('static analysis flags a heavy package imported by the entry', async () => {
  const b = await B.bundle({ entry: path.join(FIX, 'eager-main.ts'), outfile: path.join(tmp, 'eager.cjs') });
  assert.equal(B.staticallyReached(b.metafile), ['yaml']);
});

test('bundle: CJS for node, hashbang, version defined, yargs import.meta.url shim works', async () => {
  const b = await B.bundle({ entry: path.join(FIX, 'lazy-app/main.ts'), outfile: path.join(tmp, 'v.cjs'), version: '9.8.7' });
  const src = fs.readFileSync(b.outfile, 'utf8');
  assert.ok(src.startsWith('#!/usr/bin/env node\n'));
  assert.not.ok(/require\("(bufferutil|utf-8-validate|supports-color)"\)/.test(src), 'optional natives are stubbed');
  const run = (args: string[]) => spawnSync(B.node22(), [b.outfile, ...args], { encoding: 'utf8' });
  assert.is(run(['--version']).stdout, 'lazy-app 9.8.7\n');
  const help = run(['--help']);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /check \[name\]/);
});

test('the worker bundle rides in the main bundle as text, and inspectWorker: false leaves it out', async () => {
  const worker = await B.bundleInspectWorker();
  assert.match(worker, /parentPort/);
  const withIt = await B.bundle({ outfile: path.join(tmp, 'with-worker.cjs') });
  const without = await B.bundle({ outfile: path.join(tmp, 'without-worker.cjs'), inspectWorker: false });
  assert.ok(withIt.bytes - without.bytes >= worker.length, `${withIt.bytes} vs ${without.bytes}`);
});

// The machine's own node (20 here), or another one older than 22; the test is a named skip without one.
const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
  const v = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return v.status === 0 && Number(v.stdout.split('.')[0]) < 22;
});

if (!OLD_NODE) console.log('skip: no Node.js older than 22 at /usr/bin/node or /usr/local/bin/node: the old-runtime message is not tested');
(OLD_NODE ? test : test.skip)('the bundle on a Node.js older than 22 says what it needs, one line, exit 3 (--version still answers)', async () => {
  const out = path.join(tmp, 'old-node.cjs');
  await B.bundle({ outfile: out });
  const r = spawnSync(OLD_NODE!, [out, 'check', '-A'], { encoding: 'utf8' });
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /^error: kubectl-vcluster_certs needs Node\.js 22 or newer, this is 2\d\.[\d.]+; use the standalone binary \(no Node\.js needed\) or upgrade Node\.js\n$/);
  assert.is(spawnSync(OLD_NODE!, [out, '--version'], { encoding: 'utf8' }).stdout, `kubectl-vcluster_certs ${B.pkgJson().version} (dev build)\n`);
});

test('string-width front: real widths, real module only loaded for non-ASCII', async () => {
  const b = await B.bundle({ entry: path.join(FIX, 'string-width-main.ts'), outfile: path.join(tmp, 'sw.cjs'), minify: false });
  const samples = ['', 'abc', 'a\tb', '\x1b[31mred\x1b[0m', '古池や', '👍🏽 ok', 'e\u0301', 'ｈａｌｆ', '\u00a0x', '~!@#$%^&*()'];
  const r = spawnSync(B.node22(), [b.outfile, JSON.stringify(samples)], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const { default: stringWidth } = await import('string-width');
  assert.is(out.ascii, stringWidth('  --help  Show help   [boolean]'));
  assert.equal(out.widths, samples.map((s) => stringWidth(s)));
  assert.is(out.segmentersAfterAscii, 0, 'ASCII input must not initialise string-width');
  assert.is(out.segmenters, 1, 'first non-ASCII input loads the real string-width');
});

test('targets are data: every release platform names an npm package and a full Node version', () => {
  assert.equal(Object.keys(B.TARGETS).sort(), ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'windows-x64']);
  for (const t of Object.values(B.TARGETS)) {
    assert.match(t.node, /^\d+\.\d+\.\d+$/);
    assert.match(B.pkgTargetString(t), /^node\d+\.\d+\.\d+-(linux|macos|win)-(x64|arm64)$/);
    assert.match(t.npm, /^node(-bin)?-(linux|darwin|win)-(x64|arm64)$/);
  }
});

test.run();
