// Container runtime of the simulated cluster: every pod is a directory tree holding Debian's static
// busybox (vCluster's syncer image is alpine, so its sh/tar/cp/mv are busybox too) and commands run with
// `chroot ROOT argv...` (argv arrays only). Where chroot(2) is not permitted we fall back to an
// unprivileged user + mount namespace (`unshare -r -m chroot ...`).

import { spawn, ChildProcess, execFile } from 'node:child_process';
import { access, copyFile, mkdir, symlink, writeFile, chmod, constants } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const BUSYBOX_CANDIDATES = ['/usr/bin/busybox', '/bin/busybox'];
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

type ChrootMode = 'chroot' | 'unshare';

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && code === 127 ? err.message : '')) });
    });
  });
}

export class ContainerRuntime {
  private mode: ChrootMode = 'chroot';
  readonly imageDir: string;

  constructor(stateDir: string) {
    this.imageDir = join(stateDir, 'image');
  }

  /** Builds the busybox image once and finds out how we may enter a chroot. */
  async init(): Promise<void> {
    const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
    if (!busybox) {
      throw new Error('the simulated cluster needs a static busybox at /usr/bin/busybox: apt-get install -y busybox-static');
    }
    const img = this.imageDir;
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'dev', 'root', 'data']) {
      await mkdir(join(img, d), { recursive: true });
    }
    await copyFile(busybox, join(img, 'bin/busybox'));
    await chmod(join(img, 'bin/busybox'), 0o755);
    const list = await run(busybox, ['--list-full']);
    if (list.code !== 0) throw new Error(`${busybox} --list-full failed: ${list.stderr}`);
    // Relative symlinks resolve the same inside and outside the chroot, so we can check commands exist.
    await Promise.all(
      list.stdout
        .split('\n')
        .filter((l) => l && l !== 'bin/busybox')
        .map(async (applet) => {
          const link = join(img, applet);
          await mkdir(dirname(link), { recursive: true });
          await symlink(relative(dirname(link), join(img, 'bin/busybox')), link).catch((e) => {
            if (e.code !== 'EEXIST') throw e;
          });
        }),
    );
    await writeFile(join(img, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n');
    await writeFile(join(img, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
    await writeFile(join(img, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
    await chmod(join(img, 'tmp'), 0o1777);
    // Device nodes need root; without them a redirect to /dev/null just creates a file.
    for (const [name, minor] of [['null', '3'], ['zero', '5'], ['urandom', '9']] as const) {
      await run('mknod', ['-m', '666', join(img, 'dev', name), 'c', '1', minor]);
    }
    this.mode = await this.detectMode();
  }

  private async detectMode(): Promise<ChrootMode> {
    const direct = await run('chroot', [this.imageDir, '/bin/busybox', 'true']);
    if (direct.code === 0) return 'chroot';
    const userns = await run('unshare', ['-r', '-m', 'chroot', this.imageDir, '/bin/busybox', 'true']);
    if (userns.code === 0) return 'unshare';
    throw new Error(
      'the simulated cluster runs pod commands in chroot(2) and may not: ' +
        `\`chroot\` said "${direct.stderr.trim()}" and \`unshare -r -m chroot\` said "${userns.stderr.trim()}". ` +
        'Run the tests as root (or with CAP_SYS_CHROOT), or enable unprivileged user namespaces ' +
        '(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0).',
    );
  }

  get chrootMode(): ChrootMode {
    return this.mode;
  }

  /** Fills a pod root with the image (hard links: cheap and the same filesystem). Idempotent. */
  async populateRoot(root: string): Promise<void> {
    if (existsSync(join(root, 'bin/busybox'))) return;
    await mkdir(root, { recursive: true });
    const r = await run('cp', ['-a', '-l', '-n', `${this.imageDir}/.`, `${root}/`]);
    if (r.code !== 0) {
      const copy = await run('cp', ['-a', '-n', `${this.imageDir}/.`, `${root}/`]);
      if (copy.code !== 0) throw new Error(`could not build pod root ${root}: ${copy.stderr}`);
    }
  }

  /** True when argv[0] names an executable inside the root (absolute path, or found on the container PATH). */
  async commandExists(root: string, command: string): Promise<boolean> {
    const candidates = command.includes('/')
      ? [join(root, command)]
      : CONTAINER_PATH.split(':').map((d) => join(root, d, command));
    for (const c of candidates) {
      try {
        await access(c, constants.X_OK);
        return true;
      } catch {
        // try the next one
      }
    }
    return false;
  }

  spawn(root: string, argv: string[], env: Record<string, string>, stdin: boolean): ChildProcess {
    const [cmd, args] = this.mode === 'chroot'
      ? ['chroot', [root, ...argv]]
      : ['unshare', ['-r', '-m', 'chroot', root, ...argv]];
    return spawn(cmd, args, {
      env: { PATH: CONTAINER_PATH, HOME: '/root', ...env },
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      cwd: '/',
    });
  }
}
