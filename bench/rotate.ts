// rotate benchmark (issue 3), measured side by side in one run:
//   1. the crypto time of a full leaf rotation (applyLeafRotation on a kubeadm-profile RSA PKI
//      from test/cluster/pkigen) against the floor of generating the same number of RSA-2048
//      keys in parallel with node:crypto generateKeyPair (target <= 1.2x);
//   2. the same rotation against a bash script that re-issues the same set with the openssl
//      CLI: per leaf `genrsa` + `req -new` + `x509 -req` with the same subject, SANs, KeyUsage,
//      ExtKeyUsage, BasicConstraints and AKID, and for the three kubeconfigs base64 + sed of the
//      new client certificate and key into the file (validity by -days: openssl 3.0's x509 has
//      no -not_before; serials are drawn by this script) (target <= 0.5x). The script runs one
//      leaf after the other, as such scripts are written; the same script with every leaf in
//      the background (`&` ... `wait`) is shown for reference. CA files and outputs live in a
//      private temp dir that is deleted (outputs after every run, everything at the end);
//   3. the API requests, execs and port-forwards one `rotate NAME --yes` of the built binary
//      makes against the simulated cluster (test/cluster) for a single replica and for 3 HA
//      replicas, from the simulator's request log, broken down by verb/resource;
//   4. a CA rollover next to a hard `rotate-ca`: the crypto of each (planCARotation +
//      applyCARotation, startRollover, finalizeRollover on the same RSA PKI), and with the cluster, wall time
//      and requests of the built binary's `rotate-ca`, `--graceful` and `--finalize` on a
//      single-replica vCluster, as ratios to the hard one.
// Interleaved rounds (rotating order), medians. No assertions: the ratios are the result.
//
//   node --import tsx bench/rotate.ts [--rounds 8] [--rotations 3] [--binary dist/kubectl-vcluster_certs]
//                                     [--no-cluster] [--json]
//   (or node bench/rotate.mjs ..., npm run bench:rotate)  Env: ROUNDS. Builds the binary (node build.mjs -q) when it is missing.
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster, type RequestRecord } from '../test/cluster/index.js';
import { generatePki } from '../test/cluster/pkigen.js';
import { applyCARotation, applyLeafRotation, planCARotation, planLeafRotation } from '../src/pki/rotation.js';
import { finalizeRollover, startRollover } from '../src/pki/rollover.js';
import { KUBECONFIG_FILES, keyPathFor } from '../src/pki/certmap.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.ROUNDS ?? '8' },
    rotations: { type: 'string', default: '3' },
    binary: { type: 'string', default: path.join(ROOT, 'dist/kubectl-vcluster_certs') },
    'no-cluster': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Number(opt.rounds));
const ROTATIONS = Math.max(1, Number(opt.rotations));
const DAY = 86_400_000;
const log = (...a: unknown[]) => {
  if (!opt.json) console.log(...a);
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f1 = (n: number) => n.toFixed(1);
const result: Record<string, unknown> = { cpus: availableParallelism(), cpu_model: cpus()[0]?.model ?? '', uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE ?? 4) };

// =============================================================================================
// 1 + 2: crypto
// =============================================================================================
const pki = await generatePki({ name: 'bench', namespace: 'bench', reuseKeys: true });
const validityMs = 365 * DAY;
const planNow = () => planLeafRotation(pki, { now: new Date(), validityMs });
const plan0 = planNow();
const reissue = plan0.entries.filter((e) => e.action === 'reissue' && e.role !== 'leaf-key');
const KEYS = reissue.length;

function keygenFloor(n: number): Promise<unknown> {
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise((resolve, reject) =>
        generateKeyPair(
          'rsa',
          { modulusLength: 2048, publicExponent: 0x10001, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } },
          (err, pub, priv) => (err ? reject(err) : resolve([pub, priv])),
        ),
      ),
    ),
  );
}

// --- the openssl script --------------------------------------------------------------------------
const EKU: Record<string, string> = { '1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth' };
const work = mkdtempSync(path.join(tmpdir(), 'bench-rotate-')); // 0700
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function oldCertPem(file: string): string {
  const b = pki.get(file)!.toString();
  if (!KUBECONFIG_FILES.includes(file)) return b;
  const m = /client-certificate-data:\s*(\S+)/.exec(b);
  if (!m) throw new Error(`${file}: no client-certificate-data`);
  return Buffer.from(m[1]!, 'base64').toString();
}

