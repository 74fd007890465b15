#!/usr/bin/env node
// Release: builds every platform binary offline (build.mjs targets), packs one archive per
// platform into dist/release/ (.tar.gz; .zip for Windows) with the binary, LICENSE,
// README.md and the kubectl completion helper, writes dist/release/checksums.txt
// (`sha256sum -c` format) and generates the krew manifest from the archives
// (krew-manifest.yaml, and dist/release/vcluster-certs.yaml as krew-index names it).
// The manifest is validated and every archive installed the way krew does before the
// script reports success.
//
//   npm run release -- [--owner OWNER] [--repo kubectl-vcluster_certs] [--uri-template T]
//                      [--targets linux-x64,...] [--skip-build] [--full-icu] [--level 9]
//                      [--outdir dist/release] [--manifest krew-manifest.yaml] [--quiet]
//
// --owner: GitHub owner in the download URLs (env VCERTS_RELEASE_OWNER or
//          GITHUB_REPOSITORY_OWNER; default from package.json "repository", else OWNER).
// --uri-template: full URL with {owner} {repo} {version} {file} placeholders.
// --skip-build: archive the binaries already in dist/.
// --full-icu: passed to build.mjs (keep every ICU locale; default English-only).
// Archive timestamps come from SOURCE_DATE_EPOCH or the HEAD commit, so the same binaries give
// the same archive bytes. The binaries themselves reproduce for every cross-built target; the
// build machine's own target embeds a V8 code cache, which differs from build to build.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as B from './build-lib.mjs';
import { installPlatform, platformsOf, validateManifest, PLUGIN_NAME } from './krew.mjs';
import * as R from './release-lib.mjs';

const { values: opt } = parseArgs({
  options: {
    owner: { type: 'string' },
    repo: { type: 'string', default: 'kubectl-vcluster_certs' },
    'uri-template': { type: 'string' },
    targets: { type: 'string', default: Object.keys(B.TARGETS).join(',') },
    'skip-build': { type: 'boolean', default: false },
    'full-icu': { type: 'boolean', default: false },
    level: { type: 'string', default: '9' },
    outdir: { type: 'string', default: path.relative(B.ROOT, R.RELEASE_DIR) },
    manifest: { type: 'string', default: path.relative(B.ROOT, R.MANIFEST) },
    quiet: { type: 'boolean', short: 'q', default: false },
  },
});

