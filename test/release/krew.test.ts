// Release archives and the krew manifest: validated with the rules of krew-index's
// validate-krew-manifest, and installed the way krew installs (extract into a temp dir,
// `bin` present and executable, a LICENSE file). Fast path: a linux-x64 archive from
// dist/kubectl-vcluster_certs (npm test builds it) plus small stand-ins for the other four
// platforms. VCERTS_RELEASE_TEST=1 runs the full `npm run release` first and validates
// dist/release too (also run whenever dist/release holds a release).
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { extractArchive, readArchive, tarGz, zip, sha256Hex, type Entry } from '../../scripts/archive.mjs';
import * as B from '../../scripts/build-lib.mjs';
import * as K from '../../scripts/krew.mjs';
import * as R from '../../scripts/release-lib.mjs';
import { BIN, DEV_VERSION_LINE, RELEASE_VERSION_LINE, ROOT, VERSION, run, tmpDir, which } from './helpers.js';

const test = suite('release: krew manifest and archives');
const tmp = tmpDir('krew-test-');
const TARGETS = Object.keys(B.TARGETS);
interface Built { target: string; file: string; sha256: string }
let built: Built[] = [];
let manifestPath = '';

/** A stand-in binary: a tiny script (or an "MZ" stub for Windows) instead of 100 MB. */
function fakeBinary(target: string): Buffer {
  return B.TARGETS[target]!.os === 'win' ? Buffer.from('MZ fake windows binary\n') : Buffer.from(`#!/bin/sh\necho "fake ${target}"\n`);
}

test.before(async () => {
  const outdir = path.join(tmp, 'release');
  for (const target of TARGETS) {
    const real = target === B.hostTargetName() && fs.existsSync(BIN);
    const entries = R.archiveEntries(target, BIN, { binaryData: real ? fs.readFileSync(BIN) : fakeBinary(target) });
    const a = await R.writeArchive(target, entries, { outdir, version: VERSION, mtime: 1_700_000_000, level: 1 });
    built.push({ target, ...a });
  }
  fs.writeFileSync(path.join(outdir, 'checksums.txt'), R.checksumsText(built));
  fs.mkdirSync(path.join(tmp, 'plugins'));
  manifestPath = path.join(tmp, 'plugins', `${K.PLUGIN_NAME}.yaml`);
  fs.writeFileSync(manifestPath, R.manifestFor(built, { version: VERSION, owner: 'example-org' }));
});
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const load = (p: string) => parse(fs.readFileSync(p, 'utf8'));

test('dist/kubectl-vcluster_certs exists (npm test builds it; the linux-x64 archive uses it)', () => {
  assert.ok(fs.existsSync(BIN), `${BIN} missing: run npm run build`);
});

test('generated manifest passes every validate-krew-manifest rule, without warnings', () => {
  const { errors, warnings } = K.validateManifest(load(manifestPath), { fileName: manifestPath });
  assert.equal(errors, []);
  assert.equal(warnings, []);
});

