// rotate-ca --graceful → --finalize (or --abort) on the simulated cluster, for a single replica, HA
// replicas and a deployed etcd. At every phase the real kubectl (Go TLS) connects through a
// port-forward to the pod's 8443 (the syncer's proxy) and 6443 (kube-apiserver) with the old and
// the new admin kubeconfig, and the outcome is read from one table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kubectlPortForward, startCluster, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/index.js';
import { execFileP, runCli } from './helpers.js';
import { secretFiles, type Files } from './pki-oracle.js';

const test = suite('CA rollover e2e');
let cluster: SimCluster;
let env: Record<string, string>;
let scratch = '';

test.before(async () => {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-rollover-'));
});
test.after(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

type Phase = 'window' | 'finalized' | 'aborted';
/** old: the admin.conf from before the rollover; new: the one the start issued. */
const WORKS: Record<Phase, { old: boolean; new: boolean }> = {
  window: { old: true, new: true },
  finalized: { old: false, new: true },
  aborted: { old: true, new: false },
};

/** kubectl port-forward to the pod's 8443 and 6443. */
async function forward(ns: string, pod: string): Promise<{ ports: Record<'8443' | '6443', number>; stop(): void }> {
  const pf = await kubectlPortForward('kubectl', cluster.kubeconfigPath, ns, pod, [8443, 6443], { ...process.env, KUBECACHEDIR: join(scratch, 'cache') });
  return { ports: { '8443': pf.local[8443]!, '6443': pf.local[6443]! }, stop: pf.stop };
}

/** `kubectl get --raw /version` with a kubeconfig, against a local port: true when it answers. */
async function kubectlWorks(conf: Buffer, port: number): Promise<{ ok: boolean; why: string }> {
  const path = join(scratch, `kc-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, conf, { mode: 0o600 });
  try {
    const r = await execFileP('kubectl', ['--kubeconfig', path, '--server', `https://127.0.0.1:${port}`, '--request-timeout', '10s', 'get', '--raw', '/version'],
      { env: { PATH: process.env.PATH, HOME: scratch, KUBECACHEDIR: join(scratch, 'cache') } });
    return { ok: /gitVersion/.test(r.stdout), why: r.stdout };
  } catch (err) {
    return { ok: false, why: ((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n').pop()! };
  } finally {
    rmSync(path, { force: true });
  }
}

async function assertPhase(ns: string, name: string, phase: Phase, confs: { old: Buffer; new?: Buffer }): Promise<void> {
  await cluster.waitReady(ns, name);
  const pf = await forward(ns, `${name}-0`);
  try {
    for (const who of ['old', 'new'] as const) {
      const conf = confs[who];
      if (!conf) continue;
      for (const port of ['8443', '6443'] as const) {
        const r = await kubectlWorks(conf, pf.ports[port]);
        assert.is(r.ok, WORKS[phase][who], `${phase}: the ${who} admin.conf on ${port} ${WORKS[phase][who] ? 'works' : 'is refused'} (${r.why})`);
      }
    }
  } finally {
    pf.stop();
  }
}

async function vcluster(name: string, opts: Record<string, unknown>): Promise<{ ns: string; old: Files }> {
  const ns = `ns-${name}`;
  const old = await generatePki({ name, namespace: ns, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name, namespace: ns, pki: old, ...opts });
  await cluster.waitReady(ns, name);
  return { ns, old };
}

const SHAPES: Array<[string, Record<string, unknown>]> = [
  ['single', {}],
  ['ha', { replicas: 2 }],
  ['etcd', { deployedEtcd: true }],
];

for (const [shape, opts] of SHAPES) {
  test(`${shape}: --graceful opens a window where old and new kubeconfigs work on 8443 and 6443; --finalize keeps only the new`, async () => {
    const name = `ro-${shape}`;
    const { ns, old } = await vcluster(name, opts);
    const start = await runCli(['rotate-ca', name, '-n', ns, '--graceful', '--yes', '-o', 'json'], env);
    assert.is(start.code, 0, start.stderr);
    assert.is(JSON.parse(start.stdout).result, 'done');
    const window = await secretFiles(cluster, ns, name);
    await assertPhase(ns, name, 'window', { old: old.get('admin.conf')!, new: window.get('admin.conf')! });
    const check = await runCli(['check', name, '-n', ns], env);
    assert.is(check.code, 1, `check says the window is open: ${check.stdout}${check.stderr}`);
    assert.match(check.stdout + check.stderr, /CA rollover in progress since .*old kubeconfigs still accepted.*finalize before/);
    const leaf = await runCli(['rotate', name, '-n', ns, '--yes'], env);
    assert.is(leaf.code, 3);
    assert.match(leaf.stderr, /a CA rollover is in progress since .*rotate-ca --finalize/);
    const fin = await runCli(['rotate-ca', name, '-n', ns, '--finalize', '--yes'], env);
    assert.is(fin.code, 0, fin.stderr);
    await assertPhase(ns, name, 'finalized', { old: old.get('admin.conf')!, new: window.get('admin.conf')! });
    assert.is((await runCli(['check', name, '-n', ns], env)).code, 0, 'no window any more');
  });
}

test('--abort goes back to the backup from before the window: old kubeconfigs work, new ones are refused', async () => {
  const name = 'ro-abort';
  const { ns, old } = await vcluster(name, { replicas: 2 });
  assert.is((await runCli(['rotate-ca', name, '-n', ns, '--graceful', '--yes'], env)).code, 0);
  const window = await secretFiles(cluster, ns, name);
  const dry = await runCli(['rotate-ca', name, '-n', ns, '--abort', '--dry-run'], env);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /back to the CA from before the rollover \(backup \d+\): kubeconfigs issued during the rollover stop working/);
  const r = await runCli(['rotate-ca', name, '-n', ns, '--abort', '--yes'], env);
  assert.is(r.code, 0, r.stderr);
  const after = await secretFiles(cluster, ns, name);
  for (const f of ['ca.crt', 'server-ca.crt', 'client-ca.crt', 'admin.conf']) assert.ok(after.get(f)!.equals(old.get(f)!), `${f} is the old one again`);
  await assertPhase(ns, name, 'aborted', { old: old.get('admin.conf')!, new: window.get('admin.conf')! });
});

test('refusals: --graceful twice, --finalize and --abort without a window, two phases at once', async () => {
  const name = 'ro-refuse';
  const { ns } = await vcluster(name, {});
  for (const phase of ['--finalize', '--abort']) {
    const r = await runCli(['rotate-ca', name, '-n', ns, phase, '--yes'], env);
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /^error: no CA rollover is in progress/m);
  }
  assert.is((await runCli(['rotate-ca', name, '-n', ns, '--graceful', '--yes'], env)).code, 0);
  const again = await runCli(['rotate-ca', name, '-n', ns, '--graceful', '--yes'], env);
  assert.is(again.code, 3);
  assert.match(again.stderr, /already in progress/);
  const both = await runCli(['rotate-ca', name, '-n', ns, '--graceful', '--finalize', '--yes'], env);
  assert.is(both.code, 3);
  assert.match(both.stderr, /--graceful and --finalize are phases of one rollover: pass one of them/);
});

test.run();
