// `rotate` end to end, ported from upstream's e2e cert tests and extended: the CA stays,
// every leaf changes and verifies, old kubeconfigs keep working, in every workload shape.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';

const SECRETS = typeByKind('Secret');
const PODS = typeByKind('Pod');
import { generatePki, type PkiOptions } from '../cluster/index.js';
import { execFileP, kubectlRaw, runCli } from './helpers.js';
import {
  CA_FILES, KUBECONFIGS, LEAFS, certOf, fingerprint, keyMatches, kubeconfigCreds, opensslKeyIds, opensslProfile, opensslVerifies, podFiles, sameFiles, secretFiles, vclusterPods, x509, type Files,
} from './pki-oracle.js';

const test = suite('rotate e2e');
let cluster: SimCluster;
let env: Record<string, string>;

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
}
test.after(async () => {
  await cluster?.close();
});

async function vcluster(name: string, namespace: string, pkiOpts: Partial<PkiOptions> = {}, vcOpts: Record<string, unknown> = {}, ready = true): Promise<Files> {
  // Issued an hour ago, so a rotation's "expires later" is measurable at second precision.
  const pki = await generatePki({ name, namespace, now: new Date(Date.now() - 3_600_000), ...pkiOpts });
  await cluster.addVCluster({ name, namespace, pki, ...vcOpts });
  if (ready) await cluster.waitReady(namespace, name);
  return pki;
}

/** Upstream's e2e rotate assertions plus ours, on the Secret and every replica's disk. */
async function assertRotated(namespace: string, name: string, before: Files): Promise<Files> {
  const after = await secretFiles(cluster, namespace, name);
  for (const f of CA_FILES.concat(['sa.key', 'sa.pub'])) {
    assert.ok(before.get(f)!.equals(after.get(f)!), `${f} unchanged byte for byte`);
  }
  for (const [leaf, ca] of Object.entries(LEAFS)) {
    const old = before.get(leaf)!.toString();
    const now = after.get(leaf)!.toString();
    assert.is.not(fingerprint(now), fingerprint(old), `${leaf} fingerprint changed`);
    assert.ok(x509(now).validToDate > x509(old).validToDate, `${leaf} expires later`);
    assert.ok(await opensslVerifies(now, after.get(ca)!.toString()), `${leaf} verifies against ${ca} (openssl)`);
    assert.is(await opensslProfile(now), await opensslProfile(old), `${leaf} keeps its profile`);
    const ids = await opensslKeyIds(now);
    assert.is(ids.akid, (await opensslKeyIds(after.get(ca)!.toString())).skid, `${leaf} AKID = CA SKID`);
    const key = after.get(leaf.replace(/\.crt$/, '.key'))!;
    assert.ok(keyMatches(now, key), `${leaf} key matches (node:crypto)`);
    assert.not.ok(key.equals(before.get(leaf.replace(/\.crt$/, '.key'))!), `${leaf} has a new key`);
    assert.match(key.toString(), /^-----BEGIN (RSA|EC) PRIVATE KEY-----/);
    const serial = BigInt(`0x${x509(now).serialNumber}`);
    assert.ok(serial >= 1n && serial < 2n ** 63n - 1n, `${leaf} serial in [1, 2^63-1)`);
    const notBefore = x509(now).validFromDate.getTime();
    assert.ok(Math.abs(Date.now() - 5 * 60_000 - notBefore) < 120_000, `${leaf} NotBefore ≈ now − 5 min`);
  }
  for (const conf of KUBECONFIGS) {
    const o = kubeconfigCreds(before.get(conf)!);
    const n = kubeconfigCreds(after.get(conf)!);
    assert.is(n.ca, o.ca, `${conf} CA data unchanged`);
    assert.is.not(fingerprint(n.cert), fingerprint(o.cert), `${conf} client cert changed`);
    assert.ok(keyMatches(n.cert, n.key), `${conf} client key matches`);
    assert.is(await opensslProfile(n.cert), await opensslProfile(o.cert), `${conf} client cert keeps its profile`);
    assert.is(x509(n.cert).validFrom, x509(after.get('ca.crt')!).validFrom, `${conf} NotBefore = CA NotBefore`);
    assert.ok(await opensslVerifies(n.cert, after.get('ca.crt')!.toString()), `${conf} verifies against ca.crt`);
  }
  for (const { metadata: { name: pod } } of vclusterPods(cluster, namespace, name)) {
    const disk = podFiles(cluster, namespace, pod);
    assert.ok(sameFiles(after, disk, [...after.keys()]), `${pod}: /data/pki equals the Secret`);
  }
  return after;
}

