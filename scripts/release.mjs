#!/usr/bin/env node
// Release: builds every platform binary offline (build.mjs --release targets), packs one
// archive per platform into dist/release/ (.tar.gz; .zip for Windows) with the binary,
// LICENSE, README.md and the kubectl completion helper, writes a CycloneDX SBOM beside each
// archive (<archive>.cdx.json, scripts/sbom.mjs), dist/release/checksums.txt
// (`sha256sum -c` format: archives, SBOMs and the manifest) and the krew manifest
// (dist/release/vcluster-certs.yaml, as krew-index names it; the committed
// krew-manifest.yaml is regenerated as a template without sha256 values). The manifest is
// validated and every archive installed the way krew does before the script reports success.
//
//   npm run release -- [--owner OWNER] [--repo kubectl-vcluster_certs] [--uri-template T]
//                      [--targets linux-x64,...] [--skip-build] [--full-icu] [--level 9]
//                      [--build-dir dist/release-build] [--outdir dist/release] [--manifest krew-manifest.yaml]
//                      [--verify-reproducible] [--quiet]
//
// --owner: GitHub owner in the download URLs (env VCERTS_RELEASE_OWNER or
//          GITHUB_REPOSITORY_OWNER; default from package.json "repository", else OWNER).
// --uri-template: full URL with {owner} {repo} {version} {file} placeholders.
// --build-dir: where build.mjs --release writes the binaries (default dist/release-build, so
//          dist/kubectl-vcluster_certs stays the dev build of `npm run build`).
// --skip-build: archive the binaries already in the build directory.
// --full-icu: passed to build.mjs (keep every ICU locale; default English-only).
// --verify-reproducible: two complete releases into dist/reproduce/1 and dist/reproduce/2
//          (own build directories), then every archive, SBOM, checksums.txt and the filled
//          manifest compared byte for byte; exit 1 on any difference (kept for inspection),
//          both removed when identical. Nothing else in dist/ is touched.
// Archive timestamps and the build date in the binaries come from SOURCE_DATE_EPOCH or the
// HEAD commit, so one commit gives the same bytes on every build.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as B from './build-lib.mjs';
import { sha256Hex } from './archive.mjs';
import { installPlatform, platformsOf, validateManifest, PLUGIN_NAME } from './krew.mjs';
import * as R from './release-lib.mjs';
import * as S from './sbom.mjs';

