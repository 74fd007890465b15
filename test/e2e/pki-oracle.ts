// Independent judges of a PKI for the e2e tests: openssl and node:crypto, never src/pki.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { execFileP } from './helpers.js';
import { typeByKind, type SimCluster } from '../cluster/index.js';

const SECRETS = typeByKind('Secret');
import { secretDataToFiles } from '../cluster/certmap.js';

export type Files = Map<string, Buffer>;

/** Leaf → issuing CA file (apiserver.crt: server-ca, which equals ca unless the CA is split). */
export { ISSUER_OF as LEAFS, KUBECONFIGS } from '../cluster/syncer.js';
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

/** openssl's text dump without the parts a re-issue must change (serial, dates, key, signature). */
export async function opensslProfile(pem: string): Promise<string> {
  const p = execFileP('openssl', ['x509', '-noout', '-text', '-certopt', 'no_serial,no_validity,no_pubkey,no_sigdump']);
  p.child.stdin!.end(pem);
  const { stdout } = await p;
  return stdout
    .split('\n')
    .filter((l) => !/Signature Algorithm|Serial Number|Not Before|Not After/.test(l))
    .join('\n')
    // The AKID/SKID values are compared separately.
    .replace(/(Authority Key Identifier:|Subject Key Identifier:)\s*\n\s*[0-9A-F:]+/g, '$1 <id>');
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
