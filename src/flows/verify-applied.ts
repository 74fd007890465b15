// Proof after a restart that the vCluster runs the committed PKI: the Secret, every replica's
// /data/pki, and what each pod serves to a client holding the new admin.conf.
import { UserError } from '../errors.js';
import { secretDataFromFiles } from '../pki/certmap.js';
import { diffPki } from '../pki/inspect.js';
import { parseKubeconfig, currentCredentials } from '../pki/kubeconfig.js';
import { splitPem } from '../pki/pem.js';
import type { PkiFiles } from '../pki/types.js';
import { sha256Fingerprint } from '../pki/x509.js';
import type { Kube } from '../kube/client.js';
import { isPodReady, type VCluster } from '../kube/discovery.js';
import { probeVClusterEndpoint } from '../kube/endpoint.js';
import { readDirFromPod } from '../kube/pod-files.js';
import { PKI_DIR, readPkiFromSecret, certsSecretName } from '../kube/pki-source.js';
import type { V1Pod, V1Secret } from '../kube/k8s.js';

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

function credentialsFrom(files: PkiFiles) {
  const admin = files.get('admin.conf');
  if (!admin) throw new UserError('the new PKI has no admin.conf to verify the vCluster endpoint with');
  const { cluster, user } = currentCredentials(parseKubeconfig(admin));
  if (!cluster.certificateAuthorityData || !user.clientCertificateData || !user.clientKeyData) {
    throw new UserError('admin.conf in the new PKI lacks embedded CA or client credentials');
  }
  return {
    caPem: Buffer.from(cluster.certificateAuthorityData).toString('utf8'),
    certPem: Buffer.from(user.clientCertificateData).toString('utf8'),
    keyPem: Buffer.from(user.clientKeyData).toString('utf8'),
  };
}


/** After a restart the Secret, every replica's disk and every endpoint must show the new PKI. */
export async function verifyApplied(kube: Kube, vc: VCluster, files: PkiFiles): Promise<void> {
  const secret = await readPkiFromSecret(kube, vc);
  if (!sameSecretData(secret.secret, files)) throw new UserError(`secret ${certsSecretName(vc.name)} does not hold the PKI that was committed`);
  const pods = (await kube.call('list vCluster pods', () => kube.core.listNamespacedPod({ namespace: vc.namespace, labelSelector: `app=vcluster,release=${vc.name}` }, kube.opts))).items;
  const creds = credentialsFrom(files);
  const apiserver = splitPem(files.get('apiserver.crt') ?? '').find((b) => b.label === 'CERTIFICATE');
  const wantServed = apiserver ? sha256Fingerprint(apiserver.der) : '';
  for (const p of pods.filter(isPodReady)) {
    const disk = await readDirFromPod(kube, vc.namespace, podName(p), PKI_DIR);
    const drift = diffPki(secret.files, disk);
    if (drift.differing.length || drift.onlyInA.length) {
      throw new UserError(`${PKI_DIR} in pod ${podName(p)} does not match the Secret after the restart (${[...drift.differing, ...drift.onlyInA].slice(0, 3).join(', ')})`);
    }
    const probe = await probeVClusterEndpoint(kube, vc.namespace, podName(p), creds);
    if (wantServed && probe.servedSha256 !== wantServed) throw new UserError(`pod ${podName(p)} serves an apiserver certificate other than the new one`);
    if (probe.statusCode !== 200) throw new UserError(`pod ${podName(p)} answered ${probe.statusCode} to the new admin.conf credentials`);
  }
}

