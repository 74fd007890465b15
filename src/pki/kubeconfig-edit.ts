// Kubeconfig YAML rewriting: replace the embedded credentials while keeping the rest of the text.
// Pure, no I/O. Uses the yaml package for its source ranges; reading alone needs only kubeconfig.ts.
// Error messages never quote YAML source (it may contain a private key).

import { isMap, isScalar, parseDocument, type Document, type Scalar } from 'yaml';
import { kubeconfigFromData, pickIndex } from './kubeconfig.js';

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
  // The same parse as the edits below, so the indexes point at the same entries.
  const kc = kubeconfigFromData(doc.toJS() as Record<string, unknown>);
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
