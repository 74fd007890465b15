// The two rotations as ChangeSpecs for the shared change flow.
import { EXIT, UserError } from '../errors.js';
import {
  applyCARotation, applyLeafRotation, describeSelection, planCARotation, planLeafRotation, RotationRefusal, type RotationPlan, type RotationSelection,
} from '../pki/rotation.js';
import { finalizeRollover, rolloverState, RolloverRefused, startRollover } from '../pki/rollover.js';
import type { PkiFiles } from '../pki/types.js';
import type { ChangeSpec, PlanLine } from './change.js';
import { hasStartupRenewal } from './verify-applied.js';

function planLines(plan: RotationPlan): PlanLine[] {
  return plan.entries.map((e) => ({
    file: e.path,
    action: e.action,
    oldExpiry: e.oldNotAfter?.toISOString(),
    newExpiry: e.newNotAfter?.toISOString(),
    keyType: e.keyAlgorithm,
    note: e.note ?? (e.issuer ? `from ${e.issuer}` : e.copyOf ? `copy of ${e.copyOf}` : undefined),
  }));
}

/** The core's refusals are the user's to fix (a short validity, an expired CA, a missing key...): exit 3. */
export function refusalAsUserError(err: unknown): unknown {
  return err instanceof RotationRefusal ? new UserError(err.message, EXIT.CANNOT_RUN, err) : err;
}

/** Plan errors from the pure core are the user's to fix: refusals and anything else it throws. */
function asUserError(err: unknown): never {
  if (err instanceof UserError) throw err;
  throw new UserError(err instanceof Error ? err.message.split('\n')[0]! : String(err), EXIT.CANNOT_RUN, err);
}

/** A rotation's compute step: plan (refusals become user errors), apply, describe. */
function rotationCompute<O>(plan: (files: PkiFiles, opts: O) => RotationPlan, apply: (files: PkiFiles, plan: RotationPlan) => Promise<PkiFiles>, opts: O, note: string): ChangeSpec['compute'] {
  return async (current) => {
    let p: RotationPlan;
    try {
      p = plan(current, opts);
    } catch (err) {
      // --expiring-within on a quiet day: not an error, so a scheduled job can run it daily.
      if (err instanceof RotationRefusal && err.kind === 'nothing-selected') return { files: current, lines: [], warnings: [], nothingToDo: err.message };
      asUserError(err);
    }
    const files = await apply(current, p).catch((err: unknown) => {
      throw refusalAsUserError(err);
    });
    return { files, lines: planLines(p), warnings: [...p.warnings, note] };
  };
}

export interface LeafRotationSpecOptions {
  now: Date;
  validityMs: number;
  force: boolean;
  /** re-issue only these (--only, --expiring-within) */
  select?: RotationSelection;
  /** the vCluster's image version: whether its start-up renewal would undo a targeted rotation */
  version?: string;
  allowStartupRenewal?: boolean;
}

export function leafRotationSpec(spec: LeafRotationSpecOptions): ChangeSpec {
  const { version, ...opts } = spec;
  const startupRenewal = version === undefined ? undefined : hasStartupRenewal(version);
  return {
    kind: 'rotate',
    ...(opts.select ? { reason: `rotate ${describeSelection(opts.select)}` } : {}),
    restartMode: 'rolling',
    confirm: 'yes',
    compute: (current) => {
      refuseDuringRollover(current);
      return rotationCompute(planLeafRotation, applyLeafRotation, { ...opts, ...(startupRenewal !== undefined ? { startupRenewal } : {}) }, 'existing kubeconfigs keep working: the CAs do not change')(current);
    },
  };
}

export function caRotationSpec(opts: { now: Date; validityMs: number; caValidityMs: number; force: boolean }): ChangeSpec {
  return {
    kind: 'rotate-ca',
    restartMode: 'all-at-once',
    confirm: 'name',
    compute: rotationCompute(planCARotation, applyCARotation, opts,
      'workloads and private nodes that trust the old CA must be refreshed; service-account tokens stay valid (sa.key is kept)'),
  };
}

/** A leaf rotation in the middle of a rollover would drop the cross-signed chain of apiserver.crt. */
function refuseDuringRollover(current: PkiFiles): void {
  const window = rolloverState(current);
  if (window) {
    throw new UserError(`a CA rollover is in progress since ${window.since.toISOString()}: finish it with "rotate-ca --finalize" or undo it with "rotate-ca --abort" first`);
  }
}

async function rollover<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof RolloverRefused) throw new UserError(err.message, 3, err);
    throw err;
  }
}

export interface RolloverSpecOptions {
  now: Date;
  validityMs: number;
  caValidityMs: number;
  allowShortValidity: boolean;
}

/** rotate-ca --graceful: opens the window in which old and new kubeconfigs both work. */
export function caRolloverStartSpec(opts: RolloverSpecOptions): ChangeSpec {
  return {
    kind: 'rotate-ca',
    reason: 'rotate-ca --graceful',
    // Both CAs are trusted by old and new pods alike: replicas can roll one at a time.
    restartMode: 'rolling',
    confirm: 'yes',
    compute: (current) => rollover(() => startRollover(current, opts)),
  };
}

/** rotate-ca --finalize: the new CA alone; what the old CA signed stops working. */
export function caRolloverFinalizeSpec(opts: RolloverSpecOptions): ChangeSpec {
  return {
    kind: 'rotate-ca',
    reason: 'rotate-ca --finalize',
    restartMode: 'rolling',
    confirm: 'name',
    compute: (current) => rollover(() => finalizeRollover(current, opts)),
  };
}
