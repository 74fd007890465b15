// In-memory object store with one global resourceVersion counter (as etcd's revision) and a bounded
// history of watch events, so list+watch from a resourceVersion works.

import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { ResourceType, apiVersionOf } from './resources.js';
import { alreadyExists, conflict, invalid, notFound, ApiError } from './status.js';
import { clone } from './patch.js';
import { recordManagedFields } from './managed-fields.js';
import { LabelRequirement, FieldRequirement, matchesLabels, matchesFields } from './selectors.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  finalizers?: string[];
  [k: string]: unknown;
}

/** A stored Kubernetes object. Fields other than metadata stay untyped, as in an unstructured client. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObject = { apiVersion: string; kind: string; metadata: ObjectMeta; [k: string]: any };

/** Who writes: the field manager recorded in metadata.managedFields (none for the simulator's own bookkeeping). */
export interface WriteOptions {
  manager?: string;
  operation?: 'Update' | 'Apply';
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: KObject;
  resourceVersion: number;
}

const HISTORY_LIMIT = 5000;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function typeKey(t: ResourceType): string {
  return `${t.plural}.${t.group}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function randomSuffix(n: number): string {
  // Kubernetes' rand.String alphabet: no vowels or confusable characters.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

export { randomSuffix };

export class Store extends EventEmitter {
  private revision = 1000;
  private readonly objects = new Map<string, Map<string, KObject>>();
  private readonly history: StoreEvent[] = [];

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  get currentRevision(): number {
    return this.revision;
  }

  private bucket(t: ResourceType): Map<string, KObject> {
    let b = this.objects.get(typeKey(t));
    if (!b) {
      b = new Map();
      this.objects.set(typeKey(t), b);
    }
    return b;
  }

  private emitEvent(type: WatchEventType, resource: ResourceType, object: KObject): void {
    const ev: StoreEvent = { type, resource, object, resourceVersion: this.revision };
    this.history.push(ev);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    this.emit('event', ev);
  }

  /** Events after `rv`, or undefined when the history no longer reaches back that far (410 Gone). */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv >= this.revision) return [];
    const first = this.history[0];
    if (!first || first.resourceVersion > rv + 1) return undefined;
    return this.history.filter((e) => e.resourceVersion > rv);
  }

  private readonly jsonOf = new WeakMap<KObject, string>();

  /**
   * The JSON of a stored object (from peek or list), made once: a write stores a new object, so
   * it never goes stale. Lists of a large fleet are served from it, as kube-apiserver serves them
   * from its watch cache, instead of copying and serializing every object on every list.
   */
  json(obj: KObject): string {
    let json = this.jsonOf.get(obj);
    if (json === undefined) {
      json = JSON.stringify(obj);
      this.jsonOf.set(obj, json);
    }
    return json;
  }

  /** The stored object itself (do not mutate it; use update or mutate). */
  peek(t: ResourceType, namespace: string | undefined, name: string): KObject | undefined {
    return this.bucket(t).get(objectKey(t.namespaced ? namespace : undefined, name));
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KObject {
    const obj = this.peek(t, namespace, name);
    if (!obj) throw notFound(t, name);
    return clone(obj);
  }

  list(
    t: ResourceType,
    namespace?: string,
    labels: LabelRequirement[] = [],
    fields: FieldRequirement[] = [],
  ): KObject[] {
    const out: KObject[] = [];
    for (const obj of this.bucket(t).values()) {
      if (namespace && t.namespaced && obj.metadata.namespace !== namespace) continue;
      if (!matchesLabels(labels, obj.metadata.labels)) continue;
      if (!matchesFields(fields, obj)) continue;
      out.push(obj);
    }
    // etcd's order: the keys' bytes (names are ASCII)
    const keyed = out.map((o) => [objectKey(o.metadata.namespace, o.metadata.name), o] as const);
    return keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  create(t: ResourceType, input: KObject, opts: WriteOptions = {}): KObject {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    obj.metadata = obj.metadata ?? ({} as ObjectMeta);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix(5);
    if (!meta.name) {
      throw invalid(t.kind, t.group, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    if (!DNS1123_SUBDOMAIN.test(meta.name) || meta.name.length > 253) {
      throw invalid(t.kind, t.group, meta.name, [
        {
          field: 'metadata.name',
          message: `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        },
      ]);
    }
    if (t.namespaced) {
      if (!meta.namespace) throw new ApiError(400, 'BadRequest', 'the namespace of the provided object is missing');
    } else {
      delete meta.namespace;
    }
    const b = this.bucket(t);
    const key = objectKey(meta.namespace, meta.name);
    if (b.has(key)) throw alreadyExists(t, meta.name);
    this.revision++;
    meta.uid = randomUUID();
    meta.resourceVersion = String(this.revision);
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (t.group === 'apps') meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.managedFields;
    if (opts.manager) recordManagedFields(undefined, obj, opts.manager, { operation: opts.operation });
    b.set(key, obj);
    this.emitEvent('ADDED', t, obj);
    return clone(obj);
  }

  /**
   * Replaces an object. A non-empty metadata.resourceVersion must match the stored one (409 otherwise).
   * Server-owned metadata (uid, creationTimestamp, generation) is kept from the stored object.
   */
  update(t: ResourceType, input: KObject, opts: { statusOnly?: boolean } & WriteOptions = {}): KObject {
    const name = input.metadata?.name;
    const namespace = t.namespaced ? input.metadata?.namespace : undefined;
    const current = this.peek(t, namespace, name);
    if (!current) throw notFound(t, name);
    const rv = input.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(t, name);
    let next = clone(input);
    if (opts.statusOnly) {
      next = { ...clone(current), status: next.status };
    } else if (t.subresources?.status && t.kind !== 'Namespace') {
      // The main resource ignores status changes when a status subresource exists.
      if (current.status === undefined) delete next.status;
      else next.status = clone(current.status);
    }
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    next.metadata.uid = current.metadata.uid;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    next.metadata.namespace = current.metadata.namespace;
    if (current.metadata.deletionTimestamp) next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    // Only the server writes managedFields; what a client sends there is ignored.
    if (current.metadata.managedFields) next.metadata.managedFields = clone(current.metadata.managedFields);
    else delete next.metadata.managedFields;
    if (current.metadata.generation !== undefined) {
      const specChanged = JSON.stringify(current.spec) !== JSON.stringify(next.spec);
      next.metadata.generation = current.metadata.generation + (specChanged && !opts.statusOnly ? 1 : 0);
    }
    if (JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: '' } }) ===
        JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: '' } })) {
      // No-op updates keep the resourceVersion and send no watch event, like the real apiserver.
      return clone(current);
    }
    if (opts.manager) recordManagedFields(current, next, opts.manager, { operation: opts.operation, subresource: opts.statusOnly ? 'status' : undefined });
    this.revision++;
    next.metadata.resourceVersion = String(this.revision);
    this.bucket(t).set(objectKey(current.metadata.namespace, name), next);
    this.emitEvent('MODIFIED', t, next);
    return clone(next);
  }

  /** Read-modify-write for controllers; returns undefined when the object is gone. */
  mutate(t: ResourceType, namespace: string | undefined, name: string, fn: (o: KObject) => void, statusOnly = false, write: WriteOptions = {}): KObject | undefined {
    const current = this.peek(t, namespace, name);
    if (!current) return undefined;
    const next = clone(current);
    fn(next);
    return this.update(t, next, { statusOnly, ...write });
  }

  delete(t: ResourceType, namespace: string | undefined, name: string, preconditionUid?: string): KObject {
    const key = objectKey(t.namespaced ? namespace : undefined, name);
    const b = this.bucket(t);
    const current = b.get(key);
    if (!current) throw notFound(t, name);
    if (preconditionUid && preconditionUid !== current.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${t.plural} "${name}": Precondition failed: UID in precondition: ${preconditionUid}, UID in object meta: ${current.metadata.uid}`, { name, kind: t.plural });
    }
    b.delete(key);
    this.revision++;
    const gone = clone(current);
    gone.metadata.resourceVersion = String(this.revision);
    this.emitEvent('DELETED', t, gone);
    return gone;
  }
}