/** One leaf's commands: new key, CSR with the old subject, certificate from its CA with the old extensions. */
function leafCommands(file: string, issuer: string, serialHex: string): string[] {
  const old = new X509Certificate(oldCertPem(file));
  const id = file.replace(/[/.]/g, '_');
  // node prints the DN in certificate order, one RDN a line
  const subj = '/' + old.subject.split('\n').map((l) => l.replace(/\//g, '\\/')).join('/');
  const ext = ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment'];
  const eku = (old.keyUsage ?? []).map((o) => EKU[o] ?? o);
  if (eku.length) ext.push(`extendedKeyUsage = ${eku.join(',')}`);
  // kubeadm (Go) leafs carry an AKID but no SKID; openssl x509 would add one unless told not to
  ext.push('subjectKeyIdentifier = none', 'authorityKeyIdentifier = keyid:always');
  if (old.subjectAltName) ext.push(`subjectAltName = ${old.subjectAltName.replace(/IP Address:/g, 'IP:').replace(/, /g, ',')}`);
  writeFileSync(path.join(work, 'in', `${id}.ext`), ext.join('\n') + '\n');
  const ca = `in/${issuer.replace(/[/.]/g, '_')}`;
  const cmds = [
    `openssl genrsa -traditional -out "$OUT/${id}.key" 2048 2>/dev/null`,
    `openssl req -new -key "$OUT/${id}.key" -subj ${shq(subj)} -out "$OUT/${id}.csr"`,
    `openssl x509 -req -sha256 -in "$OUT/${id}.csr" -CA ${ca}.crt -CAkey ${ca}.key -set_serial 0x${serialHex} -days 365 -extfile in/${id}.ext -out "$OUT/${id}.crt" 2>/dev/null`,
  ];
  if (KUBECONFIG_FILES.includes(file)) {
    // the kubeconfig with its client credentials swapped, everything else unchanged
    const tmpl = pki.get(file)!.toString()
      .replace(/(client-certificate-data:\s*)\S+/, '$1@CERT@')
      .replace(/(client-key-data:\s*)\S+/, '$1@KEY@');
    writeFileSync(path.join(work, 'in', `${id}.tmpl`), tmpl);
    cmds.push(
      `c=$(base64 -w0 "$OUT/${id}.crt"); k=$(base64 -w0 "$OUT/${id}.key")`,
      `sed -e "s|@CERT@|$c|" -e "s|@KEY@|$k|" in/${id}.tmpl > "$OUT/${id}"`,
      `rm -f "$OUT/${id}.crt" "$OUT/${id}.key" "$OUT/${id}.csr"`,
    );
  } else {
    cmds.push(`rm -f "$OUT/${id}.csr"`);
  }
  return cmds;
}

mkdirSync(path.join(work, 'in'), { mode: 0o700 });
for (const ca of new Set(reissue.map((e) => e.issuer!))) {
  const id = ca.replace(/[/.]/g, '_');
  writeFileSync(path.join(work, 'in', `${id}.crt`), pki.get(ca)!);
  writeFileSync(path.join(work, 'in', `${id}.key`), pki.get(keyPathFor(ca))!, { mode: 0o600 });
}
const serial = () => {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  b[0]! &= 0x7f;
  b[0]! |= 0x01;
  return Buffer.from(b).toString('hex');
};
const blocks = reissue.map((e) => leafCommands(e.path, e.issuer!, serial()));
const header = ['#!/bin/bash', 'set -euo pipefail', 'umask 077', 'OUT="$1"', 'mkdir -p "$OUT"'];
writeFileSync(path.join(work, 'seq.sh'), [...header, ...blocks.flat(), ''].join('\n'));
writeFileSync(path.join(work, 'par.sh'), [...header, ...blocks.map((b) => `{\n  ${b.join('\n  ')}\n} &`), 'wait', ''].join('\n'));
const EXPECT_OUT = KEYS + (KEYS - KUBECONFIG_FILES.length); // certs + keys of leafs, one file per kubeconfig

let outSeq = 0;
function runScript(script: string): Promise<number> {
  const out = path.join(work, `out-${outSeq++}`);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, out], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const made = existsSync(out) ? readdirSync(out).length : 0;
      rmSync(out, { recursive: true, force: true });
      if (code !== 0 || made !== EXPECT_OUT) reject(new Error(`${script} exited ${code} with ${made}/${EXPECT_OUT} files: ${err.trim()}`));
      else resolve(ms);
    });
  });
}