test('manifest fields: name, v-semver, one-line description, caveats, one platform per os/arch', () => {
  const m = load(manifestPath);
  assert.is(m.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2');
  assert.is(m.kind, 'Plugin');
  assert.is(m.metadata.name, 'vcluster-certs');
  assert.is(m.spec.version, `v${VERSION}`);
  assert.is(m.spec.homepage, 'https://github.com/example-org/kubectl-vcluster_certs');
  assert.not.match(m.spec.shortDescription, /\n/);
  assert.ok(m.spec.description.length > 100);
  assert.match(m.spec.caveats, /kubectl vcluster-certs completion kubectl > "\$SHIM"/);
  assert.match(m.spec.caveats, new RegExp(`store/vcluster-certs/v${VERSION.replace(/\./g, '\\.')}"\\n\\s+codesign --sign - kubectl-vcluster_certs`));
  const pairs = m.spec.platforms.map((p: K.Platform) => `${p.selector!.matchLabels!.os}/${p.selector!.matchLabels!.arch}`);
  assert.equal(pairs, ['linux/amd64', 'linux/arm64', 'darwin/amd64', 'darwin/arm64', 'windows/amd64']);
  for (const [i, p] of (m.spec.platforms as K.Platform[]).entries()) {
    const b = built[i]!;
    assert.is(p.uri, `https://github.com/example-org/kubectl-vcluster_certs/releases/download/v${VERSION}/${path.basename(b.file)}`);
    assert.is(p.sha256, sha256Hex(fs.readFileSync(b.file)));
    assert.is(p.bin, b.target.startsWith('windows') ? 'kubectl-vcluster_certs.exe' : 'kubectl-vcluster_certs');
    assert.match(path.basename(b.file), new RegExp(`^kubectl-vcluster_certs_${VERSION.replace(/\./g, '\\.')}_(linux|darwin|windows)_(amd64|arm64)\\.(tar\\.gz|zip)$`));
  }
});

test('every platform installs like krew; the linux-x64 install runs --version and its completion helper', async () => {
  const m = load(manifestPath);
  for (const [i, p] of K.platformsOf(m).entries()) {
    const dir = path.join(tmp, 'install', String(i));
    const { binPath, files } = await K.installPlatform(p, fs.readFileSync(built[i]!.file), dir);
    assert.ok(files.includes('LICENSE') && files.includes('README.md'), files.join(', '));
    assert.ok(files.includes(p.os === 'windows' ? 'kubectl_complete-vcluster_certs.cmd' : 'kubectl_complete-vcluster_certs'), files.join(', '));
    if (built[i]!.target === B.hostTargetName()) {
      const v = await run(binPath, ['--version']);
      assert.is(v.stdout.trim(), DEV_VERSION_LINE, v.stderr);
      const shim = path.join(path.dirname(binPath), 'kubectl_complete-vcluster_certs');
      const c = await run(shim, [''], { env: { PATH: `${path.dirname(binPath)}:/usr/bin:/bin`, HOME: tmp } });
      assert.match(c.stdout, /^check\t/m, c.stderr);
      assert.match(c.stdout, /^rotate\t/m);
      assert.match(c.stdout, /\n:4\n$/);
    }
  }
});

test('checksums.txt verifies with sha256sum -c; archives list with tar and zip tools', async () => {
  const dir = path.join(tmp, 'release');
  const text = fs.readFileSync(path.join(dir, 'checksums.txt'), 'utf8');
  assert.is(text.trim().split('\n').length, 5);
  for (const b of built) assert.ok(text.includes(`${b.sha256}  ${path.basename(b.file)}\n`));
  const c = await run('sha256sum', ['-c', 'checksums.txt'], { cwd: dir });
  assert.is(c.code, 0, c.stdout + c.stderr);
  assert.is((c.stdout.match(/: OK$/gm) ?? []).length, 5);
  const linux = built.find((b) => b.target === 'linux-arm64')!;
  const t = await run('tar', ['--utc', '-tvzf', linux.file]);
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stdout, /^-rwxr-xr-x root\/root .* 2023-11-14 22:13 kubectl-vcluster_certs$/m); // mtime 1_700_000_000
  assert.match(t.stdout, /^-rwxr-xr-x root\/root .* kubectl_complete-vcluster_certs$/m);
  assert.match(t.stdout, /^-rw-r--r-- root\/root .* LICENSE$/m);
  const lic = await run('tar', ['-xzOf', linux.file, 'LICENSE']);
  assert.is(lic.stdout, fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'));
  const win = built.find((b) => b.target === 'windows-x64')!;
  if (which('python3')) {
    const z = await run('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(f"{i.filename} {i.external_attr >> 16:o} {i.date_time}" for i in z.infolist()))', win.file]);
    assert.is(z.code, 0, z.stderr);
    assert.match(z.stdout, /^kubectl-vcluster_certs\.exe 100755 \(2023, 11, 14, 22, 13, 20\)$/m); // DOS time in UTC, whatever $TZ
    assert.match(z.stdout, /^LICENSE 100644 /m);
  } else {
    console.log('skip part: python3 absent, zip not cross-checked with zipfile');
  }
});

