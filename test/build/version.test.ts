// Version data: a local build says "dev build"; a release build (build.mjs --release) names
// the git commit and the commit's date, taken from git, never the wall clock.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';

const test = suite('build: version data');
const BIN = path.join(B.DIST, B.BIN_NAME);
const version = B.pkgJson().version;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'version-test-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts });

/** A git repository with one commit dated 2001-02-03T04:05:06Z (author and committer). */
function repo(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const env = { ...process.env, GIT_AUTHOR_DATE: '2001-02-03T04:05:06Z', GIT_COMMITTER_DATE: '2001-02-03T04:05:06Z', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
  for (const args of [['init', '-q'], ['add', '-A'], ['commit', '-q', '--allow-empty', '-m', 'x']]) {
    if (args[0] === 'add') fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
    const r = run('git', args, { cwd: dir, env });
    assert.is(r.status, 0, r.stderr);
  }
  return dir;
}

test('dev build (npm run build): --version and `version` say "dev build"; -o json has no commit or date', () => {
  assert.ok(fs.existsSync(BIN), `${BIN} missing: run npm run build`);
  for (const args of [['--version'], ['version'], ['version', '-o', 'text']]) {
    const r = run(BIN, args);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, `kubectl-vcluster_certs ${version} (dev build)\n`, args.join(' '));
    assert.is(r.stderr, '');
  }
  assert.equal(JSON.parse(fs.readFileSync(path.join(B.DIST, B.BUILD_INFO_FILE), 'utf8')), { version, build: 'dev', gitCommit: null, gitTreeState: null, buildDate: null });
  const j = run(BIN, ['version', '-o', 'json']);
  assert.is(j.status, 0, j.stderr);
  assert.equal(JSON.parse(j.stdout), {
    version, build: 'dev', gitCommit: null, gitTreeState: null, buildDate: null,
    nodeVersion: B.TARGETS[B.hostTargetName()]!.node, platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  });
});

test('version -o yaml: one error line, exit 3', () => {
  const r = run(BIN, ['version', '-o', 'yaml']);
  assert.is(r.status, 3);
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'error: unknown -o/--output value "yaml": use one of text, json\n');
});

test('releaseBuildInfo: HEAD commit, its committer date (not now), clean/dirty, SOURCE_DATE_EPOCH wins', () => {
  const dir = repo('clean');
  const head = run('git', ['rev-parse', 'HEAD'], { cwd: dir }).stdout.trim();
  const env = { PATH: process.env.PATH };
  assert.equal(B.releaseBuildInfo(env, dir), { gitCommit: head, gitTreeState: 'clean', buildDate: '2001-02-03T04:05:06Z' });
  assert.is(B.sourceDateEpoch(env, dir), 981173106);
  fs.writeFileSync(path.join(dir, 'new.txt'), 'untracked\n');
  assert.is(B.releaseBuildInfo(env, dir).gitTreeState, 'dirty');
  fs.rmSync(path.join(dir, 'new.txt'));
  fs.writeFileSync(path.join(dir, 'a.txt'), 'changed\n');
  assert.is(B.releaseBuildInfo(env, dir).gitTreeState, 'dirty');
  assert.is(B.releaseBuildInfo({ ...env, SOURCE_DATE_EPOCH: '1700000000' }, dir).buildDate, '2023-11-14T22:13:20Z');
  const none = path.join(tmp, 'no-git');
  fs.mkdirSync(none);
  assert.equal(B.releaseBuildInfo({ ...env, SOURCE_DATE_EPOCH: '1700000000' }, none), { gitCommit: null, gitTreeState: null, buildDate: '2023-11-14T22:13:20Z' });
});

test('a release bundle reports commit, tree state and date in --version and version -o json', async () => {
  const info = { gitCommit: 'a'.repeat(40), gitTreeState: 'clean' as const, buildDate: '2001-02-03T04:05:06Z' };
  const out = path.join(tmp, 'release.cjs');
  await B.bundle({ outfile: out, buildInfo: info, inspectWorker: false });
  const v = run(B.node22(), [out, '--version']);
  assert.is(v.stdout, `kubectl-vcluster_certs ${version} (commit ${'a'.repeat(40)}, built 2001-02-03T04:05:06Z)\n`, v.stderr);
  const j = JSON.parse(run(B.node22(), [out, 'version', '-o', 'json']).stdout);
  assert.equal([j.version, j.build, j.gitCommit, j.gitTreeState, j.buildDate], [version, 'release', 'a'.repeat(40), 'clean', '2001-02-03T04:05:06Z']);
  const dirty = path.join(tmp, 'dirty.cjs');
  await B.bundle({ outfile: dirty, buildInfo: { ...info, gitTreeState: 'dirty' }, inspectWorker: false });
  assert.is(run(B.node22(), [dirty, 'version']).stdout, `kubectl-vcluster_certs ${version} (commit ${'a'.repeat(40)} with uncommitted changes, built 2001-02-03T04:05:06Z)\n`);
});

test.run();
