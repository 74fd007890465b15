// A CA change without an outage: the cluster CA (ca / server-ca / client-ca) is replaced in two
// steps with a window between them in which old and new kubeconfigs both work. Pure: files in,
// files out.
//
// Layout during the window, decided from vCluster's own rules (pkg/certs/ensure.go, pkg/k8s/k8s.go,
// pkg/server/cert/):
// - server-ca.crt must be ONE certificate (kube-controller-manager's signer refuses a bundle) and
//   the 8443 proxy serves its leaf with that first certificate as the chain. So server-ca.crt is
//   the new CA cross-signed by the old one (N×O): clients that trust only the old CA follow the
//   chain to it; clients that trust the new self-signed CA (N) match it by subject and key.
// - the signers split when the first certificates of server-ca.crt and client-ca.crt differ
//   (HasSplitClusterSigningCA), and kubeconfigs are rewritten when ca.crt and server-ca.crt start
//   differently (ensureKubeConfigsTrustServerCA): all three files therefore start with N×O.
// - client-ca.crt = N×O + the old CA: kube-apiserver and the proxy accept client certificates
//   signed by either key (a Go pool treats every certificate in it as an anchor).
// - apiserver.crt = new leaf + N×O, so kube-apiserver on 6443 serves the same chain as the proxy.
// - the kubeconfigs' client certificates are re-issued by N and trust N (self-signed): that chain
//   is complete for Go and OpenSSL alike, and it keeps working after the finalize.
// - front-proxy-ca and etcd-ca are internal (no client outside the pod trusts them): left as they are.
// Finalize: ca, server-ca and client-ca become N alone (self-signed again), apiserver.crt loses the
// chain; certificates signed by the old CA stop being accepted. Abort is a restore of the backup
// taken at the start.
import { BACKDATE_MS, DAY_MS, generateKeyLike, KeyPair, loadSigner, reissueLeafWith, type Signer } from './issue.js';
import { createCA, crossSignCA } from './issue-ca.js';
import { MIN_VALIDITY_MS } from './rotation-plan.js';
import { createPublicKey } from 'node:crypto';
import { describeKey, normalizeCurve, parsePrivateKey } from './keys.js';
import { replaceKubeconfigCredentials } from './kubeconfig-edit.js';
import { currentCredentials, parseKubeconfig } from './kubeconfig.js';
import { encodePem, splitPem } from './pem.js';
import { isSelfSigned, isIssuedBy, parseCertificate, parseCertificates } from './x509.js';
import { firstDer, rolloverState } from './rollover-state.js';

export { rolloverState, type RolloverState } from './rollover-state.js';
import type { CertInfo, PkiFiles, PlanLine } from './types.js';

/** Below this the window is too short to hand out new kubeconfigs: refused. */
const MIN_WINDOW_MS = DAY_MS;

/** Leafs issued by the cluster CA (kubeadm's layout); front-proxy and etcd leafs have CAs of their own. */
const CLUSTER_CA_LEAFS = ['apiserver.crt', 'apiserver-kubelet-client.crt'];
const KUBECONFIGS = ['admin.conf', 'controller-manager.conf', 'scheduler.conf'];

/** A refusal the user can act on; the command turns it into an error with exit code 3. */
export class RolloverRefused extends Error {}

export interface RolloverResult {
  files: PkiFiles;
  lines: PlanLine[];
  warnings: string[];
}

export interface RolloverOptions {
  now: Date;
  validityMs: number;
  caValidityMs: number;
  /** allow validities of 90 days or less */
  allowShortValidity?: boolean;
}

function checkValidity(ms: number, flag: string, allow?: boolean): void {
  if (!(ms > 0)) throw new RolloverRefused(`${flag} must be positive`);
  if (ms <= MIN_VALIDITY_MS && !allow) {
    throw new RolloverRefused(`${flag} of 90 days or less would be renewed by vCluster on its next start; use a longer ${flag} or --allow-short-validity`);
  }
}

const iso = (d: Date) => d.toISOString();

