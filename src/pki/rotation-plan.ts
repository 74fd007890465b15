// What both rotations share: plan types, the refusals, the checks on validity and plan, and the
// reading and writing of the files a rotation re-issues. Pure, no I/O.

import { createHash } from 'node:crypto';
import { KUBECONFIG_FILES, fileRole, keyPathFor, type FileRole } from './certmap.js';
import { DAY_MS, type KeyPair } from './issue.js';
import { replaceKubeconfigCredentials } from './kubeconfig-edit.js';
import { PkiModel, comparePaths } from './model.js';
import { keyTypeOf } from './x509.js';
import type { RotationSelection } from './rotation-targets.js';
import type { CertInfo, PkiFiles } from './types.js';

/**
 * Why the core will not plan or apply a rotation. The message is the user's (one line, says what
 * to do); the command maps the refusal to its exit code.
 *   validity: a validity that is not positive, or 90 days or less without force
 *   unplannable: the PKI cannot be rotated as it is (a CA without its key, expired, a leaf missing...)
 *   stale-plan: the files are not those the plan was made from
 *   startup-renewal: a targeted rotation leaves a leaf that vCluster's start-up renewal would re-issue
 *     (with every other leaf) on the restart anyway
 *   nothing-selected: --expiring-within matched no certificate
 */
export type RefusalKind = 'validity' | 'unplannable' | 'stale-plan' | 'startup-renewal' | 'nothing-selected';

export class RotationRefusal extends Error {
  constructor(readonly kind: RefusalKind, message: string) {
    super(message);
    this.name = 'RotationRefusal';
  }
}

/** vCluster's watcher re-issues any leaf with <= 90 days left; issuing such leafs races with it. */
export const MIN_VALIDITY_MS = 90 * DAY_MS;
export const DEFAULT_LEAF_VALIDITY_MS = 365 * DAY_MS;
export const DEFAULT_CA_VALIDITY_MS = 3650 * DAY_MS;

export type PlanAction =
  /** new certificate (and key) from its CA */
  | 'reissue'
  /** brand-new CA certificate / key */
  | 'create'
  /** copy of another file of the new PKI (server-ca / client-ca = ca) */
  | 'copy'
  /** unchanged byte for byte */
  | 'keep'
  /** not a file of the vCluster PKI: unchanged, reported */
  | 'unknown';

export interface PlanEntry {
  path: string;
  role: FileRole;
  action: PlanAction;
  /** CA file that signs the new certificate */
  issuer?: string;
  /** file this one is a copy of (action 'copy') */
  copyOf?: string;
  /** subject DN of the (old) certificate */
  subject?: string;
  oldNotAfter?: Date;
  newNotAfter?: Date;
  /** 'RSA-2048', 'ECDSA-P256' */
  keyAlgorithm?: string;
  note?: string;
}

export interface RotationPlan {
  kind: 'leaf' | 'ca';
  now: Date;
  validityMs: number;
  /** rotate-ca only */
  caValidityMs?: number;
  /** the input PKI had a split CA (server-ca != ca) */
  split: boolean;
  entries: PlanEntry[];
  /** things the user should know (not blocking) */
  warnings: string[];
  /** SHA-256 over the input files; apply refuses a different PKI */
  inputDigest: string;
}

export interface LeafRotationOptions {
  now: Date;
  validityMs: number;
  /** allow validity <= 90 days */
  force?: boolean;
  /** re-issue only these (absent: every leaf and kubeconfig) */
  select?: RotationSelection;
  /** whether this vCluster renews leafs on start (false: a version without it; absent: assume it does) */
  startupRenewal?: boolean;
  /** go on with a targeted rotation although vCluster will renew every leaf on start */
  allowStartupRenewal?: boolean;
}

export interface CARotationOptions extends LeafRotationOptions {
  caValidityMs: number;
}

export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function days(ms: number): string {
  const d = ms / DAY_MS;
  return Number.isInteger(d) ? `${d}d` : `${Math.round(ms / 1000)}s`;
}

/** Digest of a PKI file set (names and bytes), to bind a plan to the files it was made from. */
export function pkiDigest(files: PkiFiles): string {
  const h = createHash('sha256');
  for (const path of [...files.keys()].sort()) {
    const b = files.get(path)!;
    h.update(`${path}\0${b.length}\0`).update(b);
  }
  return h.digest('hex');
}