interface CryptoCase {
  key: string;
  label: string;
  run: () => Promise<number>;
  times: number[];
}
const tPlan: number[] = [];
const cases: CryptoCase[] = [
  {
    key: 'apply',
    label: `applyLeafRotation (${KEYS} RSA-2048 keys + certificates)`,
    run: async () => {
      const tp = performance.now();
      const p = planNow();
      tPlan.push(performance.now() - tp);
      const t0 = performance.now();
      await applyLeafRotation(pki, p);
      return performance.now() - t0;
    },
    times: [],
  },
  {
    key: 'floor',
    label: `floor: ${KEYS} x generateKeyPair RSA-2048 in parallel`,
    run: async () => {
      const t0 = performance.now();
      await keygenFloor(KEYS);
      return performance.now() - t0;
    },
    times: [],
  },
  { key: 'openssl', label: `openssl CLI script, one leaf after the other (${KEYS * 3} openssl runs)`, run: () => runScript('seq.sh'), times: [] },
  { key: 'openssl_par', label: 'openssl CLI script, every leaf in the background (reference)', run: () => runScript('par.sh'), times: [] },
];

try {
  for (const c of cases) await c.run(); // warm-up: JIT, thread pool, page cache
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length]!;
      c.times.push(await c.run());
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const med = Object.fromEntries(cases.map((c) => [c.key, median(c.times)]));
const crypto1 = {
  keys: KEYS,
  rounds: ROUNDS,
  plan_ms: +f1(median(tPlan)),
  cases: cases.map((c) => ({ key: c.key, label: c.label, median_ms: +f1(med[c.key]!), min_ms: +f1(Math.min(...c.times)) })),
  ratio_to_floor: +(med.apply! / med.floor!).toFixed(2),
  ratio_to_openssl: +(med.apply! / med.openssl!).toFixed(2),
  ratio_to_openssl_parallel: +(med.apply! / med.openssl_par!).toFixed(2),
};
result.crypto = crypto1;
log(`rotate: crypto of one leaf rotation, median of ${ROUNDS} interleaved rounds (after 1 warm-up); ${availableParallelism()} CPUs, UV_THREADPOOL_SIZE=${result.uv_threadpool_size}`);
const w = Math.max(...cases.map((c) => c.label.length));
for (const c of crypto1.cases) log(`  ${c.label.padEnd(w)}  ${f1(c.median_ms).padStart(7)} ms  (min ${f1(c.min_ms)})`);
log(`  planLeafRotation (not in the above) ${f1(crypto1.plan_ms)} ms`);
log(`  ratio rotation / keygen floor:      ${crypto1.ratio_to_floor.toFixed(2)} (target <= 1.2)${crypto1.ratio_to_floor <= 1.2 ? '' : '  MISSED'}`);
log(`  ratio rotation / openssl script:    ${crypto1.ratio_to_openssl.toFixed(2)} (target <= 0.5)${crypto1.ratio_to_openssl <= 0.5 ? '' : '  MISSED'}`);
log(`  ratio rotation / openssl, parallel: ${crypto1.ratio_to_openssl_parallel.toFixed(2)} (reference)`);

