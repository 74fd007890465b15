// kubectl integration with the real kubectl (gcloud's kubectl.1.NN and whatever `kubectl`
// is on PATH, e.g. gcloud's dispatcher): `kubectl vcluster-certs` and `kubectl vcluster_certs`
// run the binary found on PATH, usage text names the command the way the user typed it,
// arguments pass through verbatim, and `kubectl __complete vcluster-certs ...` (kubectl 1.26+)
// goes through the kubectl_complete-vcluster_certs helper.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, DEV_VERSION_LINE, VERSION, cleanEnv, kubectls, pluginPath, run, tmpDir } from './helpers.js';

const test = suite('release: kubectl plugin');
const tmp = tmpDir('kubectl-plugin-test-');
const dir = pluginPath(path.join(tmp, 'bin'));
const env = cleanEnv({ HOME: tmp }, [dir]);
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const firstLine = (s: string) => s.split('\n')[0] ?? '';

test('standalone: usage says `kubectl vcluster-certs` as kubectl-vcluster_certs, the invoked name otherwise', async () => {
  const viaPath = await run('kubectl-vcluster_certs', ['--help'], { env });
  assert.is(viaPath.code, 0, viaPath.stderr);
  assert.is(firstLine(viaPath.stdout), 'kubectl vcluster-certs <command> [options]');
  fs.symlinkSync(BIN, path.join(dir, 'vcerts'));
  const alias = await run('vcerts', ['--help'], { env });
  assert.is(firstLine(alias.stdout), 'vcerts <command> [options]');
  const rel = await run('./bin/vcerts', ['check', '--help'], { env, cwd: tmp });
  assert.is(firstLine(rel.stdout), 'vcerts check [name]', 'a relative path prints the base name');
  const copy = path.join(tmp, 'certs-tool');
  fs.copyFileSync(BIN, copy);
  fs.chmodSync(copy, 0o755);
  const copied = await run(copy, ['--help'], { env });
  assert.is(firstLine(copied.stdout), 'certs-tool <command> [options]');
  const err = await run('vcerts', ['nonsense'], { env });
  assert.is(err.code, 3);
  assert.match(err.stderr, /^error: .*\(see --help\)\n$/);
});

const ks = kubectls();
if (ks.length === 0) {
  console.log('skip: no kubectl found (gcloud SDK kubectl.1.NN or kubectl on PATH)');
  test.skip('kubectl plugin tests: no kubectl installed', () => undefined);
}

for (const k of ks) {
  test(`${k.label}: vcluster-certs and vcluster_certs run the plugin; usage says kubectl vcluster-certs`, async () => {
    for (const name of ['vcluster-certs', 'vcluster_certs']) {
      const v = await run(k.bin, [name, '--version'], { env });
      assert.is(v.stdout.trim(), DEV_VERSION_LINE, `${name}: ${v.stderr}`);
      const h = await run(k.bin, [name, '--help'], { env });
      assert.is(h.code, 0, h.stderr);
      assert.is(firstLine(h.stdout), 'kubectl vcluster-certs <command> [options]');
      const c = await run(k.bin, [name, 'check', '--help'], { env });
      assert.is(firstLine(c.stdout), 'kubectl vcluster-certs check [name]');
    }
  });

  test(`${k.label}: flags after the plugin name reach the plugin verbatim`, async () => {
    const r = await run(k.bin, ['vcluster-certs', 'check', '--kubeconfig', path.join(tmp, 'missing-kubeconfig'), '--context', 'nope'], { env });
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: .*missing-kubeconfig/m);
  });

  test(`${k.label}: kubectl __complete vcluster-certs goes through the completion helper`, async () => {
    const r = await run(k.bin, ['__complete', 'vcluster-certs', ''], { env });
    assert.is(r.code, 0, r.stderr);
    const names = r.stdout.trimEnd().split('\n').map((l) => l.split('\t')[0]);
    for (const c of ['check', 'rotate', 'completion']) assert.ok(names.includes(c), `${c} in ${names}`);
    assert.is(names.at(-1), ':4', 'NoFileComp reaches kubectl');
    assert.match(r.stderr, /kubectl_complete-vcluster_certs/, 'kubectl says it called the helper');
    const o = await run(k.bin, ['__complete', 'vcluster-certs', 'check', '-o', ''], { env });
    assert.equal(o.stdout.trimEnd().split('\n'), ['table', 'wide', 'json', 'yaml', 'prometheus', ':4']);
    const noDesc = await run(k.bin, ['__completeNoDesc', 'vcluster-certs', 'rot'], { env });
    assert.equal(noDesc.stdout.trimEnd().split('\n'), ['rotate', 'rotate-ca', ':4']);
    // without the helper kubectl completes nothing for the plugin
    const bare = path.join(tmp, `bare-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(bare);
    fs.symlinkSync(BIN, path.join(bare, 'kubectl-vcluster_certs'));
    const without = await run(k.bin, ['__complete', 'vcluster-certs', ''], { env: cleanEnv({ HOME: tmp }, [bare]) });
    assert.not.match(without.stdout, /^check/m);
  });
}

test.run();
