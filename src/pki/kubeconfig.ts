// Kubeconfig YAML: read the embedded credentials, and replace them while keeping the rest of the text.
// Pure, no I/O. Error messages never quote YAML source (it may contain a private key).

import { isMap, isScalar, parseDocument, type Document, type Scalar } from 'yaml';

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

function yamlError(doc: Document): Error {
  const e = doc.errors[0]!;
  // The first line of a yaml error is generated text; later lines quote the source.
  const first = (e.message.split('\n')[0] ?? e.code).replace(/:$/, '');
  return new Error(`kubeconfig is not valid YAML: ${first}`);
}

function parseDoc(text: string): Document {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length) throw yamlError(doc);
  if (!isMap(doc.contents)) throw new Error('kubeconfig is not a YAML mapping');
  return doc;
}

function decodeData(v: unknown, field: string, owner: string): Buffer | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s+/g, ''))) {
    throw new Error(`kubeconfig ${owner}: ${field} is not base64`);
  }
  return Buffer.from(v, 'base64');
}

function asArray(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
}

/** Read a kubeconfig: clusters (CA data decoded), users (client cert/key decoded), contexts, current-context. */
export function parseKubeconfig(text: string | Buffer): Kubeconfig {
  const js = parseDoc(text.toString()).toJS() as Record<string, unknown>;
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
function pickIndex(names: string[], wanted: string | undefined, what: string): number {
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

export interface CredentialReplacement {
  clientCertPem?: string | Buffer;
  clientKeyPem?: string | Buffer;
  caPem?: string | Buffer;
}

interface Edit {
  path: (string | number)[];
  value: string;
}

/**
 * Replace the current context's client-certificate-data / client-key-data and its cluster's
 * certificate-authority-data (each only when given). Every other byte of the text stays as it was:
 * the new base64 values are spliced into the source ranges of the old scalars, keeping their quoting.
 * If a field is absent it is added through the yaml Document API (the text is then re-serialised).
 */
export function replaceKubeconfigCredentials(yamlText: string | Buffer, repl: CredentialReplacement): string {
  const text = yamlText.toString();
  const doc = parseDoc(text);
  const kc = parseKubeconfig(text);
  const ctx = kc.contexts.find((c) => c.name === kc.currentContext) ?? (kc.contexts.length === 1 ? kc.contexts[0] : undefined);
  const edits: Edit[] = [];
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64');
  if (repl.clientCertPem !== undefined || repl.clientKeyPem !== undefined) {
    const ui = pickIndex(kc.users.map((u) => u.name), ctx?.user, 'user');
    if (repl.clientCertPem !== undefined) edits.push({ path: ['users', ui, 'user', 'client-certificate-data'], value: b64(repl.clientCertPem) });
    if (repl.clientKeyPem !== undefined) edits.push({ path: ['users', ui, 'user', 'client-key-data'], value: b64(repl.clientKeyPem) });
  }
  if (repl.caPem !== undefined) {
    const ci = pickIndex(kc.clusters.map((c) => c.name), ctx?.cluster, 'cluster');
    edits.push({ path: ['clusters', ci, 'cluster', 'certificate-authority-data'], value: b64(repl.caPem) });
  }
  if (edits.length === 0) return text;

  const nodes = edits.map((e) => doc.getIn(e.path, true));
  const spliceable = nodes.every((n) => isScalar(n) && Array.isArray((n as Scalar).range));
  let out: string;
  if (spliceable) {
    const ranged = edits
      .map((e, i) => ({ e, n: nodes[i] as Scalar }))
      .sort((a, b) => b.n.range![0] - a.n.range![0]);
    out = text;
    for (const { e, n } of ranged) {
      const [start, valueEnd] = n.range!;
      const old = out.slice(start, valueEnd);
      let repl2: string;
      if (n.type === 'QUOTE_DOUBLE') repl2 = `"${e.value}"`;
      else if (n.type === 'QUOTE_SINGLE') repl2 = `'${e.value}'`;
      else if (n.type === 'BLOCK_LITERAL' || n.type === 'BLOCK_FOLDED') repl2 = e.value + (old.endsWith('\n') ? '\n' : '');
      else repl2 = e.value;
      out = out.slice(0, start) + repl2 + out.slice(valueEnd);
    }
  } else {
    for (const e of edits) {
      const parent = doc.getIn(e.path.slice(0, -1), true);
      if (!isMap(parent)) throw new Error(`kubeconfig has no "${e.path.slice(0, -1).join('.')}" mapping`);
      doc.setIn(e.path, e.value);
    }
    out = doc.toString({ lineWidth: 0 });
  }
  // Sanity: the result parses, holds the new values, and nothing else changed.
  const after = parseDoc(out);
  const before = parseDoc(text);
  for (const e of edits) {
    if (after.getIn(e.path) !== e.value) throw new Error('internal error: kubeconfig rewrite did not take effect');
    before.setIn(e.path, e.value);
  }
  if (JSON.stringify(before.toJS()) !== JSON.stringify(after.toJS())) {
    throw new Error('internal error: kubeconfig rewrite changed other fields');
  }
  return out;
}
