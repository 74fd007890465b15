// check across several host clusters (kubeconfig contexts), and -o prometheus / --textfile of the
// built binary against simulated clusters; metrics judged by the npm parser and promtool.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, startCluster, type SimCluster } from '../cluster/index.js';
import { DAY, freePort, runCli } from './helpers.js';
import { parseExposition, promtool, sample } from './prom.js';

const test = suite('contexts e2e');
let east: SimCluster;
let west: SimCluster;
let scratch = '';
let kubeconfig = '';

interface Kc { clusters: Array<{ name: string; cluster: Record<string, unknown> }>; users: Array<{ name: string; user: unknown }>; contexts: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }> }

/** Entries of one simulator kubeconfig, renamed to `ctx`, pointing at `server` when given. */
function entries(path: string, ctx: string, server?: string) {
  const kc = parseYaml(readFileSync(path, 'utf8')) as Kc;
  return {
    clusters: [{ name: ctx, cluster: { ...kc.clusters[0]!.cluster, ...(server ? { server } : {}) } }],
    users: [{ name: ctx, user: kc.users[0]!.user }],
    contexts: [{ name: ctx, context: { ...kc.contexts[0]!.context, cluster: ctx, user: ctx } }],
  };
}

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));

async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-ctx-'));
  [east, west] = await Promise.all([startCluster(), startCluster()]);
  const now = Date.now();
  await Promise.all([
    generatePki({ name: 'alpha', namespace: 'team-a' }).then((pki) => east.addVCluster({ name: 'alpha', namespace: 'team-a', pki })),
    generatePki({ name: 'beta', namespace: 'team-b', now: new Date(now - 345 * DAY) }).then((pki) => east.addVCluster({ name: 'beta', namespace: 'team-b', pki })),
    // The same namespace and name as in east: only the context tells them apart.
    generatePki({ name: 'alpha', namespace: 'team-a', expiredLeafs: true }).then((pki) => west.addVCluster({ name: 'alpha', namespace: 'team-a', pki, persistence: false })),
  ]);
  const forbidden = await west.addUser('nobody', { allow: [] });
  const parts = [
    entries(east.kubeconfigPath, 'east'),
    entries(west.kubeconfigPath, 'west'),
    entries(west.kubeconfigPath, 'down', `https://127.0.0.1:${await freePort()}`),
    entries(forbidden, 'locked'),
  ];
  kubeconfig = join(scratch, 'kubeconfig');
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'east', preferences: {},
    clusters: parts.flatMap((p) => p.clusters), users: parts.flatMap((p) => p.users), contexts: parts.flatMap((p) => p.contexts),
  }), { mode: 0o600 });
}

