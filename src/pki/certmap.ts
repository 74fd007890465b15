// The upstream certMap (vcluster pkg/certs/constants.go): which PKI files live in the `<name>-certs`
// Secret, under which key, and what role each file plays. Pure, no I/O.

import { decodeBase64, looksLikePem, splitPem } from './pem.js';
import type { PkiFiles } from './types.js';

/** The 29 files of a vCluster k8s-distro PKI, relative to /data/pki, in a stable order. */
export const CERT_MAP_FILES: readonly string[] = Object.freeze([
  'admin.conf',
  'controller-manager.conf',
  'scheduler.conf',
  'apiserver.crt',
  'apiserver.key',
  'apiserver-etcd-client.crt',
  'apiserver-etcd-client.key',
  'apiserver-kubelet-client.crt',
  'apiserver-kubelet-client.key',
  'ca.crt',
  'ca.key',
  'server-ca.crt',
  'server-ca.key',
  'client-ca.crt',
  'client-ca.key',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'front-proxy-client.crt',
  'front-proxy-client.key',
  'sa.key',
  'sa.pub',
  'etcd/ca.crt',
  'etcd/ca.key',
  'etcd/server.crt',
  'etcd/server.key',
  'etcd/peer.crt',
  'etcd/peer.key',
  'etcd/healthcheck-client.crt',
  'etcd/healthcheck-client.key',
]);

const CERT_MAP_SET = new Set(CERT_MAP_FILES);

/** CA certificates (each has a .key beside it). server-ca/client-ca are copies of ca unless split. */
export const CA_CERT_FILES: readonly string[] = Object.freeze([
  'ca.crt',
  'server-ca.crt',
  'client-ca.crt',
  'front-proxy-ca.crt',
  'etcd/ca.crt',
]);

/** The three CAs that exist independently (server-ca/client-ca are derived from ca). */
export const ROOT_CA_FILES: readonly string[] = Object.freeze(['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt']);

/** Leaf certificates and the CA each is issued by (non-split layout). */
export const LEAF_ISSUERS: Readonly<Record<string, string>> = Object.freeze({
  'apiserver.crt': 'ca.crt',
  'apiserver-kubelet-client.crt': 'ca.crt',
  'apiserver-etcd-client.crt': 'etcd/ca.crt',
  'front-proxy-client.crt': 'front-proxy-ca.crt',
  'etcd/server.crt': 'etcd/ca.crt',
  'etcd/peer.crt': 'etcd/ca.crt',
  'etcd/healthcheck-client.crt': 'etcd/ca.crt',
});

export const LEAF_CERT_FILES: readonly string[] = Object.freeze(Object.keys(LEAF_ISSUERS));

/** Kubeconfigs with an embedded client certificate (issued by ca = the client CA). */
export const KUBECONFIG_FILES: readonly string[] = Object.freeze(['admin.conf', 'controller-manager.conf', 'scheduler.conf']);

/** Service-account key pair; never changed by any rotation. */
export const SA_FILES: readonly string[] = Object.freeze(['sa.key', 'sa.pub']);

/** Default kubeadm subjects (CN) of the root CAs, used when an old CA cert is unreadable. */
export const DEFAULT_CA_COMMON_NAMES: Readonly<Record<string, string>> = Object.freeze({
  'ca.crt': 'kubernetes',
  'front-proxy-ca.crt': 'front-proxy-ca',
  'etcd/ca.crt': 'etcd-ca',
});

export type FileRole = 'ca-cert' | 'ca-key' | 'leaf-cert' | 'leaf-key' | 'kubeconfig' | 'sa' | 'unknown';

export function isCertMapFile(path: string): boolean {
  return CERT_MAP_SET.has(path);
}

/** '.crt' -> '.key' next to it. */
export function keyPathFor(certPath: string): string {
  return certPath.replace(/\.crt$/, '.key');
}

export function fileRole(path: string): FileRole {
  if (SA_FILES.includes(path)) return 'sa';
  if (KUBECONFIG_FILES.includes(path)) return 'kubeconfig';
  if (CA_CERT_FILES.includes(path)) return 'ca-cert';
  if (CA_CERT_FILES.map(keyPathFor).includes(path)) return 'ca-key';
  if (LEAF_CERT_FILES.includes(path)) return 'leaf-cert';
  if (LEAF_CERT_FILES.map(keyPathFor).includes(path)) return 'leaf-key';
  return 'unknown';
}

