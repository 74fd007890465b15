// Kubeconfig YAML: read the embedded credentials (kubeconfig-edit.ts replaces them). Pure, no I/O. Error messages never quote YAML source (it may contain a private key).

import { load as loadYaml, YAMLException } from 'js-yaml';
import { decodeBase64 } from './pem.js';
import { readSimpleYaml } from './fast/simple-yaml.js';
import { fastOr } from './fast/switch.js';

export interface KubeconfigCluster {
  name: string;
  server?: string;
  /** decoded certificate-authority-data (PEM bytes), when present */
  certificateAuthorityData?: Buffer;
}

export interface KubeconfigUser {
  name: string;
  /** decoded client-certificate-data (PEM bytes) */
  clientCertificateData?: Buffer;
  /**
   * decoded client-key-data (PEM bytes). Non-enumerable: console.log / JSON.stringify of the
   * parsed kubeconfig do not show it.
   */
  clientKeyData?: Buffer;
}

export interface KubeconfigContext {
  name: string;
  cluster?: string;
  user?: string;
  namespace?: string;
}

export interface Kubeconfig {
  clusters: KubeconfigCluster[];
  users: KubeconfigUser[];
  contexts: KubeconfigContext[];
  currentContext?: string;
}

/** Attach a value that console.log and JSON.stringify do not show. */
export function hideProperty<T extends object>(obj: T, name: string, value: unknown): T {
  Object.defineProperty(obj, name, { value, enumerable: false, writable: true, configurable: true });
  return obj;
}

function decodeData(v: unknown, field: string, owner: string): Buffer | undefined {
  if (v === undefined || v === null) return undefined;
  const bytes = typeof v === 'string' ? decodeBase64(v) : undefined;
  if (!bytes) throw new Error(`kubeconfig ${owner}: ${field} is not base64`);
  return bytes;
}

function asArray(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
}

/**
 * The kubeconfig as plain data. Reading uses js-yaml (faster than the yaml package, which a fleet
 * check feels: three kubeconfigs per vCluster); kubeconfig-edit.ts keeps the yaml
 * package for its source ranges. Duplicate keys: the last one wins, as with `yaml`'s uniqueKeys: false.
 */
export function loadKubeconfig(text: string): Record<string, unknown> {
  return fastOr('kubeconfigYaml', () => readSimpleYaml(text), () => loadWithJsYaml(text));
}

function loadWithJsYaml(text: string): Record<string, unknown> {
  let js: unknown;
  try {
    js = text.trim() === '' ? null : loadYaml(text, { json: true });
  } catch (e) {
    // reason and line only: the message and mark of a YAMLException quote the source.
    const where = e instanceof YAMLException && e.mark ? ` at line ${e.mark.line + 1}` : '';
    throw new Error(`kubeconfig is not valid YAML: ${e instanceof YAMLException ? e.reason : 'unreadable'}${where}`);
  }
  if (typeof js !== 'object' || js === null || Array.isArray(js)) throw new Error('kubeconfig is not a YAML mapping');
  return js as Record<string, unknown>;
}

/** Read a kubeconfig: clusters (CA data decoded), users (client cert/key decoded), contexts, current-context. */
export function parseKubeconfig(text: string | Buffer): Kubeconfig {
  return kubeconfigFromData(loadKubeconfig(text.toString()));
}

export function kubeconfigFromData(js: Record<string, unknown>): Kubeconfig {
  const clusters = asArray(js.clusters).map((c): KubeconfigCluster => {
    const name = String(c.name ?? '');
    const body = (c.cluster ?? {}) as Record<string, unknown>;
    const out: KubeconfigCluster = { name };
    if (typeof body.server === 'string') out.server = body.server;
    const ca = decodeData(body['certificate-authority-data'], 'certificate-authority-data', `cluster "${name}"`);
    if (ca) out.certificateAuthorityData = ca;
    return out;
  });
  const users = asArray(js.users).map((u): KubeconfigUser => {
    const name = String(u.name ?? '');
    const body = (u.user ?? {}) as Record<string, unknown>;
    const out: KubeconfigUser = { name };
    const cert = decodeData(body['client-certificate-data'], 'client-certificate-data', `user "${name}"`);
    if (cert) out.clientCertificateData = cert;
    const key = decodeData(body['client-key-data'], 'client-key-data', `user "${name}"`);
    if (key) hideProperty(out, 'clientKeyData', key);
    return out;
  });
  const contexts = asArray(js.contexts).map((c): KubeconfigContext => {
    const body = (c.context ?? {}) as Record<string, unknown>;
    const out: KubeconfigContext = { name: String(c.name ?? '') };
    if (typeof body.cluster === 'string') out.cluster = body.cluster;
    if (typeof body.user === 'string') out.user = body.user;
    if (typeof body.namespace === 'string') out.namespace = body.namespace;
    return out;
  });
  const kc: Kubeconfig = { clusters, users, contexts };
  if (typeof js['current-context'] === 'string' && js['current-context']) kc.currentContext = js['current-context'];
  return kc;
}

/** Index of the entry the current context points to; the only entry when there is one. */
export function pickIndex(names: string[], wanted: string | undefined, what: string): number {
  if (wanted !== undefined) {
    const i = names.indexOf(wanted);
    if (i >= 0) return i;
  }
  if (names.length === 1) return 0;
  if (names.length === 0) throw new Error(`kubeconfig has no ${what}`);
  throw new Error(`kubeconfig has ${names.length} ${what}s and the current context does not name one`);
}

/** The cluster and user of the current context (or the only ones). */
export function currentCredentials(kc: Kubeconfig): { cluster: KubeconfigCluster; user: KubeconfigUser } {
  const ctx = kc.contexts.find((c) => c.name === kc.currentContext) ?? (kc.contexts.length === 1 ? kc.contexts[0] : undefined);
  const cluster = kc.clusters[pickIndex(kc.clusters.map((c) => c.name), ctx?.cluster, 'cluster')]!;
  const user = kc.users[pickIndex(kc.users.map((u) => u.name), ctx?.user, 'user')]!;
  return { cluster, user };
}
