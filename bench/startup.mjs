#!/usr/bin/env node
// Start-up benchmark (issue 2 acceptance, extended by issue 5): the median wall time of
// `kubectl-vcluster_certs --version`, `--help`, `__complete` and `check` against a
// simulated vCluster (test/cluster, served from another process) next to
// `kubectl version --client`, measured side by side in one run (interleaved, rotating
// order); `kubectl get secret` against the same simulator is shown for reference. Then
// binary and archive sizes next to kubectl's. No assertions on absolute times: the ratios
// are the result. Targets (issue 5): --version and --help <= 1.0x kubectl's start;
// archive <= 2x kubectl's gzip size.
//
//   node bench/startup.mjs [--runs 21] [--warmup 2] [--binary dist/kubectl-vcluster_certs]
//                          [--kubectl PATH] [--no-check] [--archive FILE] [--json]
// Env: RUNS, KUBECTL. Builds first (node build.mjs) when the binary is missing.
// --archive: the release archive to size (default: dist/release/*_linux_amd64.tar.gz when
// present, else the binary gzipped at level 9 as an estimate).
// The ICU data embedded in the binary is reported too (English-only unless built --full-icu).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { node22 } from '../scripts/build-lib.mjs';
import { findPackages, parsePackage } from '../scripts/icu-trim.mjs';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.RUNS ?? '21' },
    warmup: { type: 'string', default: '2' },
    binary: { type: 'string', default: path.join(ROOT, 'dist/kubectl-vcluster_certs') },
    kubectl: { type: 'string', default: process.env.KUBECTL },
    'no-check': { type: 'boolean', default: false },
    archive: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(opt.runs));
const WARMUP = Math.max(0, Number(opt.warmup));
const log = (...a) => { if (!opt.json) console.log(...a); };

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

function kubectlVersion(bin) {
  try {
    const j = JSON.parse(execFileSync(bin, ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }));
    return j.clientVersion ?? {};
  } catch { return null; }
}

/**
 * The real kubectl binary. google-cloud-sdk installs /usr/bin/kubectl -> a Go
 * "dispatcher" that picks one of kubectl.1.NN beside it at every call (gitVersion
 * ends in -dispatcher); measuring it would add the dispatcher's own start. Take the
 * sibling matching the dispatcher's version, else the newest sibling.
 */
function findKubectl() {
  if (opt.kubectl) return { bin: opt.kubectl, note: 'from --kubectl/KUBECTL' };
  const onPath = which('kubectl');
  if (!onPath) return null;
  const real = fs.realpathSync(onPath);
  const dir = path.dirname(real);
  const v = kubectlVersion(real);
  const siblings = fs.readdirSync(dir).filter((f) => /^kubectl\.\d+\.\d+$/.test(f))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  if (!siblings.length || !v) return { bin: real, note: onPath === real ? 'on PATH' : `${onPath} -> ${real}` };
  const dispatcher = String(v.gitVersion ?? '').includes('dispatcher');
  const want = `kubectl.${v.major}.${String(v.minor).replace(/\D/g, '')}`;
  const pick = siblings.includes(want) ? want : siblings.at(-1);
  return { bin: path.join(dir, pick), note: `${onPath} -> ${real}${dispatcher ? ' (gcloud dispatcher)' : ''}; using ${pick}` };
}

