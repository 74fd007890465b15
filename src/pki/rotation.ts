// Rotation plans and their application: `rotate` (leafs from the existing CAs) here, `rotate-ca`
// (new CAs, then every leaf from them) in rotation-ca.ts. Pure, no I/O: PkiFiles in, PkiFiles out.
// Refusals are RotationRefusals (rotation-plan.ts).

import { CA_CERT_FILES, KUBECONFIG_FILES, LEAF_CERT_FILES, keyPathFor } from './certmap.js';
import { generateKeyLike, loadSigner, reissueLeafWith, truncateToSeconds, type Signer } from './issue.js';
import { PkiModel } from './model.js';
import {
  addReissue, checkPlan, checkValidity, cloneFiles, iso, keepEntries, oldCertOf, pkiDigest, refuse, writeIssued,
  type Job, type LeafRotationOptions, type PlanEntry, type RotationPlan,
} from './rotation-plan.js';
import { certMatchesKey } from './x509.js';
import type { CertInfo, PkiFiles } from './types.js';

export {
  MIN_VALIDITY_MS, DEFAULT_LEAF_VALIDITY_MS, DEFAULT_CA_VALIDITY_MS, RotationRefusal, pkiDigest,
  type RefusalKind, type PlanAction, type PlanEntry, type RotationPlan, type LeafRotationOptions, type CARotationOptions,
} from './rotation-plan.js';
export { planCARotation, applyCARotation } from './rotation-ca.js';

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

/**
 * Plan a leaf rotation (`rotate`): every leaf and kubeconfig client certificate re-issued with a new key
 * from the CA that issued it; CA files, sa.* and unknown files kept. Throws a RotationRefusal (one line) when
 * a CA is missing its key, is expired, does not verify a leaf, a leaf is missing or unreadable, or the
 * validity is 90 days or less without `force`.
 */
export function planLeafRotation(files: PkiFiles, opts: LeafRotationOptions): RotationPlan {
  checkValidity(opts.validityMs, 'validity', '--validity', opts.force);
  const model = new PkiModel(files);
  const problems: string[] = [];
  const warnings: string[] = [];
  const entries: PlanEntry[] = [];
  const handled = new Set<string>();
  const newNotAfter = truncateToSeconds(new Date(opts.now.getTime() + opts.validityMs));

  for (const path of [...LEAF_CERT_FILES, ...KUBECONFIG_FILES]) {
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
