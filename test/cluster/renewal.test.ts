// vCluster's own renewal as the simulator models it from upstream: start-up renewal (EnsureCerts) in the
// versions that have it, the periodic watcher with its Lease in HA, and the managedFields that tell
// vCluster's writes from anybody else's.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as https from 'node:https';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  Store, generatePki, hasStartupRenewal, managersOf, rotationLeaseName, secretDataToFiles, startCluster, tryAcquireRotationLease, typeByKind, ROTATION_ANNOTATION,
  type SimCluster,
} from './index.js';
import { kubeConfigFrom, until } from './testutil.js';

const SECRETS = typeByKind('Secret');
const LEASES = typeByKind('Lease');
const STS = typeByKind('StatefulSet');
const DAY = 86_400_000;
const LEAFS = ['apiserver.crt', 'apiserver-etcd-client.crt', 'apiserver-kubelet-client.crt', 'front-proxy-client.crt', 'etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt'];
const CAS = ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'sa.key', 'sa.pub'];

const unit = suite('renewal rules');

unit('Lease name: vcluster-<name>-cert-rotation, hashed past 63 characters (translate.SafeConcatName)', () => {
  assert.is(rotationLeaseName('vc'), 'vcluster-vc-cert-rotation');
  const long = 'a'.repeat(50);
  const full = `vcluster-${long}-cert-rotation`;
  const name = rotationLeaseName(long);
  assert.is(name.length, 63);
  assert.is(name, `${full.slice(0, 52)}-${createHash('sha256').update(full).digest('hex').slice(0, 10)}`);
});

unit('start-up renewal by version (reference §0)', () => {
  for (const v of ['0.31.3', '0.32.2', '0.32.5', '0.33.0', '0.34.1', '1.0.0']) assert.ok(hasStartupRenewal(v), v);
  for (const v of ['0.30.0', '0.31.2', '0.32.1', '', 'latest']) assert.not.ok(hasStartupRenewal(v), v);
});

unit('the watcher Lease: 300 s, never renewed by its holder, taken over only once expired', () => {
  const store = new Store();
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  assert.ok(tryAcquireRotationLease(store, 'ns', 'vc', 'vc-0', t0), 'created');
  const lease = store.peek(LEASES, 'ns', 'vcluster-vc-cert-rotation')!;
  assert.is(lease.spec.holderIdentity, 'vc-0');
  assert.is(lease.spec.leaseDurationSeconds, 300);
  assert.is(lease.spec.renewTime, '2026-01-01T00:00:00.000000Z');
  assert.not.ok(tryAcquireRotationLease(store, 'ns', 'vc', 'vc-1', t0 + 299_000), 'held by another');
  assert.not.ok(tryAcquireRotationLease(store, 'ns', 'vc', 'vc-0', t0 + 299_000), 'not even its holder renews it');
  assert.is(store.peek(LEASES, 'ns', 'vcluster-vc-cert-rotation')!.spec.renewTime, '2026-01-01T00:00:00.000000Z');
  assert.ok(tryAcquireRotationLease(store, 'ns', 'vc', 'vc-1', t0 + 301_000), 'expired: taken over');
  const taken = store.peek(LEASES, 'ns', 'vcluster-vc-cert-rotation')!;
  assert.is(taken.spec.holderIdentity, 'vc-1');
  assert.equal(managersOf(taken, ['f:spec']).map((m) => m.manager), ['vcluster']);
});

unit.run();

interface Ctx {
  cluster: SimCluster;
}
const test = suite<Ctx>('vCluster renews its own leafs');

test.before(async (ctx) => {
  ctx.cluster = await startCluster();
});
test.after(async (ctx) => {
  await ctx.cluster.close();
});

function secretOf(cluster: SimCluster, ns: string, name: string): Map<string, Buffer> {
  return secretDataToFiles(cluster.store.peek(SECRETS, ns, `${name}-certs`)!.data ?? {});
}

const daysLeft = (pem: Buffer) => (new X509Certificate(pem).validToDate.getTime() - Date.now()) / DAY;

async function shortPki(name: string, ns: string, days: number, base?: Map<string, Buffer>): Promise<Map<string, Buffer>> {
  const ca = base ?? (await generatePki({ name, namespace: ns, reuseKeys: true }));
  return generatePki({ name, namespace: ns, caSource: ca, leafValiditySeconds: days * 86_400, reuseKeys: true });
}