test('archives are reproducible: same inputs and mtime give the same sha256; readers round-trip', async () => {
  const entries: Entry[] = [
    { name: 'kubectl-vcluster_certs', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { name: 'LICENSE', data: Buffer.from('license text'), mode: 0o644 },
  ];
  const tz = process.env.TZ;
  for (const make of [tarGz, zip]) {
    const a = await make(entries, { mtime: 1_700_000_000 });
    process.env.TZ = 'Asia/Kolkata'; // zip's DOS times are local time by default: must not leak into the bytes
    const b = await make(entries, { mtime: 1_700_000_000 });
    if (tz === undefined) delete process.env.TZ; else process.env.TZ = tz;
    assert.is(sha256Hex(a), sha256Hex(b));
    assert.is.not(sha256Hex(a), sha256Hex(await make(entries, { mtime: 1_700_000_002 })));
    const back = await readArchive(a);
    assert.equal(back.map((e) => [e.name, e.mode, e.data.toString()]), entries.map((e) => [e.name, e.mode, e.data.toString()]));
  }
});

test('zip reader refuses a name that escapes the extraction directory', async () => {
  // yazl refuses to write "../evil", so patch a same-length name in both headers.
  const good = await zip([{ name: 'LICENSE', data: Buffer.from('x'), mode: 0o644 }, { name: 'zz/evil', data: Buffer.from('x'), mode: 0o644 }]);
  const evil = Buffer.from(good.toString('latin1').replaceAll('zz/evil', '../evil'), 'latin1');
  const dir = path.join(tmp, 'zip-escape');
  try {
    await extractArchive(evil, dir);
    assert.unreachable('extracting ../evil should fail');
  } catch (e) {
    assert.match(String((e as Error).message), /invalid relative path|outside the target directory/);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'evil')));
});

// ---- negative cases: each rule must reject what it is there to reject -------------------
const validManifest = () => load(manifestPath);
const errorsOf = (m: unknown, fileName = manifestPath) => K.validateManifest(m, { fileName }).errors.join('\n');

test('validator rejects overlapping selectors', () => {
  const m = validManifest();
  m.spec.platforms.push({ ...m.spec.platforms[0], selector: { matchLabels: { os: 'linux' } } });
  assert.match(errorsOf(m), /overlapping selectors that select os=linux\/arch=amd64/);
  const e = validManifest();
  e.spec.platforms[1].selector = { matchExpressions: [{ key: 'os', operator: 'In', values: ['linux', 'darwin'] }] };
  assert.match(errorsOf(e), /overlapping/);
});

test('validator rejects an upper-case or short sha256', () => {
  const m = validManifest();
  m.spec.platforms[0].sha256 = m.spec.platforms[0].sha256.toUpperCase();
  assert.match(errorsOf(m), /`sha256` value [0-9A-F]{64} is not valid, must match pattern \^\[a-f0-9\]\{64\}\$/);
  m.spec.platforms[0].sha256 = 'abc';
  assert.match(errorsOf(m), /`sha256` value abc is not valid/);
});

test('validator rejects wrong apiVersion/kind, bad names, versions, descriptions, selectors, bins', () => {
  const cases: Array<[string, (m: any) => void, RegExp, string?]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['apiVersion', (m) => { m.apiVersion = 'krew.googlecontainertools.github.com/v1alpha1'; }, /apiVersion/],
    ['kind', (m) => { m.kind = 'plugin'; }, /kind is "plugin"/],
    ['name regex', (m) => { m.metadata.name = 'vcluster certs'; }, /plugin name "vcluster certs" is not allowed/],
    ['windows reserved name', (m) => { m.metadata.name = 'aux'; }, /not allowed/, 'plugins/aux.yaml'],
    ['name = file stem', (m) => { m.metadata.name = 'vcluster-cert'; }, /should be named "vcluster-certs"/],
    ['version without v', (m) => { m.spec.version = VERSION; }, /failed to parse plugin version/],
    ['version not semver', (m) => { m.spec.version = 'v1.2'; }, /failed to parse plugin version/],
    ['shortDescription missing', (m) => { delete m.spec.shortDescription; }, /should have a short description/],
    ['shortDescription line break', (m) => { m.spec.shortDescription = 'one\ntwo'; }, /line breaks/],
    ['no platforms', (m) => { m.spec.platforms = []; }, /should have a platform specified/],
    ['uri', (m) => { delete m.spec.platforms[0].uri; }, /`uri` has to be set/],
    ['bin', (m) => { delete m.spec.platforms[0].bin; }, /`bin` has to be set/],
    ['files empty', (m) => { m.spec.platforms[0].files = []; }, /`files` has to be unspecified or non-empty/],
    ['nil selector', (m) => { delete m.spec.platforms[0].selector; }, /nil selector/],
    ['empty selector', (m) => { m.spec.platforms[0].selector = {}; }, /empty selector/],
    ['selector key', (m) => { m.spec.platforms[0].selector.matchLabels.distro = 'debian'; }, /key "distro" not supported/],
    ['unsupported pair', (m) => { m.spec.platforms[0].selector.matchLabels = { os: 'linux', arch: 's390x' }; }, /doesn't match any supported platform/],
    ['windows bin not .exe', (m) => { m.spec.platforms[4].bin = 'kubectl-vcluster_certs.bat'; }, /must be an \.exe/],
  ];
  for (const [what, mutate, expect, fileName] of cases) {
    const m = validManifest();
    mutate(m);
    assert.match(errorsOf(m, fileName ?? manifestPath), expect, what);
  }
  assert.ok(K.isKrewSemver('v1.2.3-rc.1+build.5') && !K.isKrewSemver('v01.2.3'));
});

