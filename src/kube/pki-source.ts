// Reads a vCluster PKI from its two homes: the `<name>-certs` host Secret (the source
// of truth on every restart) and /data/pki in a syncer container (what is served now).
import tar from 'tar-stream';
import { UserError } from '../errors.js';
import { filesFromSecretData } from '../pki/certmap.js';
import type { PkiFiles } from '../pki/types.js';
import type { Kube } from './client.js';
import { execInPod } from './exec.js';
import type { V1Secret } from './k8s.js';
import type { VCluster } from './discovery.js';
import type { SecretIndex } from './secret-index.js';

export const PKI_DIR = '/data/pki';
export const SYNCER = 'syncer';

export function certsSecretName(vcName: string): string {
  return `${vcName}-certs`;
}

export interface SecretPki {
  files: PkiFiles;
  secret: V1Secret;
  resourceVersion: string;
  /** certMap keys whose value is present but empty (upstream refuses to start on these) */
  emptyKeys: string[];
}

/**
 * The PKI in the vCluster's `<name>-certs` Secret: from `index` when it was listed, else read.
 */
export async function readPkiFromSecret(
  kube: Kube, vc: Pick<VCluster, 'name' | 'namespace'>, index?: SecretIndex,
): Promise<SecretPki> {
  const name = certsSecretName(vc.name);
  const secret = index?.get(vc.namespace, name) ?? await kube.call(`read secret ${vc.namespace}/${name}`,
    () => kube.core.readNamespacedSecret({ name, namespace: vc.namespace }, kube.opts), 'null');
  if (!secret) {
    throw new UserError(`secret ${vc.namespace}/${name} not found: the vCluster has not finished its first start, or it is not the k8s distro`);
  }
  const data = secret.data ?? {};
  const emptyKeys = Object.keys(data).filter((k) => !data[k]).sort();
  const files = filesFromSecretData(data);
  return { files, secret, resourceVersion: secret.metadata?.resourceVersion ?? '', emptyKeys };
}

/** Turns a tar member name into a safe path relative to the PKI dir, or null to skip it. */
export function safeRelativePath(name: string): string | null {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) return null;
  return parts.join('/');
}

/** Parses a tar stream into files; names come from tar headers, never from a shell. */
export async function untarFiles(archive: Buffer): Promise<PkiFiles> {
  const files: PkiFiles = new Map();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const rel = safeRelativePath(header.name);
        if (header.type === 'file' && rel) files.set(rel, Buffer.concat(chunks));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve());
    extract.on('error', (e: Error) => reject(new UserError(`the PKI archive read from the pod is damaged (${e.message}); try again`)));
  });
  extract.end(archive);
  await done;
  return files;
}

export async function readPkiFromPod(kube: Kube, namespace: string, pod: string, dir = PKI_DIR): Promise<PkiFiles> {
  const res = await execInPod(kube, {
    namespace,
    pod,
    container: SYNCER,
    command: ['tar', '-C', dir, '-cf', '-', '.'],
    readOnly: true,
    timeoutMs: Math.max(kube.requestTimeoutMs, 60_000),
  });
  if (res.exitCode !== 0) {
    const why = res.stderr.toString('utf8').trim().split('\n')[0] || `exit code ${res.exitCode}`;
    throw new UserError(`cannot read ${dir} in pod ${namespace}/${pod}: ${why}`);
  }
  return untarFiles(res.stdout);
}