const { values: opt } = parseArgs({
  options: {
    owner: { type: 'string' },
    repo: { type: 'string', default: 'kubectl-vcluster_certs' },
    'uri-template': { type: 'string' },
    targets: { type: 'string', default: Object.keys(B.TARGETS).join(',') },
    'skip-build': { type: 'boolean', default: false },
    'full-icu': { type: 'boolean', default: false },
    level: { type: 'string', default: '9' },
    'build-dir': { type: 'string', default: path.relative(B.ROOT, R.RELEASE_BUILD_DIR) },
    outdir: { type: 'string', default: path.relative(B.ROOT, R.RELEASE_DIR) },
    'verify-reproducible': { type: 'boolean', default: false },
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
  const buildDir = path.resolve(B.ROOT, opt['build-dir']);
  const level = Number(opt.level);
  const timings = {};

  // 1. Binaries (offline: Node bases from the npm registry, pkg's cache seeded) ------------
  let t0 = performance.now();
  if (!opt['skip-build']) {
    say(`build    ${targets.join(', ')}`);
    await run(B.node22(), ['build.mjs', '--release', '--outdir', buildDir, '--target', targets.join(','), ...(opt['full-icu'] ? ['--full-icu'] : []), ...(opt.quiet ? ['--quiet'] : [])]);
  }
  timings.build_s = +secs(t0).toFixed(1);
  const binaries = targets.map((name) => ({ name, file: R.builtBinaryPath(name, buildDir) }));
  for (const b of binaries) if (!fs.existsSync(b.file)) fail(`${path.relative(B.ROOT, b.file)} missing (run without --skip-build)`);
  // What build.mjs baked into these binaries (the checkout may have moved on since --skip-build's build).
  const build = JSON.parse(fs.readFileSync(path.join(buildDir, B.BUILD_INFO_FILE), 'utf8'));
  if (build.build !== 'release' || build.version !== version) fail(`${path.relative(B.ROOT, buildDir)} holds a ${build.build} build of ${build.version}, not a release build of ${version} (run without --skip-build)`);

  // 2. Archives (compression runs on the thread pool: parallel up to the core count) -----
  t0 = performance.now();
  // Remove the previous release's files only (the outdir may be shared, e.g. dist/).
  fs.mkdirSync(outdir, { recursive: true });
  for (const f of fs.readdirSync(outdir)) {
    if (/^kubectl-vcluster_certs_.*\.(tar\.gz|zip|cdx\.json)$/.test(f) || ['checksums.txt', 'release.json', `${PLUGIN_NAME}.yaml`].includes(f)) fs.rmSync(path.join(outdir, f));
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
  timings.archive_s = +secs(t0).toFixed(1);

  // 3. SBOMs: what each binary embeds (bundled npm packages, Node.js, ICU data) ------------
  t0 = performance.now();
  const npmBom = S.npmSbom();
  const bundled = S.bundledPackages(S.readMetafiles(buildDir));
  const sboms = binaries.map((b, i) => {
    const doc = S.releaseSbom({ npmBom, bundled, targetName: b.name, binary: fs.readFileSync(b.file), build, icuSetting: opt['full-icu'] ? 'full' : 'en' });
    const file = path.join(outdir, S.sbomName(archives[i].file));
    const text = JSON.stringify(doc, null, 2) + '\n';
    fs.writeFileSync(file, text);
    return { file, sha256: sha256Hex(Buffer.from(text)) };
  });
  say(`sbom     ${sboms.length} CycloneDX SBOM(s): ${bundled.length} bundled npm packages, Node.js, ICU data  ${secs(t0).toFixed(1)} s`);

  // 4. krew manifest: filled for this release; the committed one is a template ----------------
  const yamlText = R.manifestFor(archives, { version, owner, repo: opt.repo, uriTemplate: opt['uri-template'] });
  const manifestPath = path.resolve(B.ROOT, opt.manifest);
  fs.writeFileSync(manifestPath, R.manifestTemplate({ version, owner, repo: opt.repo, uriTemplate: opt['uri-template'] }));
  const indexCopy = path.join(outdir, `${PLUGIN_NAME}.yaml`);
  fs.writeFileSync(indexCopy, yamlText);
  fs.writeFileSync(path.join(outdir, 'checksums.txt'), R.checksumsText([...archives, ...sboms, { file: indexCopy, sha256: sha256Hex(Buffer.from(yamlText)) }]));

  // 5. Validate like krew-index CI: structure, then install every platform ----------------
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
        if (!v.startsWith(`kubectl-vcluster_certs ${version} (commit ${build.gitCommit ?? 'unknown'}`) || !v.endsWith(`, built ${build.buildDate})`)) fail(`installed ${a.target} binary printed ${JSON.stringify(v)} for --version: not a release build of this commit`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  timings.verify_s = +secs(t0).toFixed(1);
  timings.total_s = +secs(tAll).toFixed(1);

  fs.writeFileSync(path.join(outdir, 'release.json'), JSON.stringify({
    version, owner, mtime, timings,
    archives: archives.map((a, i) => ({ target: a.target, file: path.basename(a.file), bytes: a.bytes, binaryBytes: a.binaryBytes, sha256: a.sha256, macho: a.macho, sbom: path.basename(sboms[i].file) })),
  }, null, 2) + '\n');
  say(`manifest ${path.relative(B.ROOT, indexCopy)}: valid, ${archives.length} platform(s) installed like krew (template: ${path.relative(B.ROOT, manifestPath)})`);
  say(`checksum ${path.relative(B.ROOT, path.join(outdir, 'checksums.txt'))}`);
  say(`done     build ${timings.build_s} s, archives ${timings.archive_s} s, verify ${timings.verify_s} s, total ${timings.total_s} s`);
}

/** Two releases of this checkout into their own directories, compared file by file. */
async function verifyReproducible() {
  const tAll = performance.now();
  const top = path.join(B.DIST, 'reproduce');
  fs.rmSync(top, { recursive: true, force: true });
  const pass = [];
  for (const k of ['owner', 'repo', 'uri-template', 'targets', 'level']) if (opt[k] !== undefined) pass.push(`--${k}`, opt[k]);
  if (opt['full-icu']) pass.push('--full-icu');
  if (opt.quiet) pass.push('--quiet');
  const dirs = [];
  for (const n of [1, 2]) {
    const d = path.join(top, String(n));
    say(`reproduce: release ${n} of 2 into ${path.relative(B.ROOT, d)}`);
    await run(B.node22(), ['scripts/release.mjs', ...pass, '--build-dir', path.join(d, 'build'), '--outdir', path.join(d, 'release'), '--manifest', path.join(d, 'krew-manifest.yaml')]);
    dirs.push(path.join(d, 'release'));
  }
  const { same, differ } = R.compareReleases(dirs[0], dirs[1]);
  for (const f of same) say(`identical ${f}`);
  for (const d of differ) console.error(`DIFFERS  ${d.file}: ${d.reason}`);
  if (differ.length || !same.length) fail(`not reproducible: ${differ.length} of ${same.length + differ.length} files differ (both releases kept in ${path.relative(B.ROOT, top)})`);
  fs.rmSync(top, { recursive: true, force: true });
  // The verdict is the command's result: printed even with --quiet.
  console.log(`reproducible: ${same.length} files identical in two releases of ${B.releaseBuildInfo().gitCommit ?? 'this checkout'}  ${secs(tAll).toFixed(1)} s`);
}

(opt['verify-reproducible'] ? verifyReproducible() : main()).catch((e) => fail(e?.stack ?? String(e)));