async function kubectlVersion(conf: Buffer, namespace: string, pod: string): Promise<boolean> {
  const { port } = await cluster.podEndpoint(namespace, pod);
  const r = await kubectlRaw(conf, port);
  return r.ok && /gitVersion/.test(r.output);
}

test('upstream e2e: CA unchanged, leafs new and later, old and new admin kubeconfigs both work (real kubectl)', async () => {
  const before = await vcluster('basic', 'ns-basic');
  assert.ok(await kubectlVersion(before.get('admin.conf')!, 'ns-basic', 'basic-0'), 'baseline: old admin.conf works');
  const r = await runCli(['rotate', 'basic', '-n', 'ns-basic', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.result, 'done');
  assert.is(report.state, 'all-new');
  const after = await assertRotated('ns-basic', 'basic', before);
  const apiserver = report.certificates.find((c: { file: string }) => c.file === 'apiserver.crt');
  assert.is(apiserver.oldSha256, fingerprint(before.get('apiserver.crt')!));
  assert.is(apiserver.newSha256, fingerprint(after.get('apiserver.crt')!));
  assert.ok(await kubectlVersion(before.get('admin.conf')!, 'ns-basic', 'basic-0'), 'old admin.conf still works (same CA)');
  assert.ok(await kubectlVersion(after.get('admin.conf')!, 'ns-basic', 'basic-0'), 'new admin.conf works');
  assert.match(r.stderr, /^backup \(secret basic-certs-backup-\d+, 1 pod copy in \/data\/pki\.bak\/\d+\) \(\d+\.\ds\)$/m, 'plain step lines off a TTY');
  const check = await runCli(['check', 'basic', '-n', 'ns-basic'], env);
  assert.is(check.code, 0, check.stdout);
});

const scenarios: Array<[string, Partial<PkiOptions>, Record<string, unknown>, string[]]> = [
  ['statefulset-emptydir', {}, { persistence: false }, []],
  ['deployment', {}, { kind: 'Deployment' }, []],
  ['ha3', {}, { replicas: 3 }, []],
  ['ondelete', {}, { replicas: 2, updateStrategy: 'OnDelete' }, []],
  ['etcd', {}, { deployedEtcd: true }, []],
  ['split', { splitCA: true }, {}, []],
  ['ecdsa', { keyType: 'ecdsa' }, {}, []],
];
for (const [name, pkiOpts, vcOpts, extra] of scenarios) {
  test(`scenario ${name}: rotates, restarts, verifies`, async () => {
    const ns = `ns-${name}`;
    const before = await vcluster(name, ns, pkiOpts, vcOpts);
    const uids = new Set((cluster.store.list(PODS, ns) as Array<{ metadata: { uid: string } }>).map((p) => p.metadata.uid));
    const r = await runCli(['rotate', name, '-n', ns, '--yes', ...extra], env);
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const after = await assertRotated(ns, name, before);
    const pods = cluster.store.list(PODS, ns) as Array<{ metadata: { uid: string; labels: Record<string, string> } }>;
    assert.ok(pods.length > 0);
    for (const p of pods) assert.not.ok(uids.has(p.metadata.uid), `${p.metadata.labels.app} pod was restarted`);
    if (name === 'split') {
      assert.ok(await opensslVerifies(after.get('apiserver.crt')!.toString(), after.get('server-ca.crt')!.toString()), 'split CA: apiserver.crt from server-ca');
      assert.not.ok(after.get('server-ca.crt')!.equals(after.get('ca.crt')!), 'split CA stays split');
    }
    if (name === 'ecdsa') assert.match(after.get('apiserver.key')!.toString(), /BEGIN EC PRIVATE KEY/);
    if (name === 'etcd') assert.ok(pods.some((p) => p.metadata.labels.app === 'vcluster-etcd'), 'deployed etcd pods exist and were restarted');
  });
}

test('an expired vCluster in CrashLoopBackOff: refused without --allow-not-running, recovered with it', async () => {
  const before = await vcluster('dead', 'ns-dead', { expiredLeafs: true }, { persistence: false }, false);
  const refused = await runCli(['rotate', 'dead', '-n', 'ns-dead', '--yes'], env);
  assert.is(refused.code, 3);
  assert.match(refused.stderr, /not Running; fix that first, or pass --allow-not-running if it is down because its certificates expired/);
  const r = await runCli(['rotate', 'dead', '-n', 'ns-dead', '--yes', '--allow-not-running'], env);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  await cluster.waitReady('ns-dead', 'dead');
  const after = await secretFiles(cluster, 'ns-dead', 'dead');
  for (const leaf of Object.keys(LEAFS)) assert.ok(x509(after.get(leaf)!).validToDate.getTime() > Date.now() + 300 * 86_400_000, `${leaf} renewed`);
  assert.ok(after.get('ca.crt')!.equals(before.get('ca.crt')!));
  assert.is((await runCli(['check', 'dead', '-n', 'ns-dead'], env)).code, 0);
});

test('--dry-run changes nothing; validity ≤ 90d needs --force; no --yes off a TTY is refused early', async () => {
  const before = await vcluster('dry', 'ns-dry');
  const rv = (cluster.store.get(SECRETS, 'ns-dry', 'dry-certs') as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const requestsBefore = cluster.requests.length;
  const dry = await runCli(['rotate', 'dry', '-n', 'ns-dry', '--dry-run'], env);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /apiserver\.crt +\| reissue/);
  assert.match(dry.stdout, /ca\.crt +\| keep/);
  assert.match(dry.stdout, /Dry run: nothing was changed\./);
  const writes = cluster.requests.slice(requestsBefore).filter((q) => !['get', 'list', 'watch'].includes(q.verb) && q.resource !== 'selfsubjectaccessreviews');
  assert.equal(writes.filter((q) => q.verb !== 'create' || q.subresource !== 'exec').map((q) => `${q.verb} ${q.resource}`), [], 'no writes');
  assert.is((cluster.store.get(SECRETS, 'ns-dry', 'dry-certs') as { metadata: { resourceVersion: string } }).metadata.resourceVersion, rv);
  const short = await runCli(['rotate', 'dry', '-n', 'ns-dry', '--dry-run', '--validity', '60d'], env);
  assert.is(short.code, 3);
  assert.match(short.stderr, /90 days|90d/);
  assert.is((await runCli(['rotate', 'dry', '-n', 'ns-dry', '--dry-run', '--validity', '60d', '--force'], env)).code, 0);
  const noYes = await runCli(['rotate', 'dry', '-n', 'ns-dry'], env);
  assert.is(noYes.code, 3);
  assert.match(noYes.stderr, /^error: refusing to change vCluster dry without confirmation in a non-interactive run: pass --yes/);
  assert.ok(sameFiles(before, await secretFiles(cluster, 'ns-dry', 'dry')));
});

test('missing RBAC is named before anything is written', async () => {
  await vcluster('rbac', 'ns-rbac');
  const user = await cluster.addUser('operator', {
    allow: [
      { verbs: ['get', 'list'], resources: ['secrets', 'statefulsets', 'deployments', 'pods', 'leases'] },
      { verbs: ['create'], resources: ['pods/exec', 'selfsubjectaccessreviews'] },
    ],
  });
  const r = await runCli(['rotate', 'rbac', '-n', 'ns-rbac', '--yes'], { KUBECONFIG: user });
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /you lack RBAC permissions in namespace ns-rbac: .*update secrets.*delete pods.*nothing was changed/, r.stderr);
});

