// Where the last change of a vCluster stands, kept on `<name>-certs` (annotation
// vcluster-certs.dev/last-change) so a run that was killed can be told and finished by the next
// one: `<state>/<unix stamp>/<kind>`. The stamp names the backup taken before the change.
import type { ChangeKind } from './change.js';

export type MarkerState = 'committed' | 'done' | 'rolling-back' | 'rolled-back';

export interface Marker {
  state: MarkerState;
  stamp: string;
  kind: ChangeKind | 'resume';
}

const MARKER = /^(committed|done|rolling-back|rolled-back)\/(\d+)(?:\/(rotate|rotate-ca|restore|resume))?$/;

export function formatMarker(m: Marker): string {
  return `${m.state}/${m.stamp}/${m.kind}`;
}

export function parseMarker(value: string | undefined): Marker | undefined {
  const m = MARKER.exec(value ?? '');
  if (!m) return undefined;
  // Older runs wrote `rolled-back/<stamp>` without the kind.
  return { state: m[1] as MarkerState, stamp: m[2]!, kind: (m[3] ?? 'rotate') as Marker['kind'] };
}

/** A change that was committed (or a rollback that began) and never verified. */
export function isUnfinished(m: Marker | undefined): m is Marker {
  return m?.state === 'committed' || m?.state === 'rolling-back';
}

interface Named {
  name: string;
  namespace: string;
}

/** Finishes an interrupted change as it was committed: no new certificates, restart and verify. */
export function resumeCommand(vc: Named): string {
  return `kubectl vcluster-certs resume ${vc.name} -n ${vc.namespace}`;
}

/** Puts back exactly the PKI the backup `stamp` holds (no leaf re-issue). */
export function undoCommand(vc: Named, stamp: string): string {
  return `kubectl vcluster-certs restore ${vc.name} -n ${vc.namespace} --backup ${stamp} --from secret --no-rotate`;
}

/** The one-line "what now" for an unfinished change. */
export function unfinishedHint(vc: Named, m: Marker): string {
  const what = m.state === 'rolling-back' ? `a rollback of ${m.kind}` : `a ${m.kind}`;
  return `${what} committed at ${new Date(Number(m.stamp) * 1000).toISOString()} did not finish: run "${resumeCommand(vc)}" to restart and verify it, or "${undoCommand(vc, m.stamp)}" to go back to the PKI from before it`;
}