test('0.33: leafs with 60 days left are re-issued at start from the same CAs, written back by "vcluster" (certMap keys only)', async ({ cluster }) => {
  const pki = await shortPki('renew', 'ns-renew', 60);
  await cluster.addVCluster({ name: 'renew', namespace: 'ns-renew', version: '0.33.0', pki });
  cluster.store.mutate(SECRETS, 'ns-renew', 'renew-certs', (s) => {
    s.data['notes.txt'] = Buffer.from('mine').toString('base64');
  });
  await cluster.waitReady('ns-renew', 'renew');
  const after = secretOf(cluster, 'ns-renew', 'renew');
  for (const f of CAS) assert.ok(after.get(f)!.equals(pki.get(f)!), `${f} kept`);
  for (const f of LEAFS) assert.ok(daysLeft(after.get(f)!) > 300, `${f} renewed`);
  assert.not.ok(after.has('notes.txt'), 'SyncSecret keeps the certMap keys only');
  const secret = cluster.store.peek(SECRETS, 'ns-renew', 'renew-certs')!;
  assert.equal(managersOf(secret, ['f:data']).map((m) => m.manager), ['vcluster']);
  assert.match(cluster.podLogs('ns-renew', 'renew-0'), /expiring soon, regenerating/);
  const disk = join(cluster.podRoot('ns-renew', 'renew-0'), 'data', 'pki');
  const onDisk = new X509Certificate(await (await import('node:fs/promises')).readFile(join(disk, 'apiserver.crt')));
  assert.ok(onDisk.raw.equals(new X509Certificate(after.get('apiserver.crt')!).raw), '/data/pki holds the renewed PKI');
  assert.is(cluster.servedChain('ns-renew', 'renew-0', 6443), after.get('apiserver.crt')!.toString(), 'kube-apiserver serves it');
});

test('0.32.1 (before start-up renewal): the same PKI runs as it is', async ({ cluster }) => {
  const pki = await shortPki('keep', 'ns-keep', 60);
  await cluster.addVCluster({ name: 'keep', namespace: 'ns-keep', version: '0.32.1', pki });
  await cluster.waitReady('ns-keep', 'keep');
  const after = secretOf(cluster, 'ns-keep', 'keep');
  for (const [f, b] of pki) assert.ok(after.get(f)!.equals(b), `${f} unchanged`);
});

test('0.33: expired leafs do not stop the start, they are renewed', async ({ cluster }) => {
  const pki = await generatePki({ name: 'late', namespace: 'ns-late', expiredLeafs: true, reuseKeys: true });
  await cluster.addVCluster({ name: 'late', namespace: 'ns-late', version: '0.33.0', pki });
  await cluster.waitReady('ns-late', 'late');
  assert.ok(daysLeft(secretOf(cluster, 'ns-late', 'late').get('apiserver.crt')!) > 300);
});

/** What upstream's HA e2e does: a 30-day apiserver.crt written into one pod's /data/pki. */
async function plantShortCert(cluster: SimCluster, ns: string, name: string, pod: string): Promise<void> {
  const short = await shortPki(name, ns, 30, secretOf(cluster, ns, name));
  const dir = join(cluster.podRoot(ns, pod), 'data', 'pki');
  await writeFile(join(dir, 'apiserver.crt'), short.get('apiserver.crt')!);
  await writeFile(join(dir, 'apiserver.key'), short.get('apiserver.key')!);
}