test('RBAC asked for is what the path calls: an HA roll needs patch statefulsets, pruning delete secrets, the Lease delete', async () => {
  await vcluster('rbac-ha', 'ns-rbac-ha', {}, { replicas: 2 });
  // Everything the fixed list of earlier versions asked for, and nothing more.
  const user = await cluster.addUser('operator-ha', {
    allow: [
      { verbs: ['get', 'list', 'update', 'create'], resources: ['secrets'] },
      { verbs: ['get', 'list', 'delete'], resources: ['pods'] },
      { verbs: ['get', 'list'], resources: ['statefulsets', 'deployments'] },
      { verbs: ['get', 'create', 'update'], resources: ['leases'] },
      { verbs: ['create'], resources: ['pods/exec', 'pods/portforward', 'selfsubjectaccessreviews'] },
    ],
  });
  const rv = (cluster.store.get(SECRETS, 'ns-rbac-ha', 'rbac-ha-certs') as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const r = await runCli(['rotate', 'rbac-ha', '-n', 'ns-rbac-ha', '--yes'], { KUBECONFIG: user });
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /you lack RBAC permissions in namespace ns-rbac-ha: (?=.*delete secrets)(?=.*patch statefulsets\.apps)(?=.*delete leases\.coordination\.k8s\.io).*nothing was changed/, r.stderr);
  assert.is((cluster.store.get(SECRETS, 'ns-rbac-ha', 'rbac-ha-certs') as { metadata: { resourceVersion: string } }).metadata.resourceVersion, rv, 'nothing written');
  assert.equal(cluster.store.list(SECRETS, 'ns-rbac-ha').map((o) => (o as { metadata: { name: string } }).metadata.name).filter((n) => n.includes('backup')), []);
});

