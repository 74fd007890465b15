// `kubeconfig issue`: a client kubeconfig signed by the vCluster's client CA, in the profile of
// `kubeadm kubeconfig user` (vendored kubeadm phases/kubeconfig WriteKubeConfigWithClientCert and
// util/pkiutil NewSignedCert): CN = user, O = groups, clientAuth, KeyUsage digitalSignature|
// keyEncipherment, BasicConstraints CA:FALSE, AuthorityKeyId = the CA's key id, a new key.
// Pure except writeKubeconfigFile. The private key lives in the returned YAML and in FILE only.

import { closeSync, existsSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { stringify } from 'yaml';
import { UserError } from '../errors.js';
import jsrsasign from '../pki/fast/jsrsasign.js';
import { assertIssued, BACKDATE_MS, buildCertificate, DAY_MS, generateKeyLike, loadSigner, truncateToSeconds, type ExtParam, type KeyPair, type KeySpec, type Signer } from '../pki/issue.js';
import { rfc3339 } from '../pki/inspect.js';
import { encodePem } from '../pki/pem.js';
import { certHandles } from '../pki/x509.js';
import type { PkiFiles } from '../pki/types.js';
import { LOCAL_SERVER, writePrivateFile } from './kubeconfig-out.js';
import { judgeKubeconfig, pemCertificates, servedPki, type ServedPki } from './kubeconfig-judge.js';

const { KJUR } = jsrsasign;

/** kubeadm's encryptionAlgorithm choices; kubeadm's default is RSA-2048. */
export const KEY_TYPES: Readonly<Record<string, KeySpec>> = Object.freeze({
  'rsa-2048': { algorithm: 'RSA', bits: 2048 },
  'rsa-3072': { algorithm: 'RSA', bits: 3072 },
  'rsa-4096': { algorithm: 'RSA', bits: 4096 },
  'ecdsa-p256': { algorithm: 'EC', curve: 'prime256v1' },
  'ecdsa-p384': { algorithm: 'EC', curve: 'secp384r1' },
});

/** `kubeadm kubeconfig user --validity-period` defaults to one year (8760h). */
export const DEFAULT_CLIENT_VALIDITY = '365d';
/** Members of this group pass every authorization check, and a certificate cannot be revoked. */
export const SUPERUSER_GROUP = 'system:masters';

export interface IssueRequest {
  vcName: string;
  namespace: string;
  user: string;
  groups: string[];
  validityMs: number;
  keyType: string;
  server: string;
  now: Date;
  allowSystemMasters?: boolean;
}

export interface IssuePlan {
  vcluster: string;
  namespace: string;
  user: string;
  groups: string[];
  /** OpenSSL one-line form, '/O=dev/CN=alice' */
  subject: string;
  keyType: string;
  notBefore: string;
  notAfter: string;
  server: string;
  cluster: string;
  context: string;
  /** the CA that signs: first certificate of client-ca.crt */
  issuer: { subject: string; sha256: string; expiryTime: string };
  /** the certificate-authority-data: first certificate of server-ca.crt (what the proxy chains to) */
  caData: { subject: string; sha256: string; expiryTime: string };
}

/** One-line errors for the request itself, before the cluster is asked anything. */
export function validateRequest(r: Pick<IssueRequest, 'user' | 'groups' | 'validityMs' | 'keyType' | 'server' | 'allowSystemMasters'>): void {
  if (!r.user || r.user.trim() !== r.user) throw new UserError('--user must be a non-empty user name without surrounding spaces, e.g. --user alice');
  if (r.groups.some((g) => !g || g.trim() !== g)) throw new UserError('--group must be a non-empty group name without surrounding spaces');
  if (r.groups.includes(SUPERUSER_GROUP) && !r.allowSystemMasters) {
    throw new UserError(`refusing to issue a certificate in group ${SUPERUSER_GROUP}: it bypasses all RBAC and cannot be revoked before it expires; bind a ClusterRole to a group of your own instead, or pass --allow-system-masters if you really mean it`);
  }
  if (!(r.validityMs > 0)) throw new UserError('--validity must be positive, e.g. 30d');
  if (!KEY_TYPES[r.keyType]) throw new UserError(`unknown --key-type "${r.keyType}": use one of ${Object.keys(KEY_TYPES).join(', ')}`);
  let url: URL;
  try {
    url = new URL(r.server);
  } catch {
    throw new UserError(`--server "${r.server}" is not a URL: use e.g. https://localhost:8443`);
  }
  if (url.protocol !== 'https:') throw new UserError(`--server must be an https:// URL (a client certificate is only sent over TLS), not "${r.server}"`);
}

/** DER hex of the subject as Go marshals pkix.Name{CommonName, Organization}: the O values in one RDN, then CN. */
export function clientSubjectHex(cn: string, groups: string[]): string {
  const ds = (v: string) => (/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v) ? 'prn' : 'utf8');
  const rdns = [];
  if (groups.length) rdns.push(groups.map((g) => ({ type: 'O', value: g, ds: ds(g) })));
  rdns.push([{ type: 'CN', value: cn, ds: ds(cn) }]);
  return new KJUR.asn1.x509.X500Name({ array: rdns } as never).getEncodedHex();
}