export function checkValidity(ms: number, what: string, flag: string, force: boolean | undefined): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new RotationRefusal('validity', `${what} must be positive`);
  if (ms <= MIN_VALIDITY_MS && !force) {
    throw new RotationRefusal(
      'validity',
      `${what} ${days(ms)} is 90 days or less: vCluster's own watcher renews such certificates at the next start ` +
        `or check and would race with this rotation; use a longer ${flag} or --allow-short-validity`,
    );
  }
}

/** Plan entries for re-issuing `path` (and its .key; a kubeconfig carries its key inside). */
export function addReissue(entries: PlanEntry[], handled: Set<string>, path: string, cert: CertInfo, issuer: string, newNotAfter: Date, caDataNote: string): void {
  const isKubeconfig = KUBECONFIG_FILES.includes(path);
  entries.push({
    path,
    role: fileRole(path),
    action: 'reissue',
    issuer,
    subject: cert.subject,
    oldNotAfter: cert.notAfter,
    newNotAfter,
    keyAlgorithm: keyTypeOf(cert),
    note: isKubeconfig ? `new client certificate and key; ${caDataNote}` : undefined,
  });
  handled.add(path);
  if (!isKubeconfig) {
    entries.push({ path: keyPathFor(path), role: 'leaf-key', action: 'reissue', keyAlgorithm: keyTypeOf(cert), note: 'new private key' });
    handled.add(keyPathFor(path));
  }
}

export function refuse(what: string, problems: string[]): never {
  // One CA problem is found once per leaf it signs: say it once.
  throw new RotationRefusal('unplannable', `cannot plan ${what}: ${[...new Set(problems)].join('; ')}`);
}

/** Old certificate of a leaf file or of a kubeconfig's client certificate, or the reason it is unusable. */
export function oldCertOf(model: PkiModel, path: string): { cert: CertInfo } | { problem: string } {
  if (KUBECONFIG_FILES.includes(path)) {
    const k = model.kubeconfigs.get(path);
    if (!k) return { problem: `${path} is missing` };
    if (!k.clientCert) return { problem: `${path}: ${k.error ?? 'no client certificate'}` };
    return { cert: k.clientCert };
  }
  const f = model.certFiles.get(path);
  if (!f) return { problem: `${path} is missing (its profile is needed to re-issue it)` };
  const b = f.blocks[0];
  if (!b?.cert) return { problem: `${path}: ${b?.error ?? f.error ?? 'unreadable'}` };
  if (b.cert.isCA) return { problem: `${path} is a CA certificate, expected a leaf` };
  return { cert: b.cert };
}

export function keepEntries(model: PkiModel, handled: Set<string>, warnings: string[], kind: 'leaf' | 'ca'): PlanEntry[] {
  const out: PlanEntry[] = [];
  for (const path of [...model.files.keys()].sort(comparePaths)) {
    if (handled.has(path)) continue;
    const role = fileRole(path);
    if (role === 'unknown') {
      out.push({ path, role, action: 'unknown', note: 'not a vCluster PKI file; left unchanged' });
      if (kind === 'ca' && path.endsWith('.crt')) {
        warnings.push(`${path} is not part of the vCluster PKI and is not re-issued; if an old CA signed it, it will no longer verify`);
      }
    } else {
      out.push({ path, role, action: 'keep' });
    }
  }
  return out;
}

export function cloneFiles(files: PkiFiles): PkiFiles {
  return new Map([...files].map(([k, v]) => [k, Buffer.from(v)]));
}

export function checkPlan(files: PkiFiles, plan: RotationPlan, kind: 'leaf' | 'ca'): void {
  if (plan.kind !== kind) throw new Error(`internal error: a ${plan.kind} plan was given to the ${kind} rotation`);
  if (pkiDigest(files) !== plan.inputDigest) {
    throw new RotationRefusal('stale-plan', 'the PKI changed since the rotation was planned; plan it again');
  }
}

export interface Job {
  entry: PlanEntry;
  old: CertInfo;
  key: Promise<KeyPair>;
}

export function writeIssued(out: PkiFiles, files: PkiFiles, path: string, certPem: string, key: KeyPair, caPem?: string): void {
  if (KUBECONFIG_FILES.includes(path)) {
    const repl = { clientCertPem: certPem, clientKeyPem: key.privateKeyPem, ...(caPem !== undefined ? { caPem } : {}) };
    out.set(path, Buffer.from(replaceKubeconfigCredentials(files.get(path)!, repl)));
  } else {
    out.set(path, Buffer.from(certPem));
    out.set(keyPathFor(path), Buffer.from(key.privateKeyPem));
  }
}
