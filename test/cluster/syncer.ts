// What the vCluster syncer container does at start (reference §3; pkg/certs/ensure.go EnsureCerts, with
// start-up renewal for the versions that have it), what a deployed etcd pod checks, and what the pod then
// serves on 8443 (syncer proxy) and 6443 (kube-apiserver), see serving.ts. PKI validation uses
// node:crypto only, so it is graded independently of the plugin's own crypto code.

import { X509Certificate, createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { CERT_MAP, SECRET_KEY_TO_FILE } from './certmap.js';
import type { KObject, Store } from './store.js';
import { typeByKind } from './resources.js';
import { leafsNeedRenewal, readPkiDir as readTree, removeLeafFiles, renewLeafs, secretFiles, syncSecret, VCLUSTER_MANAGER, writePki } from './renewal.js';
import { APISERVER_PORT, PROXY_PORT, makeProxyCert, proxySans, type ServingConfig } from './serving.js';

export interface SyncerOptions {
  /** EnsureCerts re-issues leafs with <= 90 days left (decided from the image tag by the caller) */
  startupRenewal: boolean;
  /** write the vc-<name> kubeconfig Secret on start, as every syncer does (default true; false: a syncer that fails to) */
  writeKubeconfigSecret?: boolean;
}

export type { ServingConfig };

export interface ContainerStartResult {
  ok: boolean;
  /** log lines the container wrote */
  logs: string[];
  serving?: ServingConfig;
}

const SECRETS = typeByKind('Secret');
const SERVICES = typeByKind('Service');

function logLine(level: 'info' | 'warn' | 'error' | 'fatal', component: string, message: string): string {
  return `${new Date().toISOString()}\t${level}\t${component}\t${message}`;
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function parseCerts(file: string, content: Buffer | undefined, problems: string[]): X509Certificate[] {
  if (!content || content.length === 0) {
    problems.push(`${file}: missing or empty`);
    return [];
  }
  const blocks = pemBlocks(content.toString('utf8'));
  if (blocks.length === 0) {
    problems.push(`${file}: no PEM certificate found`);
    return [];
  }
  const certs: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      certs.push(new X509Certificate(b));
    } catch (e) {
      problems.push(`${file}: unparsable certificate: ${(e as Error).message}`);
    }
  }
  return certs;
}

function parseKey(file: string, content: Buffer | undefined, problems: string[]): KeyObject | undefined {
  if (!content || content.length === 0) {
    problems.push(`${file}: missing or empty`);
    return undefined;
  }
  try {
    return createPrivateKey(content);
  } catch (e) {
    problems.push(`${file}: unparsable private key: ${(e as Error).message}`);
    return undefined;
  }
}

function checkValidity(file: string, cert: X509Certificate, now: Date, problems: string[]): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) problems.push(`${file}: certificate is not yet valid (notBefore ${from.toISOString()})`);
  if (now > to) problems.push(`${file}: certificate has expired (notAfter ${to.toISOString()})`);
}

/** Leaf -> the CA file it must verify against (apiserver.crt uses server-ca, which equals ca unless split). */
export const ISSUER_OF: Readonly<Record<string, string>> = {
  'apiserver.crt': 'server-ca.crt',
  'apiserver-kubelet-client.crt': 'ca.crt',
  'front-proxy-client.crt': 'front-proxy-ca.crt',
  'apiserver-etcd-client.crt': 'etcd/ca.crt',
  'etcd/server.crt': 'etcd/ca.crt',
  'etcd/peer.crt': 'etcd/ca.crt',
  'etcd/healthcheck-client.crt': 'etcd/ca.crt',
};

const CA_FILES = ['ca.crt', 'server-ca.crt', 'client-ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'];
export const KUBECONFIGS = ['admin.conf', 'controller-manager.conf', 'scheduler.conf'];

function verifies(leaf: X509Certificate, ca: X509Certificate): boolean {
  try {
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  } catch {
    return false;
  }
}

