// Rotation plans and their application: `rotate` (leafs from the existing CAs) here, `rotate-ca`
// (new CAs, then every leaf from them) in rotation-ca.ts. Pure, no I/O: PkiFiles in, PkiFiles out.
// Refusals are RotationRefusals (rotation-plan.ts).

import { CA_CERT_FILES, KUBECONFIG_FILES, LEAF_CERT_FILES, keyPathFor } from './certmap.js';
import { DAY_MS, generateKeyLike, loadSigner, reissueLeafWith, truncateToSeconds, type Signer } from './issue.js';
import { PkiModel } from './model.js';
import {
  MIN_VALIDITY_MS, RotationRefusal, addReissue, checkPlan, checkValidity, cloneFiles, days, iso, keepEntries, oldCertOf, pkiDigest, refuse, writeIssued,
  type Job, type LeafRotationOptions, type PlanEntry, type RotationPlan,
} from './rotation-plan.js';
import { ROTATABLE_FILES } from './rotation-targets.js';
import { certMatchesKey } from './x509.js';
import type { CertInfo, PkiFiles } from './types.js';

export {
  MIN_VALIDITY_MS, DEFAULT_LEAF_VALIDITY_MS, DEFAULT_CA_VALIDITY_MS, RotationRefusal, pkiDigest,
  type RefusalKind, type PlanAction, type PlanEntry, type RotationPlan, type LeafRotationOptions, type CARotationOptions,
} from './rotation-plan.js';
export { planCARotation, applyCARotation } from './rotation-ca.js';
export { ROTATION_GROUPS, describeSelection, resolveRotationNames, rotationNames, type RotationSelection } from './rotation-targets.js';

/**
 * For leaf rotation: the CA file (first certificate, with its key) that verifies `cert`.
 * Adds a problem when there is none, when its key is missing or does not match, or when it is expired.
 */
function issuingCA(model: PkiModel, path: string, cert: CertInfo, now: Date, problems: string[], warnings: string[]): string | undefined {
  const expected = model.expectedIssuer(path);
  const found = model.findIssuer(cert, [...(expected ? [expected] : []), ...CA_CERT_FILES]);
  if ('reason' in found) {
    problems.push(`${path} does not verify against any CA in the PKI (${found.reason}); rotate-ca replaces the CAs`);
    return undefined;
  }
  const ca = found.issuer;
  const caCert = ca.cert!;
  if (ca.block !== 0 || !caCert.isCA) {
    problems.push(`${path} is issued by certificate #${ca.block} of ${ca.path}, which cannot sign (not the first certificate or not a CA)`);
    return undefined;
  }
  const keyPath = keyPathFor(ca.path);
  const key = model.files.get(keyPath);
  if (!key?.length) {
    problems.push(`CA ${ca.path} has no private key ${keyPath}`);
    return undefined;
  }
  if (!certMatchesKey(caCert, key)) {
    problems.push(`CA key ${keyPath} does not match ${ca.path}`);
    return undefined;
  }
  if (now.getTime() > caCert.notAfter.getTime()) {
    problems.push(`CA ${ca.path} expired on ${iso(caCert.notAfter)}; leafs cannot be re-issued from it, use rotate-ca`);
    return undefined;
  }
  if (now.getTime() < caCert.notBefore.getTime()) {
    problems.push(`CA ${ca.path} is not valid before ${iso(caCert.notBefore)}`);
    return undefined;
  }
  if (expected && ca.path !== expected) {
    const exp = model.first(expected);
    if (!exp || !exp.der.equals(caCert.der)) warnings.push(`${path} is issued by ${ca.path}, not ${expected} as usual; it is re-issued from ${ca.path}`);
  }
  return ca.path;
}

function outlivesCA(path: string, newNotAfter: Date, ca: CertInfo | undefined, caPath: string, warnings: string[]): void {
  if (ca && newNotAfter.getTime() > ca.notAfter.getTime()) {
    warnings.push(`${path} would expire after its CA ${caPath} (${iso(ca.notAfter)}); it stops verifying when the CA expires`);
  }
}