// =============================================================================================
// 4a: crypto of a hard rotate-ca next to the rollover's graceful start and finalize (src/pki only)
// =============================================================================================
const caOpts = () => ({ now: new Date(), validityMs, caValidityMs: 3650 * DAY, force: false, allowShortValidity: false });
const opened = (await startRollover(pki, caOpts())).files;
const caCases: CryptoCase[] = [
  { key: 'hard', label: 'rotate-ca (hard): new CAs, every leaf', run: async () => timed(() => applyCARotation(pki, planCARotation(pki, caOpts()))), times: [] },
  { key: 'graceful', label: 'rotate-ca --graceful: new CA + cross-signed, every leaf', run: async () => timed(() => startRollover(pki, caOpts())), times: [] },
  { key: 'finalize', label: 'rotate-ca --finalize (from an open window)', run: async () => timed(async () => finalizeRollover(opened, caOpts())), times: [] },
];
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
for (const c of caCases) await c.run();
for (let i = 0; i < ROUNDS; i++) {
  for (let j = 0; j < caCases.length; j++) {
    const c = caCases[(i + j) % caCases.length]!;
    c.times.push(await c.run());
  }
}
const caMed = Object.fromEntries(caCases.map((c) => [c.key, median(c.times)]));
result.ca_crypto = {
  rounds: ROUNDS,
  cases: caCases.map((c) => ({ key: c.key, label: c.label, median_ms: +f1(caMed[c.key]!), min_ms: +f1(Math.min(...c.times)) })),
  ratio_graceful_to_hard: +(caMed.graceful! / caMed.hard!).toFixed(2),
  ratio_finalize_to_hard: +(caMed.finalize! / caMed.hard!).toFixed(2),
};
log(`\nrotate-ca: crypto (the compute step), median of ${ROUNDS} interleaved rounds`);
const wc = Math.max(...caCases.map((c) => c.label.length));
for (const c of caCases) log(`  ${c.label.padEnd(wc)}  ${f1(caMed[c.key]!).padStart(7)} ms  (min ${f1(Math.min(...c.times))})`);
log(`  ratio --graceful / hard: ${(caMed.graceful! / caMed.hard!).toFixed(2)}, --finalize / hard: ${(caMed.finalize! / caMed.hard!).toFixed(2)}`);

