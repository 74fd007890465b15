// `rotate-ca`, `backups` and `restore` end to end, ported from upstream's e2e cert tests
// (reference §7) and extended: new CAs, every leaf re-issued and chaining to them, sa.* kept,
// old kubeconfigs refused by the real kubectl, expiry recovery, and undo via restore.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { generatePki, type PkiOptions } from '../cluster/index.js';
import { BINARY, DAY, kubectlRaw, opensslFacts, runCli, type CliResult } from './helpers.js';
import {
  KUBECONFIGS, LEAFS, fingerprint, keyMatches, kubeconfigCreds, opensslKeyIds, opensslProfile, opensslVerifies, podFiles, sameFiles, secretFiles, vclusterPods, x509, type Files,
} from './pki-oracle.js';

const SECRETS = typeByKind('Secret');
const ROOT_CAS = ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'];
const test = suite('rotate-ca / restore e2e');
let cluster: SimCluster;
let env: Record<string, string>;
let scratch = '';

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-rotate-ca-'));
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  // Every test has a vCluster of its own; made together here, which is quicker than one by one.
  await Promise.all(Object.entries(VCLUSTERS).map(async ([name, [pkiOpts, vcOpts]]) => {
    const pki = await generatePki({ name, namespace: `ns-${name}`, now: new Date(Date.now() - 3_600_000), ...pkiOpts });
    await cluster.addVCluster({ name, namespace: `ns-${name}`, pki, ...vcOpts });
    pkis.set(name, pki);
  }));
}
test.after(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** name → [PKI options, vCluster options]; namespace ns-<name>, PKI issued an hour ago (so "expires later" is measurable). */
const VCLUSTERS: Record<string, [Partial<PkiOptions>, Record<string, unknown>]> = {
  basic: [{}, {}],
  ha: [{}, { replicas: 2, deployedEtcd: true }],
  prompt: [{}, {}],
  kcout: [{}, {}],
  tty: [{}, {}],
  expired: [{ expiredCA: true }, {}],
  stale: [{ expiredCA: true }, { persistence: false }],
  undo: [{}, { replicas: 2 }],
  ephem: [{}, { persistence: false }],
  bad: [{}, {}],
};
const pkis = new Map<string, Files>();

/** The original PKI of the test's vCluster, once it is Ready (unless `ready` is false). */
async function vcluster(name: keyof typeof VCLUSTERS, ready = true): Promise<Files> {
  if (ready) await cluster.waitReady(`ns-${name}`, name);
  return pkis.get(name)!;
}

function ok(r: CliResult, what: string): void {
  assert.is(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
}

function json(r: CliResult) {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr}`);
  }
}

const uids = (ns: string, name: string) => [...vclusterPods(cluster, ns, name), ...vclusterPods(cluster, ns, name, 'vcluster-etcd')].map((p) => p.metadata.uid);

/** `kubectl get --raw /version` with `conf` against every control-plane pod; true when all answered. */
async function kubectlWorks(conf: Buffer | string, ns: string, name: string): Promise<{ ok: boolean; output: string }> {
  const results = await Promise.all(vclusterPods(cluster, ns, name).map(async (p) => {
    const r = await kubectlRaw(conf, (await cluster.podEndpoint(ns, p.metadata.name)).port);
    return { ok: r.ok && /gitVersion/.test(r.output), output: `${p.metadata.name}: ${r.output.trim()}` };
  }));
  return { ok: results.length > 0 && results.every((r) => r.ok), output: results.map((r) => r.output).join('\n') };
}

async function assertOldKubeconfigRefused(conf: Buffer, ns: string, name: string): Promise<void> {
  await Promise.all(vclusterPods(cluster, ns, name).map(async (p) => {
    const r = await kubectlRaw(conf, (await cluster.podEndpoint(ns, p.metadata.name)).port);
    assert.not.ok(r.ok, `${p.metadata.name}: the old kubeconfig must be refused`);
    assert.match(r.output, /x509: certificate signed by unknown authority|tls: failed to verify certificate/, 'refused by TLS verification');
  }));
}

/** Every replica's /data/pki holds exactly what the Secret holds. */
async function assertDisksEqualSecret(ns: string, name: string): Promise<Files> {
  const secret = await secretFiles(cluster, ns, name);
  const pods = vclusterPods(cluster, ns, name);
  assert.ok(pods.length > 0, 'control-plane pods exist');
  for (const p of pods) assert.ok(sameFiles(secret, podFiles(cluster, ns, p.metadata.name), [...secret.keys()]), `${p.metadata.name}: /data/pki equals the Secret`);
  return secret;
}

/** Upstream's e2e rotate-ca assertions plus ours, graded by openssl and node:crypto. */
async function assertCARotated(ns: string, name: string, before: Files): Promise<Files> {
  const after = await assertDisksEqualSecret(ns, name);
  for (const f of ['sa.key', 'sa.pub']) assert.ok(after.get(f)!.equals(before.get(f)!), `${f} unchanged byte for byte`);
  await Promise.all(ROOT_CAS.map(async (ca) => {
    const [o, n] = [before.get(ca)!.toString(), after.get(ca)!.toString()];
    const key = ca.replace(/\.crt$/, '.key');
    assert.is.not(fingerprint(n), fingerprint(o), `${ca} fingerprint changed`);
    assert.ok(x509(n).validToDate > x509(o).validToDate, `${ca} expires later`);
    const facts = await opensslFacts(n);
    assert.is(facts.subjectCN, (await opensslFacts(o)).subjectCN, `${ca} keeps its subject`);
    assert.is(facts.issuerCN, facts.subjectCN, `${ca} is self-signed`);
    assert.ok(await opensslVerifies(n, n), `${ca} verifies itself (openssl)`);
    assert.is(await opensslProfile(n, { anyExtensionOrder: true }), await opensslProfile(o, { anyExtensionOrder: true }), `${ca} keeps the kubeadm CA profile (CA:TRUE, key usage, DNS SAN = CN)`);
    assert.ok((await opensslKeyIds(n)).skid, `${ca} has a SubjectKeyIdentifier`);
    assert.ok(keyMatches(n, after.get(key)!), `${key} matches`);
    assert.not.ok(after.get(key)!.equals(before.get(key)!), `${key} is new`);
    assert.ok(Math.abs(x509(n).validFromDate.getTime() - (Date.now() - 5 * 60_000)) < 120_000, `${ca} NotBefore ≈ now − 5 min`);
    assert.ok(Math.abs(x509(n).validToDate.getTime() - (Date.now() + 3650 * DAY)) < 10 * 60_000, `${ca} valid 10 years`);
  }));
  for (const copy of ['server-ca', 'client-ca']) {
    assert.is(fingerprint(after.get(`${copy}.crt`)!), fingerprint(after.get('ca.crt')!), `${copy}.crt = the new ca.crt`);
    assert.ok(after.get(`${copy}.key`)!.equals(after.get('ca.key')!), `${copy}.key = the new ca.key`);
  }
  await Promise.all(Object.entries(LEAFS).map(async ([leaf, caFile]) => {
    const [o, n] = [before.get(leaf)!.toString(), after.get(leaf)!.toString()];
    const key = leaf.replace(/\.crt$/, '.key');
    assert.is.not(fingerprint(n), fingerprint(o), `${leaf} fingerprint changed`);
    assert.ok(await opensslVerifies(n, after.get(caFile)!.toString()), `${leaf} chains to the new ${caFile} (openssl)`);
    assert.not.ok(await opensslVerifies(n, before.get(caFile)!.toString()), `${leaf} does not chain to the old ${caFile}`);
    assert.is(await opensslProfile(n), await opensslProfile(o), `${leaf} keeps its profile`);
    assert.ok(keyMatches(n, after.get(key)!), `${key} matches`);
    assert.not.ok(after.get(key)!.equals(before.get(key)!), `${key} is new`);
  }));
  await Promise.all(KUBECONFIGS.map(async (conf) => {
    const [o, n] = [kubeconfigCreds(before.get(conf)!), kubeconfigCreds(after.get(conf)!)];
    assert.is(fingerprint(n.ca), fingerprint(after.get('ca.crt')!), `${conf}: certificate-authority-data = the new ca.crt`);
    assert.is.not(fingerprint(n.cert), fingerprint(o.cert), `${conf}: client certificate changed`);
    assert.ok(await opensslVerifies(n.cert, after.get('ca.crt')!.toString()), `${conf}: client certificate chains to the new ca.crt`);
    assert.not.ok(await opensslVerifies(n.cert, before.get('ca.crt')!.toString()), `${conf}: client certificate does not chain to the old ca.crt`);
    assert.ok(keyMatches(n.cert, n.key), `${conf}: client key matches`);
  }));
  return after;
}

test('upstream e2e: new CAs, every leaf re-issued from them, sa.* kept, old admin kubeconfig refused, --kubeconfig-out works (real kubectl)', async () => {
  const before = await vcluster('basic');
  assert.ok((await kubectlWorks(before.get('admin.conf')!, 'ns-basic', 'basic')).ok, 'baseline: the admin.conf works');
  const oldPods = uids('ns-basic', 'basic');
  const out = join(scratch, 'basic.kubeconfig');
  const r = await runCli(['rotate-ca', 'basic', '-n', 'ns-basic', '--yes', '--kubeconfig-out', out, '-o', 'json'], env);
  ok(r, 'rotate-ca');
  const report = json(r);
  assert.is(report.result, 'done');
  assert.is(report.state, 'all-new');
  const after = await assertCARotated('ns-basic', 'basic', before);
  const caLine = report.certificates.find((c: { file: string }) => c.file === 'ca.crt');
  assert.equal([caLine.oldSha256, caLine.newSha256], [fingerprint(before.get('ca.crt')!), fingerprint(after.get('ca.crt')!)], 'the report names both CA fingerprints');
  assert.ok(uids('ns-basic', 'basic').every((u) => !oldPods.includes(u)), 'the pod was restarted');

  await assertOldKubeconfigRefused(before.get('admin.conf')!, 'ns-basic', 'basic');
  assert.is(statSync(out).mode & 0o777, 0o600, '--kubeconfig-out file mode 0600');
  assert.match(r.stderr, new RegExp(`wrote ${out} \\(mode 0600\\)`));
  const written = readFileSync(out);
  assert.is(fingerprint(kubeconfigCreds(written).ca), fingerprint(after.get('ca.crt')!), 'written kubeconfig trusts the new CA');
  const works = await kubectlWorks(written, 'ns-basic', 'basic');
  assert.ok(works.ok, `the --kubeconfig-out kubeconfig works: ${works.output}`);
  ok(await runCli(['check', 'basic', '-n', 'ns-basic'], env), 'check after rotate-ca');
});

test('2 replicas with deployed etcd: all restarted together, every replica and endpoint on the new CA', async () => {
  const before = await vcluster('ha');
  const oldPods = uids('ns-ha', 'ha');
  assert.ok(vclusterPods(cluster, 'ns-ha', 'ha', 'vcluster-etcd').length >= 1, 'deployed etcd pods exist');
  const r = await runCli(['rotate-ca', 'ha', '-n', 'ns-ha', '--yes'], env);
  ok(r, 'rotate-ca');
  await cluster.waitReady('ns-ha', 'ha');
  assert.match(r.stderr, /vcluster connect ha -n ns-ha/, 'without --kubeconfig-out it says how to get a new kubeconfig');
  const after = await assertCARotated('ns-ha', 'ha', before);
  assert.is(vclusterPods(cluster, 'ns-ha', 'ha').length, 2, 'two replicas');
  const etcd = vclusterPods(cluster, 'ns-ha', 'ha', 'vcluster-etcd');
  assert.ok(etcd.length >= 1 && etcd.every((p) => !oldPods.includes(p.metadata.uid)), 'deployed etcd pods restarted');
  assert.ok(vclusterPods(cluster, 'ns-ha', 'ha').every((p) => !oldPods.includes(p.metadata.uid)), 'both replicas restarted');
  await assertOldKubeconfigRefused(before.get('admin.conf')!, 'ns-ha', 'ha');
  assert.ok((await kubectlWorks(after.get('admin.conf')!, 'ns-ha', 'ha')).ok, 'the new admin.conf works on both replicas');
});

/** Runs the binary on a pseudo-terminal (util-linux `script`) and types `answer` at the prompt. */
function runOnTty(args: string[], answer: string): Promise<CliResult> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', [BINARY, ...args].map(quote).join(' '), '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SHELL: '/bin/sh', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let typed = false;
    const timer = setTimeout(() => child.kill(), 30_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!typed && /Type the vCluster name/.test(stdout)) {
        typed = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: '' });
    });
  });
}

test('confirmation: refused off a TTY without --yes before touching the cluster; --dry-run says old kubeconfigs break', async () => {
  const before = await vcluster('prompt');
  const requests = cluster.requests.length;
  const r = await runCli(['rotate-ca', 'prompt', '-n', 'ns-prompt'], env);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /^error: refusing to change vCluster prompt without confirmation in a non-interactive run: pass --yes/);
  assert.is(cluster.requests.length, requests, 'not a single API request was made');
  const restore = await runCli(['restore', 'prompt', '-n', 'ns-prompt'], env);
  assert.is(restore.code, 3, restore.stderr);
  assert.match(restore.stderr, /without confirmation/);

  const dry = await runCli(['rotate-ca', 'prompt', '-n', 'ns-prompt', '--dry-run'], env);
  ok(dry, 'dry run');
  assert.match(dry.stdout, /every existing kubeconfig .*stops working/);
  assert.match(dry.stdout, /ca\.crt +\| create/);
  assert.match(dry.stdout, /sa\.key +\| keep/);
  assert.match(dry.stdout, /Dry run: nothing was changed\./);
  assert.ok(sameFiles(before, await secretFiles(cluster, 'ns-prompt', 'prompt')), 'dry run changed nothing');
});

test('--kubeconfig-out that cannot be written is refused before anything changes', async () => {
  const before = await vcluster('kcout');
  const target = join(scratch, 'no-such-dir', 'admin.kubeconfig');
  const r = await runCli(['rotate-ca', 'kcout', '-n', 'ns-kcout', '--yes', '--kubeconfig-out', target], env);
  const after = await secretFiles(cluster, 'ns-kcout', 'kcout');
  assert.is(fingerprint(after.get('ca.crt')!), fingerprint(before.get('ca.crt')!), `the CA must not be rotated when the requested kubeconfig cannot be written (exit ${r.code}: ${r.stderr.trim().split('\n').pop()})`);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot write ${target}`));
});

