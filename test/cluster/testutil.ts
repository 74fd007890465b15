// Helpers shared by the simulator's own tests.

import { spawn } from 'node:child_process';
import type { RequestOptions } from 'node:https';
import WebSocket from 'ws';
import { parse as parseYaml } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { generatePki, PkiOptions } from './pkigen.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously (the simulator in this process must keep answering). */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A kubeadm-profile vCluster PKI from the openssl-based generator (keys shared across tests for speed). */
export function testPki(name: string, namespace: string, extra: Partial<PkiOptions> = {}): Promise<Map<string, Buffer>> {
  return generatePki({ name, namespace, reuseKeys: true, ...extra });
}

export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** CA, client certificate and key of a vCluster's admin.conf, for TLS to its endpoint. */
export function adminTls(pki: Map<string, Buffer>): { ca: string; cert: string; key: string } {
  const doc = parseYaml((pki.get('admin.conf') as Buffer).toString('utf8'));
  const d = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return {
    ca: d(doc.clusters[0].cluster['certificate-authority-data']),
    cert: d(doc.users[0].user['client-certificate-data']),
    key: d(doc.users[0].user['client-key-data']),
  };
}

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The Status body of a refused exec/port-forward WebSocket upgrade (rejects if the upgrade succeeds). */
export async function upgradeError(url: string, kubeconfig: string, path: string): Promise<{ code: number; reason: string; message: string }> {
  const kc = kubeConfigFrom(kubeconfig);
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('https', 'wss')}${path}`, ['v5.channel.k8s.io'], opts as WebSocket.ClientOptions);
    ws.on('open', () => reject(new Error('upgrade unexpectedly accepted')));
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
  });
}

/**
 * `kubectl port-forward pod/POD :PORT...` with the real kubectl: resolves with the local port of each
 * remote port once kubectl says it is forwarding; stop() ends it.
 */
export async function kubectlPortForward(
  kubectl: string, kubeconfig: string, namespace: string, pod: string, ports: number[], env: Record<string, string | undefined> = process.env,
): Promise<{ local: Record<number, number>; stop(): void }> {
  const child = spawn(kubectl, ['--kubeconfig', kubeconfig, '-n', namespace, 'port-forward', `pod/${pod}`, ...ports.map((p) => `:${p}`)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const local = await new Promise<Record<number, number>>((resolve, reject) => {
      const found: Record<number, number> = {};
      let out = '';
      const timer = setTimeout(() => reject(new Error(`kubectl port-forward did not start: ${out}`)), 15_000);
      const onData = (d: Buffer) => {
        out += d;
        for (const m of out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)) found[Number(m[2])] = Number(m[1]);
        if (ports.every((p) => found[p])) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', () => reject(new Error(`kubectl port-forward exited: ${out}`)));
    });
    return { local, stop: () => child.kill() };
  } catch (err) {
    child.kill();
    throw err;
  }
}
