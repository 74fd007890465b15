// The simulated API server driven by @kubernetes/client-node: REST semantics, errors as Status objects,
// resourceVersion conflicts, selectors, watch, RBAC with SelfSubjectAccessReview, leases, API faults.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import {
  AppsV1Api, AuthorizationV1Api, CoordinationV1Api, CoreV1Api, PatchStrategy, V1Secret, setHeaderOptions, Watch,
} from '@kubernetes/client-node';
import { startCluster, SimCluster, typeByKind } from './index.js';
import { kubeConfigFrom, testPki } from './testutil.js';

interface Ctx {
  cluster: SimCluster;
  core: CoreV1Api;
  apps: AppsV1Api;
}

const test = suite<Ctx>('simulated API server (client-node)');

test.before(async (ctx) => {
  ctx.cluster = await startCluster();
  const kc = kubeConfigFrom(ctx.cluster.kubeconfigPath);
  ctx.core = kc.makeApiClient(CoreV1Api);
  ctx.apps = kc.makeApiClient(AppsV1Api);
  const pki = await testPki('alpha', 'team-a');
  await ctx.cluster.addVCluster({ name: 'alpha', namespace: 'team-a', pki });
  await ctx.cluster.addVCluster({ name: 'beta', namespace: 'team-b', kind: 'Deployment', persistence: false, pki: await testPki('beta', 'team-b') });
  await Promise.all([ctx.cluster.waitReady('team-a', 'alpha'), ctx.cluster.waitReady('team-b', 'beta')]);
});

test.after(async (ctx) => {
  await ctx.cluster.close();
});

/** The Status object of a failed client-node call. */
async function statusOf(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string; kind: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown };
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code as number, ...(body as { reason: string; message: string; kind: string }) };
  }
  throw new Error('expected the call to fail');
}

