// What the verification after a change checks against a vCluster that behaves like upstream's: port
// 8443 is the syncer's proxy with an in-memory certificate, 6443 is kube-apiserver with apiserver.crt;
// a pod that keeps an old certificate on either port fails the change with the port named; vCluster's
// own start-up renewal of short leafs is a success; deployed etcd keeps quorum while it rolls.
import { X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, typeByKind, type SimCluster } from '../cluster/index.js';
import { runCli, useSimulatedCluster } from './helpers.js';
import { CA_FILES, LEAFS, fingerprint, sameFiles, secretFiles, vclusterPods, x509, type Files } from './pki-oracle.js';

const PODS = typeByKind('Pod');
const DAY = 86_400_000;

const test = suite('verification against a real-like vCluster');
let cluster: SimCluster;
let env: Record<string, string>;

useSimulatedCluster(test, (c, e) => {
  cluster = c;
  env = e;
});

async function vcluster(name: string, namespace: string, vcOpts: Record<string, unknown> = {}, pki?: Files): Promise<Files> {
  const files = pki ?? await generatePki({ name, namespace, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name, namespace, pki: files, ...vcOpts });
  await cluster.waitReady(namespace, name);
  return files;
}

function firstPem(pem: string | Buffer): string {
  return String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
}

test('rotate verifies the proxy certificate on 8443 and apiserver.crt on 6443 of every replica', async () => {
  await vcluster('two', 'ns-two', { replicas: 2 });
  const r = await runCli(['rotate', 'two', '-n', 'ns-two', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const after = await secretFiles(cluster, 'ns-two', 'two');
  const probes = cluster.requests.filter((q) => q.subresource === 'portforward' && q.namespace === 'ns-two');
  for (const p of vclusterPods(cluster, 'ns-two', 'two')) {
    const name = p.metadata.name;
    const proxy = new X509Certificate(firstPem(cluster.servedChain('ns-two', name, 8443)!));
    assert.is.not(proxy.fingerprint256, fingerprint(after.get('apiserver.crt')!), `${name}: 8443 is not apiserver.crt`);
    assert.ok(proxy.verify(x509(after.get('server-ca.crt')!).publicKey), `${name}: 8443 chains to server-ca`);
    assert.is(fingerprint(firstPem(cluster.servedChain('ns-two', name, 6443)!)), fingerprint(after.get('apiserver.crt')!), `${name}: 6443 serves the new apiserver.crt`);
    assert.ok(probes.filter((q) => q.name === name).length >= 2, `${name}: both ports probed`);
  }
  assert.is(JSON.parse(r.stdout).warnings.filter((w: string) => /renewed by vCluster/.test(w)).length, 0);
});

test('a pod that keeps the old certificate on 6443 fails the rotation, naming port and certificate; rolled back', async () => {
  const before = await vcluster('stale-api', 'ns-stale-api');
  const fault = cluster.faults.add({ staleServing: { namespace: 'ns-stale-api', name: 'stale-api', port: 6443 } });
  try {
    const r = await runCli(['rotate', 'stale-api', '-n', 'ns-stale-api', '--yes', '--timeout', '60s'], env);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /port 6443 \(kube-apiserver\) serves CN=kube-apiserver issued by CN=kubernetes, SHA-256 [0-9A-F:]+…, not the new apiserver\.crt/);
    assert.match(r.stderr, /rolled back/);
    assert.ok(sameFiles(before, await secretFiles(cluster, 'ns-stale-api', 'stale-api')), 'the previous PKI is back');
  } finally {
    fault.remove();
  }
});

test('a pod that keeps the old CA chain on 8443 fails rotate-ca, naming port and server-ca.crt', async () => {
  await vcluster('stale-proxy', 'ns-stale-proxy');
  const fault = cluster.faults.add({ staleServing: { namespace: 'ns-stale-proxy', name: 'stale-proxy', port: 8443 } });
  try {
    const r = await runCli(['rotate-ca', 'stale-proxy', '-n', 'ns-stale-proxy', '--yes', '--timeout', '60s'], env);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /port 8443 \(syncer proxy\) serves CN=kube-apiserver issued by CN=kubernetes, SHA-256 [0-9A-F:]+…, which does not verify against the new server-ca\.crt/);
  } finally {
    fault.remove();
  }
});

/** A backup in the pod's /data/pki.bak/<ts> whose leafs (same CAs) have `days` left. */
async function shortBackup(ns: string, name: string, current: Files, days: number): Promise<string> {
  const short = await generatePki({ name, namespace: ns, caSource: current, leafValiditySeconds: days * 86_400 });
  const stamp = String(Math.floor(Date.now() / 1000) - 86_400);
  const dir = join(cluster.podRoot(ns, `${name}-0`), 'data', 'pki.bak', stamp);
  for (const [f, b] of short) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), b);
  }
  return stamp;
}

