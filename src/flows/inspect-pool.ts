// Certificate inspection spread over worker threads for a fleet check. Parsing and verifying a
// PKI is CPU work, so `check -A` over hundreds of vClusters is bound by one core
// unless other cores help. The main thread stays a lane of its own; a worker that fails hands its
// jobs back to the main thread, so the pool can only change how fast a check is, never its result.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { InspectOptions } from '../pki/inspect.js';
import type { InspectJob } from './inspect-worker.js';
import { packFiles } from '../pki/packed-files.js';
import type { SecretListDigest } from '../pki/secret-digest.js';
import type { CertRow, PkiFiles } from '../pki/types.js';

/** The worker bundle (src/flows/inspect-worker.ts), injected by build.mjs; absent when run from source. */
declare const __INSPECT_WORKER__: string | null | undefined;

export function builtWorkerSource(): string | undefined {
  return typeof __INSPECT_WORKER__ === 'string' ? __INSPECT_WORKER__ : undefined;
}

/** Worker threads to add to the main thread: one per spare core, at most 3; VCERTS_THREADS overrides. */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.VCERTS_THREADS;
  if (v !== undefined && /^\d+$/.test(v.trim())) return Math.min(Number(v), 8);
  return Math.max(0, Math.min(availableParallelism() - 1, 3));
}

/**
 * A worker parses a chunk of Secrets at a time and keeps nothing between jobs: a small young
 * generation keeps its garbage from growing the process (a fleet check's peak memory), and the
 * old-generation cap is only a ceiling. A worker that hits it dies and its jobs run here instead.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 128 };

/** Jobs queued per worker: enough to keep it busy between replies, few enough to balance. */
const QUEUE_PER_WORKER = 2;

/** A job as the worker gets it (without its id), and what its buffers are handed over with. */
interface Posted {
  job: DistributiveOmit<InspectJob, 'id'>;
  transfer: ArrayBuffer[];
}

interface Pending {
  /** made only when a worker takes the job (packing costs a copy) */
  toWorker: () => Posted;
  /** the same job, run on this thread instead */
  inline: () => unknown;
  resolve: (result: unknown) => void;
  reject: (e: Error) => void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Lane {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: boolean;
}

export interface InspectPool {
  /** worker threads started (0: everything runs on the main thread) */
  readonly threads: number;
  /** PKIs inspected by workers so far */
  readonly offloaded: number;
  inspect(files: PkiFiles, opts: InspectOptions): Promise<CertRow[]>;
  /**
   * A page of a Secret list (the API's JSON bytes), parsed and its `<name>-certs` Secrets inspected; null: not JSON.
   * The body is handed over: a worker may take its buffer, so the caller must not read it afterwards.
   */
  inspectSecretList(body: Buffer, opts: InspectOptions): Promise<SecretListDigest | null>;
  /** Stops the workers; jobs not answered yet are rejected. */
  close(): Promise<void>;
}

/**
 * Start `threads` workers now (they boot while the caller waits for the API), running `source`.
 * With no source or no threads every inspect runs inline.
 */
export async function startInspectPool(threads: number, source: string | undefined = builtWorkerSource()): Promise<InspectPool> {
  const lanes: Lane[] = [];
  let nextId = 0;
  let offloaded = 0;
  let closed = false;
  // The workers are created before the first await, so they start booting at once.
  if (source && threads > 0) {
    for (let i = 0; i < threads; i++) {
      const lane: Lane = { worker: new Worker(source, { eval: true, stdout: false, stderr: false, resourceLimits: WORKER_LIMITS }), pending: new Map(), dead: false };
      const fail = () => {
        if (lane.dead) return;
        lane.dead = true;
        // Whatever it had not answered runs here instead.
        for (const p of lane.pending.values()) runInline(p);
        lane.pending.clear();
        pump();
      };
      lane.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
        const p = lane.pending.get(m.id);
        if (!p) return;
        lane.pending.delete(m.id);
        if (m.error === undefined) {
          offloaded++;
          p.resolve(m.result);
        } else p.reject(new Error(`internal error inspecting certificates: ${m.error}`));
        pump();
      });
      lane.worker.on('error', fail);
      lane.worker.on('exit', fail);
      lanes.push(lane);
    }
  }
  // Loaded after the workers are on their way: this module is imported early (the check command
  // starts the pool before it connects), and the PKI code is not needed until the first job.
  const [{ inspectPki }, { digestSecretList }] = await Promise.all([import('../pki/inspect.js'), import('../pki/secret-digest.js')]);
  function runInline(p: Pending): void {
    try {
      p.resolve(p.inline());
    } catch (e) {
      p.reject(e as Error);
    }
  }

  function freeLane(): Lane | undefined {
    let best: Lane | undefined;
    for (const l of lanes) {
      if (!l.dead && l.pending.size < QUEUE_PER_WORKER && (!best || l.pending.size < best.pending.size)) best = l;
    }
    return best;
  }

  function post(lane: Lane, p: Pending): void {
    const id = nextId++;
    lane.pending.set(id, p);
    const { job, transfer } = p.toWorker();
    lane.worker.postMessage({ id, ...job }, transfer);
  }

  // Jobs wait here; workers are topped up whenever anything happens, and the main thread takes
  // one job per event-loop turn, so the workers' replies (and refills) are never starved by it.
  const queue: Pending[] = [];
  let mainTurnScheduled = false;
  function pump(): void {
    for (let lane = freeLane(); lane && queue.length; lane = freeLane()) post(lane, queue.shift()!);
    if (queue.length && !mainTurnScheduled) {
      mainTurnScheduled = true;
      setImmediate(mainTurn);
    }
  }
  function mainTurn(): void {
    mainTurnScheduled = false;
    const p = queue.shift();
    if (p) runInline(p);
    pump();
  }

  const when = (opts: InspectOptions) => ({ now: opts.now.getTime(), warnWithinMs: opts.warnWithinMs });

  function submit(toWorker: () => Posted, inline: () => unknown): Promise<unknown> {
    if (closed || lanes.length === 0) return Promise.resolve().then(inline);
    return new Promise((resolve, reject) => {
      queue.push({ toWorker, inline, resolve, reject });
      pump();
    });
  }

  return {
    get threads() {
      return lanes.length;
    },
    get offloaded() {
      return offloaded;
    },
    inspect(files, opts) {
      return submit(() => {
        // Packed when posted, into a buffer of its own that the transfer hands over.
        const packed = packFiles(files);
        return { job: { kind: 'files', ...packed, ...when(opts) }, transfer: [packed.bytes.buffer as ArrayBuffer] };
      }, () => inspectPki(files, opts)) as Promise<CertRow[]>;
    },
    inspectSecretList(body, opts) {
      return submit(() => {
        // Handed over without a copy when the bytes have their buffer to themselves.
        const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : new Uint8Array(body);
        return { job: { kind: 'secret-list', body: own, ...when(opts) }, transfer: [own.buffer as ArrayBuffer] };
      }, () => digestSecretList(body, opts)) as Promise<SecretListDigest | null>;
    },
    async close() {
      // Whatever is still unanswered was asked for ahead and is no longer wanted: drop it
      // rather than spend the CPU on it.
      closed = true;
      const abandoned = new Error('inspect pool closed');
      for (const p of queue.splice(0)) p.reject(abandoned);
      await Promise.all(lanes.map(async (l) => {
        l.dead = true;
        for (const p of l.pending.values()) p.reject(abandoned);
        l.pending.clear();
        await l.worker.terminate();
      }));
    },
  };
}
