// Proof after a restart that the vCluster runs the committed PKI: the Secret, the /data/pki of every
// one of the expected replicas, and what each pod serves on its two ports to a client holding the new
// admin.conf:
//  - 6443, kube-apiserver: the served leaf is the apiserver.crt on that pod's disk;
//  - 8443, the syncer's proxy: a certificate vCluster makes in memory, so only its chain can be judged:
//    it must verify against the new server-ca.crt (after a CA change: and not against the old one).
// vCluster itself re-issues every leaf at start when one has <= 90 days left (start-up renewal, in the
// releases that have it): a PKI with the committed CAs and sa.* and freshly renewed, valid leafs is
// then what success looks like, and is reported as such.
import { X509Certificate } from 'node:crypto';
import { UserError } from '../errors.js';
import { CA_CERT_FILES, KUBECONFIG_FILES, LEAF_CERT_FILES, SA_FILES, isCertMapFile, keyPathFor, secretDataFromFiles } from '../pki/certmap.js';
import { diffPki } from '../pki/inspect.js';
import { parseKubeconfig, currentCredentials } from '../pki/kubeconfig.js';
import { splitPem } from '../pki/pem.js';
import type { CertInfo, PkiFiles } from '../pki/types.js';
import { verifyPki } from '../pki/verify.js';
import { isIssuedBy, parseCertificateDer } from '../pki/x509.js';
import type { Kube } from '../kube/client.js';
import { isPodReady, podStatus, type VCluster } from '../kube/discovery.js';
import { APISERVER_PORT, PROXY_PORT, probePodPort, type ClientCredentials } from '../kube/endpoint.js';
import { readDirFromPod } from '../kube/pod-files.js';
import { PKI_DIR, readPkiFromSecret, certsSecretName } from '../kube/pki-source.js';
import type { V1Pod, V1Secret } from '../kube/k8s.js';

/** certhelper.IsCertExpired: vCluster renews a leaf with this many days left or fewer. */
export const RENEW_WITHIN_DAYS = 90;
const DAY_MS = 86_400_000;

export interface VerifyAppliedOptions {
  /** the PKI before the change: after a CA change, 8443 must no longer chain to its server-ca */
  previous?: PkiFiles;
  now?: () => Date;
}

export interface VerifyAppliedResult {
  /** files vCluster re-issued on start (start-up renewal), empty when the committed PKI runs as is */
  renewedByVCluster: string[];
  /** the Secret's resourceVersion that was found right: the guard for the next write */
  resourceVersion: string;
}

function podName(p: V1Pod): string {
  return p.metadata!.name!;
}

export function sameSecretData(secret: V1Secret, files: PkiFiles): boolean {
  const want = secretDataFromFiles(files, { includeUnknown: true });
  const have = secret.data ?? {};
  const keys = new Set([...Object.keys(want), ...Object.keys(have)]);
  for (const k of keys) if (want[k] !== have[k]) return false;
  return true;
}

/**
 * Whether this vCluster version renews leafs at start: true from v0.31.3, v0.32.2 and v0.33.0 on
 * (pkg/certs/ensure.go), false before, undefined when the image tag is not a version.
 */
export function hasStartupRenewal(version: string): boolean | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (maj > 0 || min >= 33) return true;
  return (min === 31 && patch >= 3) || (min === 32 && patch >= 2);
}

function firstCert(data: Buffer | undefined): CertInfo | undefined {
  const block = data && splitPem(data).find((b) => b.label === 'CERTIFICATE');
  if (!block) return undefined;
  try {
    return parseCertificateDer(block.der);
  } catch {
    return undefined;
  }
}

/** Leafs vCluster would renew at start: missing, unreadable or within the threshold. */
export function leafsDueForRenewal(files: PkiFiles, now: Date): string[] {
  return LEAF_CERT_FILES.filter((f) => {
    const c = firstCert(files.get(f));
    return !c || c.notAfter.getTime() - now.getTime() <= RENEW_WITHIN_DAYS * DAY_MS;
  });
}

