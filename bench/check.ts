// check benchmark (issue 2 acceptance): the API requests, execs and wall time of one
// `check NAME -n NS` next to `check -A` over a fleet of simulated vClusters (default 200,
// StatefulSets and Deployments across 20 namespaces), measured side by side in one run:
// interleaved runs (rotating order), medians, the ratio (-A)/(one) (target <= 3) and the
// requests per vCluster. Requests and execs come from the simulator's request log
// (cluster.requests deltas) and are cross-checked with the CLI's own `-v` line. No
// assertions: the ratios are the result.
//
// When the ratio misses the target (or with --profile) a second interleaved loop shows where
// the time goes: -A on the main thread only (VCERTS_THREADS=0: what the worker threads bring),
// -A with --source secret (no execs), --concurrency 4/16, the CLI's CPU
// (user+sys from /usr/bin/time) and the simulator's, the timeline from the request log
// (start-up before the first request, the request phase, the tail after the last), and
// inspectPki's CPU per PKI measured in this process.
//
//   node bench/check.mjs [--runs 7] [--warmup 1] [--vclusters 200] [--namespaces 20]
//                        [--pkis N] [--binary dist/kubectl-vcluster_certs]
//                        [--profile | --no-profile] [--profile-runs 3] [--json]
//   (or node --import tsx bench/check.ts ...)  Env: RUNS.
// --pkis N: generate N distinct PKIs and share them round-robin (default: one per vCluster,
// about 25 s of set-up on 2 cores; the check's work does not depend on it).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster, type RequestRecord, type SimCluster } from '../test/cluster/index.js';
import { generatePki } from '../test/cluster/pkigen.js';
import { inspectPki } from '../src/pki/inspect.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.RUNS ?? '7' },
    warmup: { type: 'string', default: '1' },
    vclusters: { type: 'string', default: '200' },
    namespaces: { type: 'string', default: '20' },
    pkis: { type: 'string' },
    binary: { type: 'string', default: path.join(ROOT, 'dist/kubectl-vcluster_certs') },
    profile: { type: 'boolean' },
    'no-profile': { type: 'boolean', default: false },
    'profile-runs': { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(opt.runs));
