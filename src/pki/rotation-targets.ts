// Which certificates a targeted `rotate` re-issues: names as `check` prints them, a few groups, or
// everything that expires within a time. Pure, no I/O.

import { KUBECONFIG_FILES, LEAF_CERT_FILES } from './certmap.js';
const DAY_MS = 86_400_000;

/** Everything a leaf rotation can re-issue, in plan order. */
export const ROTATABLE_FILES: readonly string[] = Object.freeze([...LEAF_CERT_FILES, ...KUBECONFIG_FILES]);

/**
 * Groups for --only. `etcd`: every certificate signed by etcd/ca (the etcd members' and kube-apiserver's
 * client to them); `kubeconfigs`: the client certificates of the three .conf files; `all`: everything.
 */
export const ROTATION_GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  etcd: Object.freeze(['etcd/server.crt', 'etcd/peer.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt']),
  kubeconfigs: KUBECONFIG_FILES,
  all: ROTATABLE_FILES,
});

/** The accepted names, for the one-line error and --help. */
export function rotationNames(): string[] {
  return [...ROTATABLE_FILES, ...Object.keys(ROTATION_GROUPS)];
}

/**
 * --only's names to files: a file as `check` prints it, with or without `.crt`/`.conf`, or a group.
 * Throws an Error naming the unknown ones and every valid name (one line).
 */
export function resolveRotationNames(names: readonly string[]): string[] {
  const wanted = new Set<string>();
  const unknown: string[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    const group = ROTATION_GROUPS[name];
    const file = ROTATABLE_FILES.find((f) => f === name || f.replace(/\.(crt|conf)$/, '') === name);
    if (group) for (const f of group) wanted.add(f);
    else if (file) wanted.add(file);
    else unknown.push(name);
  }
  if (unknown.length) {
    throw new Error(`unknown certificate name${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} for --only; valid: ${rotationNames().join(', ')}`);
  }
  if (!wanted.size) throw new Error(`--only names no certificate; valid: ${rotationNames().join(', ')}`);
  return ROTATABLE_FILES.filter((f) => wanted.has(f));
}

/** Which certificates a rotation touches: all (absent), the named files, and/or those expiring soon. */
export interface RotationSelection {
  /** files (resolved by resolveRotationNames) */
  only?: readonly string[];
  /** only certificates with this much time left or less */
  expiringWithinMs?: number;
}

export function describeSelection(sel: RotationSelection): string {
  const parts: string[] = [];
  if (sel.only) parts.push(`--only ${sel.only.join(',')}`);
  if (sel.expiringWithinMs !== undefined) parts.push(`--expiring-within ${Math.round(sel.expiringWithinMs / DAY_MS)}d`);
  return parts.join(' ');
}