/**
 * `candidate` is `committed` as vCluster's start-up renewal leaves it: the same CAs and sa.*, every
 * leaf valid for more than the threshold, the whole PKI consistent. Returns the files it re-issued,
 * or why it is not that.
 */
export function renewedByVCluster(committed: PkiFiles, candidate: PkiFiles, now: Date): { renewed: string[] } | { problem: string } {
  for (const f of [...CA_CERT_FILES, ...CA_CERT_FILES.map(keyPathFor), ...SA_FILES]) {
    const a = committed.get(f);
    const b = candidate.get(f);
    if (a && !(b && a.equals(b))) return { problem: `${f} differs from the committed one` };
  }
  const short = leafsDueForRenewal(candidate, now);
  if (short.length) return { problem: `${short[0]} was not renewed` };
  const problems = verifyPki(candidate, { now });
  if (problems.length) return { problem: problems[0]! };
  const renewed = [...LEAF_CERT_FILES, ...LEAF_CERT_FILES.map(keyPathFor), ...KUBECONFIG_FILES]
    .filter((f) => !(committed.get(f) && candidate.get(f)?.equals(committed.get(f)!)));
  return { renewed };
}

function credentialsFrom(files: PkiFiles): ClientCredentials {
  const admin = files.get('admin.conf');
  if (!admin) throw new UserError('the new PKI has no admin.conf to verify the vCluster endpoints with');
  const { user } = currentCredentials(parseKubeconfig(admin));
  if (!user.clientCertificateData || !user.clientKeyData) {
    throw new UserError('admin.conf in the new PKI lacks embedded client credentials');
  }
  return {
    certPem: Buffer.from(user.clientCertificateData).toString('utf8'),
    keyPem: Buffer.from(user.clientKeyData).toString('utf8'),
  };
}

function describe(c: CertInfo | undefined): string {
  return c ? `CN=${c.subjectCN} issued by CN=${c.issuerCN}, SHA-256 ${c.sha256.slice(0, 23)}…` : 'no certificate';
}

function certificateOf(ders: Buffer[], i = 0): CertInfo | undefined {
  try {
    return ders[i] ? parseCertificateDer(ders[i]!) : undefined;
  } catch {
    return undefined;
  }
}

/** The certMap part of a PKI (start-up renewal writes back exactly those keys). */
function certMapOnly(files: PkiFiles): PkiFiles {
  return new Map([...files].filter(([f]) => isCertMapFile(f)));
}

/**
 * After a restart the Secret, every expected replica's disk and both endpoints of each must show
 * the committed PKI, or that PKI with the leafs vCluster renewed on start.
 */
