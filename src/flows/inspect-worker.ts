// Worker-thread entry for a fleet check: runs inspectPki for the main thread (inspect-pool.ts).
// Built into its own small bundle (jsrsasign, js-yaml and src/pki only) that the main bundle carries
// as a string, so it also runs inside the single binary, where there are no files to load.

import { parentPort } from 'node:worker_threads';
import { inspectPki } from '../pki/inspect.js';
import { unpackFiles, type PackedFiles } from '../pki/packed-files.js';

export interface InspectJob extends PackedFiles {
  id: number;
  now: number;
  warnWithinMs: number;
}

parentPort?.on('message', (job: InspectJob) => {
  try {
    const rows = inspectPki(unpackFiles(job), { now: new Date(job.now), warnWithinMs: job.warnWithinMs });
    parentPort!.postMessage({ id: job.id, rows });
  } catch (e) {
    // inspectPki reports bad content as rows; a throw is a bug. Its message never holds key bytes.
    parentPort!.postMessage({ id: job.id, error: (e as Error).message });
  }
});
