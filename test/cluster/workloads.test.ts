// Controllers and the simulated syncer: PKI sync between the certs secret and /data/pki, validation
// (CrashLoopBackOff with a log that says why), volumes across restarts, rolling updates, scaling,
// deployed etcd, and the podNeverReady fault.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startCluster, SimCluster, typeByKind, KObject } from './index.js';
import { testPki, until, upgradeError } from './testutil.js';
import { filesToSecretData } from './certmap.js';

const PODS = typeByKind('Pod');
const SECRETS = typeByKind('Secret');
const STS = typeByKind('StatefulSet');
const DEPLOY = typeByKind('Deployment');

interface Ctx {
  cluster: SimCluster;
  pki: Map<string, Buffer>;
}

const test = suite<Ctx>('controllers and the simulated syncer');

test.before(async (ctx) => {
  ctx.cluster = await startCluster({ crashBackoffMs: 40 });
  ctx.pki = await testPki('vc', 'w');
});

test.after(async (ctx) => {
  await ctx.cluster.close();
});

function pod(cluster: SimCluster, ns: string, name: string): KObject {
  return cluster.store.get(PODS, ns, name);
}

function containerStatus(cluster: SimCluster, ns: string, name: string): any {
  return pod(cluster, ns, name).status.containerStatuses[0];
}

async function crashLooping(cluster: SimCluster, ns: string, name: string, minRestarts = 2): Promise<void> {
  await until(`${ns}/${name} to crash-loop`, () => {
    const cs = cluster.store.peek(PODS, ns, name)?.status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === 'CrashLoopBackOff' && cs.restartCount >= minRestarts;
  });
}

function withSecretKey(pki: Map<string, Buffer>, file: string, content: Buffer): Record<string, string> {
  const copy = new Map(pki);
  copy.set(file, content);
  return filesToSecretData(copy);
}

test('healthy PKI: secret downloaded to /data/pki, server-ca/client-ca present, Ready', async ({ cluster, pki }) => {
  await cluster.addVCluster({ name: 'vc', namespace: 'w', pki });
  await cluster.waitReady('w', 'vc');
  const root = cluster.podRoot('w', 'vc-0');
  assert.ok((await readFile(join(root, 'data/pki/etcd/peer.crt'))).equals(pki.get('etcd/peer.crt') as Buffer));
  assert.ok((await readFile(join(root, 'data/pki/admin.conf'))).equals(pki.get('admin.conf') as Buffer));
  const cs = containerStatus(cluster, 'w', 'vc-0');
  assert.equal([cs.ready, cs.restartCount, Object.keys(cs.state)], [true, 0, ['running']]);
  assert.match(cluster.podLogs('w', 'vc-0'), /PKI in \/data\/pki is valid/);
});

test('the secret wins over files on the PVC at every start', async ({ cluster, pki }) => {
  const root = cluster.podRoot('w', 'vc-0');
  await writeFile(join(root, 'data/pki/apiserver.crt'), 'tampered');
  await writeFile(join(root, 'data/keep-me'), 'x');
  const oldUid = pod(cluster, 'w', 'vc-0').metadata.uid;
  cluster.store.delete(PODS, 'w', 'vc-0');
  await until('vc-0 recreated', () => cluster.store.peek(PODS, 'w', 'vc-0')?.metadata.uid !== oldUid);
  await cluster.waitReady('w', 'vc');
  const newRoot = cluster.podRoot('w', 'vc-0');
  assert.ok((await readFile(join(newRoot, 'data/pki/apiserver.crt'))).equals(pki.get('apiserver.crt') as Buffer));
  assert.is(await readFile(join(newRoot, 'data/keep-me'), 'utf8'), 'x', 'PVC content survives the pod');
});