export async function verifyApplied(kube: Kube, vc: VCluster, files: PkiFiles, opts: VerifyAppliedOptions = {}): Promise<VerifyAppliedResult> {
  const now = (opts.now ?? (() => new Date()))();
  // An unknown version may renew; what it renewed must still fit the committed CAs exactly.
  const mayRenew = hasStartupRenewal(vc.version) !== false && leafsDueForRenewal(files, now).length > 0;
  const renewed = new Set<string>();
  const asRenewed = (candidate: PkiFiles, where: string): PkiFiles => {
    const r = renewedByVCluster(certMapOnly(files), certMapOnly(candidate), now);
    if ('problem' in r) throw new UserError(`${where} holds neither the committed PKI nor it with leafs renewed by vCluster (${r.problem})`);
    for (const f of r.renewed) renewed.add(f);
    return candidate;
  };

  const secret = await readPkiFromSecret(kube, vc);
  let expected = files;
  if (!sameSecretData(secret.secret, files)) {
    if (!mayRenew) throw new UserError(`secret ${certsSecretName(vc.name)} does not hold the PKI that was committed`);
    expected = asRenewed(secret.files, `secret ${certsSecretName(vc.name)}`);
  }

  const pods = (await kube.call('list vCluster pods', () => kube.core.listNamespacedPod({ namespace: vc.namespace, labelSelector: `app=vcluster,release=${vc.name}` }, kube.opts))).items
    .filter((p) => !p.metadata?.deletionTimestamp);
  const want = vc.replicas || 1;
  const ready = pods.filter(isPodReady);
  if (ready.length < want) {
    const states = pods.map((p) => `${podName(p)} ${podStatus(p)}${isPodReady(p) ? '' : ' (not Ready)'}`).join(', ') || 'no pods';
    throw new UserError(`${vc.kind} ${vc.namespace}/${vc.name} wants ${want} Ready replica(s), found ${ready.length}: ${states}`);
  }

  const creds = credentialsFrom(expected);
  const serverCa = firstCert(expected.get('server-ca.crt'));
  if (!serverCa) throw new UserError('the committed PKI has no readable server-ca.crt to check port 8443 against');
  const oldServerCa = firstCert(opts.previous?.get('server-ca.crt'));
  // A new key, not just a new certificate: a rollover's finalize keeps the key, so the proxy's
  // leaf rightly verifies against the cross-signed certificate it replaces.
  const caChanged = oldServerCa && !samePublicKey(oldServerCa, serverCa) ? oldServerCa : undefined;

  for (const p of ready) {
    const pod = podName(p);
    const disk = await readDirFromPod(kube, vc.namespace, pod, PKI_DIR);
    const drift = diffPki(expected, disk);
    const running = drift.differing.length || drift.onlyInA.length
      ? (mayRenew ? asRenewed(disk, `${PKI_DIR} in pod ${pod}`) : undefined)
      : expected;
    if (!running) {
      throw new UserError(`${PKI_DIR} in pod ${pod} does not match the Secret after the restart (${[...drift.differing, ...drift.onlyInA].slice(0, 3).join(', ')})`);
    }

    // kube-apiserver serves the apiserver.crt of the disk it started from.
    const apiserver = firstCert(running.get('apiserver.crt'));
    const api = await probePodPort(kube, vc.namespace, pod, APISERVER_PORT, creds);
    const servedApi = certificateOf(api.chain);
    if (!apiserver || servedApi?.sha256 !== apiserver.sha256) {
      throw new UserError(`pod ${pod} port ${APISERVER_PORT} (kube-apiserver) serves ${describe(servedApi)}, not the new apiserver.crt (${describe(apiserver)})`);
    }
    if (api.statusCode !== 200) throw new UserError(`pod ${pod} port ${APISERVER_PORT} (kube-apiserver) answered ${api.statusCode} to the new admin.conf`);

    // The proxy's certificate is made in memory: what can be checked is whom it chains to.
    const proxy = await probePodPort(kube, vc.namespace, pod, PROXY_PORT, creds);
    const servedProxy = certificateOf(proxy.chain);
    if (!servedProxy || !isIssuedBy(servedProxy, serverCa)) {
      throw new UserError(`pod ${pod} port ${PROXY_PORT} (syncer proxy) serves ${describe(servedProxy)}, which does not verify against the new server-ca.crt (${describe(serverCa)})`);
    }
    if (caChanged && isIssuedBy(servedProxy, caChanged)) {
      throw new UserError(`pod ${pod} port ${PROXY_PORT} (syncer proxy) serves ${describe(servedProxy)}, which still verifies against the old server-ca.crt`);
    }
    if (proxy.statusCode !== 200) throw new UserError(`pod ${pod} port ${PROXY_PORT} (syncer proxy) answered ${proxy.statusCode} to the new admin.conf`);
  }
  return { renewedByVCluster: [...renewed].sort(), resourceVersion: secret.resourceVersion };
}

function samePublicKey(a: CertInfo, b: CertInfo): boolean {
  const spki = (c: CertInfo) => new X509Certificate(c.der).publicKey.export({ type: 'spki', format: 'der' });
  return spki(a).equals(spki(b));
}

