#!/usr/bin/env node
// Runs every test file in its own Node 22 process (uvu inside), after a type check and
// a build, and ends with the one line CI reads: "N passed, N failed". The PKI tests run twice:
// as shipped, and with VCERTS_NO_FAST=1 (every fast path of src/pki/fast/ off, the libraries answer).
// Usage: npm test [-- PATTERN...]   env: TEST_JOBS (default 2), SKIP_BUILD=1
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const patterns = process.argv.slice(2);
const jobs = Math.max(1, Number(process.env.TEST_JOBS || 2));
const nodeBin = join(root, 'node_modules', '.bin', 'node');

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, out, ms: Date.now() - started }));
  });
}

// uvu prints one summary per process: "Total: N", "Passed: N", "Skipped: N".
function parseUvu(out) {
  const clean = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => {
    const all = [...clean.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))];
    return all.reduce((s, m) => s + Number(m[1]), 0);
  };
  if (!/Total:\s+\d+/.test(clean)) return null;
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') };
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const skips = [];

async function step(name, cmd, args) {
  const r = await run(cmd, args);
  const ok = r.code === 0;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name} (${(r.ms / 1000).toFixed(1)}s)\n`);
  if (!ok) process.stdout.write(r.out.split('\n').map((l) => `     ${l}`).join('\n') + '\n');
  if (ok) passed++; else { failed++; failures.push(name); }
  return ok;
}

const matched = findTests(join(root, 'test')).filter((f) => patterns.length === 0 || patterns.some((p) => f.includes(p)));
/** Each run: a test file and the environment it runs in. */
const NO_FAST = { VCERTS_NO_FAST: '1' };
const isPki = (f) => f.split(/[\\/]/).slice(0, 2).join('/') === 'test/pki';
const files = [
  ...matched.map((file) => ({ file, env: {}, label: file })),
  ...matched.filter(isPki).map((file) => ({ file, env: NO_FAST, label: `${file} [VCERTS_NO_FAST=1]` })),
];

// Longest first, by the durations of the last run (.cache/test-times.json; unknown ones first):
// with a few jobs, a long file started last would leave the others idle at the end.
const timesFile = join(root, '.cache', 'test-times.json');
let lastTimes = {};
try {
  lastTimes = JSON.parse(readFileSync(timesFile, 'utf8'));
} catch {
  // first run, or unreadable: alphabetical order
}
const expected = (r) => lastTimes[r.label] ?? Infinity;
files.sort((a, b) => expected(b) - expected(a) || a.label.localeCompare(b.label));
const times = { ...lastTimes };

if (patterns.length === 0) await step('typecheck (tsc --noEmit)', nodeBin, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
if (!process.env.SKIP_BUILD) {
  const built = await step('build (node build.mjs)', nodeBin, ['build.mjs']);
  if (!built) process.stdout.write('     (tests that need dist/ will fail too)\n');
}

let next = 0;
async function worker() {
  while (next < files.length) {
    const { file, env, label } = files[next++];
    const r = await run(nodeBin, ['--import', 'tsx', file], { VCERTS_TEST: '1', ...env });
    times[label] = r.ms;
    const counts = parseUvu(r.out);
    // uvu's Total already leaves skipped tests out.
    const fileFailed = counts ? counts.total - counts.passed : 0;
    const ok = r.code === 0 && counts && fileFailed === 0 && counts.total + counts.skipped > 0;
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${label} ${counts ? `${counts.passed}/${counts.total}` : 'no summary'} (${(r.ms / 1000).toFixed(1)}s)\n`);
    if (!ok || process.env.TEST_VERBOSE) process.stdout.write(r.out.split('\n').map((l) => `     ${l}`).join('\n') + '\n');
    if (counts) {
      passed += counts.passed;
      skipped += counts.skipped;
      failed += Math.max(fileFailed, ok ? 0 : 1);
    } else {
      failed += 1; // crashed before uvu could report
    }
    if (!ok) failures.push(label);
    for (const m of r.out.matchAll(/^skip( part)?: (.*)$/gm)) skips.push(`${label}: ${m[2]}`);
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
try {
  mkdirSync(join(root, '.cache'), { recursive: true });
  writeFileSync(timesFile, JSON.stringify(times, null, 1) + '\n');
} catch {
  // the order is only an optimisation
}

if (files.length === 0) { process.stdout.write('no test files matched\n'); failed++; }
if (skips.length) process.stdout.write(`\nskipped (and why):\n${skips.map((s) => `  - ${s}`).join('\n')}\n`);
if (failures.length) process.stdout.write(`\nfailed: ${failures.join(', ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed > 0 ? 1 : 0;
