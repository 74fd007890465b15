#!/usr/bin/env node
// Start-up benchmark (issue 2 acceptance, extended by issue 5): the median wall time of
// `kubectl-vcluster_certs --version` and `--help` next to `kubectl version --client`,
// measured side by side in one run (interleaved, rotating order), plus binary and gzip
// sizes next to kubectl's. No assertions on absolute times: the ratios are the result.
//
//   node bench/startup.mjs [--runs 21] [--warmup 2] [--binary dist/kubectl-vcluster_certs]
//                          [--kubectl PATH] [--json]
// Env: RUNS, KUBECTL. Builds first (node build.mjs) when the binary is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.RUNS ?? '21' },
    warmup: { type: 'string', default: '2' },
    binary: { type: 'string', default: path.join(ROOT, 'dist/kubectl-vcluster_certs') },
    kubectl: { type: 'string', default: process.env.KUBECTL },
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

function timeOnce(cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`\`${cmd.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`})`);
  return ms;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

function sizes(file) {
  const buf = fs.readFileSync(file);
  return { bytes: buf.length, gzip: gzipSync(buf).length };
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
];
// Issue 5 adds `check` against a simulated vCluster here.
if (kube) cases.push({ name: 'kubectl version --client', cmd: [kube.bin, 'version', '--client'], baseline: true });

for (const c of cases) { for (let i = 0; i < WARMUP; i++) timeOnce(c.cmd); c.times = []; }
for (let i = 0; i < RUNS; i++) {
  for (let j = 0; j < cases.length; j++) {
    const c = cases[(i + j) % cases.length]; // rotate who goes first
    c.times.push(timeOnce(c.cmd));
  }
}
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
  sizes: { binary: sizes(bin), kubectl: kube ? sizes(kube.bin) : null },
};

if (opt.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  log(`start-up, median of ${RUNS} interleaved runs (after ${WARMUP} warm-up each)`);
  log(`kubectl: ${kube ? `${kube.bin} ${result.kubectl.version ?? ''}  [${kube.note}]` : 'not found (no ratio)'}`);
  const w = Math.max(...cases.map((c) => c.name.length));
  for (const c of result.cases) {
    log(`  ${c.name.padEnd(w)}  ${String(c.median_ms).padStart(6)} ms  (min ${c.min_ms})${c.ratio_to_kubectl !== null ? `  ratio ${c.ratio_to_kubectl.toFixed(2)}` : ''}`);
  }
  const s = result.sizes;
  log(`size: binary ${mb(s.binary.bytes)} (gzip ${mb(s.binary.gzip)})${s.kubectl ? `; kubectl ${mb(s.kubectl.bytes)} (gzip ${mb(s.kubectl.gzip)}); gzip ratio ${(s.binary.gzip / s.kubectl.gzip).toFixed(2)}` : ''}`);
}