/** Secret key of a PKI file: 'etcd/x' -> 'etcd-x'; other certMap files keep their name. */
export function secretKeyForFile(path: string): string {
  return path.startsWith('etcd/') ? `etcd-${path.slice('etcd/'.length)}` : path;
}

/** PKI file of a Secret key: certMap keys 'etcd-x' -> 'etcd/x'; any other key is a file of the same name. */
export function fileForSecretKey(key: string): string {
  if (key.startsWith('etcd-')) {
    const candidate = `etcd/${key.slice('etcd-'.length)}`;
    if (CERT_MAP_SET.has(candidate)) return candidate;
  }
  return key;
}

/** Decode a Secret's `data` (base64 values) into PKI files. */
export function filesFromSecretData(data: Record<string, string>): PkiFiles {
  const files: PkiFiles = new Map();
  for (const key of Object.keys(data).sort()) {
    const bytes = decodeBase64(data[key] ?? '');
    if (!bytes) throw new Error(`secret key "${key}" is not valid base64`);
    files.set(fileForSecretKey(key), bytes);
  }
  return files;
}

export interface SecretDataOptions {
  /** also put files that are not in the certMap (top-level names only; Secret keys cannot hold '/') */
  includeUnknown?: boolean;
  /** do not throw when certMap files are missing or empty */
  allowMissing?: boolean;
}

/**
 * Encode PKI files as a Secret's `data` (base64), exactly the certMap files by default, like upstream
 * SyncSecret. Throws when a certMap file is missing or empty (an empty key aborts vCluster startup).
 */
export function secretDataFromFiles(files: PkiFiles, opts: SecretDataOptions = {}): Record<string, string> {
  if (!opts.allowMissing) {
    const missing = missingCertMapFiles(files);
    if (missing.length) throw new Error(`PKI is incomplete, missing or empty: ${missing.join(', ')}`);
  }
  const data: Record<string, string> = {};
  for (const path of CERT_MAP_FILES) {
    const buf = files.get(path);
    if (buf && buf.length) data[secretKeyForFile(path)] = buf.toString('base64');
  }
  if (opts.includeUnknown) {
    for (const [path, buf] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (CERT_MAP_SET.has(path)) continue;
      if (!/^[-._a-zA-Z0-9]+$/.test(path)) continue; // not a valid Secret key
      data[path] = buf.toString('base64');
    }
  }
  return data;
}

/** certMap files absent or empty in `files`. */
export function missingCertMapFiles(files: PkiFiles): string[] {
  return CERT_MAP_FILES.filter((p) => !(files.get(p)?.length));
}

/** Files not in the certMap (the plan keeps them and reports them). */
export function unknownFiles(files: PkiFiles): string[] {
  return [...files.keys()].filter((p) => !CERT_MAP_SET.has(p)).sort();
}

function firstCertDer(buf: Buffer | undefined): Buffer | undefined {
  if (!buf || !looksLikePem(buf)) return undefined;
  try {
    return splitPem(buf).find((b) => b.label === 'CERTIFICATE')?.der;
  } catch {
    return undefined;
  }
}

/**
 * Split CA (a k3s-migrated vCluster): server-ca.crt's first certificate differs from ca.crt's.
 * Then apiserver.crt is issued by server-ca and the kubeconfigs trust server-ca, while
 * ca = client-ca issues the client certificates.
 */
export function isSplitCA(files: PkiFiles): boolean {
  const ca = firstCertDer(files.get('ca.crt'));
  const server = firstCertDer(files.get('server-ca.crt'));
  return ca !== undefined && server !== undefined && !ca.equals(server);
}

/** The CA file that issues a leaf (or a kubeconfig's client certificate) in this PKI layout. */
export function expectedIssuer(path: string, split: boolean): string | undefined {
  if (KUBECONFIG_FILES.includes(path)) return 'ca.crt';
  if (path === 'apiserver.crt' && split) return 'server-ca.crt';
  return LEAF_ISSUERS[path];
}

/** The CA file whose first certificate the kubeconfigs' certificate-authority-data must hold. */
export function kubeconfigTrustAnchor(split: boolean): string {
  return split ? 'server-ca.crt' : 'ca.crt';
}