/** A client certificate for `key`, signed by `signer`, valid from notBefore to notAfter. */
export function issueClientCertificate(signer: Signer, key: KeyPair, user: string, groups: string[], notBefore: Date, notAfter: Date): string {
  const ext: ExtParam[] = [
    { extname: 'keyUsage', critical: true, names: ['digitalSignature', 'keyEncipherment'] },
    { extname: 'extKeyUsage', array: ['clientAuth'] },
    { extname: 'basicConstraints', critical: true },
  ];
  if (signer.cert.subjectKeyId) ext.push({ extname: 'authorityKeyIdentifier', kid: { hex: signer.cert.subjectKeyId } });
  const pem = buildCertificate({
    subjectHex: clientSubjectHex(user, groups),
    issuerHex: certHandles(signer.cert).subjectHex,
    publicKeyPem: key.publicKeyPem,
    notBefore,
    notAfter,
    extensions: ext,
    signer: signer.key,
  });
  assertIssued(pem, signer, key);
  return pem;
}

interface Prepared {
  plan: IssuePlan;
  signer: Signer;
  caPem: string;
  served: ServedPki;
}

/** Everything but the key: checks that the client CA can sign what is asked. */
export function prepareIssue(files: PkiFiles, r: IssueRequest): Prepared {
  validateRequest(r);
  const caCert = files.get('client-ca.crt');
  const caKey = files.get('client-ca.key');
  if (!caCert?.length || !caKey?.length) {
    throw new UserError(`the vCluster's PKI has no client-ca.crt/client-ca.key to sign with; run "kubectl vcluster-certs check ${r.vcName} -n ${r.namespace}"`);
  }
  let signer: Signer;
  try {
    signer = loadSigner(pemCertificates(caCert)[0] ?? caCert, caKey, 'client-ca');
  } catch (e) {
    throw new UserError(`cannot sign with the vCluster's client CA: ${(e as Error).message}; run "kubectl vcluster-certs check ${r.vcName} -n ${r.namespace}"`, 3, e);
  }
  const served = servedPki(files);
  const serverCA = served.serverCA;
  if (!serverCA) throw new UserError(`the vCluster's server-ca.crt is unreadable, so the kubeconfig would not know what to trust; run "kubectl vcluster-certs check ${r.vcName} -n ${r.namespace}"`);
  const notBefore = truncateToSeconds(new Date(r.now.getTime() - BACKDATE_MS));
  const notAfter = truncateToSeconds(new Date(r.now.getTime() + r.validityMs));
  const ca = signer.cert;
  if (r.now.getTime() < ca.notBefore.getTime() || r.now.getTime() > ca.notAfter.getTime()) {
    throw new UserError(`the vCluster's client CA is not valid now (${rfc3339(ca.notBefore)} to ${rfc3339(ca.notAfter)}): run rotate-ca first`);
  }
  if (notAfter.getTime() > ca.notAfter.getTime()) {
    const days = Math.floor((ca.notAfter.getTime() - r.now.getTime()) / DAY_MS);
    throw new UserError(`the vCluster's client CA expires on ${rfc3339(ca.notAfter)}, before the certificate would: use --validity ${days}d or less, or rotate-ca first`);
  }
  const cluster = `vcluster_${r.vcName}_${r.namespace}`;
  const groups = [...new Set(r.groups)];
  const caPem = encodePem('CERTIFICATE', serverCA.der);
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${r.user}`;
  return {
    signer,
    caPem,
    served,
    plan: {
      vcluster: r.vcName,
      namespace: r.namespace,
      user: r.user,
      groups,
      subject,
      keyType: r.keyType,
      notBefore: rfc3339(notBefore),
      notAfter: rfc3339(notAfter),
      server: r.server,
      cluster,
      context: `${r.user}@${cluster}`,
      issuer: { subject: ca.subject, sha256: ca.sha256, expiryTime: rfc3339(ca.notAfter) },
      caData: { subject: serverCA.subject, sha256: serverCA.sha256, expiryTime: rfc3339(serverCA.notAfter) },
    },
  };
}

/** The kubeconfig in clientcmd's layout; the user entry is named as the context, so merged files do not clash. */
export function clientKubeconfigYaml(p: { cluster: string; context: string; server: string; caPem: string; certPem: string; keyPem: string }): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': b64(p.caPem), server: p.server }, name: p.cluster }],
    contexts: [{ context: { cluster: p.cluster, user: p.context }, name: p.context }],
    'current-context': p.context,
    kind: 'Config',
    preferences: {},
    users: [{ name: p.context, user: { 'client-certificate-data': b64(p.certPem), 'client-key-data': b64(p.keyPem) } }],
  }, { lineWidth: 0 });
}

export interface Issued {
  plan: IssuePlan;
  /** holds the private key: goes to the file and nowhere else */
  yaml: string;
  /** not fatal: e.g. the CA data does not trust kube-apiserver's apiserver.crt right now */
  warnings: string[];
}

export async function issueKubeconfig(files: PkiFiles, r: IssueRequest): Promise<Issued> {
  const { plan, signer, caPem, served } = prepareIssue(files, r);
  const key = await generateKeyLike(KEY_TYPES[r.keyType]!);
  const certPem = issueClientCertificate(signer, key, r.user, plan.groups, new Date(plan.notBefore), new Date(plan.notAfter));
  const yaml = clientKubeconfigYaml({ cluster: plan.cluster, context: plan.context, server: plan.server, caPem, certPem, keyPem: key.privateKeyPem });
  // What `kubeconfig check` would say about it: the same judgment users get.
  const [v] = judgeKubeconfig(yaml, served, { name: r.vcName, namespace: r.namespace }, true, { now: r.now, warnWithinMs: 0 }).contexts;
  if (!v || v.client.status !== 'accepted' || v.client.keyMatches !== true) {
    throw new Error(`internal error: the issued kubeconfig does not pass its own check (${v?.problems.join('; ') ?? 'no context'})`);
  }
  const warnings = v.ca.status === 'trusted' ? [] : v.problems;
  // the subject as the certificate holds it (DER sorts the groups of its one RDN)
  return { plan: { ...plan, groups: v.client.groups ?? plan.groups, subject: v.client.certificate?.subject ?? plan.subject }, yaml, warnings };
}

/** Fails early (before a key is made) when FILE exists and may not be replaced. */
export function assertOutFree(path: string, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) throw new UserError(`${path} already exists: pick another --out, or pass --overwrite to replace it`);
}

/**
 * Writes FILE with mode 0600. Without `overwrite`: created with O_EXCL (an existing file or a
 * symlink is never followed or replaced). With it: a new file renamed over the old one.
 */
export function writeKubeconfigFile(path: string, content: string, overwrite: boolean): void {
  if (overwrite) {
    try {
      writePrivateFile(path, content, true);
    } catch (e) {
      throw new UserError((e as Error).message, 3, e);
    }
    return;
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') throw new UserError(`${path} already exists: pick another --out, or pass --overwrite to replace it`, 3, e);
    throw new UserError(`cannot create ${path}: ${err.message.split('\n')[0]}`, 3, e);
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(path, { force: true });
    throw new UserError(`cannot write ${path}: ${(e as Error).message.split('\n')[0]} (nothing was written)`, 3, e);
  }
}

export { LOCAL_SERVER };