test('install rejects a missing LICENSE, a sha256 mismatch, a non-executable or missing bin, path escapes', async () => {
  const m = validManifest();
  const p = K.platformsOf(m)[1]!; // linux/arm64, a small stand-in archive
  const make = async (entries: Entry[]) => {
    const buf = await tarGz(entries);
    return { buf, platform: { ...p, sha256: sha256Hex(buf) } };
  };
  const bin = { name: 'kubectl-vcluster_certs', data: fakeBinary('linux-arm64'), mode: 0o755 };
  const lic = { name: 'LICENSE', data: Buffer.from('Apache-2.0'), mode: 0o644 };
  const dir = (n: string) => path.join(tmp, 'neg', n);
  const expectFail = async (entries: Entry[], re: RegExp, mutate: (x: K.Platform) => K.Platform = (x) => x) => {
    const { buf, platform } = await make(entries);
    try {
      await K.installPlatform(mutate(platform), buf, dir(String(Math.random())));
    } catch (e) {
      assert.match(String((e as Error).message), re);
      return;
    }
    assert.unreachable(`install should fail with ${re}`);
  };
  await expectFail([bin], /no license file/);
  await expectFail([bin, lic], /sha256 mismatch/, (x) => ({ ...x, sha256: '0'.repeat(64) }));
  await expectFail([{ ...bin, mode: 0o644 }, lic], /is not executable/);
  await expectFail([lic], /bin "kubectl-vcluster_certs" does not exist/);
  await expectFail([bin, lic, { name: '../evil', data: Buffer.from('x'), mode: 0o644 }], /outside the target directory/);
  // and the positive control with the same helper
  const ok = await make([bin, lic]);
  const r = await K.installPlatform(ok.platform, ok.buf, dir('ok'));
  assert.equal(r.files.sort(), ['LICENSE', 'kubectl-vcluster_certs']);
});