test.after(async () => {
  await Promise.all([east?.close(), west?.close()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const env = () => ({ KUBECONFIG: kubeconfig });

test('--contexts: every cluster checked, each report carries its context; the exit code is the worst', async () => {
  const r = await runCli(['check', '-A', '--source', 'secret', '--contexts', 'east,west', '-o', 'json'], env());
  assert.is(r.code, 2, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.contexts, [{ name: 'east', vclusters: 2 }, { name: 'west', vclusters: 1 }]);
  const got = doc.vclusters.map((v: { context: string; namespace: string; name: string; result: string }) => `${v.context}/${v.namespace}/${v.name}=${v.result}`);
  assert.equal(got, ['east/team-a/alpha=OK', 'east/team-b/beta=ATTENTION', 'west/team-a/alpha=BROKEN']);
  const east1 = await runCli(['check', '-A', '--source', 'secret', '--contexts', 'east'], env());
  assert.is(east1.code, 1, east1.stderr);
  assert.match(east1.stdout, /vCluster alpha \(context east, namespace team-a/);
  assert.match(east1.stdout, /CONTEXT\s+\|\s+VCLUSTERS\s+\|\s+RESULT/);
});

test('--all-contexts: an unreachable and a forbidden cluster are reported while the others complete', async () => {
  const r = await runCli(['check', '-A', '--source', 'secret', '--all-contexts', '-o', 'json', '--request-timeout', '5s'], env());
  assert.is(r.code, 3, r.stderr);
  const doc = JSON.parse(r.stdout);
  const byName = Object.fromEntries(doc.contexts.map((c: { name: string }) => [c.name, c]));
  assert.is(byName.east.vclusters, 2);
  assert.is(byName.west.vclusters, 1);
  assert.is(byName.down.failure, 'unreachable');
  assert.match(byName.down.error, /refused/);
  assert.is(byName.locked.failure, 'forbidden');
  assert.is(doc.vclusters.length, 3, 'the reachable clusters are all there');
  const errs = r.stderr.trim().split('\n');
  assert.is(errs.length, 2, r.stderr);
  assert.ok(errs.every((l) => /^error: context (down|locked): /.test(l)), r.stderr);
  // one context at a time: the same document
  const serial = await runCli(['check', '-A', '--source', 'secret', '--all-contexts', '-o', 'json', '--request-timeout', '5s', '--context-concurrency', '1'], env());
  assert.is(serial.code, 3, serial.stderr);
  assert.equal(JSON.parse(serial.stdout), doc);
  const table = await runCli(['check', '-A', '--source', 'secret', '--all-contexts', '--request-timeout', '5s'], env());
  assert.is(table.code, 3);
  assert.match(table.stdout, /down\s+\|\s+0\s+\|\s+unreachable: /);
  assert.match(table.stdout, /locked\s+\|\s+0\s+\|\s+forbidden: /);
});

test('flags: unknown context, --context with --contexts', async () => {
  const r = await runCli(['check', '-A', '--contexts', 'east,nowhere'], env());
  assert.is(r.code, 3);
  assert.match(r.stderr, /^error: context nowhere not in the kubeconfig \(contexts: east, west, down, locked\)\n$/);
  const both = await runCli(['check', '-A', '--contexts', 'east', '--context', 'west'], env());
  assert.is(both.code, 3);
  assert.match(both.stderr, /^error: --context names one context/);
  const cc = await runCli(['check', '-A', '--all-contexts', '--context-concurrency', '1.5'], env());
  assert.is(cc.code, 3);
  assert.match(cc.stderr, /^error: --context-concurrency takes a whole number \(0 or more\), not 1.5\n$/);
  const tf = await runCli(['check', '-A', '--textfile', join(scratch, 'x.prom')], env());
  assert.match(tf.stderr, /^error: --textfile writes metrics: add -o prometheus\n$/);
});

test('-o prometheus across contexts: valid for promtool and the parser, one context_up per context', async () => {
  const r = await runCli(['check', '-A', '--source', 'secret', '--all-contexts', '-o', 'prometheus', '--request-timeout', '5s'], env());
  assert.is(r.code, 3, r.stderr);
  const lint = await promtool(r.stdout);
  assert.is(lint.code, 0, lint.output);
  const fams = parseExposition(r.stdout);
  assert.is(sample(fams, 'vcluster_certs_context_up', { context: 'east' })!.value, '1');
  assert.is(sample(fams, 'vcluster_certs_context_up', { context: 'down' })!.value, '0');
  assert.is(sample(fams, 'vcluster_certs_context_up', { context: 'locked' })!.value, '0');
  const expiredWest = fams.get('vcluster_certs_cert_expired')!.metrics.filter((m) => m.labels.context === 'west' && m.value === '1');
  assert.ok(expiredWest.length > 0, 'west has expired leafs');
  assert.not.ok(fams.get('vcluster_certs_cert_expired')!.metrics.some((m) => m.labels.context === 'east' && m.value === '1'));
  assert.is(sample(fams, 'vcluster_certs_vcluster_result', { context: 'east', vcluster: 'beta', result: 'ATTENTION' })!.value, '1');
  // The exporter's dates are the certificates' own: compare with the JSON of the same check.
  const json = JSON.parse((await runCli(['check', 'alpha', '-n', 'team-a', '--source', 'secret', '--context', 'east', '-o', 'json'], env())).stdout);
  const ca = json.vclusters[0].certificates.find((c: { filename: string }) => c.filename === 'ca.crt');
  const m = sample(fams, 'vcluster_certs_cert_not_after_timestamp_seconds', { context: 'east', vcluster: 'alpha', filename: 'ca.crt' })!;
  assert.is(Number(m.value), Date.parse(ca.expiryTime) / 1000);
  assert.is(m.labels.serial_number, ca.serial);
});

test('--metric-style x509 --textfile: the file holds enix names, mode 0644; stdout stays empty', async () => {
  const file = join(scratch, 'vcluster_certs.prom');
  const r = await runCli(['check', '-A', '--source', 'secret', '--contexts', 'east,west', '-o', 'prometheus', '--metric-style', 'x509', '--textfile', file], env());
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stdout, '');
  assert.is(statSync(file).mode & 0o777, 0o644);
  const text = readFileSync(file, 'utf8');
  assert.is((await promtool(text)).code, 0);
  const fams = parseExposition(text);
  const west = sample(fams, 'x509_cert_not_after', { context: 'west', secret_namespace: 'team-a', secret_name: 'alpha-certs', secret_key: 'apiserver.crt' });
  assert.ok(west, 'enix labels with the context');
  assert.is(sample(fams, 'x509_cert_expired', { context: 'west', secret_key: 'apiserver.crt' })!.value, '1');
  const bad = await runCli(['check', '-A', '-o', 'prometheus', '--metric-style', 'enix'], env());
  assert.match(bad.stderr, /^error: unknown --metric-style value "enix": use one of native, x509\n$/);
});

test.run();
