// The two rotations as ChangeSpecs for the shared change flow.
import { UserError } from '../errors.js';
import { applyCARotation, applyLeafRotation, planCARotation, planLeafRotation, type RotationPlan } from '../pki/rotation.js';
import type { ChangeSpec, PlanLine } from './change.js';

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

/** Plan errors from the pure core are the user's to fix (expired CA, missing key...). */
function asUserError(err: unknown): never {
  if (err instanceof UserError) throw err;
  throw new UserError(err instanceof Error ? err.message.split('\n')[0]! : String(err), 3, err);
}

export function leafRotationSpec(opts: { now: Date; validityMs: number; force: boolean }): ChangeSpec {
  return {
    kind: 'rotate',
    restartMode: 'rolling',
    confirm: 'yes',
    async compute(current) {
      let plan: RotationPlan;
      try {
        plan = planLeafRotation(current, opts);
      } catch (err) {
        asUserError(err);
      }
      const files = await applyLeafRotation(current, plan);
      return {
        files,
        lines: planLines(plan),
        warnings: [...plan.warnings, 'existing kubeconfigs keep working: the CAs do not change'],
      };
    },
  };
}

export function caRotationSpec(opts: { now: Date; validityMs: number; caValidityMs: number; force: boolean }): ChangeSpec {
  return {
    kind: 'rotate-ca',
    restartMode: 'all-at-once',
    confirm: 'name',
    async compute(current) {
      let plan: RotationPlan;
      try {
        plan = planCARotation(current, opts);
      } catch (err) {
        asUserError(err);
      }
      const files = await applyCARotation(current, plan);
      return {
        files,
        lines: planLines(plan),
        warnings: [
          ...plan.warnings,
          'workloads and private nodes that trust the old CA must be refreshed; service-account tokens stay valid (sa.key is kept)',
        ],
      };
    },
  };
}