test('committed krew-manifest.yaml: the template of this version, no sha256 value; valid, five platforms once filled', () => {
  const file = R.MANIFEST;
  assert.ok(fs.existsSync(file), 'krew-manifest.yaml missing: npm run release generates it');
  const text = fs.readFileSync(file, 'utf8');
  const m = parse(text);
  const owner = /^https:\/\/github\.com\/([^/]+)\//.exec(m.spec.homepage)?.[1] ?? '';
  assert.is(text, R.manifestTemplate({ version: VERSION, owner }), 'krew-manifest.yaml is not the template of this version: npm run release regenerates it');
  // The archives embed their commit, so no commit can carry its own archives' sha256.
  assert.not.match(text, /[0-9a-f]{64}/);
  assert.match(text, /^# Template, not an installable manifest/);
  for (const p of K.platformsOf(m)) assert.is(p.sha256, JSON.parse(R.SHA256_PLACEHOLDER));
  assert.match(K.validateManifest(m, { fileName: 'plugins/vcluster-certs.yaml' }).errors.join('\n'), /`sha256` value .* is not valid/);
  for (const [i, p] of (m.spec.platforms as K.Platform[]).entries()) p.sha256 = sha256Hex(Buffer.from(String(i)));
  // krew-index names the file plugins/vcluster-certs.yaml: validate under that name
  const { errors, warnings } = K.validateManifest(m, { fileName: 'plugins/vcluster-certs.yaml' });
  assert.equal(errors, []);
  assert.equal(warnings, []);
  assert.is(m.spec.version, `v${VERSION}`);
  const files = K.platformsOf(m).map((p) => path.basename(p.uri!));
  assert.equal(files, TARGETS.map((t) => K.archiveName(VERSION, B.TARGETS[t]!)));
});

// ---- a real release (VCERTS_RELEASE_TEST=1, or one already in dist/release) --------------
const releaseManifest = path.join(R.RELEASE_DIR, `${K.PLUGIN_NAME}.yaml`);
const wantRelease = process.env.VCERTS_RELEASE_TEST === '1';
const haveRelease = wantRelease || fs.existsSync(releaseManifest);
(haveRelease ? test : test.skip)('real release in dist/release: manifest valid, checksums, every archive installs, binaries run', async () => {
  if (wantRelease) {
    const t0 = performance.now();
    const r = await run(B.node22(), ['scripts/release.mjs', '--quiet', '--manifest', path.join(tmp, 'krew-manifest.yaml')], { cwd: ROOT, timeoutMs: 15 * 60_000 });
    assert.is(r.code, 0, r.stdout + r.stderr);
    console.log(`npm run release took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const m = load(releaseManifest);
  const { errors } = K.validateManifest(m, { fileName: releaseManifest });
  assert.equal(errors, []);
  const sums = await run('sha256sum', ['-c', 'checksums.txt'], { cwd: R.RELEASE_DIR });
  assert.is(sums.code, 0, sums.stdout + sums.stderr);
  for (const p of K.platformsOf(m)) assert.match(sums.stdout, new RegExp(`^${path.basename(p.uri!).replace(/\.(tar\.gz|zip)$/, '').replace(/\./g, '\\.')}\\.cdx\\.json: OK$`, 'm'), 'an SBOM per archive, in checksums.txt');
  const qemu = which('qemu-aarch64') && fs.existsSync('/lib/ld-linux-aarch64.so.1') ? which('qemu-aarch64') : null;
  const wine = which('wine64') ?? (fs.existsSync('/usr/lib/wine/wine64') ? '/usr/lib/wine/wine64' : null);
  for (const [i, p] of K.platformsOf(m).entries()) {
    const archive = path.join(R.RELEASE_DIR, path.basename(p.uri!));
    const { binPath } = await K.installPlatform(p, fs.readFileSync(archive), path.join(tmp, 'real', String(i)));
    const data = fs.readFileSync(binPath);
    let v: { stdout: string; stderr: string } | null = null;
    if (p.os === 'linux' && p.arch === 'amd64' && process.arch === 'x64') v = await run(binPath, ['--version']);
    else if (p.os === 'linux' && p.arch === 'arm64' && qemu) v = await run(qemu, ['-L', '/', binPath, '--version'], { timeoutMs: 120_000 });
    else if (p.os === 'windows' && wine) {
      // wine: Windows 10 mode (Node refuses older), output through a file (wine's console is unreliable)
      const prefix = path.join(tmp, 'wineprefix');
      const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all' };
      await run(wine, ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env, timeoutMs: 120_000 });
      const out = path.join(tmp, 'wine.out');
      const err = path.join(tmp, 'wine.err');
      await run('sh', ['-c', '"$0" "$1" --version >"$2" 2>"$3" </dev/null', wine, binPath, out, err], { env, timeoutMs: 120_000 });
      v = { stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
    } else if (p.os === 'darwin') {
      assert.is(R.machoSignature(data), 'none', 'darwin binaries ship unsigned (README says so)');
      assert.is(data.readUInt32LE(0), 0xfeedfacf, 'a 64-bit Mach-O');
    }
    if (v) assert.match(v.stdout.trim(), RELEASE_VERSION_LINE, `${p.os}/${p.arch}: ${v.stdout}${v.stderr}`);
    else console.log(`  ${p.os}/${p.arch}: installed; not run here${p.os === 'linux' ? ' (no qemu-aarch64 + libc6:arm64)' : p.os === 'windows' ? ' (no wine64)' : ' (macOS binary: unsigned Mach-O checked, cannot run on Linux)'}`);
  }
});
if (!haveRelease) console.log('skip: real release (set VCERTS_RELEASE_TEST=1 or run npm run release first)');

test.run();