// =============================================================================================
// 3: API requests and execs of `rotate NAME --yes`
// =============================================================================================
if (!opt['no-cluster']) {
  if (!existsSync(opt.binary)) {
    log(`${path.relative(ROOT, opt.binary)} missing: running node build.mjs -q`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '-q'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const bin = path.resolve(opt.binary);
  const cluster = await startCluster();
  try {
    const shapes = [
      { key: 'single', label: 'StatefulSet, 1 replica', name: 'solo', namespace: 'bench-solo', replicas: 1 },
      { key: 'ha', label: 'StatefulSet, 3 HA replicas', name: 'ha', namespace: 'bench-ha', replicas: 3 },
    ];
    await Promise.all(
      shapes.map(async (s) => {
        const p = await generatePki({ name: s.name, namespace: s.namespace, reuseKeys: true });
        await cluster.addVCluster({ name: s.name, namespace: s.namespace, kind: 'StatefulSet', replicas: s.replicas, pki: p });
        await cluster.waitReady(s.namespace, s.name, 60_000);
      }),
    );
    interface RotateRun {
      wallMs: number;
      rest: number;
      execs: number;
      portForwards: number;
      byVerb: Record<string, number>;
    }
    const runs: Record<string, RotateRun[]> = { single: [], ha: [] };
    const verbKey = (r: RequestRecord) => `${r.verb} ${r.resource ?? r.path}${r.subresource ? `/${r.subresource}` : ''}`;
    const rotateOnce = (s: (typeof shapes)[number]): Promise<RotateRun> => runOnce(s, ['rotate']);
    const runOnce = (s: { name: string; namespace: string }, command: string[]): Promise<RotateRun> => {
      const from = cluster.requests.length;
      const t0 = performance.now();
      return new Promise((resolve, reject) => {
        const child = spawn(bin, [...command, s.name, '-n', s.namespace, '--yes', '-o', 'json', '--kubeconfig', cluster.kubeconfigPath], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('error', reject);
        child.on('close', (code) => {
          const wallMs = performance.now() - t0;
          if (code !== 0) {
            reject(new Error(`${command.join(' ')} ${s.namespace}/${s.name} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
            return;
          }
          const reqs = cluster.requests.slice(from);
          const byVerb: Record<string, number> = {};
          for (const r of reqs) byVerb[verbKey(r)] = (byVerb[verbKey(r)] ?? 0) + 1;
          resolve({
            wallMs,
            rest: reqs.filter((r) => r.subresource !== 'exec' && r.subresource !== 'portforward').length,
            execs: reqs.filter((r) => r.subresource === 'exec').length,
            portForwards: reqs.filter((r) => r.subresource === 'portforward').length,
            byVerb,
          });
        });
      });
    };
    for (let i = 0; i < ROTATIONS; i++) {
      for (let j = 0; j < shapes.length; j++) {
        const s = shapes[(i + j) % shapes.length]!;
        runs[s.key]!.push(await rotateOnce(s));
        await cluster.waitReady(s.namespace, s.name, 60_000);
      }
    }
    const api: Record<string, unknown> = {};
    log(`\nrotate NAME --yes against the simulated cluster: median of ${ROTATIONS} interleaved rotations per shape (binary ${path.relative(ROOT, bin)})`);
    for (const s of shapes) {
      const r = runs[s.key]!;
      const keys = [...new Set(r.flatMap((x) => Object.keys(x.byVerb)))];
      const byVerb = Object.fromEntries(keys.map((k) => [k, median(r.map((x) => x.byVerb[k] ?? 0))]).sort((a, b) => (b[1] as number) - (a[1] as number)));
      const sum = {
        label: s.label,
        rotations: r.length,
        wall_median_ms: +f1(median(r.map((x) => x.wallMs))),
        requests: median(r.map((x) => x.rest)),
        requests_range: [Math.min(...r.map((x) => x.rest)), Math.max(...r.map((x) => x.rest))],
        execs: median(r.map((x) => x.execs)),
        port_forwards: median(r.map((x) => x.portForwards)),
        by_verb: byVerb,
      };
      api[s.key] = sum;
      log(`  ${s.label}: ${sum.requests} API requests (range ${sum.requests_range.join('-')}), ${sum.execs} execs, ${sum.port_forwards} port-forwards; wall ${f1(sum.wall_median_ms)} ms`);
      log(`    ${Object.entries(byVerb).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    }
    result.rotate = api;

    // 4b: the three rotate-ca runs side by side: hard on one vCluster, graceful then finalize on another.
    const ca = [
      { key: 'hard', name: 'hard', namespace: 'bench-hard', args: [] as string[] },
      { key: 'graceful', name: 'soft', namespace: 'bench-soft', args: ['--graceful'] },
      { key: 'finalize', name: 'soft', namespace: 'bench-soft', args: ['--finalize'] },
    ];
    await Promise.all(['hard', 'soft'].map(async (name) => {
      const p = await generatePki({ name, namespace: `bench-${name}`, reuseKeys: true });
      await cluster.addVCluster({ name, namespace: `bench-${name}`, kind: 'StatefulSet', replicas: 1, pki: p });
      await cluster.waitReady(`bench-${name}`, name, 60_000);
    }));
    const caRuns: Record<string, RotateRun[]> = { hard: [], graceful: [], finalize: [] };
    for (let i = 0; i < ROTATIONS; i++) {
      // graceful must precede its finalize; the hard run goes before or after the pair
      const order = i % 2 ? [ca[1]!, ca[2]!, ca[0]!] : [ca[0]!, ca[1]!, ca[2]!];
      for (const c of order) {
        caRuns[c.key]!.push(await runOnce({ name: c.name, namespace: c.namespace }, ['rotate-ca', ...c.args]));
        await cluster.waitReady(c.namespace, c.name, 60_000);
      }
    }
    const wall = (k: string) => median(caRuns[k]!.map((x) => x.wallMs));
    const reqs = (k: string) => median(caRuns[k]!.map((x) => x.rest + x.execs + x.portForwards));
    result.rotate_ca = {
      runs: ROTATIONS,
      cases: Object.fromEntries(ca.map((c) => [c.key, { wall_median_ms: +f1(wall(c.key)), calls: reqs(c.key) }])),
      wall_ratio_graceful_to_hard: +(wall('graceful') / wall('hard')).toFixed(2),
      wall_ratio_finalize_to_hard: +(wall('finalize') / wall('hard')).toFixed(2),
    };
    log(`\nrotate-ca against the simulated cluster (1 replica), median of ${ROTATIONS} interleaved runs each`);
    for (const c of ca) log(`  rotate-ca ${c.args.join(' ') || '(hard)'}: wall ${f1(wall(c.key))} ms, ${reqs(c.key)} requests/execs/port-forwards`);
    log(`  wall ratio --graceful / hard: ${(wall('graceful') / wall('hard')).toFixed(2)}, --finalize / hard: ${(wall('finalize') / wall('hard')).toFixed(2)}`);
  } finally {
    await cluster.close();
  }
}
if (opt.json) console.log(JSON.stringify(result, null, 2));