/** Days left, rounded down, for messages. */
function daysLeft(cert: CertInfo, now: Date): number {
  return Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** The files a targeted rotation re-issues; all of them when nothing is selected. */
function selectedFiles(model: PkiModel, opts: LeafRotationOptions, warnings: string[]): string[] {
  const sel = opts.select;
  let files = sel?.only ? ROTATABLE_FILES.filter((f) => sel.only!.includes(f)) : [...ROTATABLE_FILES];
  if (sel?.expiringWithinMs === undefined) return files;
  const limit = opts.now.getTime() + sel.expiringWithinMs;
  const soonest: { path: string; cert: CertInfo }[] = [];
  files = files.filter((path) => {
    const old = oldCertOf(model, path);
    if ('problem' in old) {
      warnings.push(`${old.problem}; not selected by --expiring-within`);
      return false;
    }
    soonest.push({ path, cert: old.cert });
    return old.cert.notAfter.getTime() <= limit;
  });
  if (!files.length) {
    const first = soonest.sort((a, b) => a.cert.notAfter.getTime() - b.cert.notAfter.getTime())[0];
    const next = first ? `; the first to expire is ${first.path} on ${iso(first.cert.notAfter)}` : '';
    throw new RotationRefusal('nothing-selected', `no certificate expires within ${days(sel.expiringWithinMs)}: nothing to rotate${next}`);
  }
  return files;
}

/**
 * vCluster's start-up renewal (pkg/certs/ensure.go): on every pod start, when any leaf .crt of the
 * Secret is missing, unreadable or has 90 days or less left, it re-issues every leaf and kubeconfig.
 * A targeted rotation that leaves such a leaf would have its restart renew everything anyway.
 */
function startupRenewalCheck(model: PkiModel, handled: Set<string>, opts: LeafRotationOptions, warnings: string[]): void {
  if (!opts.select) return;
  const due: string[] = [];
  for (const path of LEAF_CERT_FILES) {
    if (handled.has(path)) continue;
    const old = oldCertOf(model, path);
    if ('problem' in old) due.push(`${path} (unreadable)`);
    else if (old.cert.notAfter.getTime() - opts.now.getTime() <= MIN_VALIDITY_MS) due.push(`${path} (${daysLeft(old.cert, opts.now)} days left)`);
  }
  if (!due.length) return;
  const list = due.join(', ');
  if (opts.startupRenewal === false) {
    warnings.push(`not rotated and within 90 days: ${list}; this vCluster version does not renew leafs on start, rotate them before they expire`);
    return;
  }
  const what = 'vCluster (v0.31.3, v0.32.2, v0.33.0 and later) re-issues every leaf and kubeconfig certificate on start when any leaf has 90 days or less left';
  if (!opts.allowStartupRenewal) {
    throw new RotationRefusal('startup-renewal',
      `${list} ${due.length > 1 ? 'are' : 'is'} not in this rotation: ${what}, so this rotation's restart would renew all of them anyway; ` +
        'add them to --only (or widen --expiring-within), run a full rotate, or pass --allow-startup-renewal');
  }
  warnings.push(`vCluster will renew every leaf and kubeconfig certificate when it restarts: ${what}, and ${list} ${due.length > 1 ? 'are' : 'is'} not in this rotation`);
}

/**
 * Plan a leaf rotation (`rotate`): every leaf and kubeconfig client certificate (or the selected ones)
 * re-issued with a new key from the CA that issued it; CA files, sa.*, the rest and unknown files kept.
 * Throws a RotationRefusal (one line) when a CA is missing its key, is expired, does not verify a leaf,
 * a leaf is missing or unreadable, the validity is 90 days or less without `force`, or a targeted
 * rotation would be undone by vCluster's start-up renewal.
 */
export function planLeafRotation(files: PkiFiles, opts: LeafRotationOptions): RotationPlan {
  checkValidity(opts.validityMs, 'validity', '--validity', opts.force);
  const model = new PkiModel(files);
  const problems: string[] = [];
  const warnings: string[] = [];
  const entries: PlanEntry[] = [];
  const handled = new Set<string>();
  const newNotAfter = truncateToSeconds(new Date(opts.now.getTime() + opts.validityMs));

  for (const path of selectedFiles(model, opts, warnings)) {
    const old = oldCertOf(model, path);
    if ('problem' in old) {
      problems.push(old.problem);
      continue;
    }
    const issuer = issuingCA(model, path, old.cert, opts.now, problems, warnings);
    if (!issuer) continue;
    outlivesCA(path, newNotAfter, model.first(issuer), issuer, warnings);
    addReissue(entries, handled, path, old.cert, issuer, newNotAfter, 'certificate-authority-data unchanged');
  }
  if (problems.length) refuse('the leaf rotation', problems);
  startupRenewalCheck(model, handled, opts, warnings);
  for (const p of CA_CERT_FILES) if (!files.has(p)) warnings.push(`${p} is missing; vCluster recreates server-ca/client-ca copies of ca at start`);
  entries.push(...keepEntries(model, handled, warnings, 'leaf'));
  for (const e of entries) if (e.note === undefined) delete e.note;
  return {
    kind: 'leaf',
    now: opts.now,
    validityMs: opts.validityMs,
    split: model.split,
    entries,
    warnings,
    inputDigest: pkiDigest(files),
  };
}

/**
 * Apply a leaf rotation plan: returns the complete new PkiFiles. All new keys are generated in
 * parallel; each certificate is signed as soon as its key is ready. Kubeconfig client certificates get
 * NotBefore = their CA's NotBefore (as kubeadm does), leafs now - 5 min. Everything not re-issued is
 * byte-for-byte the input.
 */
export async function applyLeafRotation(files: PkiFiles, plan: RotationPlan): Promise<PkiFiles> {
  checkPlan(files, plan, 'leaf');
  const model = new PkiModel(files);
  const reissue = plan.entries.filter((e) => e.action === 'reissue' && e.role !== 'leaf-key');
  const jobs: Job[] = reissue.map((entry) => {
    const old = oldCertOf(model, entry.path);
    if ('problem' in old) throw new Error(`internal error: ${old.problem}`);
    return { entry, old: old.cert, key: generateKeyLike(old.cert) };
  });
  const signers = new Map<string, Signer>();
  const signerFor = (caPath: string): Signer => {
    let s = signers.get(caPath);
    if (!s) {
      s = loadSigner(model.first(caPath)!, files.get(keyPathFor(caPath))!, `CA ${caPath}`);
      signers.set(caPath, s);
    }
    return s;
  };
  const out = cloneFiles(files);
  await Promise.all(
    jobs.map(async (job) => {
      const key = await job.key;
      const signer = signerFor(job.entry.issuer!);
      const isKubeconfig = KUBECONFIG_FILES.includes(job.entry.path);
      const pem = reissueLeafWith(job.old, signer, key, plan.now, plan.validityMs, isKubeconfig ? signer.cert.notBefore : undefined);
      writeIssued(out, files, job.entry.path, pem, key);
    }),
  );
  return out;
}