function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** Every problem of a vCluster PKI (files relative to /data/pki) that stops the syncer; [] when healthy. */
export function validatePki(files: Map<string, Buffer>, now = new Date()): string[] {
  const problems: string[] = [];
  const certs = new Map<string, X509Certificate[]>();
  for (const file of CERT_MAP.keys()) {
    if (!file.endsWith('.crt')) continue;
    const parsed = parseCerts(file, files.get(file), problems);
    if (parsed.length === 0) continue;
    certs.set(file, parsed);
    for (const c of parsed) checkValidity(file, c, now, problems);
    const keyFile = file.replace(/\.crt$/, '.key');
    const key = parseKey(keyFile, files.get(keyFile), problems);
    if (key && !keyMatches(parsed[0], key)) problems.push(`${keyFile}: private key does not match ${file}`);
  }
  // kubeadm loads each CA with LoadCertificateAuthority (vendored k8s.io/kubernetes
  // cmd/kubeadm/app/phases/certs/certs.go): it must be a CA within its dates (checked above); it need
  // not be self-signed (a CA cross-signed by an older one, during a CA rollover, loads as well).
  for (const ca of CA_FILES) {
    const c = certs.get(ca)?.[0];
    if (c && !c.ca) problems.push(`${ca}: not a CA certificate (BasicConstraints CA:TRUE missing)`);
  }
  for (const [leaf, caFile] of Object.entries(ISSUER_OF)) {
    const l = certs.get(leaf)?.[0];
    const ca = certs.get(caFile)?.[0];
    if (l && ca && !verifies(l, ca)) problems.push(`${leaf}: not signed by ${caFile} (issuer ${l.issuer.replace(/\n/g, ', ')})`);
  }
  const saKey = parseKey('sa.key', files.get('sa.key'), problems);
  const saPub = files.get('sa.pub');
  if (!saPub || saPub.length === 0) problems.push('sa.pub: missing or empty');
  else if (saKey) {
    try {
      const a = createPublicKey(saKey).export({ type: 'spki', format: 'der' });
      const b = createPublicKey(saPub).export({ type: 'spki', format: 'der' });
      if (!a.equals(b)) problems.push('sa.pub: does not belong to sa.key');
    } catch (e) {
      problems.push(`sa.pub: unparsable public key: ${(e as Error).message}`);
    }
  }
  // controller-manager and scheduler connect to kube-apiserver on 127.0.0.1:6443 with their
  // kubeconfigs (Go TLS): the served chain (apiserver.crt, leaf first) must verify against their
  // certificate-authority-data, and kube-apiserver checks their client certificates against
  // --client-ca-file=client-ca.crt (pkg/k8s/k8s.go). Go treats every certificate of a CA file as an anchor.
  const served = certs.get('apiserver.crt') ?? [];
  const clientCas = certs.get('client-ca.crt') ?? certs.get('ca.crt') ?? [];
  for (const kc of KUBECONFIGS) checkKubeconfig(kc, files.get(kc), served, clientCas, now, problems);
  return problems;
}

/** Go's chain building, reduced: any anchor that issued the certificate ends the chain, else an intermediate does. */
export function goVerifies(cert: X509Certificate, intermediates: X509Certificate[], anchors: X509Certificate[], depth = 0): boolean {
  if (anchors.some((a) => a.raw.equals(cert.raw) || verifies(cert, a))) return true;
  if (depth > 4) return false;
  return intermediates.some((i) => !i.raw.equals(cert.raw) && i.ca && verifies(cert, i) && goVerifies(i, intermediates, anchors, depth + 1));
}