test('watcher, 2 replicas: the replica that sees a short leaf takes the Lease (never released), renews the Secret, rolls the StatefulSet', async ({ cluster }) => {
  const pki = await generatePki({ name: 'ha', namespace: 'ns-ha', reuseKeys: true });
  await cluster.addVCluster({ name: 'ha', namespace: 'ns-ha', version: '0.34.0', replicas: 2, pki, certWatchIntervalMs: 50 });
  await cluster.waitReady('ns-ha', 'ha');
  // someone else holds the Lease: the watcher waits
  cluster.createObject({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'vcluster-ha-cert-rotation', namespace: 'ns-ha' },
    spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 300, acquireTime: new Date().toISOString(), renewTime: new Date().toISOString() },
  });
  await plantShortCert(cluster, 'ns-ha', 'ha', 'ha-1');
  await until('ha-1 skipped the held Lease', () => /another replica is handling cert rotation, skipping/.test(cluster.podLogs('ns-ha', 'ha-1')), 30_000);
  assert.ok(secretOf(cluster, 'ns-ha', 'ha').get('apiserver.crt')!.equals(pki.get('apiserver.crt')!), 'nothing renewed while the Lease is held');
  // the Lease expires: taken over
  cluster.store.mutate(LEASES, 'ns-ha', 'vcluster-ha-cert-rotation', (l) => {
    l.spec.renewTime = new Date(Date.now() - 301_000).toISOString();
  });
  await until('the Secret renewed', () => !secretOf(cluster, 'ns-ha', 'ha').get('apiserver.crt')!.equals(pki.get('apiserver.crt')!), 30_000);
  const lease = cluster.store.peek(LEASES, 'ns-ha', 'vcluster-ha-cert-rotation')!;
  assert.is(lease.spec.holderIdentity, 'ha-1', 'holder = the pod hostname');
  assert.is(lease.spec.leaseDurationSeconds, 300);
  const sts = cluster.store.peek(STS, 'ns-ha', 'ha')!;
  assert.ok(sts.spec.template.metadata.annotations[ROTATION_ANNOTATION], 'rollout through the template annotation');
  await cluster.waitReady('ns-ha', 'ha', 30_000);
  const after = secretOf(cluster, 'ns-ha', 'ha');
  for (const f of CAS) assert.ok(after.get(f)!.equals(pki.get(f)!), `${f} kept`);
  for (const f of LEAFS) assert.ok(daysLeft(after.get(f)!) > 300, `${f} renewed`);
  assert.is(cluster.store.peek(LEASES, 'ns-ha', 'vcluster-ha-cert-rotation')!.spec.renewTime, lease.spec.renewTime, 'never renewed, never released');
  assert.equal(managersOf(cluster.store.peek(SECRETS, 'ns-ha', 'ha-certs')!, ['f:data']).map((m) => m.manager), ['vcluster']);
});

test('watcher, 1 replica: renews without a Lease (single-replica charts may lack Lease RBAC)', async ({ cluster }) => {
  const pki = await generatePki({ name: 'solo', namespace: 'ns-solo', reuseKeys: true });
  await cluster.addVCluster({ name: 'solo', namespace: 'ns-solo', version: '0.34.0', pki, certWatchIntervalMs: 50 });
  await cluster.waitReady('ns-solo', 'solo');
  await plantShortCert(cluster, 'ns-solo', 'solo', 'solo-0');
  await until('the Secret renewed', () => !secretOf(cluster, 'ns-solo', 'solo').get('apiserver.crt')!.equals(pki.get('apiserver.crt')!), 30_000);
  assert.is(cluster.store.peek(LEASES, 'ns-solo', 'vcluster-solo-cert-rotation'), undefined);
});

test('managedFields: the API records ?fieldManager= or the User-Agent prefix as the writer of the fields it changed', async ({ cluster }) => {
  cluster.ensureNamespace('ns-mf');
  const kc = kubeConfigFrom(cluster.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({ namespace: 'ns-mf', body: { metadata: { name: 's' }, data: { a: 'YQ==' } }, fieldManager: 'creator' });
  await core.patchNamespacedSecret({ name: 's', namespace: 'ns-mf', body: { data: { b: 'Yg==' } }, fieldManager: 'patcher' },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  let s = cluster.store.peek(SECRETS, 'ns-mf', 's')!;
  assert.equal(managersOf(s, ['f:data', 'f:a']).map((m) => m.manager), ['creator']);
  assert.equal(managersOf(s, ['f:data', 'f:b']).map((m) => m.manager), ['patcher']);
  // no fieldManager: the User-Agent up to its first '/'
  const user = kc.getCurrentUser()!;
  const cluster0 = kc.getCurrentCluster()!;
  const url = new URL(`${cluster0.server}/api/v1/namespaces/ns-mf/secrets/s`);
  const code = await new Promise<number>((resolve, reject) => {
    const req = https.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'PATCH',
      ca: Buffer.from(cluster0.caData!, 'base64'), cert: Buffer.from(user.certData!, 'base64'), key: Buffer.from(user.keyData!, 'base64'),
      headers: { 'Content-Type': 'application/merge-patch+json', 'User-Agent': 'vcluster/0.34.0 (linux/amd64) kubernetes/abc' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ data: { a: 'Yw==' } }));
  });
  assert.is(code, 200);
  s = cluster.store.peek(SECRETS, 'ns-mf', 's')!;
  assert.equal(managersOf(s, ['f:data', 'f:a']).map((m) => m.manager), ['vcluster'], 'the field changes hands');
  assert.equal(managersOf(s, ['f:data']).map((m) => m.manager).sort(), ['patcher', 'vcluster']);
});

test.run();