test('lists StatefulSets and Deployments by label, across all namespaces', async ({ apps }) => {
  const sts = await apps.listStatefulSetForAllNamespaces({ labelSelector: 'app=vcluster' });
  assert.equal(sts.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`), ['team-a/alpha']);
  assert.is(sts.kind, 'StatefulSetList');
  const deps = await apps.listDeploymentForAllNamespaces({ labelSelector: 'app=vcluster,release in (beta,gamma)' });
  assert.equal(deps.items.map((d) => d.metadata?.labels?.release), ['beta']);
  const none = await apps.listNamespacedDeployment({ namespace: 'team-b', labelSelector: 'app=vcluster,release notin (beta)' });
  assert.is(none.items.length, 0);
  const alpha = sts.items[0];
  assert.equal(alpha.spec?.selector.matchLabels, { app: 'vcluster', release: 'alpha' });
  assert.is(alpha.spec?.template.spec?.containers[0].image, 'ghcr.io/loft-sh/vcluster-pro:0.30.0');
  assert.is(alpha.status?.readyReplicas, 1);
});

test('pods: label and field selectors, status, random Deployment pod names', async ({ core }) => {
  const pods = await core.listPodForAllNamespaces({ labelSelector: 'app=vcluster', fieldSelector: 'status.phase=Running' });
  const names = pods.items.map((p) => p.metadata?.name as string);
  assert.ok(names.includes('alpha-0'));
  const beta = names.find((n) => n.startsWith('beta-')) as string;
  assert.match(beta, /^beta-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  const byName = await core.listNamespacedPod({ namespace: 'team-a', fieldSelector: 'metadata.name=alpha-0' });
  assert.is(byName.items.length, 1);
  const pod = byName.items[0];
  assert.is(pod.status?.containerStatuses?.[0].ready, true);
  assert.ok(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const missingLabel = await core.listNamespacedPod({ namespace: 'team-a', labelSelector: '!release' });
  assert.is(missingLabel.items.length, 0);
  const exists = await core.listNamespacedPod({ namespace: 'team-a', labelSelector: 'release,app!=other' });
  assert.is(exists.items.length, 1);
  const err = await statusOf(core.listNamespacedPod({ namespace: 'team-a', fieldSelector: 'spec.bogus=1' }));
  assert.is(err.code, 400);
});

test('errors are Status objects: 404, 409 AlreadyExists, 422 Invalid', async ({ core }) => {
  const nf = await statusOf(core.readNamespacedSecret({ name: 'nope', namespace: 'team-a' }));
  assert.equal([nf.code, nf.kind, nf.reason, nf.message], [404, 'Status', 'NotFound', 'secrets "nope" not found']);
  const body: V1Secret = { metadata: { name: 'alpha-certs' }, data: {} };
  const ae = await statusOf(core.createNamespacedSecret({ namespace: 'team-a', body }));
  assert.equal([ae.code, ae.reason], [409, 'AlreadyExists']);
  const inv = await statusOf(core.createNamespacedSecret({ namespace: 'team-a', body: { metadata: { name: 'Bad_Name' } } }));
  assert.equal([inv.code, inv.reason], [422, 'Invalid']);
  const nsMissing = await statusOf(core.createNamespacedSecret({ namespace: 'no-such-ns', body: { metadata: { name: 'x' } } }));
  assert.equal([nsMissing.code, nsMissing.message], [404, 'namespaces "no-such-ns" not found']);
});

test('secret update and patch with a stale resourceVersion answer 409 Conflict', async ({ core }) => {
  const created = await core.createNamespacedSecret({ namespace: 'team-a', body: { metadata: { name: 'rv-test' }, stringData: { a: 'one' } } });
  assert.is(created.data?.a, Buffer.from('one').toString('base64'));
  const stale = created.metadata?.resourceVersion as string;
  const updated = await core.replaceNamespacedSecret({ name: 'rv-test', namespace: 'team-a', body: { ...created, data: { a: Buffer.from('two').toString('base64') } } });
  assert.is.not(updated.metadata?.resourceVersion, stale);
  const c1 = await statusOf(core.replaceNamespacedSecret({ name: 'rv-test', namespace: 'team-a', body: { ...created, data: { a: 'dGhyZWU=' } } }));
  assert.equal([c1.code, c1.reason], [409, 'Conflict']);
  assert.match(c1.message, /the object has been modified/);
  const mergeStale = await statusOf(core.patchNamespacedSecret(
    { name: 'rv-test', namespace: 'team-a', body: { metadata: { resourceVersion: stale }, data: { b: 'Yg==' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  ));
  assert.is(mergeStale.code, 409);
  const jsonStale = await statusOf(core.patchNamespacedSecret(
    { name: 'rv-test', namespace: 'team-a', body: [{ op: 'replace', path: '/metadata/resourceVersion', value: stale }, { op: 'add', path: '/data/c', value: 'Yw==' }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  ));
  assert.is(jsonStale.code, 409);
  const fresh = updated.metadata?.resourceVersion as string;
  const ok = await core.patchNamespacedSecret(
    { name: 'rv-test', namespace: 'team-a', body: { metadata: { resourceVersion: fresh }, data: { a: null, b: 'Yg==' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal(ok.data, { b: 'Yg==' });
  const strategic = await core.patchNamespacedSecret(
    { name: 'rv-test', namespace: 'team-a', body: { metadata: { labels: { x: 'y' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  assert.equal(strategic.metadata?.labels, { x: 'y' });
  const badB64 = await statusOf(core.patchNamespacedSecret(
    { name: 'rv-test', namespace: 'team-a', body: { data: { z: 'not base64!' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  ));
  assert.is(badB64.code, 400);
});

test('scale subresource and strategic merge patch of a StatefulSet', async ({ apps, cluster }) => {
  const scale = await apps.readNamespacedStatefulSetScale({ name: 'alpha', namespace: 'team-a' });
  assert.equal([scale.spec?.replicas, scale.status?.selector], [1, 'app=vcluster,release=alpha']);
  await apps.patchNamespacedStatefulSetScale(
    { name: 'alpha', namespace: 'team-a', body: { spec: { replicas: 0 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await cluster.waitReady('team-a', 'alpha');
  const paused = await apps.readNamespacedStatefulSet({ name: 'alpha', namespace: 'team-a' });
  assert.equal([paused.spec?.replicas, paused.status?.replicas], [0, 0]);
  const staleScale = await statusOf(apps.replaceNamespacedStatefulSetScale({ name: 'alpha', namespace: 'team-a', body: { ...scale, spec: { replicas: 2 } } }));
  assert.is(staleScale.code, 409, 'PUT scale with the old resourceVersion');
  const fresh = await apps.readNamespacedStatefulSetScale({ name: 'alpha', namespace: 'team-a' });
  const put = await apps.replaceNamespacedStatefulSetScale({ name: 'alpha', namespace: 'team-a', body: { ...fresh, spec: { replicas: 0 } } });
  assert.is(put.spec?.replicas, 0);
  await apps.patchNamespacedStatefulSet(
    { name: 'alpha', namespace: 'team-a', body: { spec: { replicas: 1, template: { spec: { containers: [{ name: 'syncer', env: [{ name: 'EXTRA', value: '1' }] }] } } } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  await cluster.waitReady('team-a', 'alpha');
  const sts = await apps.readNamespacedStatefulSet({ name: 'alpha', namespace: 'team-a' });
  const c = sts.spec?.template.spec?.containers[0];
  assert.is(c?.image, 'ghcr.io/loft-sh/vcluster-pro:0.30.0', 'strategic merge keeps the other container fields');
  assert.ok(c?.env?.some((e) => e.name === 'VCLUSTER_NAME') && c?.env?.some((e) => e.name === 'EXTRA'));
  assert.is(sts.metadata?.generation, 3);
});

test('watch streams changes from a resourceVersion', async ({ cluster }) => {
  const kc = kubeConfigFrom(cluster.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedSecret({ namespace: 'team-a' });
  const seen: string[] = [];
  const watch = new Watch(kc);
  const req = await watch.watch('/api/v1/namespaces/team-a/secrets', { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'w=1' },
    (type, obj) => seen.push(`${type} ${obj.metadata.name}`), () => undefined);
  await core.createNamespacedSecret({ namespace: 'team-a', body: { metadata: { name: 'watched', labels: { w: '1' } } } });
  await core.createNamespacedSecret({ namespace: 'team-a', body: { metadata: { name: 'unwatched' } } });
  await core.deleteNamespacedSecret({ name: 'watched', namespace: 'team-a' });
  const deadline = Date.now() + 3000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  req.abort();
  assert.equal(seen, ['ADDED watched', 'DELETED watched']);
});

test('leases: create, update with resourceVersion precondition, delete', async ({ cluster }) => {
  const coord = kubeConfigFrom(cluster.kubeconfigPath).makeApiClient(CoordinationV1Api);
  const lease = await coord.createNamespacedLease({
    namespace: 'team-a',
    body: { metadata: { name: 'vcluster-alpha-cert-rotation' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 300 } },
  });
  assert.is(lease.kind, 'Lease');
  const taken = await coord.replaceNamespacedLease({ name: lease.metadata?.name as string, namespace: 'team-a', body: { ...lease, spec: { holderIdentity: 'other' } } });
  assert.is(taken.spec?.holderIdentity, 'other');
  const conflict = await statusOf(coord.replaceNamespacedLease({ name: lease.metadata?.name as string, namespace: 'team-a', body: { ...lease, spec: { holderIdentity: 'late' } } }));
  assert.is(conflict.code, 409);
  await coord.deleteNamespacedLease({ name: lease.metadata?.name as string, namespace: 'team-a' });
  assert.is((await statusOf(coord.readNamespacedLease({ name: lease.metadata?.name as string, namespace: 'team-a' }))).code, 404);
});

test('RBAC: token user limited to its rules, 403 Status, SelfSubjectAccessReview', async ({ cluster }) => {
  const path = await cluster.addUser('viewer', { allow: [{ verbs: ['get', 'list'], resources: ['secrets', 'statefulsets', 'deployments', 'pods'] }] });
  const kc = kubeConfigFrom(path);
  const core = kc.makeApiClient(CoreV1Api);
  assert.ok((await core.listNamespacedSecret({ namespace: 'team-a' })).items.length > 0);
  const denied = await statusOf(core.patchNamespacedSecret(
    { name: 'alpha-certs', namespace: 'team-a', body: { metadata: { labels: { a: 'b' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  ));
  assert.equal([denied.code, denied.reason], [403, 'Forbidden']);
  assert.is(denied.message, 'secrets "alpha-certs" is forbidden: User "viewer" cannot patch resource "secrets" in API group "" in the namespace "team-a"');
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const review = async (verb: string, resource: string, subresource?: string) =>
    (await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: 'team-a', verb, resource, subresource } } } })).status?.allowed;
  assert.is(await review('get', 'secrets'), true);
  assert.is(await review('patch', 'secrets'), false);
  assert.is(await review('create', 'pods', 'exec'), false);
  const adminAuthz = kubeConfigFrom(cluster.kubeconfigPath).makeApiClient(AuthorizationV1Api);
  const admin = await adminAuthz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: 'team-a', verb: 'create', resource: 'pods', subresource: 'exec' } } } });
  assert.is(admin.status?.allowed, true);
  const anonymous = await new Promise<number>((resolve, reject) => {
    https.get(`${cluster.url}/api/v1/namespaces`, { ca: cluster.caCert }, (res) => resolve(res.statusCode as number)).on('error', reject);
  });
  assert.is(anonymous, 401);
  // A resumed TLS session (new connection, cached session, no client certificate) is still the
  // token's user: the session being `authorized` must not make it a certificate user.
  const token = /token: (\S+)/.exec(readFileSync(path, 'utf8'))![1]!;
  const agent = new https.Agent({ ca: cluster.caCert, keepAlive: false, maxCachedSessions: 10 });
  const ask = () => new Promise<{ allowed: boolean; reused: boolean }>((resolve, reject) => {
    const req = https.request(`${cluster.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ allowed: JSON.parse(body).status?.allowed === true, reused: (res.socket as import('node:tls').TLSSocket).isSessionReused() }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: { resourceAttributes: { namespace: 'team-a', verb: 'delete', resource: 'pods' } } }));
  });
  const first = await ask();
  const second = await ask();
  assert.equal([first.allowed, second.allowed], [false, false]);
  assert.ok(second.reused, 'the second connection resumed the first one\'s TLS session');
});

