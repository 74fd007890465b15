// The three PATCH flavours the apiserver accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
// strategic merge patch (lists with a patch merge key are merged by that key; `$patch` directives).

import { badRequest, ApiError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...(target as JsonObject) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v) as Json;
  }
  return result;
}

// --- JSON patch ---------------------------------------------------------------------------------

interface JsonPatchOp {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`json patch: invalid path "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveParent(doc: Json, segs: string[], pointer: string): { parent: Json; key: string } {
  let cur: Json = doc;
  for (const seg of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObject(cur)) cur = cur[seg];
    else cur = undefined as unknown as Json;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `jsonpatch: path "${pointer}": missing intermediate value`);
  }
  return { parent: cur, key: segs[segs.length - 1] };
}

function getAt(doc: Json, pointer: string): Json {
  const segs = parsePointer(pointer);
  if (segs.length === 0) return doc;
  const { parent, key } = resolveParent(doc, segs, pointer);
  const v = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
  if (v === undefined) throw new ApiError(422, 'Invalid', `jsonpatch: value at "${pointer}" does not exist`);
  return v;
}

function removeAt(doc: Json, pointer: string): Json {
  const segs = parsePointer(pointer);
  const { parent, key } = resolveParent(doc, segs, pointer);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) {
      throw new ApiError(422, 'Invalid', `jsonpatch remove operation does not apply: index ${key} out of range`);
    }
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(key in parent)) {
    throw new ApiError(422, 'Invalid', `jsonpatch remove operation does not apply: doc is missing path: "${pointer}"`);
  }
  const old = parent[key];
  delete parent[key];
  return old;
}

function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const segs = parsePointer(pointer);
  if (segs.length === 0) return value;
  const { parent, key } = resolveParent(doc, segs, pointer);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i >= parent.length)) {
      throw new ApiError(422, 'Invalid', `jsonpatch: index ${key} out of range for "${pointer}"`);
    }
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(key in parent)) {
      throw new ApiError(422, 'Invalid', `jsonpatch replace operation does not apply: doc is missing key: ${pointer}`);
    }
    parent[key] = value;
  } else {
    throw new ApiError(422, 'Invalid', `jsonpatch: parent of "${pointer}" is not a container`);
  }
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operations');
  let doc = clone(target) as Json;
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw as unknown) || typeof raw.path !== 'string') throw badRequest('json patch: invalid operation');
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, clone(raw.value as Json), false);
        break;
      case 'replace':
        doc = addAt(doc, raw.path, clone(raw.value as Json), true);
        break;
      case 'remove':
        removeAt(doc, raw.path);
        break;
      case 'move': {
        const v = removeAt(doc, raw.from ?? '');
        doc = addAt(doc, raw.path, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, raw.path, clone(getAt(doc, raw.from ?? '')), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, raw.path)) !== JSON.stringify(raw.value)) {
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${raw.path} failed`);
        }
        break;
      default:
        throw badRequest(`json patch: unexpected operation "${raw.op}"`);
    }
  }
  return doc;
}

// --- strategic merge patch ----------------------------------------------------------------------

/** Patch merge keys of the list fields our resources have (from the Kubernetes OpenAPI `x-kubernetes-patch-merge-key`). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  env: 'name',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  ownerReferences: 'uid',
  tolerations: 'key',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  volumeClaimTemplates: 'name',
};

/** Lists that merge as sets of scalars. */
const SET_LISTS = new Set(['finalizers']);

function mergeList(field: string, target: Json[] | undefined, patch: Json[]): Json[] {
  const key = MERGE_KEYS[field];
  // `{$patch: replace}` inside a list replaces the whole list.
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map((p) => clone(p));
  }
  if (SET_LISTS.has(field)) {
    const out = [...(target ?? [])];
    for (const p of patch) if (!out.some((t) => JSON.stringify(t) === JSON.stringify(p))) out.push(clone(p));
    return out;
  }
  if (!key) return patch.map((p) => clone(p));
  const out: Json[] = (target ?? []).map((t) => clone(t));
  for (const p of patch) {
    if (!isObject(p)) continue;
    const idx = out.findIndex((t) => isObject(t) && t[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], p) as Json;
    else out.push(strategicMerge(undefined, p) as Json);
  }
  return out;
}

export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isObject(target) ? { ...(target as JsonObject) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder/') || k === '$retainKeys') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const list = result[field];
      if (Array.isArray(list) && Array.isArray(v)) {
        result[field] = list.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      }
      continue;
    }
    if (v === null) {
      delete result[k];
    } else if (Array.isArray(v)) {
      result[k] = mergeList(k, Array.isArray(result[k]) ? (result[k] as Json[]) : undefined, v);
    } else if (isObject(v)) {
      const merged = strategicMerge(result[k], v);
      if (merged === undefined) delete result[k];
      else result[k] = merged as Json;
    } else {
      result[k] = v;
    }
  }
  return result;
}

export type PatchType = 'merge' | 'strategic' | 'json';

export function patchTypeFromContentType(contentType: string | undefined): PatchType | undefined {
  const ct = (contentType ?? '').split(';')[0].trim();
  if (ct === 'application/merge-patch+json') return 'merge';
  if (ct === 'application/strategic-merge-patch+json') return 'strategic';
  if (ct === 'application/json-patch+json') return 'json';
  return undefined;
}

export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  if (type === 'json') return jsonPatch(target, patch);
  if (!isObject(patch)) throw badRequest('patch body must be a JSON object');
  return type === 'merge' ? mergePatch(target, patch) : strategicMerge(target, patch);
}
