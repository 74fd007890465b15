// Reproducible releases: two `npm run release` runs of this checkout for the build machine's
// own target (the one with the V8 code cache, the last to reproduce), from build directories
// at different paths, give byte-identical archives, SBOM, checksums.txt and krew manifest.
// All five targets: `npm run release -- --verify-reproducible` (about twice a release's time,
// too slow for every test run).
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readArchive } from '../../scripts/archive.mjs';
import * as B from '../../scripts/build-lib.mjs';
import * as K from '../../scripts/krew.mjs';
import * as R from '../../scripts/release-lib.mjs';
import { RELEASE_VERSION_LINE, ROOT, VERSION, run, tmpDir } from './helpers.js';

const test = suite('release: reproducible');
const tmp = tmpDir('reproducible-test-');
const host = B.hostTargetName();
const dirs = [path.join(tmp, 'a'), path.join(tmp, 'second', 'build-b')];
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.before(async () => {
  for (const d of dirs) {
    const r = await run(B.node22(), ['scripts/release.mjs', '--quiet', '--targets', host, '--level', '1', '--build-dir', path.join(d, 'build'), '--outdir', path.join(d, 'release'), '--manifest', path.join(d, 'krew-manifest.yaml')], { cwd: ROOT, timeoutMs: 10 * 60_000 });
    assert.is(r.code, 0, r.stdout + r.stderr);
  }
});

test('two releases of the host target: every file identical (archive, SBOM, checksums.txt, manifest)', () => {
  const [a, b] = dirs.map((d) => path.join(d, 'release'));
  const { same, differ } = R.compareReleases(a!, b!);
  assert.equal(differ, []);
  const t = B.TARGETS[host]!;
  const archive = K.archiveName(VERSION, t);
  assert.equal(same, ['checksums.txt', archive.replace(/\.(tar\.gz|zip)$/, '.cdx.json'), archive, 'vcluster-certs.yaml'].sort());
  assert.ok(fs.readFileSync(path.join(dirs[0]!, 'build', B.BIN_NAME)).equals(fs.readFileSync(path.join(dirs[1]!, 'build', B.BIN_NAME))), 'binaries identical');
});

test('the release binary: its code cache is accepted, --version names HEAD and the commit\'s date', async () => {
  const bin = path.join(dirs[0]!, 'build', B.BIN_NAME);
  const v = await run(bin, ['--version']);
  assert.is(v.stderr, '', 'no "Code cache data rejected" warning');
  assert.match(v.stdout.trim(), RELEASE_VERSION_LINE);
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT })).stdout.trim();
  const date = new Date(Number((await run('git', ['log', '-1', '--format=%ct'], { cwd: ROOT })).stdout.trim()) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  assert.ok(v.stdout.includes(`(commit ${head}`) && v.stdout.includes(`, built ${process.env.SOURCE_DATE_EPOCH ? '' : date})`), v.stdout);
  const j = JSON.parse((await run(bin, ['version', '-o', 'json'])).stdout);
  assert.equal([j.build, j.gitCommit], ['release', head]);
  const recorded = JSON.parse(fs.readFileSync(path.join(dirs[0]!, 'build', B.BUILD_INFO_FILE), 'utf8'));
  assert.equal([recorded.build, recorded.gitCommit, recorded.buildDate], ['release', head, j.buildDate]);
});

test('the SBOM names the binary inside the archive (sha256); it and the krew manifest are in checksums.txt', async () => {
  const rel = path.join(dirs[0]!, 'release');
  const archive = fs.readdirSync(rel).find((f) => /\.(tar\.gz|zip)$/.test(f))!;
  const entries = await readArchive(fs.readFileSync(path.join(rel, archive)));
  const binary = entries.find((e) => e.name.startsWith(B.BIN_NAME))!.data;
  const sbomFile = archive.replace(/\.(tar\.gz|zip)$/, '.cdx.json');
  const sbom = JSON.parse(fs.readFileSync(path.join(rel, sbomFile), 'utf8'));
  assert.is(sbom.metadata.component.hashes[0].content, createHash('sha256').update(binary).digest('hex'));
  const sums = await run('sha256sum', ['-c', 'checksums.txt'], { cwd: rel });
  assert.is(sums.code, 0, sums.stdout + sums.stderr);
  assert.match(sums.stdout, new RegExp(`^${sbomFile.replace(/\./g, '\\.')}: OK$`, 'm'));
  assert.match(sums.stdout, /^vcluster-certs\.yaml: OK$/m);
});

test('compareReleases reports a changed byte and a file present on one side only', () => {
  const copy = path.join(tmp, 'copy');
  fs.cpSync(path.join(dirs[1]!, 'release'), copy, { recursive: true });
  const file = fs.readdirSync(copy).find((f) => f.endsWith('.cdx.json'))!;
  const buf = fs.readFileSync(path.join(copy, file));
  buf[100] = buf[100]! ^ 1;
  fs.writeFileSync(path.join(copy, file), buf);
  fs.writeFileSync(path.join(copy, 'extra.txt'), 'x');
  fs.writeFileSync(path.join(copy, 'release.json'), '{"timings":"differ and do not count"}');
  const { differ } = R.compareReleases(path.join(dirs[0]!, 'release'), copy);
  assert.equal(differ.map((d) => d.file), ['extra.txt', file]);
  assert.match(differ[1]!.reason, /first difference at byte 100$/);
});

test.run();
