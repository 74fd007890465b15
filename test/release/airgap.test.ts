// Air-gapped use: the binary connects to nothing but the API server named by the
// kubeconfig. `check` runs in a fresh network namespace (unshare -n: loopback only) where
// every address routes to loopback, recorders listen on DNS/HTTP(S)/proxy ports, and
// HTTP(S)_PROXY point at a recorder; strace (when installed) lists every connect().
// See airgap-run.ts. Needs root, unshare and ip (iproute2); otherwise a named skip.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';
import { BIN, ROOT, run, tmpDir, which } from './helpers.js';

const test = suite('release: air-gapped');
const tmp = tmpDir('airgap-test-');
test.after(() => { if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true }); });

const can = process.getuid?.() === 0 && !!which('unshare', ['/usr/bin', '/bin']) && !!which('ip', ['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
if (!can) console.log('skip: air-gap tests need root, unshare and ip (iproute2)');

interface Report {
  fatal?: string;
  mode: string; simError: string; apiHost: string; apiPort: number; args: string[];
  binary: { code: number | null; stdout: string; stderr: string; ms: number };
  apiRequests: number;
  hits: Array<{ phase: string; proto: string; local: string; remote: string }>;
  strace: Array<{ family: string; addr: string; port: number }> | null;
}

async function airgap(mode?: 'stub'): Promise<Report> {
  const out = path.join(tmp, `report-${mode ?? 'sim'}.json`);
  const r = await run('unshare', ['-n', '--', B.node22(), '--import', 'tsx', 'test/release/airgap-run.ts', BIN, out, ...(mode ? [mode] : [])], { cwd: ROOT, timeoutMs: 150_000 });
  assert.ok(fs.existsSync(out), `no report: ${r.stdout}${r.stderr}`);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8')) as Report;
  assert.not.ok(rep.fatal, rep.fatal);
  return rep;
}

function assertOnlyApi(rep: Report) {
  const binaryHits = rep.hits.filter((h) => h.phase === 'binary');
  assert.equal(binaryHits, [], 'the binary reached a recorder (DNS, HTTP(S), proxy)');
  assert.ok(rep.apiRequests > 0, 'the binary talked to the API server');
  if (rep.strace) {
    assert.ok(rep.strace.length > 0, 'strace saw the API connections');
    const elsewhere = rep.strace.filter((c) => !(c.family === 'inet' && c.addr === rep.apiHost && c.port === rep.apiPort));
    assert.equal(elsewhere, [], `connect() to something other than ${rep.apiHost}:${rep.apiPort}`);
  } else {
    console.log('  (strace not installed: connections checked by the recorders only)');
  }
  // the harness can fail: the control probes run in the same environment were recorded
  const control = rep.hits.filter((h) => h.phase === 'control');
  assert.ok(control.some((h) => h.proto === 'tcp' && /203\.0\.113\.5/.test(h.local)), `control TCP connect not recorded: ${JSON.stringify(rep.hits)}`);
  assert.ok(control.some((h) => h.proto === 'udp'), 'control DNS query not recorded');
}

(can ? test : test.skip)('check against the simulated cluster in a network namespace: only the API server is contacted', async () => {
  const rep = await airgap();
  assert.is(rep.mode, 'sim', `simulated cluster did not start (stub used): ${rep.simError}`);
  assert.is(rep.binary.code, 0, rep.binary.stdout + rep.binary.stderr);
  assert.match(rep.binary.stdout, /apiserver\.crt\s+\|.*\|\s+OK/);
  assert.match(rep.binary.stdout, /read from secret team\/vc-certs \+ \/data\/pki in pod vc-0/);
  assertOnlyApi(rep);
});

(can ? test : test.skip)('API server at a non-loopback address (stub), proxies set: still only the API server', async () => {
  const rep = await airgap('stub');
  assert.is(rep.mode, 'stub');
  assert.is(rep.apiHost, '10.11.12.13');
  assert.ok(rep.binary.code !== null && rep.binary.code <= 3, rep.binary.stderr);
  assert.not.match(rep.binary.stderr, /unexpected failure/);
  assertOnlyApi(rep);
});

test.run();