function checkKubeconfig(
  file: string,
  content: Buffer | undefined,
  servedChain: X509Certificate[],
  clientCas: X509Certificate[],
  now: Date,
  problems: string[],
): void {
  if (!content || content.length === 0) {
    problems.push(`${file}: missing or empty`);
    return;
  }
  let doc: { clusters?: { cluster?: Record<string, string> }[]; users?: { user?: Record<string, string> }[] };
  try {
    doc = parseYaml(content.toString('utf8'));
  } catch (e) {
    problems.push(`${file}: not YAML: ${(e as Error).message}`);
    return;
  }
  const caData = doc?.clusters?.[0]?.cluster?.['certificate-authority-data'];
  const certData = doc?.users?.[0]?.user?.['client-certificate-data'];
  const keyData = doc?.users?.[0]?.user?.['client-key-data'];
  if (!caData || !certData || !keyData) {
    problems.push(`${file}: needs certificate-authority-data, client-certificate-data and client-key-data`);
    return;
  }
  const caCerts = parseCerts(`${file} certificate-authority-data`, Buffer.from(caData, 'base64'), problems);
  const [leaf, ...chain] = servedChain;
  if (caCerts.length && leaf && !goVerifies(leaf, chain, caCerts)) {
    problems.push(`${file}: certificate-authority-data does not verify the certificate kube-apiserver serves (apiserver.crt)`);
  }
  const client = parseCerts(`${file} client certificate`, Buffer.from(certData, 'base64'), problems)[0];
  if (!client) return;
  checkValidity(`${file} client certificate`, client, now, problems);
  if (clientCas.length && !goVerifies(client, [], clientCas)) problems.push(`${file}: client certificate not accepted by client-ca.crt`);
  const key = parseKey(`${file} client key`, Buffer.from(keyData, 'base64'), problems);
  if (key && !keyMatches(client, key)) problems.push(`${file}: client key does not match its certificate`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function firstPem(content: Buffer): Buffer {
  return Buffer.from(`${pemBlocks(content.toString('utf8'))[0] ?? ''}\n`);
}

/**
 * The syncer's start: sync `<name>-certs` with /data/pki (the secret wins), create server-ca/client-ca
 * copies when missing, validate, and serve on success. `dataDir` is the host path of the pod's /data.
 */
export async function startSyncer(store: Store, pod: KObject, dataDir: string, opts: SyncerOptions): Promise<ContainerStartResult> {
  const ns = pod.metadata.namespace as string;
  const name = pod.metadata.labels?.release ?? pod.metadata.name;
  const secretName = `${name}-certs`;
  const pkiDir = join(dataDir, 'pki');
  const logs = [logLine('info', 'setup', `starting vCluster ${name} in namespace ${ns}`)];
  const fail = (msg: string): ContainerStartResult => ({ ok: false, logs: [...logs, logLine('fatal', 'certs', msg)] });

  const secret = store.peek(SECRETS, ns, secretName);
  const get = (key: string) => (secret?.data?.[key] ? Buffer.from(secret.data[key], 'base64') : undefined);
  // downloadCertsFromSecret refuses an empty certMap value, renewal or not.
  for (const key of CERT_MAP.values()) {
    const data: Record<string, string> = secret?.data ?? {};
    if (key in data && !data[key]) return fail(`secret ${ns}/${secretName} is missing ${key} (empty value)`);
  }
  if (secret && opts.startupRenewal && leafsNeedRenewal(get)) {
    // Download, drop every leaf, let "kubeadm" re-create them from the CAs, SyncSecret.
    logs.push(logLine('info', 'certs', `leaf certificates in secret ${ns}/${secretName} are expiring soon, regenerating`));
    try {
      await writePki(pkiDir, secretFiles(secret));
      await removeLeafFiles(pkiDir);
      const renewed = await renewLeafs(await readTree(pkiDir), name, ns);
      await writePki(pkiDir, renewed);
      syncSecret(store, ns, secretName, renewed);
    } catch (e) {
      return fail(`ensure certs: regenerate certs: ${(e as Error).message}`);
    }
    logs.push(logLine('info', 'certs', `renewed the leaf certificates of secret ${ns}/${secretName} from its CAs`));
  } else if (secret) {
    const data: Record<string, string> = secret.data ?? {};
    for (const [key, b64] of Object.entries(data)) {
      const file = SECRET_KEY_TO_FILE.get(key) ?? key;
      const target = join(pkiDir, file);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, Buffer.from(b64, 'base64'), { mode: 0o666 });
    }
    logs.push(logLine('info', 'certs', `downloaded ${Object.keys(data).length} keys of secret ${ns}/${secretName} to /data/pki`));
  } else {
    const onDisk = await readTree(pkiDir);
    const certFiles = [...CERT_MAP.keys()].filter((f) => onDisk.has(f));
    if (certFiles.length === 0) {
      return fail(`secret ${ns}/${secretName} does not exist and /data/pki is empty: no PKI to start from (this simulator does not generate one)`);
    }
    const data: Record<string, string> = {};
    for (const f of certFiles) data[CERT_MAP.get(f) as string] = (onDisk.get(f) as Buffer).toString('base64');
    const service = store.peek(SERVICES, ns, name);
    store.create(SECRETS, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secretName,
        namespace: ns,
        labels: { app: 'vcluster', 'vcluster-name': name },
        ...(service
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid as string }] }
          : {}),
      },
      type: 'Opaque',
      data,
    }, { manager: VCLUSTER_MANAGER });
    logs.push(logLine('info', 'certs', `created secret ${ns}/${secretName} from ${certFiles.length} files in /data/pki`));
  }
  // server-ca / client-ca are copies of ca, created only when missing.
  const caCrt = join(pkiDir, 'ca.crt');
  const caKey = join(pkiDir, 'ca.key');
  if (await exists(caCrt)) {
    for (const role of ['server-ca', 'client-ca']) {
      if (!(await exists(join(pkiDir, `${role}.crt`)))) await writeFile(join(pkiDir, `${role}.crt`), firstPem(await readFile(caCrt)), { mode: 0o666 });
      if (!(await exists(join(pkiDir, `${role}.key`))) && (await exists(caKey))) {
        await writeFile(join(pkiDir, `${role}.key`), await readFile(caKey), { mode: 0o666 });
      }
    }
  }
  const files = await readTree(pkiDir);
  const problems = validatePki(files);
  if (problems.length > 0) {
    return fail(`invalid PKI in /data/pki: ${problems.join('; ')}`);
  }
  logs.push(logLine('info', 'certs', 'PKI in /data/pki is valid'));
  const text = (f: string) => (files.get(f) as Buffer).toString('utf8');
  let proxy: { cert: string; key: string };
  try {
    const sans = proxySans({ name, namespace: ns, serviceIp: store.peek(SERVICES, ns, name)?.spec?.clusterIP, podIp: pod.status?.podIP });
    proxy = await makeProxyCert(text('server-ca.crt'), text('server-ca.key'), sans);
  } catch (e) {
    return fail(`error regenerating certificate: ${(e as Error).message}`);
  }
  logs.push(logLine('info', 'setup', `kube-apiserver is serving on 127.0.0.1:${APISERVER_PORT}, the syncer proxy on :${PROXY_PORT}`));
  if (opts.writeKubeconfigSecret !== false) {
    try {
      writeKubeconfigSecret(store, ns, name, files.get('admin.conf'));
      logs.push(logLine('info', 'setup', `wrote the kubeconfig to secret ${ns}/vc-${name}`));
    } catch (e) {
      logs.push(logLine('error', 'setup', `error writing kube config to secret: ${(e as Error).message}`));
    }
  }
  const auth = { clientCa: text('client-ca.crt'), requestHeaderCa: text('front-proxy-ca.crt') };
  return {
    ok: true,
    logs,
    serving: {
      [APISERVER_PORT]: { cert: text('apiserver.crt'), key: text('apiserver.key'), ...auth, requestHeaderAllowedNames: ['front-proxy-client'] },
      [PROXY_PORT]: { ...proxy, ...auth, requestHeaderAllowedNames: [] },
    },
  };
}

