// What a fleet check keeps of a `<name>-certs` Secret: one row per certificate and the open CA
// rollover window, computed straight from the Secret's base64 data wherever the work runs (a worker
// thread or the main thread). The caller can then drop the data itself: hundreds of Secrets of
// ~70 KiB each are not held until the last vCluster of the fleet is graded. Pure, no I/O.

import { filesFromSecretData } from './certmap.js';
import { inspectPki, type InspectOptions } from './inspect.js';
import { rolloverState } from './rollover-state.js';
import type { CertRow, PkiFiles } from './types.js';

/** An open graceful CA rollover, as check reports it. */
export interface RolloverWindow {
  since: string;
  /** when the cross-signed CA expires with the old one: finalize before */
  until: string;
  oldCA: string;
}

export interface SecretDigest {
  rows: CertRow[];
  rollover?: RolloverWindow;
}

/**
 * The rows and rollover window of a Secret's data; null when some value is not base64, so that
 * the caller reads the Secret the ordinary way and reports it as a single check would.
 */
export function digestSecretData(data: Record<string, string>, opts: InspectOptions): SecretDigest | null {
  let files;
  try {
    files = filesFromSecretData(data);
  } catch {
    return null;
  }
  const digest: SecretDigest = { rows: inspectPki(files, opts) };
  const window = rolloverWindow(files);
  if (window) digest.rollover = window;
  return digest;
}

/** The open rollover window of a PKI as check reports it (rolloverState, in plain values). */
export function rolloverWindow(files: PkiFiles): RolloverWindow | undefined {
  const state = rolloverState(files);
  return state && { since: state.since.toISOString(), until: state.until.toISOString(), oldCA: state.oldCA.subject };
}

/** A listed Secret as the API's JSON has it (only what is read here). */
export interface ListedSecret {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

export interface ListedCerts {
  /** position in `items` */
  index: number;
  /** null: some value is not base64; its data was left in place */
  digest: SecretDigest | null;
  /** keys whose value is empty (vCluster will not start with them) */
  emptyKeys: string[];
}

export interface SecretListDigest {
  /** the list's items, every digested `<name>-certs` Secret without its data */
  items: ListedSecret[];
  certs: ListedCerts[];
  continue?: string;
}

/**
 * One page of a Secret list, parsed and digested: what the main thread gets back is names,
 * metadata and rows, never the PKI's base64 (keys included). null: the body is not a JSON list.
 */
export function digestSecretList(body: Uint8Array, opts: InspectOptions): SecretListDigest | null {
  let parsed: { items?: unknown; metadata?: { continue?: unknown } };
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString()) as typeof parsed;
  } catch {
    return null;
  }
  const items = Array.isArray(parsed?.items) ? (parsed.items as ListedSecret[]) : [];
  const certs: ListedCerts[] = [];
  items.forEach((secret, index) => {
    const data = secret.data;
    if (!secret.metadata?.name?.endsWith('-certs') || !data) return;
    const digest = digestSecretData(data, opts);
    certs.push({ index, digest, emptyKeys: Object.keys(data).filter((k) => !data[k]).sort() });
    if (digest) delete secret.data;
  });
  const cont = parsed?.metadata?.continue;
  return { items, certs, ...(typeof cont === 'string' && cont ? { continue: cont } : {}) };
}
