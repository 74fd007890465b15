// `rotate-ca`: new CAs with the old subjects, then every leaf and kubeconfig client certificate
// from them. Pure, no I/O: PkiFiles in, PkiFiles out. Refusals are RotationRefusals (rotation-plan.ts).

import { DEFAULT_CA_COMMON_NAMES, KUBECONFIG_FILES, LEAF_CERT_FILES, LEAF_ISSUERS, ROOT_CA_FILES, keyPathFor } from './certmap.js';
import {
  BACKDATE_MS, generateKeyLike, keySpecOf, reissueLeafWith, truncateToSeconds,
  type KeyPair, type KeySpec, type Signer,
} from './issue.js';
import { createCA } from './issue-ca.js';
import { describeKey } from './keys.js';
import { PkiModel } from './model.js';
import {
  DEFAULT_CA_VALIDITY_MS, addReissue, checkPlan, checkValidity, cloneFiles, days, keepEntries, oldCertOf, pkiDigest, refuse, writeIssued,
  type CARotationOptions, type Job, type PlanEntry, type RotationPlan,
} from './rotation-plan.js';
import { keyTypeOf, parseCertificate } from './x509.js';
import type { PkiFiles } from './types.js';

/**
 * Plan a CA rotation (`rotate-ca`): new ca, front-proxy-ca and etcd/ca with the same subjects (kubeadm's
 * defaults when the old one is unreadable) and key types; server-ca and client-ca become copies of the
 * new ca (a split CA is merged, as upstream rotate-ca does); every leaf and kubeconfig client certificate
 * re-issued from the new CAs with new keys; kubeconfig CA data replaced; sa.* and unknown files kept.
 * Works on an expired PKI. Throws a RotationRefusal when a leaf's profile is unreadable or a validity is
 * 90 days or less without `force`.
 */