/** Why the PKI cannot take a graceful rollover, or undefined. */
function startRefusal(files: PkiFiles, now: Date): string | undefined {
  if (rolloverState(files)) return 'a CA rollover is already in progress: finish it with "rotate-ca --finalize" or undo it with "rotate-ca --abort"';
  const ca = firstDer(files.get('ca.crt'));
  const server = firstDer(files.get('server-ca.crt'));
  const client = firstDer(files.get('client-ca.crt'));
  if (!ca || !server || !client) return 'ca.crt, server-ca.crt or client-ca.crt is missing: repair the PKI first (restore, or rotate-ca without --graceful)';
  if (!ca.equals(server) || !ca.equals(client)) {
    return 'this vCluster has split CAs (server-ca or client-ca differ from ca, e.g. migrated from k3s): a graceful rollover cannot keep both working here; use rotate-ca without --graceful';
  }
  const old = parseCertificate(files.get('ca.crt')!);
  if (old.notAfter.getTime() - now.getTime() < MIN_WINDOW_MS) {
    return `the CA expires on ${iso(old.notAfter)}, too soon for a transition window: use rotate-ca without --graceful`;
  }
  return undefined;
}

function keyPairFrom(pem: Buffer): KeyPair {
  const key = parsePrivateKey(pem, 'ca.key');
  const d = key.asymmetricKeyDetails ?? {};
  const ec = key.asymmetricKeyType === 'ec';
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return new KeyPair(ec ? 'EC' : 'RSA', ec ? undefined : d.modulusLength, ec ? normalizeCurve(d.namedCurve ?? '') : undefined, publicKeyPem, pem.toString());
}

/** Re-issues a leaf file (or a kubeconfig's client certificate) with a new key from `signer`. */
async function reissue(files: PkiFiles, out: PkiFiles, path: string, signer: Signer, opts: RolloverOptions, chain: string, caDataPem: string): Promise<PlanLine> {
  const isKubeconfig = KUBECONFIGS.includes(path);
  const oldPem = isKubeconfig ? currentCredentials(parseKubeconfig(files.get(path)!)).user.clientCertificateData : files.get(path);
  if (!oldPem) throw new RolloverRefused(`${path} has no certificate to re-issue: repair the PKI first`);
  const old = parseCertificate(oldPem);
  const key = await generateKeyLike(old);
  const notBefore = isKubeconfig ? signer.cert.notBefore : new Date(opts.now.getTime() - BACKDATE_MS);
  const pem = reissueLeafWith(old, signer, key, opts.now, opts.validityMs, notBefore);
  if (isKubeconfig) {
    out.set(path, Buffer.from(replaceKubeconfigCredentials(files.get(path)!, { clientCertPem: pem, clientKeyPem: key.privateKeyPem, caPem: caDataPem })));
  } else {
    out.set(path, Buffer.from(pem + chain));
    out.set(path.replace(/\.crt$/, '.key'), Buffer.from(key.privateKeyPem));
  }
  const issued = parseCertificate(pem);
  return { file: path, action: 'reissue', oldExpiry: iso(old.notAfter), newExpiry: iso(issued.notAfter), keyType: key.describe(), note: isKubeconfig ? 'signed by the new CA, trusts the new CA' : chain ? 'signed by the new CA; chain: + the new CA cross-signed by the old' : 'signed by the new CA' };
}

/**
 * Opens the window: a new CA key, the new CA self-signed and cross-signed by the old one, the
 * cluster-CA leafs and the kubeconfig client certificates re-issued by the new CA.
 */
