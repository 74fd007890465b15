// `rotate --only` and `rotate --expiring-within` end to end: only the selected certificates change
// in the Secret and on every replica's disk, everything else byte for byte, and vCluster's start-up
// renewal (all leafs when any has <= 90 days left) is refused, or allowed and then seen happening.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, typeByKind, type PkiOptions, type SimCluster } from '../cluster/index.js';
import { runCli, useSimulatedCluster } from './helpers.js';
import { KUBECONFIGS, LEAFS, kubeconfigCreds, opensslVerifies, podFiles, sameFiles, secretFiles, vclusterPods, x509, type Files } from './pki-oracle.js';

const test = suite('rotate targeted e2e');
const DAY = 86_400_000;
let cluster: SimCluster;
let env: Record<string, string>;

useSimulatedCluster(test, (c, e) => {
  cluster = c;
  env = e;
});

async function vcluster(name: string, namespace: string, pkiOpts: Partial<PkiOptions>, vcOpts: Record<string, unknown>): Promise<Files> {
  const pki = await generatePki({ name, namespace, now: new Date(Date.now() - 3_600_000), ...pkiOpts });
  await cluster.addVCluster({ name, namespace, pki, ...vcOpts });
  await cluster.waitReady(namespace, name);
  return pki;
}

/** Exactly `selected` (and their keys) differ between the two Secrets; each disk equals the Secret. */
async function assertOnly(namespace: string, name: string, before: Files, selected: string[]): Promise<Files> {
  const after = await secretFiles(cluster, namespace, name);
  const changed = new Set(selected.flatMap((f) => (f.endsWith('.crt') ? [f, f.replace(/\.crt$/, '.key')] : [f])));
  for (const [f, data] of before) {
    if (changed.has(f)) assert.not.ok(after.get(f)!.equals(data), `${f} re-issued`);
    else assert.ok(after.get(f)!.equals(data), `${f} byte for byte`);
  }
  for (const f of selected) {
    if (f.endsWith('.conf')) assert.ok(await opensslVerifies(kubeconfigCreds(after.get(f)!).cert, after.get('ca.crt')!.toString()), `${f} verifies`);
    else assert.ok(await opensslVerifies(after.get(f)!.toString(), after.get(LEAFS[f]!)!.toString()), `${f} verifies against ${LEAFS[f]}`);
  }
  for (const { metadata: { name: pod } } of vclusterPods(cluster, namespace, name)) {
    assert.ok(sameFiles(after, podFiles(cluster, namespace, pod), [...after.keys()]), `${pod}: /data/pki equals the Secret`);
  }
  return after;
}

