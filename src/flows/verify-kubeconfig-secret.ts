// After a change: does the vc-<name> Secret hold a kubeconfig the vCluster accepts? vCluster rewrites
// it from its admin.conf on every syncer start (pkg/setup/controllers.go WriteKubeConfigToSecret); a
// syncer that did not (an old image, missing RBAC, still starting) leaves users and tools that read it
// with credentials that may no longer work. Never a failure of the change: the PKI is right either way.
import type { PkiFiles } from '../pki/types.js';
import type { VCluster } from '../kube/discovery.js';
import { judgeKubeconfig, servedPki } from './kubeconfig-judge.js';
import { KUBECONFIG_SECRET_KEY, kubeconfigSecretName, secretKeysDisagree } from './kubeconfig-run.js';

/** Warnings about the vc-<name> Secret's data (undefined: the Secret is missing), judged against `files`. */
export function kubeconfigSecretWarnings(data: Record<string, string> | undefined, files: PkiFiles, vc: Pick<VCluster, 'name' | 'namespace'>, now: Date): string[] {
  const where = `secret ${vc.namespace}/${kubeconfigSecretName(vc.name)}`;
  const hint = `vCluster rewrites it when its syncer starts; see "kubectl vcluster-certs kubeconfig check ${vc.name} -n ${vc.namespace}"`;
  const config = data?.[KUBECONFIG_SECRET_KEY];
  if (!config) return [`${where} ${data ? `has no "${KUBECONFIG_SECRET_KEY}" key` : 'was not found'} after the change: ${hint}`];
  const text = Buffer.from(config, 'base64');
  let contexts;
  try {
    contexts = judgeKubeconfig(text, servedPki(files), vc, true, { now, warnWithinMs: 0 }).contexts;
  } catch (e) {
    return [`${where} holds no readable kubeconfig after the change (${(e as Error).message}): ${hint}`];
  }
  const out: string[] = [];
  for (const c of contexts) {
    if (c.status === 'OK') continue;
    const why = c.problems[0] ?? c.status;
    out.push(`${where} (context "${c.context}") is not accepted by the vCluster after the change: ${why}; ${hint}`);
  }
  if (!out.length) out.push(...secretKeysDisagree(text, data!).map((w) => `${where}: ${w}`));
  return out;
}
