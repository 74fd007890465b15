// Shared by the fault-injection suites: make a vCluster, run a command under a fault, and
// judge the aftermath (all-old or all-new, never mixed) from the simulator's own state.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { typeByKind, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/index.js';
import { BINARY, execFileP, type CliResult } from './helpers.js';
import { secretFiles, type Files } from './pki-oracle.js';

const SECRETS = typeByKind('Secret');
const PODS = typeByKind('Pod');

export interface VC {
  name: string;
  ns: string;
  /** the PKI before the command under test: what "all-old" means */
  original: Files;
}

export class FaultHarness {
  private counter = 0;
  constructor(readonly cluster: SimCluster, readonly env: Record<string, string>, private readonly prefix = 'f') {}

  async freshVCluster(opts: Record<string, unknown> = {}): Promise<VC> {
    const name = `${this.prefix}${++this.counter}`;
    const ns = `ns-${name}`;
    const original = await generatePki({ name, namespace: ns, now: new Date(Date.now() - 3_600_000) });
    await this.cluster.addVCluster({ name, namespace: ns, pki: original, ...opts });
    await this.cluster.waitReady(ns, name);
    return { name, ns, original };
  }

  /** The Secret as it is now becomes the "old" state for the next command. */
  async snapshot(vc: VC): Promise<VC> {
    return { ...vc, original: await secretFiles(this.cluster, vc.ns, vc.name) };
  }

  runningPods(vc: VC): string[] {
    return (this.cluster.store.list(PODS, vc.ns) as Array<{ metadata: { name: string; labels?: Record<string, string> }; status?: { phase?: string } }>)
      .filter((p) => p.metadata.labels?.release === vc.name && p.metadata.labels?.app === 'vcluster' && p.status?.phase === 'Running')
      .map((p) => p.metadata.name);
  }

  async disk(vc: VC, pod: string): Promise<Files> {
    const { stdout } = await execFileP('tar', ['-C', join(this.cluster.podRoot(vc.ns, pod), 'data', 'pki'), '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 26 });
    const { untarFiles } = await import('../../src/kube/pki-source.js');
    return untarFiles(stdout as unknown as Buffer);
  }

  /** 'all-old' or 'all-new' (Secret changed and every running disk equals it); fails when mixed. */
  async consistentState(vc: VC): Promise<'all-old' | 'all-new'> {
    const secret = await secretFiles(this.cluster, vc.ns, vc.name);
    const certMap = [...vc.original.keys()];
    const old = equalOn(secret, vc.original, certMap);
    for (const pod of this.runningPods(vc)) {
      const d = await this.disk(vc, pod);
      assert.ok(equalOn(d, secret, certMap), `${pod}: /data/pki differs from the Secret (${old ? 'old' : 'new'} Secret): a mixed state`);
    }
    return old ? 'all-old' : 'all-new';
  }

  backups(vc: VC): string[] {
    return (this.cluster.store.list(SECRETS, vc.ns) as Array<{ metadata: { name: string } }>)
      .map((s) => s.metadata.name)
      .filter((n) => n.startsWith(`${vc.name}-certs-backup-`));
  }

  secretUpdates(vc: VC): number {
    return this.cluster.requests.filter((r) => r.verb === 'update' && r.resource === 'secrets' && r.name === `${vc.name}-certs` && r.code === 200).length;
  }

  async assertNoStagingLeft(vc: VC): Promise<void> {
    for (const pod of this.runningPods(vc)) {
      const { stdout } = await execFileP('ls', ['-a', join(this.cluster.podRoot(vc.ns, pod), 'data')]);
      assert.not.match(stdout, /pki\.new|pki\.old/, `${pod}: no staging left behind`);
    }
  }

  /** Runs `args` and SIGKILLs it the moment its commit to `<name>-certs` lands. */
  async killAfterCommit(vc: VC, args: string[]): Promise<void> {
    const commits = this.secretUpdates(vc);
    const child = spawn(BINARY, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...this.env }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(signal ? -1 : code)));
    const requests = this.cluster.requests;
    const push = requests.push.bind(requests);
    requests.push = (...recs) => {
      const n = push(...recs);
      if (recs.some((r) => r.verb === 'update' && r.resource === 'secrets' && r.name === `${vc.name}-certs` && r.code === 200)) child.kill('SIGKILL');
      return n;
    };
    try {
      assert.is(await exited, -1, 'killed by the test');
    } finally {
      requests.push = push;
    }
    assert.is(this.secretUpdates(vc), commits + 1, 'the commit landed');
  }
}

function equalOn(a: Files, b: Files, keys: Iterable<string>): boolean {
  for (const k of keys) if (!a.get(k) || !b.get(k) || !a.get(k)!.equals(b.get(k)!)) return false;
  return true;
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function assertFailedWith(r: CliResult, code: number, state: RegExp): void {
  assert.is(r.code, code, `exit code; stderr: ${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop()!;
  assert.match(last, /^error: /);
  assert.match(last, state);
}