test('API faults: counted, matched by verb/resource/name, logged requests', async ({ cluster, core }) => {
  const before = cluster.requests.length;
  const fault = cluster.faults.add({ verb: 'get', resource: 'secrets', name: 'alpha-certs', status: 500, times: 2 });
  assert.is((await statusOf(core.readNamespacedSecret({ name: 'alpha-certs', namespace: 'team-a' }))).code, 500);
  assert.ok(await core.readNamespacedSecret({ name: 'vc-config-alpha', namespace: 'team-a' }), 'other names unaffected');
  assert.is((await statusOf(core.readNamespacedSecret({ name: 'alpha-certs', namespace: 'team-a' }))).code, 500);
  assert.ok(await core.readNamespacedSecret({ name: 'alpha-certs', namespace: 'team-a' }), 'rule used up');
  assert.is(fault.hits, 2);
  cluster.faults.add({ verb: 'update', resource: 'secrets', status: 409 });
  const s = await core.readNamespacedSecret({ name: 'alpha-certs', namespace: 'team-a' });
  assert.is((await statusOf(core.replaceNamespacedSecret({ name: 'alpha-certs', namespace: 'team-a', body: s }))).code, 409);
  const log = cluster.requests.slice(before).filter((r) => r.resource === 'secrets');
  assert.equal(log.map((r) => `${r.verb} ${r.name} ${r.code}`), [
    'get alpha-certs 500', 'get vc-config-alpha 200', 'get alpha-certs 500', 'get alpha-certs 200', 'get alpha-certs 200', 'update alpha-certs 409',
  ]);
});

