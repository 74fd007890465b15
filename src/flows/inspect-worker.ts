// Worker-thread entry for a fleet check: inspects PKIs for the main thread (inspect-pool.ts),
// given as packed files or as a page of a Secret list (parsed here, so that the main thread never
// holds the PKIs' base64).
// Built into its own small bundle (jsrsasign, js-yaml and src/pki only) that the main bundle carries
// as a string, so it also runs inside the single binary, where there are no files to load.

import { parentPort } from 'node:worker_threads';
import { inspectPki } from '../pki/inspect.js';
import { unpackFiles, type PackedFiles } from '../pki/packed-files.js';
import { digestSecretList } from '../pki/secret-digest.js';

interface JobBase {
  id: number;
  now: number;
  warnWithinMs: number;
}

export type InspectJob =
  | (JobBase & { kind: 'files' } & PackedFiles)
  | (JobBase & { kind: 'secret-list'; body: Uint8Array });

parentPort?.on('message', (job: InspectJob) => {
  try {
    const opts = { now: new Date(job.now), warnWithinMs: job.warnWithinMs };
    const result = job.kind === 'secret-list' ? digestSecretList(job.body, opts) : inspectPki(unpackFiles(job), opts);
    parentPort!.postMessage({ id: job.id, result });
  } catch (e) {
    // Bad content comes back as rows; a throw is a bug. Its message never holds key bytes.
    parentPort!.postMessage({ id: job.id, error: (e as Error).message });
  }
});