function timeOnce(cmd, okCodes = [0]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || !okCodes.includes(r.status)) throw new Error(`\`${cmd.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`})`);
  return ms;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

function sizes(file, level = 6) {
  const buf = fs.readFileSync(file);
  return { bytes: buf.length, gzip: gzipSync(buf, { level }).length };
}

/** The ICU data package in the binary: { items, bytes }, or null if not found exactly once. */
function icuData(file) {
  const buf = fs.readFileSync(file);
  const at = findPackages(buf);
  if (at.length !== 1) return null;
  const p = parsePackage(buf, at[0]);
  return { items: p.items.length, bytes: p.length };
}

/** The linux-x64 release archive, if a release was made (npm run release). */
function releaseArchive() {
  if (opt.archive) return opt.archive;
  const dir = path.join(ROOT, 'dist/release');
  const f = fs.existsSync(dir) && fs.readdirSync(dir).find((n) => /_linux_amd64\.tar\.gz$/.test(n));
  return f ? path.join(dir, f) : null;
}

/**
 * Starts the simulated cluster in another process (bench/sim-serve.ts on Node 22 + tsx):
 * resolves { kubeconfig, name, namespace, stop } or { error }.
 */
function startSim() {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(node22(), ['--import', 'tsx', path.join(ROOT, 'bench/sim-serve.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ error: String(e?.message ?? e) });
      return;
    }
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve({ error: `simulated cluster not ready after 90 s: ${err.trim().split('\n').pop()}` }); }, 90_000);
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const info = JSON.parse(out.slice(0, nl));
        resolve({ ...info, stop: () => new Promise((r) => { child.on('close', r); child.stdin.end(); setTimeout(() => child.kill('SIGKILL'), 5000).unref(); }) });
      } catch {
        resolve({ error: `unexpected output from bench/sim-serve.ts: ${out.slice(0, 200)}` });
      }
    });
    child.on('close', (code) => { clearTimeout(timer); resolve({ error: `bench/sim-serve.ts exited ${code}: ${err.trim().split('\n').slice(-3).join(' ')}` }); });
  });
}

// ---------------------------------------------------------------------------------------
if (!fs.existsSync(opt.binary)) {
  log(`${path.relative(ROOT, opt.binary)} missing: running node build.mjs`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const bin = path.resolve(opt.binary);
const kube = findKubectl();

const cases = [
  { name: 'kubectl-vcluster_certs --version', cmd: [bin, '--version'] },
  { name: 'kubectl-vcluster_certs --help', cmd: [bin, '--help'] },
  { name: 'kubectl-vcluster_certs __complete check -o \'\'', cmd: [bin, '__complete', 'check', '-o', ''] },
];
const sim = opt['no-check'] ? { error: 'skipped (--no-check)' } : await startSim();
if (!sim.error) {
  cases.push({ name: `kubectl-vcluster_certs check ${sim.name} (simulated vCluster)`, cmd: [bin, 'check', sim.name, '-n', sim.namespace, '--kubeconfig', sim.kubeconfig], ok: [0, 1, 2] });
  if (kube) cases.push({ name: `kubectl get secret ${sim.name}-certs (same simulator; reference)`, cmd: [kube.bin, '--kubeconfig', sim.kubeconfig, 'get', 'secret', '-n', sim.namespace, `${sim.name}-certs`, '-o', 'name'] });
}
if (kube) cases.push({ name: 'kubectl version --client', cmd: [kube.bin, 'version', '--client'], baseline: true });

for (const c of cases) { for (let i = 0; i < WARMUP; i++) timeOnce(c.cmd, c.ok); c.times = []; }
for (let i = 0; i < RUNS; i++) {
  for (let j = 0; j < cases.length; j++) {
    const c = cases[(i + j) % cases.length]; // rotate who goes first
    c.times.push(timeOnce(c.cmd, c.ok));
  }
}
await sim.stop?.();
const base = cases.find((c) => c.baseline);
const baseMed = base ? median(base.times) : null;
const result = {
  runs: RUNS,
  kubectl: kube ? { path: kube.bin, note: kube.note, version: kubectlVersion(kube.bin)?.gitVersion ?? null } : null,
  cases: cases.map((c) => ({
    name: c.name,
    median_ms: +median(c.times).toFixed(1),
    min_ms: +Math.min(...c.times).toFixed(1),
    ratio_to_kubectl: baseMed ? +(median(c.times) / baseMed).toFixed(2) : null,
  })),
  check: sim.error ? { skipped: sim.error } : { simulated: true },
  sizes: (() => {
    const archive = releaseArchive();
    const binary = sizes(bin);
    return {
      binary,
      icu: icuData(bin),
      archive: archive ? { file: path.relative(ROOT, archive), bytes: fs.statSync(archive).size, estimated: false } : { file: null, bytes: gzipSync(fs.readFileSync(bin), { level: 9 }).length, estimated: true },
      kubectl: kube ? sizes(kube.bin) : null,
    };
  })(),
};
if (result.sizes.kubectl) result.sizes.archive_to_kubectl_gzip = +(result.sizes.archive.bytes / result.sizes.kubectl.gzip).toFixed(2);

if (opt.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  log(`start-up, median of ${RUNS} interleaved runs (after ${WARMUP} warm-up each)`);
  log(`kubectl: ${kube ? `${kube.bin} ${result.kubectl.version ?? ''}  [${kube.note}]` : 'not found (no ratio)'}`);
  const w = Math.max(...cases.map((c) => c.name.length));
  for (const c of result.cases) {
    log(`  ${c.name.padEnd(w)}  ${String(c.median_ms).padStart(6)} ms  (min ${c.min_ms})${c.ratio_to_kubectl !== null ? `  ratio ${c.ratio_to_kubectl.toFixed(2)}` : ''}`);
  }
  if (sim.error) log(`  (check against a simulated vCluster not measured: ${sim.error})`);
  const s = result.sizes;
  log(`size: binary ${mb(s.binary.bytes)} (gzip ${mb(s.binary.gzip)})${s.kubectl ? `; kubectl ${mb(s.kubectl.bytes)} (gzip ${mb(s.kubectl.gzip)}); gzip ratio ${(s.binary.gzip / s.kubectl.gzip).toFixed(2)}` : ''}`);
  if (s.icu) log(`icu data: ${mb(s.icu.bytes)}, ${s.icu.items} items (${s.icu.items < 1000 ? 'English-only' : 'full, --full-icu'})`);
  log(`archive: ${s.archive.estimated ? 'no dist/release (npm run release); binary gzip -9 as estimate' : s.archive.file} ${mb(s.archive.bytes)}${s.kubectl ? `; ${s.archive_to_kubectl_gzip}x kubectl's gzip (target <= 2)` : ''}`);
}