test('chunked lists: limit and continue in key order, remainingItemCount without selectors, 410 after a change, 400 on a bad token', async ({ core, cluster }) => {
  const whole = await core.listSecretForAllNamespaces({ labelSelector: 'app=vcluster' });
  const keys = whole.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`);
  assert.ok(keys.length >= 4, `${keys.length} secrets`);
  assert.equal(keys, [...keys].sort(), 'byte order of namespace/name, like etcd keys');
  const seen: string[] = [];
  let cont: string | undefined;
  let rv: string | undefined;
  do {
    const page = await core.listSecretForAllNamespaces({ labelSelector: 'app=vcluster', limit: 3, _continue: cont });
    assert.ok(page.items.length <= 3);
    rv ??= page.metadata?.resourceVersion;
    assert.is(page.metadata?.resourceVersion, rv, 'every chunk is of the first one\'s revision');
    assert.is(page.metadata?.remainingItemCount, undefined, 'not counted under a selector');
    seen.push(...page.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`));
    cont = page.metadata?._continue || undefined;
  } while (cont);
  assert.equal(seen, keys);

  const first = await core.listSecretForAllNamespaces({ limit: 1 });
  assert.is(first.items.length, 1);
  assert.ok(first.metadata?._continue);
  const total = (await core.listSecretForAllNamespaces()).items.length;
  assert.is(first.metadata?.remainingItemCount, total - 1);
  // a Secret written between chunks: the revision of the token is no longer what the list would show
  await core.patchNamespacedSecret({ name: 'alpha-certs', namespace: 'team-a', body: { metadata: { annotations: { touched: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const expired = await statusOf(core.listSecretForAllNamespaces({ limit: 1, _continue: first.metadata?._continue }));
  assert.is(expired.code, 410);
  assert.is(expired.reason, 'Expired');
  assert.match(expired.message, /continue parameter is too old/);
  // other types did not change: their tokens still work
  const nss = await core.listNamespace({ limit: 1 });
  assert.is((await core.listNamespace({ limit: 1, _continue: nss.metadata?._continue })).items.length, 1);
  const bad = await statusOf(core.listSecretForAllNamespaces({ limit: 1, _continue: 'not-a-token' }));
  assert.is(bad.code, 400);
  assert.match(bad.message, /continue key is not valid/);
  assert.is((await statusOf(core.listSecretForAllNamespaces({ limit: -1 }))).code, 400);
  // a fault can target the later chunks only
  cluster.faults.add({ verb: 'list', resource: 'secrets', queryParam: 'continue', status: 410 });
  const again = await core.listSecretForAllNamespaces({ limit: 1 });
  assert.is((await statusOf(core.listSecretForAllNamespaces({ limit: 1, _continue: again.metadata?._continue }))).code, 410);
});

test('deletecollection of pods by label: the controller brings them back with new UIDs', async ({ core, cluster }) => {
  const before = (await core.listNamespacedPod({ namespace: 'team-a', labelSelector: 'app=vcluster' })).items.map((p) => p.metadata?.uid);
  const deleted = await core.deleteCollectionNamespacedPod({ namespace: 'team-a', labelSelector: 'app=vcluster,release=alpha' });
  assert.is((deleted as { kind?: string }).kind, 'PodList', 'the apiserver answers deletecollection with the deleted items');
  await cluster.waitReady('team-a', 'alpha');
  const after = (await core.listNamespacedPod({ namespace: 'team-a', labelSelector: 'app=vcluster' })).items.map((p) => p.metadata?.uid);
  assert.is(after.length, 1);
  assert.is.not(after[0], before[0]);
});

test('deleting a namespace removes what is in it', async ({ core, cluster }) => {
  await core.createNamespace({ body: { metadata: { name: 'scratch' } } });
  await core.createNamespacedSecret({ namespace: 'scratch', body: { metadata: { name: 's' } } });
  await core.deleteNamespace({ name: 'scratch' });
  assert.is((await statusOf(core.readNamespacedSecret({ name: 's', namespace: 'scratch' }))).code, 404);
  assert.is(cluster.store.list(typeByKind('ServiceAccount'), 'scratch').length, 0);
});

test.run();
