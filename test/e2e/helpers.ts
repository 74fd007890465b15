// Shared pieces of the end-to-end tests: the built binary, run against the simulator.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startCluster, type SimCluster } from '../cluster/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BINARY = join(ROOT, 'dist', 'kubectl-vcluster_certs');
export const execFileP = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built binary (what users get) with a clean environment plus `env`. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, stdin?: string): Promise<CliResult> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build" (npm test builds it)`);
  return new Promise((resolve) => {
    const child = spawn(BINARY, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** `openssl x509` facts about one PEM certificate, as an independent oracle. */
export async function opensslFacts(pem: string): Promise<{ subjectCN: string; issuerCN: string; notAfter: Date }> {
  const child = execFileP('openssl', ['x509', '-noout', '-subject', '-issuer', '-enddate', '-nameopt', 'RFC2253'], {});
  child.child.stdin!.end(pem);
  const { stdout } = await child;
  const cn = (line: string) => /CN=([^,]+)/.exec(line)?.[1]?.replace(/\\/g, '') ?? '';
  const lines = stdout.split('\n');
  const subject = lines.find((l) => l.startsWith('subject='))!;
  const issuer = lines.find((l) => l.startsWith('issuer='))!;
  const end = lines.find((l) => l.startsWith('notAfter='))!.slice('notAfter='.length);
  return { subjectCN: cn(subject), issuerCN: cn(issuer), notAfter: new Date(end) };
}

export const DAY = 86_400_000;

/** A loopback port nothing listens on (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** The real kubectl the e2e tests judge vCluster endpoints with. */
export const REAL_KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

/**
 * `kubectl get --raw PATH` with the kubeconfig `conf` against https://127.0.0.1:PORT (a pod's
 * vCluster endpoint); ok when it answered, output = what kubectl printed (its error on failure).
 */
export async function kubectlRaw(conf: Buffer | string, port: number, path = '/version'): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-kubectl-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, conf, { mode: 0o600 });
  try {
    const r = await execFileP(REAL_KUBECTL, ['--kubeconfig', file, '--server', `https://127.0.0.1:${port}`, '--request-timeout', '10s', 'get', '--raw', path], { env: { PATH: '/usr/bin:/bin', HOME: dir } });
    return { ok: true, output: r.stdout };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** stdout as JSON, or an error that shows what came instead. */
export function parseJsonOutput(r: CliResult) {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr}`);
  }
}

/** The CLI failed with `code` and said so in one `error:` line matching `re`, without a stack trace. */
export function assertOneLineError(r: CliResult, code: number, re: RegExp): void {
  if (r.code !== code) throw new Error(`exit code ${r.code}, expected ${code} (stdout: ${r.stdout} stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  if (lines.length !== 1) throw new Error(`one line on stderr expected, got: ${r.stderr}`);
  if (!/^error: /.test(lines[0]!) || !re.test(lines[0]!)) throw new Error(`stderr ${JSON.stringify(lines[0])} does not match ${re}`);
  if (/\n\s+at /.test(r.stderr)) throw new Error('stack trace on stderr');
}

/**
 * One simulated host cluster for a suite: started before its first test, closed after the last.
 * `ready` receives the cluster and the environment that points the CLI at it.
 */
export function useSimulatedCluster(
  test: { before(fn: () => Promise<void>): void; after(fn: () => Promise<void>): void },
  ready: (cluster: SimCluster, env: Record<string, string>) => void,
): void {
  let started: SimCluster | undefined;
  test.before(async () => {
    started = await startCluster();
    ready(started, { KUBECONFIG: started.kubeconfigPath });
  });
  test.after(async () => {
    await started?.close();
  });
}
