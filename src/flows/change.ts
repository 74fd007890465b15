// The one path every PKI change takes (rotate, rotate-ca, restore), step by step as the README
// lists them: preflight → plan → confirm → lock → backup → stage → commit → apply → verify, and
// rollBack to the backup when anything after the commit fails. The vCluster ends all-old or
// all-new, and the report says which. What the steps need from the cluster goes through a
// ChangePort (src/kube/change-port.ts).
import type { PkiFiles, PlanLine } from '../pki/types.js';
import type { ChangePort, RestartMode } from '../kube/change-port.js';
import {
  apply, backup, beforeCommit, commit, confirm, lock, markDone, plan, preflight, pruneBackups,
  stage, startRun, unlock, verify, type Run,
} from './change-steps.js';
import { afterCommit } from './change-rollback.js';

export type ChangeKind = 'rotate' | 'rotate-ca' | 'restore';

export type { PlanLine } from '../pki/types.js';

export interface ComputedChange {
  /** the complete PKI to commit */
  files: PkiFiles;
  lines: PlanLine[];
  /** plain-words warnings shown with the plan (e.g. "old kubeconfigs stop working") */
  warnings: string[];
  /** restore decides once it knows the current CA; otherwise the spec's mode */
  restartMode?: RestartMode;
  /** set when there is nothing to change (why, in words): the run ends after the plan, exit 0 */
  nothingToDo?: string;
}

export interface ChangeSpec {
  kind: ChangeKind;
  restartMode: RestartMode;
  /** Builds the new PKI from the current one. Pure crypto; runs before anything is written. */
  compute(current: PkiFiles): Promise<ComputedChange>;
  /** What the user must confirm: 'yes' for y/N, or the vCluster name to be typed. */
  confirm: 'yes' | 'name';
  /** backup Secrets that pruning must never delete (restore: the one being restored) */
  protectBackups?: string[];
  /** recorded as the backup's reason (default: kind), e.g. 'rotate-ca --graceful' */
  reason?: string;
}

/** Each names one risk the user accepts; `--force` sets them all. */
export interface Allowances {
  /** go on although the vCluster is not Running (e.g. down because its certificates expired) */
  notRunning: boolean;
  /** go on from the Secret although a replica's /data/pki differs from it */
  drift: boolean;
  /** rebuild although the Secret has empty values */
  incomplete: boolean;
}

export interface ChangeOptions {
  dryRun: boolean;
  yes: boolean;
  allow: Allowances;
  noRollback: boolean;
  timeoutMs: number;
  /** asks the user; resolves true to go ahead (absent = non-interactive) */
  ask?: (question: string, expect: string) => Promise<boolean>;
  progress: (line: string) => void;
  now?: () => Date;
  /** aborted on SIGINT/SIGTERM: before the commit the run stops cleanly, after it the change is finished */
  signal?: AbortSignal;
  /** receives the report as soon as it exists, so a second Ctrl-C can still print the state */
  onReport?: (report: ChangeReport) => void;
  /** receives the Lease's release once it is held, so a second Ctrl-C can still let it go */
  onLease?: (release: () => Promise<void>) => void;
}

export type FinalState = 'unchanged' | 'all-new' | 'all-old' | 'unknown';

export interface CertChange {
  file: string;
  oldSha256?: string;
  newSha256?: string;
  oldExpiry?: string;
  newExpiry?: string;
}

export interface ChangeReport {
  kind: ChangeKind | 'resume';
  vcluster: string;
  namespace: string;
  result: 'dry-run' | 'done' | 'rolled-back' | 'failed' | 'nothing-to-do';
  state: FinalState;
  stamp: string;
  plan: PlanLine[];
  warnings: string[];
  backups: { secret?: string; pods: Array<{ pod: string; dir: string }> };
  certificates: CertChange[];
  steps: Array<{ step: string; ms: number }>;
  /** leafs the vCluster re-issued itself on start (its 90-day start-up renewal) */
  renewedByVCluster?: string[];
  error?: string;
  /** how to finish or undo by hand when the tool could not */
  recovery?: string;
}

export interface ChangeResult {
  report: ChangeReport;
  /** the committed PKI (never serialised: it holds private keys) */
  files?: PkiFiles;
}

export async function runChange(port: ChangePort, spec: ChangeSpec, opts: ChangeOptions): Promise<ChangeResult> {
  const run: Run = startRun(port, spec, opts);
  try {
    await preflight(run);
    await plan(run);
    if (run.change!.nothingToDo) {
      run.report.result = 'nothing-to-do';
      run.report.warnings.push(run.change!.nothingToDo);
      return { report: run.report };
    }
    if (opts.dryRun) {
      run.report.result = 'dry-run';
      return { report: run.report };
    }
    await confirm(run);
    try {
      await lock(run);
      await beforeCommit(run, async () => {
        await backup(run);
        await stage(run);
        await commit(run);
      });
      await afterCommit(run, async () => {
        await apply(run);
        await verify(run);
        await markDone(run);
      });
      await pruneBackups(run);
      return { report: run.report, files: run.change!.files };
    } finally {
      await unlock(run);
    }
  } catch (err) {
    if (err instanceof Error) (err as Error & { report?: ChangeReport }).report = run.report;
    throw err;
  }
}