/**
 * The default kubeconfig Secret `vc-<name>`, rewritten on every syncer start (pkg/setup/controllers.go
 * WriteKubeConfigToSecret, then pkg/util/kubeconfig/kubeconfig.go WriteKubeConfig): admin.conf of
 * /data/pki with the server set to https://localhost:8443, stored whole under `config` and its parts
 * under `certificate-authority`, `client-certificate`, `client-key` and `token` (empty for a
 * certificate user); created or patched, other keys kept.
 */
function writeKubeconfigSecret(store: Store, ns: string, name: string, adminConf: Buffer | undefined): void {
  if (!adminConf) throw new Error('no admin.conf in /data/pki');
  const doc = parseYaml(adminConf.toString('utf8'));
  for (const c of doc.clusters ?? []) c.cluster.server = 'https://localhost:8443';
  const current = (doc.contexts ?? []).find((c: { name: string }) => c.name === doc['current-context']) ?? doc.contexts?.[0];
  const cluster = (doc.clusters ?? []).find((c: { name: string }) => c.name === current?.context?.cluster)?.cluster ?? {};
  const user = (doc.users ?? []).find((u: { name: string }) => u.name === current?.context?.user)?.user ?? {};
  const parts: Record<string, string> = {
    config: Buffer.from(toYaml(doc)).toString('base64'),
    'certificate-authority': cluster['certificate-authority-data'] ?? '',
    'client-certificate': user['client-certificate-data'] ?? '',
    'client-key': user['client-key-data'] ?? '',
    token: Buffer.from(user.token ?? '').toString('base64'),
  };
  const secretName = `vc-${name}`;
  if (store.peek(SECRETS, ns, secretName)) {
    store.mutate(SECRETS, ns, secretName, (s) => {
      s.data = { ...(s.data ?? {}), ...parts };
    }, false, { manager: VCLUSTER_MANAGER });
    return;
  }
  store.create(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: secretName, namespace: ns, labels: { app: 'vcluster', 'vcluster-name': name } },
    data: parts,
  }, { manager: VCLUSTER_MANAGER });
}

