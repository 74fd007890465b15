// Rotation plans and their application: `rotate` (leafs from the existing CAs) and `rotate-ca`
// (new CAs, then every leaf from them). Pure, no I/O: PkiFiles in, PkiFiles out.

import { createHash } from 'node:crypto';
import { EXIT, UserError } from '../errors.js';
import {
  CA_CERT_FILES,
  DEFAULT_CA_COMMON_NAMES,
  KUBECONFIG_FILES,
  LEAF_CERT_FILES,
  LEAF_ISSUERS,
  ROOT_CA_FILES,
  fileRole,
  keyPathFor,
  type FileRole,
} from './certmap.js';
import {
  BACKDATE_MS,
  DAY_MS,
  createCA,
  generateKeyLike,
  keySpecOf,
  loadSigner,
  reissueLeafWith,
  truncateToSeconds,
  type KeyPair,
  type KeySpec,
  type Signer,
} from './issue.js';
import { describeKey } from './keys.js';
import { replaceKubeconfigCredentials } from './kubeconfig-edit.js';
import { PkiModel, comparePaths } from './model.js';
import { certMatchesKey, keyTypeOf, parseCertificate } from './x509.js';
import type { CertInfo, PkiFiles } from './types.js';

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
}

export interface CARotationOptions extends LeafRotationOptions {
  caValidityMs: number;
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function days(ms: number): string {
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

function checkValidity(ms: number, what: string, flag: string, force: boolean | undefined): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new UserError(`${what} must be positive`, EXIT.USAGE);
  if (ms <= MIN_VALIDITY_MS && !force) {
    throw new UserError(
      `${what} ${days(ms)} is 90 days or less: vCluster's own watcher renews such certificates at the next start ` +
        `or check and would race with this rotation; use a longer ${flag} or --force`,
      EXIT.USAGE,
    );
  }
}

/** Plan entries for re-issuing `path` (and its .key; a kubeconfig carries its key inside). */
function addReissue(entries: PlanEntry[], handled: Set<string>, path: string, cert: CertInfo, issuer: string, newNotAfter: Date, caDataNote: string): void {
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

function refuse(what: string, problems: string[]): never {
  // One CA problem is found once per leaf it signs: say it once.
  throw new UserError(`cannot plan ${what}: ${[...new Set(problems)].join('; ')}`, EXIT.USAGE);
}

/** Old certificate of a leaf file or of a kubeconfig's client certificate, or the reason it is unusable. */
function oldCertOf(model: PkiModel, path: string): { cert: CertInfo } | { problem: string } {
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

function keepEntries(model: PkiModel, handled: Set<string>, warnings: string[], kind: 'leaf' | 'ca'): PlanEntry[] {
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

/**
 * Plan a leaf rotation (`rotate`): every leaf and kubeconfig client certificate re-issued with a new key
 * from the CA that issued it; CA files, sa.* and unknown files kept. Throws a UserError (one line) when
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

function cloneFiles(files: PkiFiles): PkiFiles {
  return new Map([...files].map(([k, v]) => [k, Buffer.from(v)]));
}

function checkPlan(files: PkiFiles, plan: RotationPlan, kind: 'leaf' | 'ca'): void {
  if (plan.kind !== kind) throw new Error(`internal error: a ${plan.kind} plan was given to the ${kind} rotation`);
  if (pkiDigest(files) !== plan.inputDigest) {
    throw new UserError('the PKI changed since the rotation was planned; plan it again', EXIT.USAGE);
  }
}

interface Job {
  entry: PlanEntry;
  old: CertInfo;
  key: Promise<KeyPair>;
}

function writeIssued(out: PkiFiles, files: PkiFiles, path: string, certPem: string, key: KeyPair, caPem?: string): void {
  if (KUBECONFIG_FILES.includes(path)) {
    const repl = { clientCertPem: certPem, clientKeyPem: key.privateKeyPem, ...(caPem !== undefined ? { caPem } : {}) };
    out.set(path, Buffer.from(replaceKubeconfigCredentials(files.get(path)!, repl)));
  } else {
    out.set(path, Buffer.from(certPem));
    out.set(keyPathFor(path), Buffer.from(key.privateKeyPem));
  }
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

/**
 * Plan a CA rotation (`rotate-ca`): new ca, front-proxy-ca and etcd/ca with the same subjects (kubeadm's
 * defaults when the old one is unreadable) and key types; server-ca and client-ca become copies of the
 * new ca (a split CA is merged, as upstream rotate-ca does); every leaf and kubeconfig client certificate
 * re-issued from the new CAs with new keys; kubeconfig CA data replaced; sa.* and unknown files kept.
 * Works on an expired PKI. Throws a UserError when a leaf's profile is unreadable or a validity is
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