test('--only apiserver,kubeconfigs on an HA vCluster: those re-issued, the rest byte for byte; check stays OK', async () => {
  const before = await vcluster('only', 'ns-only', {}, { replicas: 2, version: '0.33.0' });
  const r = await runCli(['rotate', 'only', '-n', 'ns-only', '--only', 'apiserver,kubeconfigs', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.result, 'done');
  assert.equal(report.plan.filter((l: { action: string }) => l.action === 'reissue').map((l: { file: string }) => l.file).sort(),
    ['admin.conf', 'apiserver.crt', 'apiserver.key', 'controller-manager.conf', 'scheduler.conf']);
  assert.not.ok(report.renewedByVCluster, 'no start-up renewal: every leaf has a year left');
  await assertOnly('ns-only', 'only', before, ['apiserver.crt', ...KUBECONFIGS]);
  assert.is((await runCli(['check', 'only', '-n', 'ns-only'], env)).code, 0);
});

test('unknown names: one line listing the valid ones, before the cluster is asked anything', async () => {
  const requests = cluster.requests.length;
  const r = await runCli(['rotate', 'only', '-n', 'ns-only', '--only', 'apiserver,ca.crt', '--yes'], env);
  assert.is(r.code, 3);
  assert.match(r.stderr, /^error: unknown certificate name "ca\.crt" for --only; valid: apiserver\.crt, .*etcd\/server\.crt.*admin\.conf.*etcd, kubeconfigs, all\n$/);
  assert.is(cluster.requests.length, requests, 'no request made');
});

test('start-up renewal (v0.33.0, leafs with 65 days left): refused, then with --allow-startup-renewal vCluster renews the rest on start', async () => {
  // Started when its leafs had more than 90 days left, and has run since: renewal is due at the next start.
  const before = await vcluster('renew', 'ns-renew', { now: new Date(Date.now() - 300 * DAY) }, { version: '0.33.0', startupRenewal: false });
  cluster.setSyncerBehaviour('ns-renew', 'renew', { startupRenewal: undefined });
  const rv = () => (cluster.store.get(typeByKind('Secret'), 'ns-renew', 'renew-certs') as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const first = rv();
  const refused = await runCli(['rotate', 'renew', '-n', 'ns-renew', '--only', 'etcd', '--yes'], env);
  assert.is(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /^error: .*apiserver\.crt \(6\d days left\).* not in this rotation: vCluster .*re-issues every leaf and kubeconfig certificate on start.*--allow-startup-renewal$/m);
  // A quiet day for a scheduled `--expiring-within`: nothing to do, exit 0, nothing written, no Lease.
  const requestsBefore = cluster.requests.length;
  const none = await runCli(['rotate', 'renew', '-n', 'ns-renew', '--expiring-within', '30d', '--yes', '-o', 'json'], env);
  assert.is(none.code, 0, none.stderr);
  assert.is(JSON.parse(none.stdout).result, 'nothing-to-do');
  assert.match(JSON.parse(none.stdout).warnings.join('\n'), /no certificate expires within 30d: nothing to rotate; the first to expire is /);
  assert.is(rv(), first, 'nothing written');
  assert.ok(!cluster.requests.slice(requestsBefore).some((q) => q.resource === 'leases' || (q.verb !== 'get' && q.verb !== 'list' && q.resource === 'secrets')), 'no Lease taken, no Secret written');

  const r = await runCli(['rotate', 'renew', '-n', 'ns-renew', '--only', 'etcd', '--allow-startup-renewal', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.warnings.some((w: string) => /vCluster will renew every leaf and kubeconfig certificate when it restarts/.test(w)), report.warnings.join('\n'));
  assert.ok(report.renewedByVCluster.includes('apiserver.crt'), 'the simulated vCluster renewed what was left out');
  const after = await secretFiles(cluster, 'ns-renew', 'renew');
  assert.ok(after.get('ca.crt')!.equals(before.get('ca.crt')!));
  for (const leaf of Object.keys(LEAFS)) assert.ok(x509(after.get(leaf)!).validToDate.getTime() > Date.now() + 300 * DAY, `${leaf} renewed`);
});

test('a version without start-up renewal (v0.30.0): --only etcd warns, then --expiring-within picks exactly the rest', async () => {
  const before = await vcluster('old', 'ns-old', { now: new Date(Date.now() - 300 * DAY) }, { version: '0.30.0' });
  const etcd = ['etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt'];
  const r = await runCli(['rotate', 'old', '-n', 'ns-old', '--only', 'etcd', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(JSON.parse(r.stdout).warnings.join('\n'), /not rotated and within 90 days: apiserver\.crt .*does not renew leafs on start/);
  const mid = await assertOnly('ns-old', 'old', before, etcd);
  const rest = [...Object.keys(LEAFS).filter((f) => !etcd.includes(f)), ...KUBECONFIGS];
  const dry = await runCli(['rotate', 'old', '-n', 'ns-old', '--expiring-within', '70d', '--dry-run', '-o', 'json'], env);
  assert.is(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout).plan.filter((l: { action: string; file: string }) => l.action === 'reissue' && !l.file.endsWith('.key')).map((l: { file: string }) => l.file).sort(), rest.sort());
  const r2 = await runCli(['rotate', 'old', '-n', 'ns-old', '--expiring-within', '70d', '--yes'], env);
  assert.is(r2.code, 0, r2.stderr);
  await assertOnly('ns-old', 'old', mid, rest);
  assert.is((await runCli(['check', 'old', '-n', 'ns-old'], env)).code, 0);
});

test.run();
