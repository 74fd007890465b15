// A full garbage collection at the points where a long fleet check (or the exporter) has just
// dropped a context's worth of data. V8 otherwise lets its heap grow to several times what is
// live before collecting (2,000 vClusters: ~50 MB live in a 500 MB process), and the process's
// memory is what an admin's laptop or the exporter's memory limit sees. The flag is set at run
// time because the single binary has no command line for node; without it, this does nothing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** Runs a full collection; false when the runtime does not allow it (the call is then a no-op). */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const fn: unknown = runInNewContext('gc');
      gc = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
  return gc !== null;
}
