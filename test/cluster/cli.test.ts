// The cluster CLI the demo uses: starts, writes DIR/kubeconfig once the vClusters are Ready, prints its
// path, serves kubectl, and stops cleanly on SIGTERM.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './testutil.js';

const test = suite('test/cluster/cli.ts');
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

test('prints the kubeconfig of a running cluster with the requested vClusters; SIGTERM stops it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--dir', dir, '--vcluster', 'demo/vcluster-demo', '--vcluster', 'dep/other:deployment'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    void exited.then(() => reject(new Error(`cli exited early: ${stderr}`)));
  });
  try {
    assert.is(firstLine, join(dir, 'kubeconfig'));
    const pods = await run('kubectl', ['--kubeconfig', firstLine, 'get', 'pods', '-A', '-l', 'app=vcluster', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.status.phase} {end}'],
      { env: { KUBECACHEDIR: join(dir, 'cache') } });
    assert.is(pods.code, 0, pods.stderr);
    assert.equal(pods.stdout.trim().split(' ').sort(), ['other/Running', 'vcluster-demo/Running']);
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0, stderr);
  await rm(dir, { recursive: true, force: true });
});

test('bad arguments exit 2 with usage', async () => {
  const r = await run(process.execPath, ['--import', 'tsx', CLI, '--vcluster', 'Bad Name']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /usage: cli\.ts --dir DIR/);
});

test.run();