const say = (...a) => { if (!opt.quiet) console.log(...a); };
const secs = (t0) => (performance.now() - t0) / 1000;
const fail = (msg) => { console.error(`release: ${msg}`); process.exit(1); };

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: B.ROOT, stdio: opt.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}`))));
  });
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); }
  }));
  return out;
}

async function main() {
  const tAll = performance.now();
  const version = B.pkgJson().version;
  const targets = opt.targets.split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets) if (!B.TARGETS[t]) fail(`unknown target ${t}; known: ${Object.keys(B.TARGETS).join(', ')}`);
  const owner = opt.owner ?? R.defaultOwner();
  const outdir = path.resolve(B.ROOT, opt.outdir);
  const level = Number(opt.level);
  const timings = {};

  // 1. Binaries (offline: Node bases from the npm registry, pkg's cache seeded) ------------
  let t0 = performance.now();
  if (!opt['skip-build']) {
    say(`build    ${targets.join(', ')}`);
    await run(B.node22(), ['build.mjs', '--release', '--target', targets.join(','), ...(opt['full-icu'] ? ['--full-icu'] : []), ...(opt.quiet ? ['--quiet'] : [])]);
  }
  timings.build_s = +secs(t0).toFixed(1);
  const binaries = targets.map((name) => ({ name, file: R.builtBinaryPath(name) }));
  for (const b of binaries) if (!fs.existsSync(b.file)) fail(`${path.relative(B.ROOT, b.file)} missing (run without --skip-build)`);

  // 2. Archives (compression runs on the thread pool: parallel up to the core count) -----
  t0 = performance.now();
  // Remove the previous release's files only (the outdir may be shared, e.g. dist/).
  fs.mkdirSync(outdir, { recursive: true });
  for (const f of fs.readdirSync(outdir)) {
    if (/^kubectl-vcluster_certs_.*\.(tar\.gz|zip)$/.test(f) || ['checksums.txt', 'release.json', `${PLUGIN_NAME}.yaml`].includes(f)) fs.rmSync(path.join(outdir, f));
  }
  const mtime = R.sourceDateEpoch();
  const archives = await pool(binaries, Math.max(1, os.availableParallelism?.() ?? os.cpus().length), async (b) => {
    const a0 = performance.now();
    const data = fs.readFileSync(b.file);
    const a = await R.writeArchive(b.name, R.archiveEntries(b.name, b.file, { binaryData: data }), { outdir, version, mtime, level });
    const sig = B.TARGETS[b.name].os === 'darwin' ? R.machoSignature(data) : null;
    say(`archive  ${path.relative(B.ROOT, a.file)}  ${B.mb(a.bytes)} (binary ${B.mb(data.length)})${sig ? `  ${sig === 'none' ? 'unsigned (no LC_CODE_SIGNATURE; sign on a Mac: codesign --sign -)' : `code signature: ${sig}`}` : ''}  ${secs(a0).toFixed(1)} s`);
    return { target: b.name, ...a, binaryBytes: data.length, macho: sig };
  });
  fs.writeFileSync(path.join(outdir, 'checksums.txt'), R.checksumsText(archives));
  timings.archive_s = +secs(t0).toFixed(1);

  // 3. krew manifest --------------------------------------------------------------------------
  const yamlText = R.manifestFor(archives, { version, owner, repo: opt.repo, uriTemplate: opt['uri-template'] });
  const manifestPath = path.resolve(B.ROOT, opt.manifest);
  fs.writeFileSync(manifestPath, yamlText);
  const indexCopy = path.join(outdir, `${PLUGIN_NAME}.yaml`);
  fs.writeFileSync(indexCopy, yamlText);

  // 4. Validate like krew-index CI: structure, then install every platform ----------------
  t0 = performance.now();
  const { parse } = await import('yaml');
  const m = parse(yamlText);
  const { errors, warnings } = validateManifest(m, { fileName: indexCopy });
  for (const w of warnings) console.warn(`warning: manifest: ${w}`);
  if (errors.length) fail(`generated manifest is invalid:\n  ${errors.join('\n  ')}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'krew-install-'));
  try {
    for (const [i, p] of platformsOf(m).entries()) {
      const a = archives[i];
      const { binPath } = await installPlatform(p, fs.readFileSync(a.file), path.join(tmp, String(i)));
      if (p.os === 'linux' && B.isHostTarget(B.TARGETS[a.target])) {
        const v = await new Promise((resolve) => {
          const c = spawn(binPath, ['--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          c.stdout.on('data', (d) => { out += d; });
          c.on('close', () => resolve(out.trim()));
        });
        const info = B.releaseBuildInfo();
        if (!v.startsWith(`kubectl-vcluster_certs ${version} (commit ${info.gitCommit ?? 'unknown'}`) || !v.endsWith(`, built ${info.buildDate})`)) fail(`installed ${a.target} binary printed ${JSON.stringify(v)} for --version: not a release build of this commit`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  timings.verify_s = +secs(t0).toFixed(1);
  timings.total_s = +secs(tAll).toFixed(1);

  fs.writeFileSync(path.join(outdir, 'release.json'), JSON.stringify({
    version, owner, mtime, timings,
    archives: archives.map((a) => ({ target: a.target, file: path.basename(a.file), bytes: a.bytes, binaryBytes: a.binaryBytes, sha256: a.sha256, macho: a.macho })),
  }, null, 2) + '\n');
  say(`manifest ${path.relative(B.ROOT, manifestPath)} (+ ${path.relative(B.ROOT, indexCopy)}): valid, ${archives.length} platform(s) installed like krew`);
  say(`checksum ${path.relative(B.ROOT, path.join(outdir, 'checksums.txt'))}`);
  say(`done     build ${timings.build_s} s, archives ${timings.archive_s} s, verify ${timings.verify_s} s, total ${timings.total_s} s`);
}

main().catch((e) => fail(e?.stack ?? String(e)));
