// The built artefacts (scripts/test.mjs runs `node build.mjs` first): the binary runs
// with no node reachable, the bundle keeps heavy modules lazy, build.mjs works on the
// system Node 20, and bench/startup.mjs reports ratios against the real kubectl.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';

const test = suite('build: binary');
const BIN = path.join(B.DIST, B.BIN_NAME);
const version = B.pkgJson().version;

test('dist/ has the binary, the bundle and its metafile', () => {
  for (const f of [BIN, path.join(B.DIST, 'bundle.cjs'), path.join(B.DIST, 'bundle.meta.json')]) assert.ok(fs.existsSync(f), `${f} (run npm run build)`);
});

test('binary runs --version and --help with node absent from PATH', () => {
  const v = B.runWithoutNode(BIN, ['--version']);
  assert.is(v.status, 0, v.stderr);
  assert.is(v.stdout.trim(), `kubectl-vcluster_certs ${version} (dev build)`);
  assert.is(v.stderr, '');
  if (process.getuid?.() === 0) assert.ok(v.isolated, '/usr/bin/node hidden with unshare -m');
  const h = B.runWithoutNode(BIN, ['--help']);
  assert.is(h.status, 0, h.stderr);
  assert.match(h.stdout, /kubectl vcluster-certs/);
});

test('src/main.ts reaches no heavy package through static imports', () => {
  const meta = JSON.parse(fs.readFileSync(path.join(B.DIST, 'bundle.meta.json'), 'utf8'));
  assert.equal(B.staticallyReached(meta), []);
});

test('build.mjs on the system Node (< 22) re-uses Node 22 for pkg', () => {
  const sys = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => fs.existsSync(p));
  const major = sys ? Number(spawnSync(sys, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout) : 0;
  if (!sys || major >= 22) return; // nothing to prove here
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'build-node20-'));
  try {
    const r = spawnSync(sys, ['build.mjs', '--outdir', out, '--skip-lazy-check', '--quiet'], { cwd: B.ROOT, encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
    assert.is(r.status, 0, r.stdout + r.stderr);
    const v = spawnSync(path.join(out, B.BIN_NAME), ['--version'], { encoding: 'utf8' });
    assert.is(v.stdout.trim(), `kubectl-vcluster_certs ${version} (dev build)`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('bench/startup.mjs: medians and ratios against the real kubectl, sizes', () => {
  const r = spawnSync(B.node22(), ['bench/startup.mjs', '--runs', '3', '--warmup', '0', '--json'], { cwd: B.ROOT, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const names = j.cases.map((c: { name: string }) => c.name);
  assert.ok(names.includes('kubectl-vcluster_certs --version') && names.includes('kubectl-vcluster_certs --help'));
  assert.ok(j.sizes.binary.gzip > 0 && j.sizes.binary.gzip < j.sizes.binary.bytes);
  assert.ok(j.sizes.icu && j.sizes.icu.items < 1000, `ICU data reported, English-only: ${JSON.stringify(j.sizes.icu)}`);
  if (j.kubectl) {
    assert.not.match(j.kubectl.version ?? '', /dispatcher/, 'the real kubectl, not gcloud\'s dispatcher');
    for (const c of j.cases) assert.type(c.ratio_to_kubectl, 'number');
  }
});

test.run();