/** A deployed etcd pod reads the certs secret volume directly; it starts when server/peer certs fit the CA. */
export function startEtcd(store: Store, pod: KObject): ContainerStartResult {
  const ns = pod.metadata.namespace as string;
  const name = pod.metadata.labels?.release ?? '';
  const secretName = `${name}-certs`;
  const logs = [logLine('info', 'etcd', `starting etcd member ${pod.metadata.name}`)];
  const secret = store.peek(SECRETS, ns, secretName);
  if (!secret) return { ok: false, logs: [...logs, logLine('fatal', 'etcd', `secret ${ns}/${secretName} not found (volume mount failed)`)] };
  const data: Record<string, string> = secret.data ?? {};
  const get = (k: string) => (data[k] ? Buffer.from(data[k], 'base64') : undefined);
  const problems: string[] = [];
  const ca = parseCerts('etcd-ca.crt', get('etcd-ca.crt'), problems)[0];
  for (const leaf of ['etcd-server', 'etcd-peer']) {
    const cert = parseCerts(`${leaf}.crt`, get(`${leaf}.crt`), problems)[0];
    const key = parseKey(`${leaf}.key`, get(`${leaf}.key`), problems);
    if (!cert) continue;
    checkValidity(`${leaf}.crt`, cert, new Date(), problems);
    if (key && !keyMatches(cert, key)) problems.push(`${leaf}.key: does not match ${leaf}.crt`);
    if (ca && !verifies(cert, ca)) problems.push(`${leaf}.crt: not signed by etcd-ca.crt`);
  }
  if (problems.length > 0) {
    return { ok: false, logs: [...logs, logLine('fatal', 'etcd', `invalid certificates in /run/config/pki: ${problems.join('; ')}`)] };
  }
  return { ok: true, logs: [...logs, logLine('info', 'etcd', 'serving client and peer traffic')] };
}
