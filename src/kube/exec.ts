// Runs a fixed argv in a pod container over the exec WebSocket (v5/v4 channel protocol).
// Data never goes through a shell string: callers pass argv arrays and stream bytes on stdin.
import { Readable, Writable } from 'node:stream';
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { describeNetworkError } from './client.js';
import { Exec, WebSocketHandler, type V1Status } from './k8s.js';

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin?: Buffer;
  /** stdout beyond this aborts the command (default 64 MiB) */
  maxOutputBytes?: number;
  /** whole command deadline (default 120 s) */
  timeoutMs?: number;
  /** read-only commands may be retried once when the connection drops */
  readOnly?: boolean;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** The connection ended without the status frame: the result is unknown. */
export class ExecDroppedError extends UserError {}

class Collector extends Writable {
  chunks: Buffer[] = [];
  size = 0;
  constructor(private readonly limit: number, private readonly onOverflow: () => void) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.size += chunk.length;
    if (this.size > this.limit) this.onOverflow();
    else this.chunks.push(chunk);
    cb();
  }
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function exitCodeFromStatus(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message && /^\d+$/.test(cause.message)) return Number(cause.message);
  return -1;
}

function describeUpgradeFailure(err: unknown, req: ExecRequest, kube: Kube): UserError {
  const text = err instanceof Error ? err.message : String((err as { message?: string })?.message ?? err);
  const code = /Unexpected server response: (\d+)/.exec(text)?.[1];
  const where = `pod ${req.namespace}/${req.pod}`;
  if (code === '403') {
    return new UserError(`exec into ${where} is forbidden: you need "create" on pods/exec in namespace ${req.namespace} (or use --source secret)`, 3, err, 'forbidden');
  }
  if (code === '401') return new UserError(`exec into ${where}: the host cluster rejected your credentials (401); refresh your kubeconfig login`, 3, err);
  if (code === '404') return new UserError(`exec into ${where}: the pod is gone (404); it may be restarting, try again`, 3, err);
  if (code === '400') return new UserError(`exec into ${where} was refused (400): the container "${req.container}" may not be running yet; wait until the pod is Ready`, 3, err);
  if (code) return new UserError(`exec into ${where} failed: the API server answered ${code}`, 3, err);
  return new UserError(`exec into ${where} failed: ${describeNetworkError((err as { error?: unknown })?.error ?? err, kube.server)}`, 3, err);
}

async function execOnce(kube: Kube, req: ExecRequest): Promise<ExecResult> {
  const limit = req.maxOutputBytes ?? 64 * 1024 * 1024;
  const timeoutMs = req.timeoutMs ?? 120_000;
  let failure: UserError | undefined;
  let ws: { close(): void; on?(ev: string, fn: (...a: unknown[]) => void): void } | undefined;
  const fail = (e: UserError) => {
    if (!failure) failure = e;
    ws?.close();
  };
  const stdout = new Collector(limit, () => fail(new UserError(`output of "${req.command[0]}" in pod ${req.pod} exceeds ${limit} bytes; aborted`)));
  const stderr = new Collector(1024 * 1024, () => undefined);
  const stdin = req.stdin ? Readable.from([req.stdin]) : null;
  const handler = new WebSocketHandler(kube.kc, undefined, { stdin: stdin ?? Readable.from([]), stdout, stderr });
  const exec = new Exec(kube.kc, handler);
  kube.stats.execs++;

  return new Promise<ExecResult>((resolve, reject) => {
    let status: V1Status | undefined;
    const timer = setTimeout(() => fail(new UserError(`"${req.command[0]}" in pod ${req.namespace}/${req.pod} did not finish within ${timeoutMs / 1000}s; aborted`)), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (!status) {
        return reject(new ExecDroppedError(`the exec connection to pod ${req.namespace}/${req.pod} dropped before "${req.command[0]}" finished; the pod may be restarting, try again`));
      }
      resolve({ stdout: stdout.data, stderr: stderr.data, exitCode: exitCodeFromStatus(status) });
    };
    exec
      .exec(req.namespace, req.pod, req.container, req.command, stdout, stderr, stdin, false, (s) => {
        status = s;
      })
      .then((conn) => {
        ws = conn as unknown as typeof ws;
        const socket = conn as unknown as { on(ev: string, fn: (...a: unknown[]) => void): void; readyState: number };
        if (socket.readyState === 3) return finish();
        socket.on('close', () => finish());
        socket.on('error', () => undefined); // close follows; the missing status tells what happened
      })
      .catch((err) => {
        clearTimeout(timer);
        reject(describeUpgradeFailure(err, req, kube));
      });
  });
}

/** Runs req.command; a dropped connection is retried once for read-only commands. */
export async function execInPod(kube: Kube, req: ExecRequest): Promise<ExecResult> {
  try {
    return await execOnce(kube, req);
  } catch (err) {
    if (req.readOnly && err instanceof ExecDroppedError) return execOnce(kube, req);
    throw err;
  }
}