test('restore --no-rotate onto leafs with 60 days left on 0.33: vCluster renews them on start, exit 0, reported', async () => {
  const before = await vcluster('renews', 'ns-renews', { version: '0.33.0' });
  const stamp = await shortBackup('ns-renews', 'renews', before, 60);
  const r = await runCli(['restore', 'renews', '-n', 'ns-renews', '--backup', stamp, '--no-rotate', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.result, 'done');
  assert.ok(report.warnings.some((w: string) => /leafs renewed by vCluster on start.*apiserver\.crt/.test(w)), report.warnings.join('\n'));
  const after = await secretFiles(cluster, 'ns-renews', 'renews');
  for (const f of CA_FILES.concat(['sa.key', 'sa.pub'])) assert.ok(before.get(f)!.equals(after.get(f)!), `${f} kept`);
  for (const leaf of Object.keys(LEAFS)) assert.ok(x509(after.get(leaf)!).validToDate.getTime() > Date.now() + 300 * DAY, `${leaf} renewed by vCluster`);
  const secret = cluster.store.peek(typeByKind('Secret'), 'ns-renews', 'renews-certs')!;
  assert.ok((secret.metadata.managedFields as Array<{ manager: string }>).some((m) => m.manager === 'vcluster'), 'vCluster wrote the Secret');
});

test('the same restore on 0.30 (no start-up renewal): the short leafs stay, exit 0, nothing reported', async () => {
  const before = await vcluster('old', 'ns-old', { version: '0.30.0' });
  const stamp = await shortBackup('ns-old', 'old', before, 60);
  const r = await runCli(['restore', 'old', '-n', 'ns-old', '--backup', stamp, '--no-rotate', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.not.ok(report.warnings.some((w: string) => /renewed by vCluster/.test(w)));
  const after = await secretFiles(cluster, 'ns-old', 'old');
  assert.ok(x509(after.get('apiserver.crt')!).validToDate.getTime() < Date.now() + 61 * DAY, 'the restored leafs run as they are');
});

test('on a 0.30 image a Secret renewed behind our back is not taken for success', async () => {
  const before = await vcluster('odd', 'ns-odd', { version: '0.30.0', startupRenewal: true }, undefined);
  const stamp = await shortBackup('ns-odd', 'odd', before, 60);
  const r = await runCli(['restore', 'odd', '-n', 'ns-odd', '--backup', stamp, '--no-rotate', '--yes'], env);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /secret odd-certs does not hold the PKI that was committed/);
});

test('a rollback onto leafs with 60 days left on 0.33 ends rolled back (exit 2, not 4): vCluster renewed them on start', async () => {
  const fresh = await vcluster('back', 'ns-back', { version: '0.33.0' });
  // The vCluster has been running for nine months: Secret and disk hold leafs with 60 days left.
  const short = await generatePki({ name: 'back', namespace: 'ns-back', caSource: fresh, leafValiditySeconds: 60 * 86_400 });
  cluster.store.mutate(typeByKind('Secret'), 'ns-back', 'back-certs', (sec) => {
    sec.data = Object.fromEntries([...short].map(([f, b]) => [f.replace(/^etcd\//, 'etcd-'), b.toString('base64')]));
  });
  const pki = join(cluster.podRoot('ns-back', 'back-0'), 'data', 'pki');
  for (const [f, b] of short) await writeFile(join(pki, f), b);
  // the first probe after the commit fails: the change rolls back onto the 60-day PKI
  cluster.faults.add({ verb: 'create', resource: 'pods', subresource: 'portforward', namespace: 'ns-back', status: 500, times: 1 });
  const r = await runCli(['rotate', 'back', '-n', 'ns-back', '--yes'], env);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /rolled back: the vCluster has its previous PKI again/);
  const after = await secretFiles(cluster, 'ns-back', 'back');
  for (const f of CA_FILES.concat(['sa.key', 'sa.pub'])) assert.ok(short.get(f)!.equals(after.get(f)!), `${f} is the previous one`);
  for (const leaf of Object.keys(LEAFS)) assert.ok(x509(after.get(leaf)!).validToDate.getTime() > Date.now() + 300 * DAY, `${leaf} renewed by vCluster`);
});

for (const strategy of ['RollingUpdate', 'OnDelete'] as const) {
  test(`rotate on a 3-member deployed etcd (${strategy}) restarts one member at a time: quorum (2 of 3) never lost`, async () => {
    const name = `quorum-${strategy.toLowerCase()}`;
    const ns = `ns-${name}`;
    await vcluster(name, ns, { deployedEtcd: true, etcdReplicas: 3, etcdUpdateStrategy: strategy });
    await cluster.waitReady(ns, `${name}-etcd`);
    const etcdBefore = vclusterPods(cluster, ns, name, 'vcluster-etcd').map((p) => p.metadata.uid);
    assert.is(etcdBefore.length, 3);
    const since = cluster.etcdReadyHistory(ns, name).length;
    const r = await runCli(['rotate', name, '-n', ns, '--yes'], env);
    assert.is(r.code, 0, r.stderr);
    await cluster.waitReady(ns, `${name}-etcd`);
    const etcdAfter = vclusterPods(cluster, ns, name, 'vcluster-etcd');
    assert.is(etcdAfter.length, 3);
    assert.ok(etcdAfter.every((p) => !etcdBefore.includes(p.metadata.uid)), 'every member restarted');
    const during = cluster.etcdReadyHistory(ns, name).slice(since);
    assert.ok(during.length >= 2, `members went down and up: ${JSON.stringify(during)}`);
    assert.ok(during.every((h) => h.ready >= 2), `quorum kept: ${during.map((h) => h.ready).join(' ')}`);
    assert.match(r.stderr, strategy === 'OnDelete' ? /restarting 3 deployed etcd member\(s\) one at a time/ : /rolling 3 deployed etcd member\(s\) one at a time/);
  });
}

test('rotate-ca still restarts a 3-member etcd all together', async () => {
  await vcluster('together', 'ns-together', { deployedEtcd: true, etcdReplicas: 3 });
  await cluster.waitReady('ns-together', 'together-etcd');
  const since = cluster.etcdReadyHistory('ns-together', 'together').length;
  const r = await runCli(['rotate-ca', 'together', '-n', 'ns-together', '--yes'], env);
  assert.is(r.code, 0, r.stderr);
  const during = cluster.etcdReadyHistory('ns-together', 'together').slice(since);
  assert.ok(during.some((h) => h.ready === 0), `all members down at once: ${during.map((h) => h.ready).join(' ')}`);
  assert.ok(cluster.store.list(PODS, 'ns-together').length > 0);
});

test.run();
