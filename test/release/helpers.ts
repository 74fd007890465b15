// Shared helpers for test/release/: async child processes, tool lookup, temp dirs,
// and a fake binary set for archive tests.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as B from '../../scripts/build-lib.mjs';

export const ROOT = B.ROOT;
export const BIN = path.join(B.DIST, B.BIN_NAME);
export const VERSION = B.pkgJson().version;
/** What --version prints in a local build (npm run build, npm test). */
export const DEV_VERSION_LINE = `kubectl-vcluster_certs ${VERSION} (dev build)`;
/** What --version prints in a release build: the commit and the commit's date. */
export const RELEASE_VERSION_LINE = new RegExp(`^kubectl-vcluster_certs ${VERSION.replace(/\./g, '\\.')} \\(commit [0-9a-f]{40}( with uncommitted changes)?, built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)$`);

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command without blocking the event loop (in-process servers keep answering). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? os.tmpdir(), env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
    child.stdin.on('error', () => undefined); // a child that exits without reading stdin: EPIPE
    child.stdin.end(opts.input ?? '');
  });
}

export function which(cmd: string, dirs = (process.env.PATH ?? '').split(path.delimiter)): string | null {
  for (const d of dirs) {
    const p = path.join(d, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); if (fs.statSync(p).isFile()) return p; } catch { /* next */ }
  }
  return null;
}

/** Real kubectl binaries to test with: gcloud's versioned ones and whatever `kubectl` is on PATH (maybe gcloud's dispatcher). */
export function kubectls(): Array<{ label: string; bin: string }> {
  const out: Array<{ label: string; bin: string }> = [];
  const sdk = '/usr/lib/google-cloud-sdk/bin';
  for (const v of ['1.33', '1.32', '1.26']) {
    const p = path.join(sdk, `kubectl.${v}`);
    if (fs.existsSync(p)) out.push({ label: `kubectl ${v}`, bin: p });
  }
  const onPath = which('kubectl', (process.env.PATH ?? '').split(path.delimiter).filter((d) => !d.includes('node_modules')));
  if (onPath) out.push({ label: `kubectl on PATH (${onPath}${fs.realpathSync(onPath) !== onPath ? ` -> ${fs.realpathSync(onPath)}` : ''})`, bin: onPath });
  return out;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A directory for PATH holding the binary as kubectl-vcluster_certs and the completion helper. */
export function pluginPath(dir: string, binary = BIN): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(binary, path.join(dir, 'kubectl-vcluster_certs'));
  fs.copyFileSync(path.join(ROOT, 'completion/kubectl_complete-vcluster_certs'), path.join(dir, 'kubectl_complete-vcluster_certs'));
  fs.chmodSync(path.join(dir, 'kubectl_complete-vcluster_certs'), 0o755);
  return dir;
}

/** Env for a child: PATH limited to `dirs` + system dirs, no kubeconfig unless given. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}, pathDirs: string[] = []): NodeJS.ProcessEnv {
  return {
    PATH: [...pathDirs, '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: process.env.HOME ?? os.tmpdir(),
    KUBECONFIG: path.join(os.tmpdir(), 'vcerts-test-no-kubeconfig'),
    ...extra,
  };
}