const WARMUP = Math.max(0, Number(opt.warmup));
const VCS = Math.max(1, Number(opt.vclusters));
const NSS = Math.max(1, Math.min(VCS, Number(opt.namespaces)));
const PKIS = Math.max(1, Math.min(VCS, Number(opt.pkis ?? VCS)));
const TARGET = 3;
const log = (...a: unknown[]) => {
  if (!opt.json) console.log(...a);
};
const logErr = (s: string) => {
  if (!opt.json) process.stderr.write(s);
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f1 = (n: number) => n.toFixed(1);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

// --- the binary ------------------------------------------------------------------------------
if (!existsSync(opt.binary)) {
  log(`${path.relative(ROOT, opt.binary)} missing: running node build.mjs -q`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '-q'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const bin = path.resolve(opt.binary);
const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();

// --- the fleet -------------------------------------------------------------------------------
const tSetup = performance.now();
const cluster: SimCluster = await startCluster();
const fleet = Array.from({ length: VCS }, (_, i) => ({
  name: `vc-${String(i).padStart(3, '0')}`,
  namespace: `team-${String(i % NSS).padStart(2, '0')}`,
  // two StatefulSets (PVC) to one Deployment (emptyDir), like the chart's default and its alternative
  kind: (i % 3 === 2 ? 'Deployment' : 'StatefulSet') as 'StatefulSet' | 'Deployment',
}));
logErr(`setting up ${VCS} vClusters in ${NSS} namespaces (${PKIS} PKIs) ... `);
const pkis = await Promise.all(
  fleet.slice(0, PKIS).map((vc) => generatePki({ name: vc.name, namespace: vc.namespace, reuseKeys: true })),
);
await Promise.all(fleet.map((vc, i) => cluster.addVCluster({ ...vc, pki: pkis[i % PKIS]! })));
await Promise.all(fleet.map((vc) => cluster.waitReady(vc.namespace, vc.name, 180_000)));
const setupMs = performance.now() - tSetup;
logErr(`${(setupMs / 1000).toFixed(1)} s\n`);

// --- one timed run ---------------------------------------------------------------------------
interface Run {
  wallMs: number;
  /** CLI user+sys CPU (ms) from /usr/bin/time, when present */
  cliCpuMs?: number;
  /** this process's (the simulator's) CPU during the run */
  simCpuMs: number;
  rest: number;
  execs: number;
  /** TLS connections that carried the run's requests */
  tls?: number;
  byVerb: Record<string, number>;
  /** CLI's own `-v` line */
  cliRequests?: number;
  cliExecs?: number;
  /** spawn -> first API request, first -> last request, last request -> exit (ms, from the request log) */
  startupMs: number;
  apiMs: number;
  tailMs: number;
  exitCode: number;
}

const isExec = (r: RequestRecord) => r.subresource === 'exec' || r.subresource === 'portforward';
const verbKey = (r: RequestRecord) => `${r.verb} ${r.resource ?? r.path}${r.subresource ? `/${r.subresource}` : ''}`;

function runOnce(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const timeFile = TIME ? path.join(tmpDir, 'time') : '';
  const argv = [...args, '--kubeconfig', cluster.kubeconfigPath, '-v', '-o', 'json'];
  const [cmd, cmdArgs] = TIME ? [TIME, ['-o', timeFile, '-f', '%U %S', bin, ...argv]] : [bin, argv];
  const from = cluster.requests.length;
  const cpu0 = process.cpuUsage();
  const wall0 = Date.now();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      const wall1 = Date.now();
      const cpu = process.cpuUsage(cpu0);
      if (code === null || code > 2) {
        reject(new Error(`\`${[bin, ...argv].join(' ')}\` exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      const reqs = cluster.requests.slice(from);
      const byVerb: Record<string, number> = {};
      for (const r of reqs) byVerb[verbKey(r)] = (byVerb[verbKey(r)] ?? 0) + 1;
      const v = /api requests: (\d+), execs: (\d+)/.exec(stderr);
      let cliCpuMs: number | undefined;
      if (TIME) {
        const [u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        cliCpuMs = (u! + s!) * 1000;
      }
      const times = reqs.map((r) => r.time);
      const first = times.length ? Math.min(...times) : wall1;
      const last = times.length ? Math.max(...times) : wall1;
      resolve({
        wallMs,
        cliCpuMs,
        simCpuMs: (cpu.user + cpu.system) / 1000,
        rest: reqs.filter((r) => !isExec(r)).length,
        execs: reqs.filter(isExec).length,
        // the TLS connections that carried the run's requests (exec/port-forward upgrades included)
        tls: new Set(reqs.map((r) => r.connection)).size,
        byVerb,
        cliRequests: v ? Number(v[1]) : undefined,
        cliExecs: v ? Number(v[2]) : undefined,
        startupMs: first - wall0,
        apiMs: last - first,
        tailMs: wall1 - last,
        exitCode: code,
      });
    });
  });
}

interface Case {
  key: string;
  label: string;
  args: string[];
  env?: Record<string, string>;
  runs: Run[];
}

async function interleaved(cases: Case[], runs: number, warmup: number): Promise<void> {
  for (const c of cases) for (let i = 0; i < warmup; i++) await runOnce(c.args, c.env);
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length]!; // rotate who goes first
      c.runs.push(await runOnce(c.args, c.env));
    }
  }
}

const tmpDir = mkdtempSync(path.join(tmpdir(), 'bench-check-'));
const one = fleet[0]!;
const single: Case = { key: 'one', label: `check ${one.name} -n ${one.namespace}`, args: ['check', one.name, '-n', one.namespace], runs: [] };
const all: Case = { key: 'all', label: `check -A (${VCS} vClusters)`, args: ['check', '-A'], runs: [] };

interface Summary {
  label: string;
  args: string;
  runs: number;
  median_ms: number;
  min_ms: number;
  cli_cpu_ms: number | null;
  sim_cpu_ms: number;
  requests: number;
  execs: number;
  tls_connections: number | null;
  cli_says: { requests: number | null; execs: number | null; agrees: boolean };
  by_verb: Record<string, number>;
  timeline_ms: { startup: number; api: number; tail: number };
  exit_code: number;
}

function summarize(c: Case): Summary {
  const r = c.runs;
  const last = r.at(-1)!;
  const m = (f: (x: Run) => number) => +f1(median(r.map(f)));
  const agrees = r.every((x) => x.cliRequests === x.rest && x.cliExecs === x.execs);
  return {
    label: c.label,
    args: c.args.join(' '),
    runs: r.length,
    median_ms: m((x) => x.wallMs),
    min_ms: +f1(Math.min(...r.map((x) => x.wallMs))),
    cli_cpu_ms: TIME ? m((x) => x.cliCpuMs!) : null,
    sim_cpu_ms: m((x) => x.simCpuMs),
    requests: last.rest,
    execs: last.execs,
    tls_connections: last.tls ?? null,
    cli_says: { requests: last.cliRequests ?? null, execs: last.cliExecs ?? null, agrees },
    by_verb: last.byVerb,
    timeline_ms: { startup: m((x) => x.startupMs), api: m((x) => x.apiMs), tail: m((x) => x.tailMs) },
    exit_code: last.exitCode,
  };
}

function printCase(s: Summary, base?: Summary): void {
  log(`  ${s.label}`);
  log(`    wall median ${f1(s.median_ms)} ms (min ${f1(s.min_ms)})${base ? `  ratio to "${base.label}" ${(s.median_ms / base.median_ms).toFixed(2)}` : ''}`);
  log(`    CPU: CLI ${s.cli_cpu_ms ?? '?'} ms, simulator ${s.sim_cpu_ms} ms; timeline: start-up ${s.timeline_ms.startup} ms, requests ${s.timeline_ms.api} ms, tail ${s.timeline_ms.tail} ms`);
  log(`    API requests ${s.requests}, execs ${s.execs}  (CLI -v says ${s.cli_says.requests}/${s.cli_says.execs}: ${s.cli_says.agrees ? 'agrees' : 'DIFFERS'}); TLS connections ${s.tls_connections ?? '?'}`);
  log(`    ${Object.entries(s.by_verb).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
}

// --- main loop -------------------------------------------------------------------------------
try {
  await interleaved([single, all], RUNS, WARMUP);
  const a = summarize(single);
  const b = summarize(all);
  const ratio = b.median_ms / a.median_ms;
  const cpuRatio = a.cli_cpu_ms && b.cli_cpu_ms !== null ? b.cli_cpu_ms / a.cli_cpu_ms : null;
  const result: Record<string, unknown> = {
    binary: bin,
    version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? '',
    vclusters: VCS,
    namespaces: NSS,
    kinds: { StatefulSet: fleet.filter((v) => v.kind === 'StatefulSet').length, Deployment: fleet.filter((v) => v.kind === 'Deployment').length },
    distinct_pkis: PKIS,
    setup_s: +(setupMs / 1000).toFixed(1),
    runs: RUNS,
    one: a,
    all: b,
    ratio_all_to_one: +ratio.toFixed(2),
    cli_cpu_ratio_all_to_one: cpuRatio !== null ? +cpuRatio.toFixed(2) : null,
    target: TARGET,
    requests_per_vcluster: +(b.requests / VCS).toFixed(2),
    execs_per_vcluster: +(b.execs / VCS).toFixed(2),
  };
  log(`check: ${bin} (${version}); ${availableParallelism()} CPUs; simulator in this process`);
  log(`fleet: ${VCS} vClusters (${(result.kinds as { StatefulSet: number }).StatefulSet} StatefulSets, ${(result.kinds as { Deployment: number }).Deployment} Deployments) in ${NSS} namespaces, ${PKIS} PKIs; set-up ${result.setup_s} s`);
  log(`median of ${RUNS} interleaved runs (after ${WARMUP} warm-up each), -v -o json${TIME ? ', under /usr/bin/time' : ''}`);
  printCase(a);
  printCase(b, a);
  log(`ratio (check -A over ${VCS}) / (one check): ${ratio.toFixed(2)} (target <= ${TARGET})${ratio <= TARGET ? '' : '  MISSED'}`);
  if (cpuRatio !== null) log(`CLI CPU ratio (same runs; steadier than wall time on a busy machine): ${cpuRatio.toFixed(2)}`);
  log(`per vCluster in -A: ${result.requests_per_vcluster} API requests, ${result.execs_per_vcluster} execs, ${f1(b.median_ms / VCS)} ms wall, ${b.cli_cpu_ms !== null ? f1(b.cli_cpu_ms / VCS) : '?'} ms CLI CPU, ${f1(b.sim_cpu_ms / VCS)} ms simulator CPU`);

  // --- profile ---------------------------------------------------------------------------------
  const doProfile = opt.profile ?? (!opt['no-profile'] && ratio > TARGET);
  if (doProfile) {
    const PRUNS = Math.max(1, Number(opt['profile-runs']));
    log(`\nprofile (${ratio > TARGET ? 'ratio missed the target' : '--profile'}): second interleaved loop, median of ${PRUNS} runs each`);
    const variants: Case[] = [
      { key: 'all', label: 'check -A (default: --source auto --concurrency 8)', args: ['check', '-A'], runs: [] },
      { key: 'inline', label: 'check -A on the main thread only (VCERTS_THREADS=0)', args: ['check', '-A'], env: { VCERTS_THREADS: '0' }, runs: [] },
      { key: 'secret', label: 'check -A --source secret', args: ['check', '-A', '--source', 'secret'], runs: [] },
      { key: 'c4', label: 'check -A --concurrency 4', args: ['check', '-A', '--concurrency', '4'], runs: [] },
      { key: 'c16', label: 'check -A --concurrency 16', args: ['check', '-A', '--concurrency', '16'], runs: [] },
      { key: 'one-secret', label: `check ${one.name} -n ${one.namespace} --source secret`, args: ['check', one.name, '-n', one.namespace, '--source', 'secret'], runs: [] },
    ];
    await interleaved(variants, PRUNS, 0);
    const sums = variants.map(summarize);
    for (const s of sums) printCase(s, sums[0]);
    // inspectPki's CPU per PKI, in this process (tsx, not the bundle: same V8, same code)
    const now = new Date();
    const files = pkis.map((p) => new Map(p));
    for (const f of files.slice(0, 5)) inspectPki(f, { now, warnWithinMs: 30 * 86_400_000 }); // warm-up
    const per: number[] = [];
    for (let i = 0; i < VCS; i++) {
      const t = performance.now();
      inspectPki(files[i % files.length]!, { now, warnWithinMs: 30 * 86_400_000 });
      per.push(performance.now() - t);
    }
    const inspectMs = median(per);
    const [sAll, sInline, sSecret] = [sums[0]!, sums[1]!, sums[2]!];
    log(`  inspectPki CPU: median ${inspectMs.toFixed(2)} ms per PKI -> ${f1(inspectMs * VCS)} ms for ${VCS} (one core)${sAll.cli_cpu_ms ? `, ${Math.round((100 * inspectMs * VCS) / sAll.cli_cpu_ms)}% of the CLI's CPU in -A` : ''}`);
    log(`  execs cost ${f1(sAll.median_ms - sSecret.median_ms)} ms of -A wall (${f1((sAll.median_ms - sSecret.median_ms) / VCS)} ms per vCluster); CLI CPU ${sAll.cli_cpu_ms !== null && sSecret.cli_cpu_ms !== null ? f1(sAll.cli_cpu_ms - sSecret.cli_cpu_ms) : '?'} ms, simulator CPU ${f1(sAll.sim_cpu_ms - sSecret.sim_cpu_ms)} ms`);
    log(`  worker threads: -A ${f1(sAll.median_ms)} ms vs ${f1(sInline.median_ms)} ms on the main thread only (${(sAll.median_ms / sInline.median_ms).toFixed(2)}x)`);
    log(`  -A --source secret / one check --source secret: ${(sSecret.median_ms / sums[5]!.median_ms).toFixed(2)}`);
    result.profile = { variants: sums, inspect_ms_per_pki: +inspectMs.toFixed(2) };
  }
  if (opt.json) console.log(JSON.stringify(result, null, 2));
} finally {
  await cluster.close();
  rmSync(tmpDir, { recursive: true, force: true });
}
