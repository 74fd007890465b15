// restore never prunes the backup it restores: with more backup Secrets than are kept, restoring the
// oldest one works (it is there when the PKI is read back, committed and verified), and afterwards
// it is still there; pruning happens after the verified change and keeps the newest ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, startCluster, typeByKind, type SimCluster } from '../cluster/index.js';
import { runCli } from './helpers.js';
import { secretFiles } from './pki-oracle.js';

const SECRETS = typeByKind('Secret');
const test = suite('restore and pruning');
let cluster: SimCluster;

test.before(async () => {
  cluster = await startCluster();
});
test.after(() => cluster?.close());

const backupNames = (ns: string, name: string) => cluster.store.list(SECRETS, ns)
  .map((s) => (s as { metadata: { name: string } }).metadata.name)
  .filter((n) => n.startsWith(`${name}-certs-backup-`)).sort();

test('restoring the oldest of seven backups: it is restored and kept; the rest is pruned to the newest five', async () => {
  const name = 'prune';
  const ns = 'ns-prune';
  const old = await generatePki({ name, namespace: ns, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name, namespace: ns, pki: old });
  await cluster.waitReady(ns, name);
  // Seven backups as an earlier tool or admin left them; the oldest holds the PKI we will want back.
  const wanted = await generatePki({ name, namespace: ns, now: new Date(Date.now() - 7_200_000) });
  const base = Math.floor(Date.now() / 1000) - 86_400;
  for (let i = 0; i < 7; i++) {
    const pki = i === 0 ? wanted : old;
    cluster.store.create(SECRETS, {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: `${name}-certs-backup-${base + i}`, namespace: ns, labels: { 'vcluster-certs.dev/backup-of': name }, annotations: { 'vcluster-certs.dev/reason': 'rotate' } },
      data: Object.fromEntries([...pki].map(([f, v]) => [f.replace(/^etcd\//, 'etcd-'), v.toString('base64')])),
    });
  }
  const r = await runCli(['restore', name, '-n', ns, '--backup', String(base), '--from', 'secret', '--no-rotate', '--yes'], { KUBECONFIG: cluster.kubeconfigPath });
  assert.is(r.code, 0, r.stderr);
  const after = await secretFiles(cluster, ns, name);
  for (const f of ['ca.crt', 'apiserver.crt', 'admin.conf']) assert.ok(after.get(f)!.equals(wanted.get(f)!), `${f} restored`);
  const left = backupNames(ns, name);
  assert.ok(left.includes(`${name}-certs-backup-${base}`), `the restored backup is kept: ${left.join(', ')}`);
  // Eight with restore's own snapshot of what it replaced: the newest five, and the restored one.
  assert.is(left.length, 6, `the newest five and the restored one: ${left.join(', ')}`);
});

test.run();