export async function startRollover(files: PkiFiles, opts: RolloverOptions): Promise<RolloverResult> {
  checkValidity(opts.validityMs, '--validity', opts.allowShortValidity);
  checkValidity(opts.caValidityMs, '--ca-validity', opts.allowShortValidity);
  const refusal = startRefusal(files, opts.now);
  if (refusal) throw new RolloverRefused(refusal);
  const oldSigner = loadSigner(files.get('ca.crt')!, files.get('ca.key') ?? '', 'ca');
  const old = oldSigner.cert;
  const newKey = await generateKeyLike(old);
  const selfPem = createCA({ commonName: old.subjectCN || 'kubernetes', now: opts.now, validityMs: opts.caValidityMs, key: newKey, subjectFrom: old });
  const self = parseCertificate(selfPem);
  const crossPem = crossSignCA({ newCA: self, newKeyPublicPem: newKey.publicKeyPem, oldSigner, now: opts.now, notAfter: self.notAfter });
  const cross = parseCertificate(crossPem);
  const oldCaPem = encodePem('CERTIFICATE', old.der);
  const out: PkiFiles = new Map(files);
  const keyPem = Buffer.from(newKey.privateKeyPem);
  for (const f of ['ca', 'server-ca']) {
    out.set(`${f}.crt`, Buffer.from(crossPem));
    out.set(`${f}.key`, keyPem);
  }
  out.set('client-ca.crt', Buffer.from(crossPem + oldCaPem));
  out.set('client-ca.key', keyPem);
  const signer: Signer = { cert: self, key: newKey.privateKey };
  const lines: PlanLine[] = [
    { file: 'ca.crt', action: 'create', oldExpiry: iso(old.notAfter), newExpiry: iso(cross.notAfter), keyType: newKey.describe(), note: 'the new CA cross-signed by the old one (new key)' },
    { file: 'server-ca.crt', action: 'copy', newExpiry: iso(cross.notAfter), note: 'copy of ca.crt (one certificate: the controller-manager signs with it)' },
    { file: 'client-ca.crt', action: 'create', newExpiry: iso(cross.notAfter), note: 'the cross-signed new CA + the old CA: client certificates of both are accepted' },
  ];
  const jobs = [...CLUSTER_CA_LEAFS.map((p) => reissue(files, out, p, signer, opts, p === 'apiserver.crt' ? crossPem : '', selfPem)),
    ...KUBECONFIGS.filter((p) => files.has(p)).map((p) => reissue(files, out, p, signer, opts, '', selfPem))];
  lines.push(...await Promise.all(jobs));
  const warnings = [
    `CA rollover window opens: old and new kubeconfigs both work until it is finalized (at the latest until ${iso(cross.notAfter)}, when the cross-signed CA expires with the old one); hand out new kubeconfigs, then run "rotate-ca --finalize"`,
    'front-proxy-ca and etcd-ca are internal and stay as they are',
  ];
  if (cross.notAfter.getTime() - opts.now.getTime() < 30 * DAY_MS) {
    warnings.push(`the old CA expires on ${iso(old.notAfter)}: the window closes then; finalize before that date`);
  }
  return { files: out, lines, warnings };
}

/**
 * Closes the window: the new CA alone, self-signed, in ca/server-ca/client-ca; apiserver.crt
 * without the cross-signed chain; the kubeconfigs trust the new CA. Keys stay.
 */
export function finalizeRollover(files: PkiFiles, opts: Pick<RolloverOptions, 'now' | 'caValidityMs' | 'allowShortValidity'>): RolloverResult {
  checkValidity(opts.caValidityMs, '--ca-validity', opts.allowShortValidity);
  const state = rolloverState(files);
  if (!state) throw new RolloverRefused('no CA rollover is in progress: start one with "rotate-ca --graceful"');
  const keyPem = files.get('ca.key');
  if (!keyPem) throw new RolloverRefused('ca.key is missing: repair the PKI first');
  const key = keyPairFrom(keyPem);
  const selfPem = createCA({ commonName: state.crossSigned.subjectCN || 'kubernetes', now: opts.now, validityMs: opts.caValidityMs, key, subjectFrom: state.crossSigned });
  const self = parseCertificate(selfPem);
  const out: PkiFiles = new Map(files);
  for (const f of ['ca.crt', 'server-ca.crt', 'client-ca.crt']) out.set(f, Buffer.from(selfPem));
  const apiserver = files.get('apiserver.crt');
  const leaf = apiserver && splitPem(apiserver).find((b) => b.label === 'CERTIFICATE');
  if (leaf) out.set('apiserver.crt', Buffer.from(encodePem('CERTIFICATE', leaf.der)));
  for (const p of KUBECONFIGS.filter((x) => files.has(x))) out.set(p, Buffer.from(replaceKubeconfigCredentials(files.get(p)!, { caPem: selfPem })));
  const lines: PlanLine[] = [
    { file: 'ca.crt', action: 'finalize', oldExpiry: iso(state.crossSigned.notAfter), newExpiry: iso(self.notAfter), keyType: describeKey(key.algorithm === 'RSA' ? { algorithm: 'RSA', bits: key.bits } : { algorithm: 'EC', curve: key.curve }), note: 'the new CA alone, self-signed (same key)' },
    { file: 'server-ca.crt', action: 'copy', newExpiry: iso(self.notAfter), note: 'copy of ca.crt' },
    { file: 'client-ca.crt', action: 'copy', newExpiry: iso(self.notAfter), note: 'copy of ca.crt: client certificates of the old CA are no longer accepted' },
    { file: 'apiserver.crt', action: 'keep', note: 'the leaf alone (the cross-signed chain is dropped)' },
    ...KUBECONFIGS.filter((x) => files.has(x)).map((file) => ({ file, action: 'keep', note: 'certificate-authority-data = the new ca.crt' })),
  ];
  const warnings = [`kubeconfigs that still trust or were signed by the old CA (${state.oldCA.subject}, expires ${iso(state.oldCA.notAfter)}) stop working`];
  return { files: out, lines, warnings };
}
