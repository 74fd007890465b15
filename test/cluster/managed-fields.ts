// metadata.managedFields as kube-apiserver keeps them for non-apply writes: each write's manager
// (?fieldManager=, else the User-Agent up to its first '/') gets the fields the write changed, with
// the time of that write, and the other managers lose them. Simplified: lists are atomic fields.

import type { KObject } from './store.js';

type Trie = { [k: string]: Trie };

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Trie;
  subresource?: string;
}

const SERVER_OWNED = new Set(['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'namespace', 'name', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']);

/** The manager name kube-apiserver derives from a request. */
export function managerOf(fieldManager: string | null | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  const prefix = (userAgent ?? '').split('/')[0]!.slice(0, 128);
  return prefix || 'unknown';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Paths ("f:a\u0000f:b") whose value differs between a and b; present = still in b. */
function changedPaths(a: unknown, b: unknown, path: string[], out: { path: string; present: boolean }[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths(a[k], b[k], [...path, `f:${k}`], out);
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (isPlainObject(b) && a === undefined) {
    for (const k of Object.keys(b)) changedPaths(undefined, b[k], [...path, `f:${k}`], out);
    if (Object.keys(b).length) return;
  }
  out.push({ path: path.join('\u0000'), present: b !== undefined });
}

function trieToPaths(t: Trie, prefix: string[] = [], out = new Set<string>()): Set<string> {
  for (const [k, v] of Object.entries(t)) {
    if (k === '.') {
      out.add(prefix.join('\u0000'));
      continue;
    }
    if (Object.keys(v).length === 0) out.add([...prefix, k].join('\u0000'));
    else trieToPaths(v, [...prefix, k], out);
  }
  return out;
}

function pathsToTrie(paths: Set<string>): Trie {
  const root: Trie = {};
  for (const p of [...paths].sort()) {
    let node = root;
    const parts = p.split('\u0000');
    for (const part of parts) {
      // a node that was a leaf and now has children keeps itself as "."
      if (node[part] && Object.keys(node[part]).length === 0 && part !== parts[parts.length - 1]) node[part] = { '.': {} };
      node = node[part] ??= {};
    }
    if (Object.keys(node).length > 0) node['.'] = {};
  }
  return root;
}

function comparable(o: KObject | undefined, statusOnly: boolean): Record<string, unknown> {
  if (!o) return {};
  const { metadata, status, apiVersion: _a, kind: _k, ...rest } = o;
  if (statusOnly) return { status };
  const meta = Object.fromEntries(Object.entries(metadata ?? {}).filter(([k]) => !SERVER_OWNED.has(k)));
  return { metadata: meta, ...rest };
}

/** Sets next.metadata.managedFields after `manager` wrote `next` over `prev` (undefined on create). */
export function recordManagedFields(prev: KObject | undefined, next: KObject, manager: string, opts: { operation?: 'Update' | 'Apply'; subresource?: string } = {}): void {
  const changes: { path: string; present: boolean }[] = [];
  changedPaths(comparable(prev, opts.subresource === 'status'), comparable(next, opts.subresource === 'status'), [], changes);
  const entries: ManagedFieldsEntry[] = structuredClone((prev?.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? []);
  if (changes.length === 0) {
    next.metadata.managedFields = entries.length ? entries : undefined;
    if (!entries.length) delete next.metadata.managedFields;
    return;
  }
  const touched = new Set(changes.map((c) => c.path));
  const operation = opts.operation ?? 'Update';
  const out: ManagedFieldsEntry[] = [];
  let mine: Set<string> | undefined;
  for (const e of entries) {
    const paths = trieToPaths(e.fieldsV1);
    for (const p of [...paths]) {
      if (touched.has(p) || [...touched].some((t) => p.startsWith(`${t}\u0000`))) paths.delete(p);
    }
    if (e.manager === manager && e.operation === operation && e.subresource === opts.subresource) {
      mine = paths;
      continue;
    }
    if (paths.size) out.push({ ...e, fieldsV1: pathsToTrie(paths) });
  }
  mine ??= new Set();
  for (const c of changes) if (c.present) mine.add(c.path);
  if (mine.size) {
    out.push({
      manager,
      operation,
      apiVersion: next.apiVersion,
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      fieldsType: 'FieldsV1',
      fieldsV1: pathsToTrie(mine),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
    });
  }
  if (out.length) next.metadata.managedFields = out;
  else delete next.metadata.managedFields;
}

/** Managers that own a field under `prefix` (e.g. ['f:data']), newest write first. */
export function managersOf(obj: KObject, prefix: string[]): { manager: string; time: string }[] {
  const key = prefix.join('\u0000');
  return ((obj.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? [])
    .filter((e) => [...trieToPaths(e.fieldsV1)].some((p) => p === key || p.startsWith(`${key}\u0000`)))
    .map((e) => ({ manager: e.manager, time: e.time }))
    .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}
