// `backups` end to end: the built binary against the simulated host cluster. Backups are made by
// the real `rotate` (and by hand, as an admin or an older tool would), and judged with node:crypto
// and the simulator's own state, never with src/pki.
import { X509Certificate } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/index.js';
import { execFileP, runCli, type CliResult } from './helpers.js';

const SECRETS = typeByKind('Secret');
const test = suite('backups e2e');
let cluster: SimCluster;
let env: Record<string, string>;
type Files = Map<string, Buffer>;

interface Backup {
  stamp: string;
  createdAt: string;
  age: string;
  location: { kind: 'secret'; name: string } | { kind: 'pod'; pod: string; dir: string };
  where: string;
  reason: string;
  copy: string;
  sameAs: string[];
  complete: boolean;
  problems: string[];
  cas: Array<{ file: string; subject: string; sha256: string }>;
  earliestLeafExpiry: string | null;
}

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
}
test.after(async () => {
  await cluster?.close();
});

async function vcluster(name: string, namespace: string, vcOpts: Record<string, unknown> = {}): Promise<Files> {
  const pki = await generatePki({ name, namespace, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name, namespace, pki, ...vcOpts });
  await cluster.waitReady(namespace, name);
  return pki;
}

async function rotate(name: string, namespace: string): Promise<{ stamp: string; pods: string[] }> {
  const r = await runCli(['rotate', name, '-n', namespace, '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, `rotate: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  await cluster.waitReady(namespace, name);
  return { stamp: report.stamp, pods: report.backups.pods.map((p: { pod: string }) => p.pod) };
}

function json(r: CliResult): { backups: Backup[]; warnings: string[]; podsSearched: string[] } {
  assert.is(r.code, 0, `exit code (stderr: ${r.stderr})`);
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON: ${r.stdout.slice(0, 300)} ${r.stderr}`);
  }
}

const fingerprint = (pem: Buffer) => new X509Certificate(pem).fingerprint256;

async function kubectl(args: string[]) {
  return execFileP('kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } });
}

test('no backups: exit 0 and a line that says none were found and what makes them', async () => {
  await vcluster('fresh', 'ns-fresh');
  const r = await runCli(['backups', 'fresh', '-n', 'ns-fresh'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /No backups found for vCluster ns-fresh\/fresh \(searched the backup Secrets and \/data\/pki\.bak in pod fresh-0\)/);
  assert.match(r.stdout, /rotate, rotate-ca and restore create one/);
  assert.is(r.stderr, '');
  const doc = json(await runCli(['backups', 'fresh', '-n', 'ns-fresh', '-o', 'json'], env));
  assert.equal(doc.backups, []);
  assert.equal(doc.podsSearched, ['fresh-0']);
});

test('after rotate: one Secret copy and one copy per Ready replica, same stamp, complete, the original CAs', async () => {
  const before = await vcluster('ha', 'ns-ha', { replicas: 2 });
  const { stamp, pods } = await rotate('ha', 'ns-ha');
  assert.equal(pods.sort(), ['ha-0', 'ha-1']);
  const doc = json(await runCli(['backups', 'ha', '-n', 'ns-ha', '-o', 'json'], env));
  assert.is(doc.backups.length, 3, JSON.stringify(doc.backups.map((b) => b.where)));
  assert.equal(doc.backups.map((b) => b.where), [
    `secret ns-ha/ha-certs-backup-${stamp}`,
    `pod ha-0:/data/pki.bak/${stamp}`,
    `pod ha-1:/data/pki.bak/${stamp}`,
  ]);
  const expected = {
    'ca.crt': fingerprint(before.get('ca.crt')!),
    'front-proxy-ca.crt': fingerprint(before.get('front-proxy-ca.crt')!),
    'etcd/ca.crt': fingerprint(before.get('etcd/ca.crt')!),
  };
  const earliest = Math.min(...[...before].filter(([f]) => f.endsWith('.crt') && !/ca\.crt$/.test(f))
    .map(([, pem]) => new X509Certificate(pem).validToDate.getTime()));
  for (const b of doc.backups) {
    assert.is(b.stamp, stamp);
    assert.is(b.createdAt, new Date(Number(stamp) * 1000).toISOString().replace('.000Z', 'Z'));
    assert.ok(b.complete, `${b.where}: ${b.problems.join('; ')}`);
    assert.equal(b.problems, []);
    assert.equal(Object.fromEntries(b.cas.map((c) => [c.file, c.sha256])), expected, `${b.where} CA fingerprints`);
    assert.equal(b.cas.map((c) => c.subject), ['/CN=kubernetes', '/CN=front-proxy-ca', '/CN=etcd-ca']);
    assert.ok(b.earliestLeafExpiry && new Date(b.earliestLeafExpiry).getTime() <= earliest, `${b.where} earliest leaf expiry`);
    assert.is(b.copy, 'A', `${b.where}: all copies agree`);
    assert.is(b.sameAs.length, 2);
    assert.is(b.reason, b.location.kind === 'secret' ? 'rotate' : '-');
  }
  const table = await runCli(['backups', 'ha', '-n', 'ns-ha'], env);
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ {2}COPY \| CREATED +\| LOCATION +\| REASON \| COMPLETE \| FIRST LEAF EXPIRES$/m);
  assert.match(table.stdout, new RegExp(`^ {2}A +\\| \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\((just now|\\d+[mh] ago)\\) \\| secret ns-ha/ha-certs-backup-${stamp} +\\| rotate \\| yes `, 'm'));
  assert.match(table.stdout, new RegExp(`^ {2}A +\\| etcd/ca\\.crt +\\| /CN=etcd-ca +\\| ${expected['etcd/ca.crt']}$`, 'm'));
  assert.not.match(table.stdout, /!/);
});

test('emptyDir: the pod copies die with the pods, the Secret copy remains and is complete', async () => {
  const before = await vcluster('eph', 'ns-eph', { persistence: false });
  const { stamp, pods } = await rotate('eph', 'ns-eph');
  assert.equal(pods, ['eph-0'], 'rotate did make a pod copy');
  const doc = json(await runCli(['backups', 'eph', '-n', 'ns-eph', '-o', 'json'], env));
  assert.equal(doc.podsSearched, ['eph-0']);
  assert.equal(doc.backups.map((b) => b.where), [`secret ns-eph/eph-certs-backup-${stamp}`]);
  assert.ok(doc.backups[0]!.complete, doc.backups[0]!.problems.join('; '));
  assert.is(doc.backups[0]!.cas[0]!.sha256, fingerprint(before.get('ca.crt')!));
});

test('a corrupted backup Secret is listed as incomplete with the problem; its pod copy now differs', async () => {
  await vcluster('bad', 'ns-bad');
  const { stamp } = await rotate('bad', 'ns-bad');
  const name = `bad-certs-backup-${stamp}`;
  const garbage = Buffer.from('not a key at all\n').toString('base64');
  await kubectl(['patch', 'secret', name, '-n', 'ns-bad', '--type', 'merge', '-p', JSON.stringify({ data: { 'apiserver.key': garbage } })]);
  cluster.store.mutate(SECRETS, 'ns-bad', name, (s) => {
    delete (s as unknown as { data: Record<string, string> }).data['etcd-peer.crt'];
  });
  const doc = json(await runCli(['backups', 'bad', '-n', 'ns-bad', '-o', 'json'], env));
  const secret = doc.backups.find((b) => b.location.kind === 'secret')!;
  const pod = doc.backups.find((b) => b.location.kind === 'pod')!;
  assert.is(secret.complete, false);
  assert.ok(secret.problems.some((p) => /apiserver\.key does not match apiserver\.crt/.test(p)), secret.problems.join('; '));
  assert.ok(secret.problems.some((p) => /etcd\/peer\.crt is missing or empty/.test(p)), secret.problems.join('; '));
  assert.ok(pod.complete, pod.problems.join('; '));
  assert.is.not(secret.copy, pod.copy, 'the two copies of one stamp no longer agree');
  assert.equal(secret.sameAs, []);
  const table = await runCli(['backups', 'bad', '-n', 'ns-bad'], env);
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`secret ns-bad/${name} +\\| rotate \\| NO `));
  assert.match(table.stdout, new RegExp(`^ {2}! secret ns-bad/${name}: apiserver\\.key does not match apiserver\\.crt$`, 'm'));
  assert.match(table.stdout, new RegExp(`^ {2}! the copies of backup ${stamp} differ`, 'm'));
});

test('old but consistent backups (expired leafs) are still complete, newest first', async () => {
  const pki = await generatePki({ name: 'old', namespace: 'ns-old', expiredLeafs: true });
  await vcluster('old', 'ns-old');
  const data = Object.fromEntries([...pki].map(([f, b]) => [f.replace(/^etcd\//, 'etcd-'), b.toString('base64')]));
  for (const stamp of ['1600000000', '1700000000']) {
    cluster.store.create(SECRETS, {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: `old-certs-backup-${stamp}`, namespace: 'ns-old', labels: { 'vcluster-certs.dev/backup-of': 'old' }, annotations: { 'vcluster-certs.dev/reason': 'by hand' } },
      data,
    });
  }
  const doc = json(await runCli(['backups', 'old', '-n', 'ns-old', '-o', 'json'], env));
  assert.equal(doc.backups.map((b) => b.stamp), ['1700000000', '1600000000'], 'newest first');
  assert.equal(doc.backups.map((b) => b.copy), ['A', 'B'], 'different stamps are different copies');
  const b = doc.backups[0]!;
  assert.is(b.createdAt, '2023-11-14T22:13:20Z');
  assert.is(b.reason, 'by hand');
  assert.ok(b.complete, b.problems.join('; '));
  assert.ok(new Date(b.earliestLeafExpiry!).getTime() < Date.now(), 'the expiry shows it is old');
});

test('a pod whose backups cannot be read is a warning; the rest is still listed', async () => {
  await vcluster('flaky', 'ns-flaky', { replicas: 2 });
  const { stamp } = await rotate('flaky', 'ns-flaky');
  const dead = cluster.faults.add({ exec: true, namespace: 'ns-flaky', pod: 'flaky-1', dropAfterBytes: 0, times: 100 });
  // flaky-0: the one-tar read of /data/pki.bak fails, the per-backup read works.
  const wholeRoot = cluster.faults.add({ exec: true, namespace: 'ns-flaky', pod: 'flaky-0', commandIncludes: 'pki.bak -cf', dropAfterBytes: 0, times: 2 });
  try {
    const doc = json(await runCli(['backups', 'flaky', '-n', 'ns-flaky', '-o', 'json'], env));
    assert.ok(wholeRoot.hits >= 1, 'the whole-root read was failed');
    assert.equal(doc.backups.map((b) => b.where), [`secret ns-flaky/flaky-certs-backup-${stamp}`, `pod flaky-0:/data/pki.bak/${stamp}`]);
    assert.ok(doc.backups.every((b) => b.complete));
    assert.is(doc.warnings.length, 1, doc.warnings.join('\n'));
    assert.match(doc.warnings[0]!, /^the backups in pod flaky-1 could not be read, listed without them: /);
  } finally {
    dead.remove();
    wholeRoot.remove();
  }
});

test('-o json and -o yaml parse and hold no key material', async () => {
  const pki = await vcluster('keys', 'ns-keys');
  await rotate('keys', 'ns-keys');
  const keyBody = pki.get('ca.key')!.toString().split('\n')[1]!;
  for (const format of ['json', 'yaml', 'table']) {
    const r = await runCli(['backups', 'keys', '-n', 'ns-keys', '-o', format], env);
    assert.is(r.code, 0, r.stderr);
    const doc = format === 'json' ? JSON.parse(r.stdout) : format === 'yaml' ? parseYaml(r.stdout) : undefined;
    if (doc) {
      assert.is(doc.kind, 'BackupList');
      assert.is(doc.backups.length, 2);
      assert.ok(doc.backups.every((b: Backup) => b.complete));
      assert.not.ok('files' in doc.backups[0], 'files are not in the document');
    }
    assert.not.match(r.stdout, /PRIVATE KEY/);
    assert.not.ok(r.stdout.includes(keyBody), `${format}: no part of ca.key`);
    assert.not.ok(r.stdout.includes(pki.get('ca.key')!.toString('base64').slice(0, 40)), `${format}: no base64 of ca.key`);
  }
});

test('an open CA rollover: the pre-rollover backup is marked as the abort target in table and JSON, and no longer after finalize', async () => {
  const before = await vcluster('roll', 'ns-roll');
  const { stamp: leafStamp } = await rotate('roll', 'ns-roll');
  const plain = JSON.parse((await runCli(['backups', 'roll', '-n', 'ns-roll', '-o', 'json'], env)).stdout);
  assert.is(plain.rollover, null, 'no window, no abort target');
  assert.ok(plain.backups.every((b: { abortTarget: boolean }) => b.abortTarget === false));

  const start = await runCli(['rotate-ca', 'roll', '-n', 'ns-roll', '--graceful', '--yes', '-o', 'json'], env);
  assert.is(start.code, 0, start.stderr);
  const graceStamp = JSON.parse(start.stdout).stamp as string;
  assert.ok(Number(graceStamp) >= Number(leafStamp));
  const doc = JSON.parse((await runCli(['backups', 'roll', '-n', 'ns-roll', '-o', 'json'], env)).stdout);
  const oldCA = new X509Certificate(before.get('ca.crt')!);
  assert.is(doc.rollover.oldCA, `/${oldCA.subject.replace(/\n/g, '/')}`);
  assert.is(doc.rollover.abortTarget.stamp, graceStamp, 'the backup the graceful start took');
  assert.is(doc.rollover.abortTarget.where, `secret ns-roll/roll-certs-backup-${graceStamp}`);
  const marked = doc.backups.filter((b: { abortTarget: boolean }) => b.abortTarget);
  assert.is(marked.length, 1);
  assert.is(marked[0].reason, 'rotate-ca --graceful');
  assert.is(marked[0].location.kind, 'secret');

  const table = await runCli(['backups', 'roll', '-n', 'ns-roll'], env);
  assert.is(table.code, 0, table.stderr);
  const rows = table.stdout.split('\n').filter((l) => l.includes('[abort target]'));
  assert.is(rows.length, 1, table.stdout);
  assert.match(rows[0]!, new RegExp(`roll-certs-backup-${graceStamp}.*rotate-ca --graceful \\[abort target\\]`));
  assert.match(table.stdout, new RegExp(`A CA rollover is in progress since \\S+ \\(finalize before \\S+\\)\\.\\n  Abort target: backup ${graceStamp}, secret ns-roll/roll-certs-backup-${graceStamp} \\(old CA /CN=kubernetes\\); "rotate-ca --abort" restores it\\.`));

  assert.is((await runCli(['rotate-ca', 'roll', '-n', 'ns-roll', '--finalize', '--yes'], env)).code, 0);
  const after = JSON.parse((await runCli(['backups', 'roll', '-n', 'ns-roll', '-o', 'json'], env)).stdout);
  assert.is(after.rollover, null);
  assert.not.match((await runCli(['backups', 'roll', '-n', 'ns-roll'], env)).stdout, /abort target/i);
});

test('errors: unknown vCluster and bad -o are one-line errors with exit 3', async () => {
  const missing = await runCli(['backups', 'nope', '-n', 'ns-fresh'], env);
  assert.is(missing.code, 3);
  assert.match(missing.stderr, /^error: vCluster "nope" not found in namespace ns-fresh; .*\n$/);
  const bad = await runCli(['backups', 'fresh', '-n', 'ns-fresh', '-o', 'wide'], env);
  assert.is(bad.code, 3);
  assert.match(bad.stderr, /^error: unknown -o\/--output value "wide": use one of table, json, yaml\n$/);
});

test.run();
