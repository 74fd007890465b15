// The pod runtime: chroot as root, and the `unshare -r -m` fallback for a user that may not chroot
// (checked by running the runtime as `nobody` through setpriv when the tests run as root).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainerRuntime } from './runtime.js';
import { run } from './testutil.js';

const test = suite('pod runtime (chroot trees with busybox)');
const RUNTIME = fileURLToPath(new URL('./runtime.ts', import.meta.url));
const isRoot = process.getuid?.() === 0;

test('as root: plain chroot, applets are relative links to /bin/busybox, commands found on PATH', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runtime-'));
  const rt = new ContainerRuntime(dir);
  await rt.init();
  assert.is(rt.chrootMode, isRoot ? 'chroot' : 'unshare');
  const root = join(dir, 'pod');
  await rt.populateRoot(root);
  assert.is(await readlink(join(root, 'bin/sh')), 'busybox');
  assert.ok(await rt.commandExists(root, 'tar'));
  assert.ok(await rt.commandExists(root, '/bin/sh'));
  assert.not.ok(await rt.commandExists(root, 'bash'));
  const child = rt.spawn(root, ['sh', '-c', 'echo $PATH; ls /'], {}, false);
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.on('close', r));
  assert.is(code, 0);
  assert.match(out, /^\/usr\/local\/sbin:.*:\/bin\n/);
  assert.ok(out.includes('data\n') && !out.includes('work\n'), 'the host tree is not visible');
  await rm(dir, { recursive: true, force: true });
});

const asNobody = isRoot && existsSync('/usr/bin/setpriv') ? test : test.skip;
asNobody('as an unprivileged user: falls back to `unshare -r -m` + chroot', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runtime-nobody-'));
  await chmod(dir, 0o777);
  const script = `const { ContainerRuntime } = await import(${JSON.stringify(RUNTIME)}); const r = new ContainerRuntime(${JSON.stringify(join(dir, 'state'))}); await r.init(); console.log(r.chrootMode);`;
  const r = await run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', script], {
    env: { HOME: dir },
  });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'unshare');
  await rm(dir, { recursive: true, force: true });
});

test.run();