test('broken PKIs crash-loop with a log that says why, and recover when the secret is fixed', async ({ cluster, pki }) => {
  // ECDSA keys: the RSA keys of testPki are shared between PKIs.
  const other = await testPki('other', 'w', { keyType: 'ecdsa' });
  const cases: [string, Record<string, string>, RegExp][] = [
    ['corrupt', withSecretKey(pki, 'apiserver.crt', Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')), /apiserver\.crt: unparsable certificate/],
    ['mismatch', withSecretKey(pki, 'apiserver.key', other.get('apiserver.key') as Buffer), /apiserver\.key: private key does not match apiserver\.crt/],
    ['issuer', withSecretKey(withFiles(pki, other, ['front-proxy-client.crt', 'front-proxy-client.key']), 'x', Buffer.alloc(0)), /front-proxy-client\.crt: not signed by front-proxy-ca\.crt/],
    ['kubeconfig', withSecretKey(pki, 'admin.conf', other.get('admin.conf') as Buffer), /admin\.conf: certificate-authority-data does not verify the certificate kube-apiserver serves/],
    ['empty', { ...filesToSecretData(pki), 'etcd-peer.key': '' }, /is missing etcd-peer\.key \(empty value\)/],
  ];
  for (const [name, data, why] of cases) {
    const ns = `broken-${name}`;
    await cluster.addVCluster({ name: 'vc', namespace: ns });
    cluster.store.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vc-certs', namespace: ns }, data: stripEmptyKeyX(data) });
    await crashLooping(cluster, ns, 'vc-0');
    const cs = containerStatus(cluster, ns, 'vc-0');
    assert.is(cs.ready, false);
    assert.is(cs.lastState.terminated.reason, 'Error');
    const logs = cluster.podLogs('w', 'vc-0') + cluster.podLogs(ns, 'vc-0', true);
    assert.match(logs, why, `${name}: ${logs}`);
  }
  // Fixing the secret lets the next restart succeed.
  cluster.store.mutate(SECRETS, 'broken-corrupt', 'vc-certs', (s) => {
    s.data = filesToSecretData(pki);
  });
  await cluster.waitReady('broken-corrupt', 'vc');
});

function withFiles(base: Map<string, Buffer>, from: Map<string, Buffer>, files: string[]): Map<string, Buffer> {
  const copy = new Map(base);
  for (const f of files) copy.set(f, from.get(f) as Buffer);
  return copy;
}

function stripEmptyKeyX(data: Record<string, string>): Record<string, string> {
  const { x: _, ...rest } = data;
  return rest;
}

test('expired leafs crash-loop; an expired vCluster is still found by its labels', async ({ cluster }) => {
  const expired = await testPki('old', 'expired', { expiredLeafs: true });
  await cluster.addVCluster({ name: 'old', namespace: 'expired', pki: expired });
  await crashLooping(cluster, 'expired', 'old-0');
  assert.match(cluster.podLogs('expired', 'old-0', true), /certificate has expired/);
  assert.is(pod(cluster, 'expired', 'old-0').status.phase, 'Running');
  const exec = await upgradeError(cluster.url, cluster.kubeconfigPath, '/api/v1/namespaces/expired/pods/old-0/exec?command=ls&stdout=true');
  assert.equal([exec.code, exec.message], [400, 'container not found ("syncer")']);
  // The secret is still readable and the workload still carries its labels.
  assert.ok(cluster.store.list(STS, 'expired').some((s) => s.metadata.labels?.release === 'old'));
});

test('no secret: the files on the PVC are used and the secret is created from them', async ({ cluster }) => {
  const pki = await testPki('disk', 'disk');
  await cluster.addVCluster({ name: 'disk', namespace: 'disk', pki, createSecret: false });
  await cluster.waitReady('disk', 'disk');
  const secret = cluster.store.get(SECRETS, 'disk', 'disk-certs');
  assert.equal(secret.metadata.labels, { app: 'vcluster', 'vcluster-name': 'disk' });
  assert.is(Object.keys(secret.data).length, 29);
  assert.is(secret.data['etcd-ca.crt'], (pki.get('etcd/ca.crt') as Buffer).toString('base64'));
  assert.is(secret.metadata.ownerReferences?.[0].kind, 'Service');
  await cluster.addVCluster({ name: 'empty', namespace: 'disk' });
  await crashLooping(cluster, 'disk', 'empty-0', 1);
  assert.match(cluster.podLogs('disk', 'empty-0', true), /does not exist and \/data\/pki is empty/);
});

test('emptyDir /data is wiped when the pod is replaced (Deployment), PKI comes back from the secret', async ({ cluster }) => {
  const pki = await testPki('dep', 'dep');
  await cluster.addVCluster({ name: 'dep', namespace: 'dep', kind: 'Deployment', persistence: false, pki });
  await cluster.waitReady('dep', 'dep');
  const [first] = cluster.store.list(PODS, 'dep', []).map((p) => p.metadata.name);
  await writeFile(join(cluster.podRoot('dep', first), 'data/marker'), 'x');
  cluster.store.delete(PODS, 'dep', first);
  await cluster.waitReady('dep', 'dep');
  const [second] = cluster.store.list(PODS, 'dep').map((p) => p.metadata.name);
  assert.is.not(second, first);
  const root = cluster.podRoot('dep', second);
  await assert.not.ok(await readFile(join(root, 'data/marker')).then(() => true, () => false));
  assert.ok((await readFile(join(root, 'data/pki/ca.crt'))).equals(pki.get('ca.crt') as Buffer));
});

test('StatefulSet rolling update: highest ordinal first, one pod at a time, waits for Ready', async ({ cluster }) => {
  const pki = await testPki('ha', 'ha');
  const handle = await cluster.addVCluster({ name: 'ha', namespace: 'ha', replicas: 3, pki });
  await cluster.waitReady('ha', 'ha');
  assert.equal(handle.podNames(), ['ha-0', 'ha-1', 'ha-2']);
  const oldUids = new Map(cluster.store.list(PODS, 'ha').map((p) => [p.metadata.name, p.metadata.uid]));
  const deleted: string[] = [];
  let maxUnavailable = 0;
  const onEvent = (ev: { type: string; resource: unknown; object: KObject }) => {
    if (ev.resource !== PODS || ev.object.metadata.namespace !== 'ha') return;
    if (ev.type === 'DELETED') deleted.push(ev.object.metadata.name);
    const pods = cluster.store.list(PODS, 'ha');
    const unavailable = 3 - pods.filter((p) => !p.metadata.deletionTimestamp && p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
    maxUnavailable = Math.max(maxUnavailable, unavailable);
  };
  cluster.store.on('event', onEvent);
  cluster.store.mutate(STS, 'ha', 'ha', (s) => {
    s.spec.template.metadata.annotations['vcluster.loft.sh/cert-rotation-at'] = new Date().toISOString();
  });
  await cluster.waitReady('ha', 'ha');
  cluster.store.off('event', onEvent);
  assert.equal(deleted, ['ha-2', 'ha-1', 'ha-0']);
  assert.is(maxUnavailable, 1);
  for (const p of cluster.store.list(PODS, 'ha')) assert.is.not(p.metadata.uid, oldUids.get(p.metadata.name));
  const sts = cluster.store.get(STS, 'ha', 'ha');
  assert.is(sts.status.currentRevision, sts.status.updateRevision);
});

test('OnDelete StatefulSets do not roll; scale to 0 and back keeps the PVCs', async ({ cluster }) => {
  const pki = await testPki('od', 'od');
  await cluster.addVCluster({ name: 'od', namespace: 'od', replicas: 2, updateStrategy: 'OnDelete', pki });
  await cluster.waitReady('od', 'od');
  const uids = cluster.store.list(PODS, 'od').map((p) => p.metadata.uid);
  cluster.store.mutate(STS, 'od', 'od', (s) => {
    s.spec.template.metadata.annotations.x = 'y';
  });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(cluster.store.list(PODS, 'od').map((p) => p.metadata.uid), uids);
  await writeFile(join(cluster.pvcDir('od', 'data-od-1'), 'state'), 'kept');
  cluster.store.mutate(STS, 'od', 'od', (s) => {
    s.spec.replicas = 0;
  });
  await cluster.waitReady('od', 'od');
  assert.is(cluster.store.list(PODS, 'od').length, 0);
  assert.is(cluster.store.get(STS, 'od', 'od').status.replicas, 0);
  assert.is(cluster.store.list(typeByKind('PersistentVolumeClaim'), 'od').length, 2);
  cluster.store.mutate(STS, 'od', 'od', (s) => {
    s.spec.replicas = 2;
  });
  await cluster.waitReady('od', 'od');
  assert.is(await readFile(join(cluster.podRoot('od', 'od-1'), 'data/state'), 'utf8'), 'kept');
});

test('Deployment rolling update replaces the pod through a new ReplicaSet', async ({ cluster }) => {
  const before = cluster.store.list(PODS, 'dep').map((p) => p.metadata.name);
  cluster.store.mutate(DEPLOY, 'dep', 'dep', (d) => {
    d.spec.template.metadata.annotations['vcluster.loft.sh/cert-rotation-at'] = 'now';
  });
  await cluster.waitReady('dep', 'dep');
  const after = cluster.store.list(PODS, 'dep').map((p) => p.metadata.name);
  assert.is(after.length, 1);
  assert.is.not(after[0], before[0]);
  assert.is(cluster.store.list(typeByKind('ReplicaSet'), 'dep').length, 2);
});

test('deployed etcd: Ready with consistent certs, crash-loops on a foreign etcd-server.crt after restart', async ({ cluster }) => {
  const pki = await testPki('ext', 'ext');
  await cluster.addVCluster({ name: 'ext', namespace: 'ext', kind: 'Deployment', persistence: false, deployedEtcd: true, pki });
  await cluster.waitReady('ext', 'ext-etcd');
  await cluster.waitReady('ext', 'ext');
  const etcd = cluster.store.get(STS, 'ext', 'ext-etcd');
  assert.equal(etcd.metadata.labels?.app, 'vcluster-etcd');
  const config = parseYaml(Buffer.from(cluster.store.get(SECRETS, 'ext', 'vc-config-ext').data['config.yaml'], 'base64').toString());
  assert.is(config.controlPlane.backingStore.etcd.deploy.enabled, true);
  const other = await testPki('ext', 'ext', { keyType: 'ecdsa' });
  cluster.store.mutate(SECRETS, 'ext', 'ext-certs', (s) => {
    s.data['etcd-server.crt'] = (other.get('etcd/server.crt') as Buffer).toString('base64');
    s.data['etcd-server.key'] = (other.get('etcd/server.key') as Buffer).toString('base64');
  });
  assert.is(containerStatus(cluster, 'ext', 'ext-etcd-0').ready, true, 'a running etcd does not reload');
  cluster.store.delete(PODS, 'ext', 'ext-etcd-0');
  await crashLooping(cluster, 'ext', 'ext-etcd-0', 1);
  assert.match(cluster.podLogs('ext', 'ext-etcd-0', true), /etcd-server\.crt: not signed by etcd-ca\.crt/);
});

test('podNeverReady keeps pods Running but not Ready until the rule is removed', async ({ cluster }) => {
  const pki = await testPki('slow', 'slow');
  const rule = cluster.faults.add({ podNeverReady: { namespace: 'slow', name: 'slow' } });
  await cluster.addVCluster({ name: 'slow', namespace: 'slow', pki });
  await until('slow-0 running', () => cluster.store.peek(PODS, 'slow', 'slow-0')?.status?.containerStatuses?.[0]?.state?.running !== undefined);
  await new Promise((r) => setTimeout(r, 100));
  const cs = containerStatus(cluster, 'slow', 'slow-0');
  assert.equal([cs.ready, cs.restartCount], [false, 0]);
  await assert.not.ok(await cluster.waitReady('slow', 'slow', 100).then(() => true, () => false));
  rule.remove();
  await cluster.waitReady('slow', 'slow');
});

test('chart details: distro config, paused annotations, image override, Service label', async ({ cluster }) => {
  await cluster.addVCluster({ name: 'k3', namespace: 'misc', distro: 'k3s', paused: true, image: 'registry:5000/vcluster:0.25.0', version: '0.25.0' });
  const sts = cluster.store.get(STS, 'misc', 'k3');
  assert.equal([sts.spec.replicas, sts.metadata.annotations?.['loft.sh/paused']], [0, 'true']);
  assert.is(sts.spec.template.spec.containers[0].image, 'registry:5000/vcluster:0.25.0');
  assert.is(sts.metadata.labels?.chart, 'vcluster-0.25.0');
  const config = parseYaml(Buffer.from(cluster.store.get(SECRETS, 'misc', 'vc-config-k3').data['config.yaml'], 'base64').toString());
  assert.equal(config.controlPlane.distro.k3s, { enabled: true });
  const svc = cluster.store.get(typeByKind('Service'), 'misc', 'k3');
  assert.is(svc.metadata.labels?.['vcluster.loft.sh/service'], 'true');
  assert.is(svc.spec.ports[0].targetPort, 8443);
  await new Promise((r) => setTimeout(r, 50));
  assert.is(cluster.store.list(PODS, 'misc').length, 0);
});

test.run();