const haveScript = existsSync('/usr/bin/script') || existsSync('/bin/script');
if (!haveScript) console.log('skip: util-linux script is not installed, the interactive rotate-ca prompt is not tested');
(haveScript ? test : test.skip)('confirmation on a TTY: the vCluster name must be typed; anything else aborts with nothing changed', async () => {
  const before = await vcluster('tty');
  const wrong = await runOnTty(['rotate-ca', 'tty', '-n', 'ns-tty'], 'yes');
  assert.match(wrong.stdout, /Type the vCluster name \(tty\) to rotate-ca it/);
  assert.is(wrong.code, 5, wrong.stdout);
  assert.match(wrong.stdout, /aborted: nothing was changed/);
  assert.ok(sameFiles(before, await secretFiles(cluster, 'ns-tty', 'tty')), 'nothing changed after a wrong answer');
  const right = await runOnTty(['rotate-ca', 'tty', '-n', 'ns-tty'], 'tty');
  assert.is(right.code, 0, right.stdout);
  assert.is.not(fingerprint((await secretFiles(cluster, 'ns-tty', 'tty')).get('ca.crt')!), fingerprint(before.get('ca.crt')!), 'typing the name rotates the CA');
});

test('expiry recovery as upstream: a vCluster whose whole PKI expired is in CrashLoopBackOff; refused without --allow-not-running, Ready with --force (all allowances)', async () => {
  const before = await vcluster('expired', false);
  assert.ok(x509(before.get('ca.crt')!).validToDate.getTime() < Date.now(), 'the CA itself has expired');
  const end = Date.now() + 10_000;
  while (!/CrashLoopBackOff/.test(cluster.describe('ns-expired', 'expired'))) {
    assert.ok(Date.now() < end, `not in CrashLoopBackOff: ${cluster.describe('ns-expired', 'expired')}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  const refused = await runCli(['rotate-ca', 'expired', '-n', 'ns-expired', '--yes'], env);
  assert.is(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /not Running; fix that first, or pass --allow-not-running/);
  assert.ok(sameFiles(before, await secretFiles(cluster, 'ns-expired', 'expired')), 'refused: nothing changed');

  const r = await runCli(['rotate-ca', 'expired', '-n', 'ns-expired', '--yes', '--force'], env);
  ok(r, 'rotate-ca --force');
  await cluster.waitReady('ns-expired', 'expired');
  const after = await secretFiles(cluster, 'ns-expired', 'expired');
  for (const ca of ROOT_CAS) {
    assert.is.not(fingerprint(after.get(ca)!), fingerprint(before.get(ca)!), `${ca} is new`);
    assert.ok(x509(after.get(ca)!).validToDate.getTime() > Date.now() + DAY, `${ca} NotAfter > now + 24h`);
  }
  await assertLeafsReissued(after, before, after);
  const check = await runCli(['check', 'expired', '-n', 'ns-expired'], env);
  assert.is(check.code, 0, check.stdout);
  assert.ok((await kubectlWorks(after.get('admin.conf')!, 'ns-expired', 'expired')).ok, 'reconnect works');

  // The latest backup is the expired PKI: leafs cannot be re-issued from it ...
  const reissue = await runCli(['restore', 'expired', '-n', 'ns-expired', '--yes'], env);
  assert.is(reissue.code, 3, reissue.stderr);
  assert.match(reissue.stderr, /error: cannot re-issue the leafs of backup \d+: .*CA ca\.crt expired on .*use --no-rotate to restore it as it is, or rotate-ca/);
  assert.ok(sameFiles(after, await secretFiles(cluster, 'ns-expired', 'expired')), 'refused: nothing changed');
  // ... restoring it as it is is refused up front (it could not start) ...
  const asIsRefused = await runCli(['restore', 'expired', '-n', 'ns-expired', '--yes', '--no-rotate'], env);
  assert.is(asIsRefused.code, 3, asIsRefused.stderr);
  assert.match(asIsRefused.stderr, /^error: backup \d+ cannot run as it is: its CA .* expired on .*drop --no-rotate .* or pass --allow-expired$/m);
  // ... and forced, it crash-loops, which is noticed long before --timeout: rolled back, all-old, Ready again.
  const started = Date.now();
  const asIs = await runCli(['restore', 'expired', '-n', 'ns-expired', '--yes', '--no-rotate', '--allow-expired', '--timeout', '2m', '-o', 'json'], env);
  assert.ok(Date.now() - started < 60_000, `a crash loop ends the wait early (${Date.now() - started} ms)`);
  assert.is(asIs.code, 2, asIs.stderr);
  assert.equal([json(asIs).result, json(asIs).state], ['rolled-back', 'all-old']);
  assert.match(asIs.stderr, /rolled back: the vCluster has its previous PKI again/);
  await cluster.waitReady('ns-expired', 'expired');
  assert.ok(sameFiles(after, await assertDisksEqualSecret('ns-expired', 'expired'), [...after.keys()]), 'the recovered PKI is back in the Secret and on disk');
  assert.is((await runCli(['check', 'expired', '-n', 'ns-expired'], env)).code, 0, 'check exits 0 after the rollback');
});

test('a refusal because CAs expired names each expired CA once', async () => {
  await vcluster('stale', false);
  const r = await runCli(['rotate', 'stale', '-n', 'ns-stale', '--yes', '--force'], env);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /CA ca\.crt expired on .*use rotate-ca/);
  for (const ca of ROOT_CAS) {
    const times = r.stderr.split(`CA ${ca} expired on`).length - 1;
    assert.is(times, 1, `"CA ${ca} expired" appears ${times} times`);
  }
});

interface BackupRow { stamp: string; location: { kind: string }; reason: string; complete: boolean; problems: string[]; cas: Array<{ file: string; sha256: string }> }

async function listBackups(ns: string, name: string): Promise<BackupRow[]> {
  const r = await runCli(['backups', name, '-n', ns, '-o', 'json'], env);
  ok(r, 'backups');
  return json(r).backups;
}

const caOf = (b: BackupRow) => b.cas.find((c) => c.file === 'ca.crt')?.sha256;

/** `rotate-ca --yes` of vCluster `name`; its backup stamp and the rotated PKI. */
async function rotateCA(name: string): Promise<{ stamp: string; rotated: Files }> {
  const r = await runCli(['rotate-ca', name, '-n', `ns-${name}`, '--yes', '-o', 'json'], env);
  ok(r, `rotate-ca ${name}`);
  return { stamp: json(r).stamp, rotated: await secretFiles(cluster, `ns-${name}`, name) };
}

/** Every leaf in `now` is new (fingerprint differs from `old`) and chains to the CAs of `cas`. */
async function assertLeafsReissued(now: Files, old: Files, cas: Files): Promise<void> {
  await Promise.all(Object.entries(LEAFS).map(async ([leaf, caFile]) => {
    assert.is.not(fingerprint(now.get(leaf)!), fingerprint(old.get(leaf)!), `${leaf} re-issued`);
    assert.ok(await opensslVerifies(now.get(leaf)!.toString(), cas.get(caFile)!.toString()), `${leaf} chains to ${caFile} ${fingerprint(cas.get(caFile)!).slice(0, 11)}`);
  }));
  for (const f of ['sa.key', 'sa.pub']) assert.ok(now.get(f)!.equals(old.get(f)!), `${f} kept`);
}

test('restore after rotate-ca: --no-rotate brings the old PKI back byte for byte; the restore is itself undoable (default re-issues leafs)', async () => {
  const original = await vcluster('undo');
  const ns = 'ns-undo';
  const { stamp, rotated } = await rotateCA('undo');
  assert.is.not(fingerprint(rotated.get('ca.crt')!), fingerprint(original.get('ca.crt')!));

  const list1 = await listBackups(ns, 'undo');
  const first = list1.filter((b) => b.stamp === stamp);
  assert.ok(first.some((b) => b.location.kind === 'secret' && b.reason === 'rotate-ca'), 'the rotate-ca backup Secret is listed');
  assert.is(first.filter((b) => b.location.kind === 'pod').length, 2, 'and a pod copy in each replica (PVC)');
  for (const b of first) {
    assert.ok(b.complete, `${JSON.stringify(b.location)} complete`);
    assert.is(caOf(b), fingerprint(original.get('ca.crt')!), 'the backup holds the original CA');
  }

  const r2 = await runCli(['restore', 'undo', '-n', ns, '--yes', '--no-rotate', '-o', 'json'], env);
  ok(r2, 'restore --no-rotate');
  const restored = await assertDisksEqualSecret(ns, 'undo');
  assert.is(fingerprint(restored.get('ca.crt')!), fingerprint(original.get('ca.crt')!), 'the old CA is back (fingerprint = the backup\'s)');
  assert.ok(sameFiles(original, restored, [...original.keys()]), '--no-rotate: every file equals the backup byte for byte');
  for (const leaf of Object.keys(LEAFS)) assert.is(fingerprint(restored.get(leaf)!), fingerprint(original.get(leaf)!), `${leaf} fingerprint = the backup's`);
  const oldWorks = await kubectlWorks(original.get('admin.conf')!, ns, 'undo');
  assert.ok(oldWorks.ok, `the original admin kubeconfig works again: ${oldWorks.output}`);
  await assertOldKubeconfigRefused(rotated.get('admin.conf')!, ns, 'undo');

  // The state before the restore (the rotated CA) was backed up first: restoring it undoes the restore.
  const undoStamp = json(r2).stamp;
  const undo = (await listBackups(ns, 'undo')).find((b) => b.stamp === undoStamp && b.location.kind === 'secret');
  assert.ok(undo, `the pre-restore state is listed as backup ${undoStamp}`);
  assert.is(undo!.reason, 'restore');
  assert.is(caOf(undo!), fingerprint(rotated.get('ca.crt')!), 'holding the rotated CA');
  const r3 = await runCli(['restore', 'undo', '-n', ns, '--yes', '--backup', undoStamp], env);
  ok(r3, 'restore --backup <pre-restore>');
  const again = await assertDisksEqualSecret(ns, 'undo');
  for (const ca of ROOT_CAS) assert.is(fingerprint(again.get(ca)!), fingerprint(rotated.get(ca)!), `${ca} is the rotated one again`);
  await assertLeafsReissued(again, rotated, rotated);
  assert.ok((await kubectlWorks(rotated.get('admin.conf')!, ns, 'undo')).ok, 'kubeconfigs of the rotated CA work again');
  await assertOldKubeconfigRefused(original.get('admin.conf')!, ns, 'undo');
});

test('emptyDir: pod backups die with the pods; restore falls back to the off-pod Secret (--from pod finds none)', async () => {
  const original = await vcluster('ephem');
  const ns = 'ns-ephem';
  const { stamp, rotated } = await rotateCA('ephem');
  const [pod] = vclusterPods(cluster, ns, 'ephem');
  assert.is(podFiles(cluster, ns, pod!.metadata.name, 'data/pki.bak').size, 0, 'the restarted pod has no /data/pki.bak');
  const list = await listBackups(ns, 'ephem');
  assert.equal(list.map((b) => b.location.kind), ['secret'], 'only the off-pod Secret copy is left');

  const fromPod = await runCli(['restore', 'ephem', '-n', ns, '--yes', '--from', 'pod'], env);
  assert.is(fromPod.code, 3, fromPod.stderr);
  assert.match(fromPod.stderr, /no backup found in a pod/);
  assert.ok(sameFiles(rotated, await secretFiles(cluster, ns, 'ephem')), '--from pod changed nothing');

  const r = await runCli(['restore', 'ephem', '-n', ns, '--yes', '-o', 'json'], env);
  ok(r, 'restore (auto)');
  const plan: Array<{ file: string; note?: string }> = json(r).plan;
  assert.match(plan.find((l) => l.file === 'ca.crt')!.note ?? '', new RegExp(`from secret ${ns}/ephem-certs-backup-${stamp}`), 'auto picked the Secret copy');
  const restored = await assertDisksEqualSecret(ns, 'ephem');
  for (const ca of ROOT_CAS) assert.is(fingerprint(restored.get(ca)!), fingerprint(original.get(ca)!), `${ca} is the original again`);
  await assertLeafsReissued(restored, original, original);
  assert.ok((await kubectlWorks(original.get('admin.conf')!, ns, 'ephem')).ok, 'the original admin kubeconfig works again');
});

test('an incomplete or corrupted backup Secret is refused with a clear error and nothing changes', async () => {
  const original = await vcluster('bad');
  const ns = 'ns-bad';
  const r = await runCli(['rotate', 'bad', '-n', ns, '--yes', '-o', 'json'], env);
  ok(r, 'rotate (makes a genuine backup)');
  const genuine = cluster.store.get(SECRETS, ns, `bad-certs-backup-${json(r).stamp}`);
  assert.ok(genuine, 'the backup Secret exists');
  assert.ok(sameFiles(original, await secretFiles(cluster, ns, 'bad'), ['ca.crt', 'ca.key']), 'rotate kept the CA');
  const base = Number(json(r).stamp);
  // Copies of it under newer stamps (same labels and annotations), one missing a key, one with a wrong key.
  const copy = (stamp: number, data: Record<string, string>) => {
    const { labels, annotations } = genuine!.metadata;
    cluster.createObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: `bad-certs-backup-${stamp}`, namespace: ns, labels, annotations }, data });
  };
  const { 'ca.key': _dropped, ...incomplete } = genuine!.data as Record<string, string>;
  copy(base + 100, incomplete);
  copy(base + 200, { ...genuine!.data, 'apiserver.key': genuine!.data['front-proxy-client.key'] });

  const listed = await listBackups(ns, 'bad');
  for (const stamp of [base + 100, base + 200]) {
    const row = listed.find((b) => b.stamp === String(stamp));
    assert.ok(row && !row.complete && row.problems.length > 0, `backups marks ${stamp} incomplete`);
  }
  const current = await secretFiles(cluster, ns, 'bad');
  const secrets = () => cluster.store.list(SECRETS, ns).length;
  const count = secrets();
  for (const [stamp, why] of [[base + 100, /ca\.key/], [base + 200, /apiserver\.key/]] as const) {
    const refused = await runCli(['restore', 'bad', '-n', ns, '--yes', '--backup', String(stamp)], env);
    assert.is(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^error: backup ${stamp} \\(secret ${ns}/bad-certs-backup-${stamp}\\) is not complete: `));
    assert.match(refused.stderr, why);
    assert.ok(sameFiles(current, await secretFiles(cluster, ns, 'bad')), 'nothing changed');
    assert.is(secrets(), count, 'no backup Secret was added');
  }
  const latest = await runCli(['restore', 'bad', '-n', ns, '--yes'], env);
  assert.is(latest.code, 3, 'latest (the corrupted copy) is refused too, not silently skipped');
  assert.match(latest.stderr, /is not complete/);
});

test.run();
