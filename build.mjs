#!/usr/bin/env node
// Build: esbuild bundles src/main.ts into dist/bundle.cjs, then @yao-pkg/pkg (SEA mode)
// bakes it into an official Node 22 binary from the npm registry: dist/kubectl-vcluster_certs.
// Works offline and on the system Node 20 (pkg runs on node_modules/node's Node 22).
//
//   node build.mjs [--bundle-only] [--target linux-x64] [--no-code-cache] [--no-strip]
//                  [--full-icu] [--skip-lazy-check] [--release] [--outdir dist] [--quiet]
//
// --release: the binary reports the git commit and the commit's date (SOURCE_DATE_EPOCH or
// `git log -1 --format=%ct`) in --version and `version -o json`; without it, "dev build".
//
// --full-icu: keep Node's full ICU data (every locale); by default it is trimmed to
// English like Node's small-icu (scripts/icu-trim.mjs): linux-x64 archive 40.3 -> 28.4 MB.
//
// --target: one of scripts/build-lib.mjs TARGETS (default: this machine). The host
// target is written to dist/kubectl-vcluster_certs, others to
// dist/kubectl-vcluster_certs-<target>[.exe] (issue 5's release builds on this).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as B from './scripts/build-lib.mjs';

const { values: opt } = parseArgs({
  options: {
    'bundle-only': { type: 'boolean', default: false },
    release: { type: 'boolean', default: false },
    target: { type: 'string', multiple: true },
    'no-code-cache': { type: 'boolean', default: false },
    'no-strip': { type: 'boolean', default: false },
    'full-icu': { type: 'boolean', default: false },
    'skip-lazy-check': { type: 'boolean', default: false },
    outdir: { type: 'string', default: 'dist' },
    quiet: { type: 'boolean', short: 'q', default: false },
  },
});

const say = (...a) => { if (!opt.quiet) console.log(...a); };
const ms = (t0) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const fail = (msg) => { console.error(`build: ${msg}`); process.exit(1); };

async function main() {
  const tAll = performance.now();
  const version = B.pkgJson().version;

  // 1. Bundle -------------------------------------------------------------------------
  let t0 = performance.now();
  const dist = path.resolve(B.ROOT, opt.outdir);
  // Twice: the second bundle carries the top-level --help the first one renders.
  const buildInfo = opt.release ? B.releaseBuildInfo() : null;
  if (buildInfo?.gitTreeState === 'dirty') console.warn('warning: the checkout has uncommitted changes: the binary says so, and no build of the commit reproduces it');
  const first = await B.bundle({ version, buildInfo, outfile: path.join(dist, 'bundle.cjs') });
  const b = await B.bundle({ version, buildInfo, outfile: first.outfile, topHelp: B.renderTopHelp(first.outfile) });
  // What the binaries report, for the release script's SBOMs and checks.
  fs.writeFileSync(path.join(dist, B.BUILD_INFO_FILE), JSON.stringify({ version, build: buildInfo ? 'release' : 'dev', ...(buildInfo ?? { gitCommit: null, gitTreeState: null, buildDate: null }) }) + '\n');
  for (const w of b.warnings) console.warn(`esbuild warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  const top = B.sizeByPackage(b.metafile).slice(0, 4).map(([k, v]) => `${k} ${B.mb(v)}`).join(', ');
  say(`bundle   ${path.relative(B.ROOT, b.outfile)}  ${B.mb(b.bytes)} (gzip ${B.mb(B.fileSizes(b.outfile).gzip)})  ${ms(t0)}  [${top}]`);

  // 2. Lazy loading: --version must not evaluate the Kubernetes client, yargs, jsrsasign
  //    or yaml; --help may evaluate yargs only. Static: the metafile's import graph from
  //    src/main.ts without dynamic imports. Runtime: an instrumented bundle is run.
  const eager = B.staticallyReached(b.metafile);
  if (eager.length) fail(`src/main.ts statically imports ${eager.join(', ')}: these load on every start, --version included. Use await import() in the command module.`);
  if (!opt['skip-lazy-check']) {
    t0 = performance.now();
    const probes = await B.probeLazy();
    for (const p of probes) {
      if (p.loaded === null) fail(`lazy-load probe: \`${p.args.join(' ')}\` did not finish (exit ${p.status}):\n${p.stderr}`);
      if (p.forbidden.length) fail(`\`${p.args.join(' ')}\` evaluates ${p.forbidden.join(', ')}; load them only in the commands that need them.`);
    }
    say(`lazy     ${probes.map((p) => `${p.args.join(' ')} loads [${p.loaded.join(', ') || 'none of ' + B.HEAVY.length + ' heavy packages'}]`).join('; ')}  ${ms(t0)}`);
  }
  if (opt['bundle-only']) return;

  // 3. Binaries -----------------------------------------------------------------------
  const names = (opt.target ?? [B.hostTargetName()]).flatMap((s) => s.split(','));
  for (const name of names) {
    const t = B.TARGETS[name];
    if (!t) fail(`unknown target ${name}; known: ${Object.keys(B.TARGETS).join(', ')}`);
    const host = B.isHostTarget(t);
    const out = path.join(dist, host && name === B.hostTargetName() ? B.BIN_NAME : `${B.BIN_NAME}-${name}${t.exe}`);
    t0 = performance.now();
    const { icu } = B.preparePkgCache(t, { strip: !opt['no-strip'], icu: opt['full-icu'] ? 'full' : 'en', log: say });
    const seedTime = ms(t0);
    const icuNote = !icu ? 'ICU full' : icu.trimmed ? `ICU English-only ${B.mb(icu.before)} -> ${B.mb(icu.after)}` : 'ICU full (trim skipped)';
    t0 = performance.now();
    const r = B.runPkg({ input: b.outfile, output: out, target: t, codeCache: !opt['no-code-cache'], log: say });
    const bytes = fs.statSync(out).size;
    say(`binary   ${path.relative(B.ROOT, out)}  ${B.mb(bytes)}  node ${t.node} ${name}, ${r.via}${r.codeCache ? '' : ' (no code cache)'}, ${icuNote}  ${ms(t0)} (cache seed ${seedTime})`);

    // 4. Smoke test with no node anywhere reachable ---------------------------------
    if (host) {
      let versionLine = ''; let isolated = false;
      for (const args of [['--version'], ['--help']]) {
        const s = B.runWithoutNode(out, args);
        if (args[0] === '--version') { versionLine = s.stdout.trim(); isolated = s.isolated; }
        if (B.CODE_CACHE_REJECTED.test(s.stderr)) fail(`${path.basename(out)} ${args.join(' ')}: V8 rejected the embedded code cache (it was built with flags that differ from the binary's):\n${s.stderr}`);
        if (s.status !== 0) fail(`${path.basename(out)} ${args.join(' ')} failed without node (exit ${s.status}):\n${s.stdout}${s.stderr}`);
        if (args[0] === '--version' && !s.stdout.includes(version)) fail(`--version printed ${JSON.stringify(s.stdout)}, expected ${version}`);
        if (s.stderr.trim()) console.warn(`warning: ${args.join(' ')} wrote to stderr: ${s.stderr.trim()}`);
      }
      say(`smoke    --version and --help run ${isolated ? 'with /usr/bin/node hidden (unshare -m), ' : ''}PATH=/usr/bin:/bin: ${versionLine}`);
    }
  }
  say(`done     ${ms(tAll)}`);
}

main().catch((e) => fail(Array.isArray(e?.errors) ? e.message : e?.stack ?? String(e)));