test('keys of <name>-certs that are not PKI files survive the commit, as the plan says', async () => {
  await vcluster('extra', 'ns-extra');
  cluster.store.mutate(SECRETS, 'ns-extra', 'extra-certs', (o) => {
    (o as unknown as { data: Record<string, string> }).data['team-note.txt'] = Buffer.from('owned by team a').toString('base64');
  });
  // vCluster's start downloads every key of the Secret to /data/pki, unknown ones too (pkg/certs/ensure.go).
  const uid = (cluster.store.get(PODS, 'ns-extra', 'extra-0') as { metadata: { uid: string } }).metadata.uid;
  const kubectl = await execFileP('kubectl', ['--kubeconfig', cluster.kubeconfigPath, 'delete', 'pod', '-n', 'ns-extra', 'extra-0', '--wait=false']);
  assert.match(kubectl.stdout, /deleted/);
  for (let i = 0; i < 200 && (cluster.store.get(PODS, 'ns-extra', 'extra-0') as { metadata: { uid: string } } | undefined)?.metadata.uid === uid; i++) await new Promise((r) => setTimeout(r, 50));
  await cluster.waitReady('ns-extra', 'extra');
  const r = await runCli(['rotate', 'extra', '-n', 'ns-extra', '--yes'], env);
  assert.is(r.code, 0, r.stderr);
  const data = (cluster.store.get(SECRETS, 'ns-extra', 'extra-certs') as unknown as { data: Record<string, string> }).data;
  assert.is(Buffer.from(data['team-note.txt'] ?? '', 'base64').toString(), 'owned by team a');
});

test('no private key bytes in any output or on the local disk, even with -v', async () => {
  await vcluster('keys', 'ns-keys');
  const home = mkdtempSync(join(tmpdir(), 'vcerts-home-'));
  const tmp = mkdtempSync(join(tmpdir(), 'vcerts-tmp-'));
  try {
    const r = await runCli(['rotate', 'keys', '-n', 'ns-keys', '--yes', '-v', '-o', 'json'], { ...env, HOME: home, TMPDIR: tmp });
    assert.is(r.code, 0, r.stderr);
    const after = await secretFiles(cluster, 'ns-keys', 'keys');
    const out = r.stdout + r.stderr;
    assert.not.match(out, /PRIVATE KEY/);
    for (const [file, data] of after) {
      const secretBits = file.endsWith('.key') ? [data.toString()] : file.endsWith('.conf') ? [kubeconfigCreds(data).key] : [];
      for (const pem of secretBits) {
        for (const line of pem.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----'))) {
          assert.not.ok(out.includes(line), `${file} key material in output`);
        }
      }
    }
    assert.equal(readdirSync(tmp), [], 'nothing written to TMPDIR');
    assert.equal(readdirSync(home), [], 'nothing written to HOME');
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
