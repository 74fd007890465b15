// Kubeconfig resolution must match kubectl's: checked against the real kubectl.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveKubeConfig } from '../../src/kube/config.js';
import { UserError } from '../../src/errors.js';

const run = promisify(execFile);
const test = suite('kubeconfig resolution');
let dir = '';

function kubeconfig(file: string, opts: { current?: string; clusters: Record<string, string>; contexts: Record<string, { cluster: string; ns?: string }> }) {
  const lines = ['apiVersion: v1', 'kind: Config'];
  if (opts.current) lines.push(`current-context: ${opts.current}`);
  lines.push('clusters:');
  for (const [name, server] of Object.entries(opts.clusters)) lines.push(`- name: ${name}`, '  cluster:', `    server: ${server}`);
  lines.push('users:', '- name: u', '  user:', '    token: abc');
  lines.push('contexts:');
  for (const [name, c] of Object.entries(opts.contexts)) {
    lines.push(`- name: ${name}`, '  context:', `    cluster: ${c.cluster}`, '    user: u');
    if (c.ns) lines.push(`    namespace: ${c.ns}`);
  }
  const path = join(dir, file);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vcerts-kc-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('KUBECONFIG merge: first file wins for current-context and duplicate names, like kubectl', async () => {
  const a = kubeconfig('a.yaml', { clusters: { c1: 'https://a.example:6443' }, contexts: { one: { cluster: 'c1', ns: 'team-a' } } });
  const b = kubeconfig('b.yaml', { current: 'two', clusters: { c1: 'https://b.example:6443', c2: 'https://b2.example:6443' }, contexts: { one: { cluster: 'c2' }, two: { cluster: 'c2', ns: 'team-b' } } });
  const c = kubeconfig('c.yaml', { current: 'one', clusters: { c3: 'https://c.example:6443' }, contexts: { three: { cluster: 'c3' } } });
  const env = { KUBECONFIG: [a, join(dir, 'missing.yaml'), b, c].join(':'), HOME: dir };
  const ours = resolveKubeConfig({}, env);
  const { stdout } = await run('kubectl', ['config', 'view', '--merge', '-o', 'json'], { env: { ...process.env, ...env } });
  const theirs = JSON.parse(stdout);
  assert.is(ours.contextName, theirs['current-context']);
  assert.is(ours.contextName, 'two');
  assert.is(ours.namespace, 'team-b');
  const theirCluster = theirs.clusters.find((x: { name: string }) => x.name === 'c2').cluster.server;
  assert.is(ours.server, theirCluster);
  // "one" is defined in a.yaml first: its namespace and cluster c1 from a.yaml win.
  const one = resolveKubeConfig({ context: 'one' }, env);
  const theirOne = theirs.contexts.find((x: { name: string }) => x.name === 'one').context;
  assert.is(one.namespace, theirOne.namespace);
  assert.is(one.server, theirs.clusters.find((x: { name: string }) => x.name === theirOne.cluster).cluster.server);
  assert.is(one.server, 'https://a.example:6443');
});

test('-n beats the context namespace; a context without one means "default"', () => {
  const a = kubeconfig('n.yaml', { current: 'x', clusters: { c: 'https://n.example' }, contexts: { x: { cluster: 'c' } } });
  assert.is(resolveKubeConfig({ kubeconfig: a }).namespace, 'default');
  assert.is(resolveKubeConfig({ kubeconfig: a, namespace: 'ops' }).namespace, 'ops');
});

test('errors say what to do, in one line', () => {
  const a = kubeconfig('e.yaml', { current: 'x', clusters: { c: 'https://e.example' }, contexts: { x: { cluster: 'c' } } });
  const cases: Array<[() => unknown, RegExp]> = [
    [() => resolveKubeConfig({ kubeconfig: join(dir, 'nope') }), /does not exist; pass an existing file/],
    [() => resolveKubeConfig({ kubeconfig: a, context: 'nope' }), /context "nope" not found .*contexts: x/],
    [() => resolveKubeConfig({}, { HOME: join(dir, 'empty-home') }), /no kubeconfig found/],
    [() => resolveKubeConfig({}, { KUBECONFIG: join(dir, 'gone.yaml'), HOME: dir }), /none of the files in KUBECONFIG/],
  ];
  for (const [fn, re] of cases) {
    try {
      fn();
      assert.unreachable('should have thrown');
    } catch (err) {
      assert.instance(err, UserError);
      assert.match((err as Error).message, re);
      assert.not.match((err as Error).message, /\n/);
    }
  }
});

test('a kubeconfig that is not YAML gives a one-line error', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'clusters: [\n  - : : :\n');
  try {
    resolveKubeConfig({ kubeconfig: bad });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, UserError);
    assert.match((err as Error).message, /^cannot read kubeconfig .*bad\.yaml: /);
    assert.not.match((err as Error).message, /\n/);
  }
});

test.run();
