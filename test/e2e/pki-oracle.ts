// Independent judges of a PKI for the e2e tests: openssl and node:crypto, never src/pki.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { execFileP } from './helpers.js';
import { typeByKind, type SimCluster } from '../cluster/index.js';

const SECRETS = typeByKind('Secret');
const PODS = typeByKind('Pod');
import { secretDataToFiles } from '../cluster/index.js';

export type Files = Map<string, Buffer>;

/** Leaf → issuing CA file (apiserver.crt: server-ca, which equals ca unless the CA is split). */
export { ISSUER_OF as LEAFS, KUBECONFIGS } from '../cluster/index.js';
export const CA_FILES = ['ca.crt', 'ca.key', 'server-ca.crt', 'server-ca.key', 'client-ca.crt', 'client-ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key'];

export function x509(pem: Buffer | string): X509Certificate {
  return new X509Certificate(pem);
}

export function fingerprint(pem: Buffer | string): string {
  return x509(pem).fingerprint256;
}

export function kubeconfigCreds(conf: Buffer): { ca: string; cert: string; key: string } {
  const kc = parseYaml(conf.toString());
  const dec = (s: string) => Buffer.from(s, 'base64').toString();
  return {
    ca: dec(kc.clusters[0].cluster['certificate-authority-data']),
    cert: dec(kc.users[0].user['client-certificate-data']),
    key: dec(kc.users[0].user['client-key-data']),
  };
}

/** The certificate a file stands for: the .crt itself or a kubeconfig's client certificate. */
export function certOf(files: Files, file: string): string {
  return file.endsWith('.conf') ? kubeconfigCreds(files.get(file)!).cert : files.get(file)!.toString();
}

export async function secretFiles(cluster: SimCluster, namespace: string, name: string): Promise<Files> {
  const s = cluster.store.get(SECRETS, namespace, `${name}-certs`) as { data?: Record<string, string> } | undefined;
  if (!s) throw new Error(`secret ${namespace}/${name}-certs is missing`);
  return secretDataToFiles(s.data ?? {});
}

/** `openssl verify` of `certPem` against `caPem`; resolves true when openssl says OK. */
export async function opensslVerifies(certPem: string, caPem: string): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-verify-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'leaf.pem'), certPem);
    await execFileP('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * openssl's text dump without the parts a re-issue must change (serial, dates, key, signature).
 * `anyExtensionOrder`: extensions sorted, for certificates made by different issuers (Go orders
 * them KeyUsage first, `openssl ca` BasicConstraints first).
 */
export async function opensslProfile(pem: string, opts: { anyExtensionOrder?: boolean } = {}): Promise<string> {
  const p = execFileP('openssl', ['x509', '-noout', '-text', '-certopt', 'no_serial,no_validity,no_pubkey,no_sigdump']);
  p.child.stdin!.end(pem);
  const { stdout: text } = await p;
  const stdout = opts.anyExtensionOrder ? sortExtensions(text) : text;
  return stdout
    .split('\n')
    .filter((l) => !/Signature Algorithm|Serial Number|Not Before|Not After/.test(l))
    .join('\n')
    // The AKID/SKID values are compared separately.
    .replace(/(Authority Key Identifier:|Subject Key Identifier:)\s*\n\s*[0-9A-F:]+/g, '$1 <id>');
}

/** The "X509v3 extensions:" section with its blocks (a header line and its deeper-indented lines) sorted. */
function sortExtensions(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s*X509v3 extensions:/.test(l));
  if (start < 0) return text;
  const indent = (l: string) => l.length - l.trimStart().length;
  const blockIndent = indent(lines[start + 1] ?? '');
  let end = start + 1;
  while (end < lines.length && lines[end]!.trim() && indent(lines[end]!) >= blockIndent) end++;
  const blocks: string[] = [];
  for (const l of lines.slice(start + 1, end)) {
    if (indent(l) === blockIndent) blocks.push(l);
    else blocks[blocks.length - 1] += `\n${l}`;
  }
  return [...lines.slice(0, start + 1), ...blocks.sort(), ...lines.slice(end)].join('\n');
}

export function keyMatches(certPem: string, keyPem: string | Buffer): boolean {
  return x509(certPem).checkPrivateKey(createPrivateKey(keyPem));
}

/** Subject and authority key identifiers as openssl prints them. */
export async function opensslKeyIds(pem: string): Promise<{ skid?: string; akid?: string }> {
  const p = execFileP('openssl', ['x509', '-noout', '-ext', 'subjectKeyIdentifier,authorityKeyIdentifier']);
  p.child.stdin!.end(pem);
  const { stdout } = await p;
  const after = (label: string) => new RegExp(`${label}:\\s*\\n\\s*(?:keyid:)?([0-9A-F:]+)`).exec(stdout)?.[1];
  return { skid: after('Subject Key Identifier'), akid: after('Authority Key Identifier') };
}

/** The files under a pod's directory (default its /data/pki), read straight from the simulator's pod tree. */
export function podFiles(cluster: SimCluster, namespace: string, pod: string, dir = 'data/pki'): Files {
  const root = join(cluster.podRoot(namespace, pod), dir);
  const out: Files = new Map();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) out.set(path, readFileSync(join(root, path)));
    }
  };
  if (existsSync(root)) walk('');
  return out;
}

export interface SimPod { metadata: { name: string; uid: string; labels?: Record<string, string> }; status?: { phase?: string } }

/** The vCluster's pods: control plane (app=vcluster) by default, or app=vcluster-etcd. */
export function vclusterPods(cluster: SimCluster, namespace: string, name: string, app = 'vcluster'): SimPod[] {
  return (cluster.store.list(PODS, namespace) as SimPod[]).filter((p) => p.metadata.labels?.release === name && p.metadata.labels?.app === app);
}

/** Byte-equal on `only` (default: every file of either side). */
export function sameFiles(a: Files, b: Files, only?: string[]): boolean {
  const keys = only ?? [...new Set([...a.keys(), ...b.keys()])];
  return keys.every((k) => a.get(k)?.equals(b.get(k) ?? Buffer.alloc(0)) ?? !b.has(k));
}
