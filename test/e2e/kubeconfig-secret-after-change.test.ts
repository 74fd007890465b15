// The simulated syncer rewrites vc-<name> from admin.conf on every start, as upstream's does; after
// rotate-ca (hard, graceful, finalize) and rotate, verification finds it accepted and says nothing.
// A syncer that stops rewriting it leaves the old credentials: the change succeeds with a warning.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, typeByKind, type SimCluster } from '../cluster/index.js';
import { runCli, useSimulatedCluster } from './helpers.js';
import { kubeconfigCreds, opensslVerifies, secretFiles } from './pki-oracle.js';

const test = suite('vc-<name> after a change e2e');
const SECRETS = typeByKind('Secret');
let cluster: SimCluster;
let env: Record<string, string>;

useSimulatedCluster(test, (c, e) => {
  cluster = c;
  env = e;
});

async function vcluster(name: string, ns: string): Promise<void> {
  const pki = await generatePki({ name, namespace: ns, now: new Date(Date.now() - 3_600_000) });
  await cluster.addVCluster({ name, namespace: ns, pki, replicas: 2 });
  await cluster.waitReady(ns, name);
}

function exported(ns: string, name: string): Buffer {
  const s = cluster.store.peek(SECRETS, ns, `vc-${name}`) as { data: Record<string, string> } | undefined;
  assert.ok(s, `vc-${name} exists`);
  return Buffer.from(s!.data.config!, 'base64');
}

const vcWarnings = (stdout: string, name: string) => (JSON.parse(stdout).warnings as string[]).filter((w) => w.includes(`/vc-${name}`));

test('the syncer writes vc-<name> on start: admin.conf with server https://localhost:8443, its parts under their keys', async () => {
  await vcluster('w', 'ns-w');
  const conf = exported('ns-w', 'w').toString();
  assert.match(conf, /server: https:\/\/localhost:8443/);
  const s = cluster.store.peek(SECRETS, 'ns-w', 'vc-w') as unknown as { data: Record<string, string> };
  assert.is(s.data['client-certificate'], /client-certificate-data: (\S+)/.exec(conf)![1]);
  assert.is(s.data.token, '');
  assert.ok(s.data['client-key'] && s.data['certificate-authority']);
});

test('after rotate-ca, --graceful, --finalize and rotate: vc-<name> holds the new admin credentials, no warning', async () => {
  for (const args of [[], ['--graceful'], ['--finalize']]) {
    const r = await runCli(['rotate-ca', 'w', '-n', 'ns-w', ...args, '--yes', '-o', 'json'], env);
    assert.is(r.code, 0, r.stderr);
    assert.equal(vcWarnings(r.stdout, 'w'), [], `rotate-ca ${args.join(' ')}`);
    const pki = await secretFiles(cluster, 'ns-w', 'w');
    const creds = kubeconfigCreds(exported('ns-w', 'w'));
    assert.is(creds.cert, kubeconfigCreds(pki.get('admin.conf')!).cert, 'rewritten from the new admin.conf');
    assert.ok(await opensslVerifies(creds.cert, pki.get('client-ca.crt')!.toString()), 'its client certificate verifies against client-ca.crt');
  }
  const r = await runCli(['rotate', 'w', '-n', 'ns-w', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  assert.equal(vcWarnings(r.stdout, 'w'), []);
});

test('a syncer that does not rewrite vc-<name>: rotate-ca is done, with a warning naming the Secret', async () => {
  await vcluster('nw', 'ns-nw');
  const before = exported('ns-nw', 'nw');
  cluster.setSyncerBehaviour('ns-nw', 'nw', { writeKubeconfigSecret: false });
  const r = await runCli(['rotate-ca', 'nw', '-n', 'ns-nw', '--yes', '-o', 'json'], env);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).result, 'done');
  assert.ok(exported('ns-nw', 'nw').equals(before), 'still the old kubeconfig');
  const w = vcWarnings(r.stdout, 'nw');
  assert.is(w.length, 1, JSON.stringify(JSON.parse(r.stdout).warnings));
  assert.match(w[0]!, /^secret ns-nw\/vc-nw \(context "[^"]*"\) is not accepted by the vCluster after the change: .*kubeconfig check nw -n ns-nw/);
});

test.run();