export function planCARotation(files: PkiFiles, opts: CARotationOptions): RotationPlan {
  checkValidity(opts.validityMs, 'validity', '--validity', opts.force);
  checkValidity(opts.caValidityMs, 'CA validity', '--ca-validity', opts.force);
  const model = new PkiModel(files);
  const problems: string[] = [];
  const warnings: string[] = [
    'every existing kubeconfig for this vCluster (including vc-<name> and copies given to users) stops working: it trusts the old CA',
  ];
  const entries: PlanEntry[] = [];
  const handled = new Set<string>();
  const caNotAfter = truncateToSeconds(new Date(opts.now.getTime() + opts.caValidityMs));
  const leafNotAfter = truncateToSeconds(new Date(opts.now.getTime() + opts.validityMs));
  if (leafNotAfter.getTime() > caNotAfter.getTime()) {
    warnings.push(`leafs (${days(opts.validityMs)}) would outlive the new CAs (${days(opts.caValidityMs)}); they stop verifying when the CAs expire`);
  }

  for (const path of ROOT_CA_FILES) {
    const old = model.first(path);
    let keyAlgorithm = 'RSA-2048';
    let note: string | undefined;
    if (old) {
      try {
        keyAlgorithm = describeKey(keySpecOf(old));
      } catch {
        note = `old key type ${keyTypeOf(old)} is not supported; the new CA gets RSA-2048`;
      }
    } else {
      note = `old ${path} is missing or unreadable; the new CA gets kubeadm's subject CN=${DEFAULT_CA_COMMON_NAMES[path]}`;
    }
    entries.push({
      path,
      role: 'ca-cert',
      action: 'create',
      subject: old?.subject ?? `/CN=${DEFAULT_CA_COMMON_NAMES[path]}`,
      oldNotAfter: old?.notAfter,
      newNotAfter: caNotAfter,
      keyAlgorithm,
      note,
    });
    entries.push({ path: keyPathFor(path), role: 'ca-key', action: 'create', keyAlgorithm, note: 'new private key' });
    handled.add(path).add(keyPathFor(path));
  }
  for (const path of ['server-ca.crt', 'client-ca.crt']) {
    const note = model.split
      ? 'copy of the new ca: the split CA (server-ca != ca) is merged into one CA, as upstream rotate-ca does'
      : 'copy of the new ca';
    entries.push({ path, role: 'ca-cert', action: 'copy', copyOf: 'ca.crt', oldNotAfter: model.first(path)?.notAfter, newNotAfter: caNotAfter, note });
    entries.push({ path: keyPathFor(path), role: 'ca-key', action: 'copy', copyOf: 'ca.key' });
    handled.add(path).add(keyPathFor(path));
  }
  if (model.split) {
    warnings.push('split CA: server-ca and client-ca become copies of the new ca; apiserver.crt and the kubeconfigs use that one CA afterwards');
  }

  for (const path of [...LEAF_CERT_FILES, ...KUBECONFIG_FILES]) {
    const old = oldCertOf(model, path);
    if ('problem' in old) {
      problems.push(old.problem);
      continue;
    }
    try {
      keySpecOf(old.cert);
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message}`);
      continue;
    }
    const issuer = KUBECONFIG_FILES.includes(path) ? 'ca.crt' : LEAF_ISSUERS[path]!;
    addReissue(entries, handled, path, old.cert, issuer, leafNotAfter, 'certificate-authority-data = the new ca.crt');
  }
  if (problems.length) refuse('the CA rotation', problems);
  entries.push(...keepEntries(model, handled, warnings, 'ca'));
  for (const e of entries) {
    if (e.note === undefined) delete e.note;
    if (e.oldNotAfter === undefined) delete e.oldNotAfter;
  }
  return {
    kind: 'ca',
    now: opts.now,
    validityMs: opts.validityMs,
    caValidityMs: opts.caValidityMs,
    split: model.split,
    entries,
    warnings,
    inputDigest: pkiDigest(files),
  };
}

interface NewCA extends Signer {
  pem: string;
  keyPair: KeyPair;
}

/**
 * Apply a CA rotation plan: returns the complete new PkiFiles. All keys (3 CAs, every leaf and client
 * certificate) are generated in parallel; each CA is created when its key is ready and each leaf is
 * signed as soon as its key and its CA are. sa.* and unknown files are byte-for-byte the input.
 */
export async function applyCARotation(files: PkiFiles, plan: RotationPlan): Promise<PkiFiles> {
  checkPlan(files, plan, 'ca');
  const model = new PkiModel(files);
  const caValidityMs = plan.caValidityMs ?? DEFAULT_CA_VALIDITY_MS;
  const newCAs = new Map<string, Promise<NewCA>>();
  for (const e of plan.entries.filter((x) => x.action === 'create' && x.role === 'ca-cert')) {
    const old = model.first(e.path);
    let spec: KeySpec = { algorithm: 'RSA', bits: 2048 };
    if (old) {
      try {
        spec = keySpecOf(old);
      } catch {
        /* unsupported old key type: RSA-2048, as planned */
      }
    }
    const keyP = generateKeyLike(spec);
    newCAs.set(
      e.path,
      keyP.then((keyPair) => {
        const pem = createCA({
          commonName: old?.subjectCN || DEFAULT_CA_COMMON_NAMES[e.path] || 'kubernetes',
          now: plan.now,
          validityMs: caValidityMs,
          key: keyPair,
          ...(old ? { subjectFrom: old } : {}),
        });
        return { pem, keyPair, cert: parseCertificate(pem), key: keyPair.privateKey };
      }),
    );
  }
  const jobs: Job[] = plan.entries
    .filter((e) => e.action === 'reissue' && e.role !== 'leaf-key')
    .map((entry) => {
      const old = oldCertOf(model, entry.path);
      if ('problem' in old) throw new Error(`internal error: ${old.problem}`);
      return { entry, old: old.cert, key: generateKeyLike(old.cert) };
    });
  const out = cloneFiles(files);
  const caPromise = (path: string) => {
    const p = newCAs.get(path);
    if (!p) throw new Error(`internal error: no new CA for ${path}`);
    return p;
  };
  const rootCA = caPromise('ca.crt');
  await Promise.all([
    ...[...newCAs].map(async ([path, p]) => {
      const ca = await p;
      out.set(path, Buffer.from(ca.pem));
      out.set(keyPathFor(path), Buffer.from(ca.keyPair.privateKeyPem));
    }),
    ...jobs.map(async (job) => {
      const [key, ca, root] = await Promise.all([job.key, caPromise(job.entry.issuer!), rootCA]);
      const isKubeconfig = KUBECONFIG_FILES.includes(job.entry.path);
      const notBefore = isKubeconfig ? ca.cert.notBefore : new Date(plan.now.getTime() - BACKDATE_MS);
      const pem = reissueLeafWith(job.old, ca, key, plan.now, plan.validityMs, notBefore);
      writeIssued(out, files, job.entry.path, pem, key, isKubeconfig ? root.pem : undefined);
    }),
  ]);
  const root = await rootCA;
  for (const e of plan.entries.filter((x) => x.action === 'copy')) {
    const src = e.copyOf === 'ca.key' ? root.keyPair.privateKeyPem : root.pem;
    out.set(e.path, Buffer.from(src));
  }
  return out;
}
