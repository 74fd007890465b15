// The simulated kube-apiserver: HTTPS with mTLS (cluster admin) and bearer-token users, RBAC-like
// authorization, discovery (legacy and aggregated), REST for the resources in resources.ts with
// get/list/watch/create/update/patch/delete/deletecollection, status and scale subresources, pod logs,
// SelfSubjectAccessReview, and WebSocket pods/exec and pods/portforward.

import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import * as net from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { KObject, Store, StoreEvent } from './store.js';
import {
  ResourceType, RESOURCE_TYPES, aggregatedDiscovery, openApiV3Discovery, openApiV3Spec, apiGroup, apiGroupList, apiResourceList, apiVersions, apiVersionOf, findType, typeByKind,
} from './resources.js';
import {
  ApiError, badRequest, conflict, forbidden, internalError, invalid, methodNotAllowed, notFound, statusForCode, unauthorized, unsupportedMediaType,
} from './status.js';
import { applyPatch, clone, patchTypeFromContentType } from './patch.js';
import { parseFieldSelector, parseLabelSelector, matchesFields, matchesLabels } from './selectors.js';
import { AuthzAttributes, SimUser, authorize } from './auth.js';
import { Faults, RequestRecord } from './faults.js';
import { Kubelet, initialPodStatus } from './kubelet.js';
import { ContainerRuntime } from './runtime.js';
import { Controllers } from './controllers.js';
import { EXEC_PROTOCOLS, PORTFORWARD_PROTOCOLS, bridgeExec, bridgePortForward, failExec, startFailureStatus } from './streams.js';
import { toTable } from './tables.js';
import { managerOf } from './managed-fields.js';
import { decodeSelfSubjectAccessReview, isProtobuf } from './protobuf.js';
import type { ClusterTls } from './tls.js';
import { SPDY_TUNNEL_PROTOCOL, serveSpdyPortForward } from './spdy.js';

const PODS = typeByKind('Pod');
const NAMESPACES = typeByKind('Namespace');
const SECRETS = typeByKind('Secret');
const SERVICE_ACCOUNTS = typeByKind('ServiceAccount');
const SSAR = typeByKind('SelfSubjectAccessReview');
/** ws refuses '/' in a subprotocol token; the SPDY tunnel's name is swapped for this one and back. */
const SPDY_TUNNEL_TOKEN = 'spdy-3.1-portforward-tunnel';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.4' };

/** A parsed resource request path. */
interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

interface Reply {
  code: number;
  body: unknown;
  contentType?: string;
}

interface ServerDeps {
  tls: ClusterTls;
  store: Store;
  kubelet: Kubelet;
  runtime: ContainerRuntime;
  faults: Faults;
  requests: RequestRecord[];
  /** bearer token -> user */
  tokens: Map<string, SimUser>;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function serialize(obj: unknown): string {
  return JSON.stringify(obj);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): any {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw badRequest(`the object provided is unrecognized: ${(e as Error).message}`);
  }
}

function verbFor(method: string, t: Target, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return t.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return t.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** Parses /api/v1/... and /apis/G/V/... into a resource target; undefined for non-resource paths. */
function parseResourcePath(path: string): { group: string; version: string; rest: string[] } | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'api' && parts.length >= 2) return { group: '', version: parts[1], rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 3) return { group: parts[1], version: parts[2], rest: parts.slice(3) };
  return undefined;
}

function resolveTarget(group: string, version: string, rest: string[]): Target {
  const nsType = findType(group, version, rest[2] ?? '');
  if (rest[0] === 'namespaces' && rest.length >= 3 && nsType) {
    if (!nsType.namespaced) throw notFound(nsType, rest[3] ?? '');
    return { type: nsType, namespace: rest[1], name: rest[3], subresource: rest[4] };
  }
  const type = findType(group, version, rest[0]);
  if (!type) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  return { type, name: rest[1], subresource: rest[2] };
}

function stamp<T extends KObject>(t: ResourceType, obj: T): T {
  obj.apiVersion = apiVersionOf(t);
  obj.kind = t.kind;
  return obj;
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** The key a list is ordered by (the store's byte order): namespace/name. */
function listKey(o: KObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** kube-apiserver's continue token: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}. */
function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string' || !t.start.endsWith('\u0000')) throw new Error();
    return { rv: t.rv, start: t.start.slice(0, -1) };
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

export class ApiServer {
  readonly server: https.Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols: Set<string>, req: IncomingMessage) => {
      const supported = /\/portforward$/.test((req.url ?? '').split('?')[0]) ? [SPDY_TUNNEL_TOKEN, ...PORTFORWARD_PROTOCOLS] : EXEC_PROTOCOLS;
      for (const p of protocols) if (supported.includes(p)) return p === SPDY_TUNNEL_TOKEN ? SPDY_TUNNEL_PROTOCOL : p;
      return false;
    },
  });
  private readonly watchers = new Set<ServerResponse>();
  private address = '127.0.0.1:0';
  private readonly connectionIds = new WeakMap<object, number>();
  private connections = 0;

  /** A number per TLS connection, in the order they were accepted (from 1). */
  private connectionOf(req: IncomingMessage): number {
    let id = this.connectionIds.get(req.socket);
    if (id === undefined) {
      id = ++this.connections;
      this.connectionIds.set(req.socket, id);
    }
    return id;
  }

  constructor(private readonly deps: ServerDeps) {
    this.server = https.createServer({
      key: deps.tls.serverKey,
      cert: deps.tls.serverCert,
      ca: deps.tls.caCert,
      requestCert: true,
      rejectUnauthorized: false,
    });
    this.server.on('request', (req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    this.server.keepAliveTimeout = 30_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as net.AddressInfo;
    this.address = `127.0.0.1:${port}`;
    return `https://${this.address}`;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.end();
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authenticate(req: IncomingMessage): SimUser {
    const sock = req.socket as TLSSocket;
    // A resumed TLS session of a client that sent no certificate is `authorized` too (OpenSSL has
    // nothing to fail): only a certificate that is there names a user, as in kube-apiserver.
    const cert = sock.authorized ? sock.getPeerCertificate() : undefined;
    if (cert?.subject) {
      const o = cert.subject.O;
      return { name: String(cert.subject.CN ?? 'unknown'), groups: Array.isArray(o) ? o : o ? [o] : [] };
    }
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const user = this.deps.tokens.get(auth.slice(7).trim());
      if (user) return user;
    }
    throw unauthorized();
  }

  private send(res: ServerResponse, reply: Reply): void {
    const body = typeof reply.body === 'string' ? reply.body : serialize(reply.body);
    res.writeHead(reply.code, {
      'Content-Type': reply.contentType ?? 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-cache, private',
    });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sim');
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, verb: '', user: '', code: 0, time: Date.now(), connection: this.connectionOf(req) };
    let reply: Reply;
    try {
      const user = this.authenticate(req);
      record.user = user.name;
      const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(record.method) ? await readBody(req) : Buffer.alloc(0);
      const result = await this.route(req, res, url, user, body, record);
      if (result === 'streaming') {
        record.code = 200;
        this.deps.requests.push(record);
        return;
      }
      reply = result;
    } catch (e) {
      const err = e instanceof ApiError ? e : internalError((e as Error).message);
      reply = { code: err.code, body: err.toStatus() };
    }
    record.code = reply.code;
    this.deps.requests.push(record);
    this.send(res, reply);
  }

  private nonResource(path: string, req: IncomingMessage): Reply | undefined {
    const accept = String(req.headers.accept ?? '');
    const aggregated = (core: boolean): Reply | undefined => {
      for (const v of ['v2', 'v2beta1'] as const) {
        if (accept.includes(`g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`)) {
          return {
            code: 200,
            body: aggregatedDiscovery(core, v),
            contentType: `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
          };
        }
      }
      return undefined;
    };
    switch (path) {
      case '/version':
        return {
          code: 200,
          body: {
            ...KUBERNETES_VERSION, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
            buildDate: '2025-04-22T00:00:00Z', goVersion: 'go1.23.8', compiler: 'gc', platform: 'linux/amd64',
          },
        };
      case '/healthz':
      case '/livez':
      case '/readyz':
        return { code: 200, body: 'ok', contentType: 'text/plain; charset=utf-8' };
      case '/api':
        return aggregated(true) ?? { code: 200, body: apiVersions(this.address) };
      case '/apis':
        return aggregated(false) ?? { code: 200, body: apiGroupList() };
    }
    if (path === '/openapi/v3') return { code: 200, body: openApiV3Discovery() };
    const oa = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (oa) {
      const spec = oa[1] ? openApiV3Spec('', oa[1]) : openApiV3Spec(oa[2], oa[3]);
      return spec ? { code: 200, body: spec } : undefined;
    }
    const m = /^\/apis\/([^/]+)$/.exec(path);
    if (m) {
      const g = apiGroup(m[1]);
      return g ? { code: 200, body: g } : undefined;
    }
    const rl = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
    if (rl) {
      const [group, version] = rl[1].includes('/') ? rl[1].split('/') : ['', rl[1]];
      const list = apiResourceList(group, version);
      return list ? { code: 200, body: list } : undefined;
    }
    return undefined;
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: SimUser,
    body: Buffer,
    record: RequestRecord,
  ): Promise<Reply | 'streaming'> {
    const method = record.method;
    const nonResource = method === 'GET' ? this.nonResource(url.pathname, req) : undefined;
    if (nonResource) {
      record.verb = 'get';
      return nonResource;
    }
    const parsed = parseResourcePath(url.pathname);
    if (!parsed || parsed.rest.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const target = resolveTarget(parsed.group, parsed.version, parsed.rest);
    const q = url.searchParams;
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    const verb = target.subresource === 'log' ? 'get' : verbFor(method, target, watch);
    Object.assign(record, { verb, resource: target.type.plural, subresource: target.subresource, namespace: target.namespace, name: target.name });
    const attrs: AuthzAttributes = {
      verb, group: target.type.group, resource: target.type.plural, subresource: target.subresource,
      namespace: target.namespace ?? (target.type === NAMESPACES ? target.name : undefined), name: target.name,
    };
    if (!authorize(user, attrs)) throw forbidden(user.name, verb, { ...target.type, subresource: target.subresource }, target.namespace, target.name);
    const fault = this.deps.faults.takeApiFault({ verb, resource: target.type.plural, subresource: target.subresource, name: target.name, namespace: target.namespace, query: q });
    if (fault) throw statusForCode(fault.status, fault.message);
    if (target.namespace && target.type !== NAMESPACES && method !== 'GET' && method !== 'DELETE' &&
        !this.deps.store.peek(NAMESPACES, undefined, target.namespace)) {
      throw notFound(NAMESPACES, target.namespace);
    }
    if (target.subresource && !target.type.subresources?.[target.subresource]) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (target.subresource === 'exec' || target.subresource === 'portforward' || target.subresource === 'attach') {
      throw badRequest('Upgrade request required');
    }
    if (target.type === SSAR) {
      if (method !== 'POST') throw methodNotAllowed();
      let review: unknown;
      try {
        review = isProtobuf(req.headers['content-type']) ? decodeSelfSubjectAccessReview(body) : parseJson(body);
      } catch (e) {
        throw e instanceof ApiError ? e : badRequest(`the object provided is unrecognized: ${(e as Error).message}`);
      }
      return { code: 201, body: this.selfSubjectAccessReview(user, review) };
    }
    if (isProtobuf(req.headers['content-type'])) {
      throw new ApiError(415, 'UnsupportedMediaType', 'the simulated cluster reads protobuf only for SelfSubjectAccessReview; send application/json');
    }
    if (target.subresource === 'log') return this.podLog(target, q);
    if (target.subresource === 'scale') return this.scale(method, target, req, body);

    const manager = managerOf(q.get('fieldManager'), req.headers['user-agent']);
    switch (verb) {
      case 'get':
        return this.get(target, req, q);
      case 'list':
        return this.list(target, req, q);
      case 'watch':
        this.watch(target, q, res);
        return 'streaming';
      case 'create':
        return this.create(target, parseJson(body), q, manager);
      case 'update':
        return this.update(target, parseJson(body), q, manager);
      case 'patch':
        return this.patch(target, req, parseJson(body), q, manager);
      case 'delete':
        return this.delete(target, parseJson(body), q);
      case 'deletecollection':
        return this.deleteCollection(target, parseJson(body), q);
      default:
        throw methodNotAllowed();
    }
  }

  // --- read ------------------------------------------------------------------------------------------

  private wantsTable(req: IncomingMessage): boolean {
    return /as=Table/.test(String(req.headers.accept ?? ''));
  }

  private get(t: Target, req: IncomingMessage, q: URLSearchParams): Reply {
    const obj = this.deps.store.get(t.type, t.namespace, t.name as string);
    if (this.wantsTable(req)) {
      return { code: 200, body: toTable(t.type.kind, [obj], obj.metadata.resourceVersion as string, q.get('includeObject')), contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
    }
    return { code: 200, body: obj };
  }

  private selectors(t: Target, q: URLSearchParams) {
    return {
      labels: parseLabelSelector(q.get('labelSelector')),
      fields: parseFieldSelector(q.get('fieldSelector'), ['metadata.name', 'metadata.namespace', ...(t.type.fields ?? [])]),
    };
  }

  /**
   * A list, in chunks when asked (`limit`, `continue`) as kube-apiserver serves them: the token
   * carries the first chunk's resourceVersion and the last key served. The real server reads later
   * chunks from that etcd revision; this one answers 410 Expired (as the real one does once the
   * revision is compacted) when an object of the type changed since, so a client sees either a
   * consistent list or the error it must handle.
   */
  private list(t: Target, req: IncomingMessage, q: URLSearchParams): Reply {
    const { labels, fields } = this.selectors(t, q);
    const store = this.deps.store;
    let all = store.list(t.type, t.namespace, labels, fields);
    const limitParam = q.get('limit');
    if (limitParam !== null && !/^\d+$/.test(limitParam)) throw badRequest(`limit: Invalid value: "${limitParam}": must be a non-negative integer`);
    const limit = Number(limitParam ?? 0);
    const metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: String(store.currentRevision) };
    const cont = q.get('continue');
    if (cont) {
      const token = decodeContinue(cont);
      const since = store.eventsSince(token.rv);
      if (!since || since.some((e) => e.resource === t.type)) {
        throw new ApiError(410, 'Expired', CONTINUE_EXPIRED);
      }
      metadata.resourceVersion = String(token.rv);
      all = all.filter((o) => listKey(o) > token.start);
    }
    let page = all;
    if (limit > 0 && all.length > limit) {
      page = all.slice(0, limit);
      metadata.continue = encodeContinue(Number(metadata.resourceVersion), listKey(page[page.length - 1]!));
      // the real server counts the rest only when no selector filters the list
      if (!labels.length && !fields.length) metadata.remainingItemCount = all.length - limit;
    }
    if (this.wantsTable(req)) {
      const table = toTable(t.type.kind, page.map((o) => clone(o)), metadata.resourceVersion, q.get('includeObject')) as { metadata: object };
      table.metadata = metadata;
      return { code: 200, body: table, contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
    }
    // what JSON.stringify({ kind, apiVersion, metadata, items }) writes, with each item's JSON made once
    const head = JSON.stringify({ kind: `${t.type.kind}List`, apiVersion: apiVersionOf(t.type), metadata }).slice(0, -1);
    return { code: 200, body: `${head},"items":[${page.map((o) => store.json(o)).join(',')}]}` };
  }

  private watch(t: Target, q: URLSearchParams, res: ServerResponse): void {
    const { labels } = this.selectors(t, q);
    let { fields } = this.selectors(t, q);
    if (t.name) fields = [...fields, { field: 'metadata.name', negate: false, value: t.name }];
    const store = this.deps.store;
    const matches = (ev: StoreEvent) =>
      ev.resource === t.type &&
      (!t.namespace || !t.type.namespaced || ev.object.metadata.namespace === t.namespace) &&
      matchesLabels(labels, ev.object.metadata.labels) &&
      matchesFields(fields, ev.object);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const write = (type: string, object: unknown) => res.write(`${serialize({ type, object })}\n`);
    const rvParam = q.get('resourceVersion');
    if (!rvParam || rvParam === '0') {
      for (const o of store.list(t.type, t.namespace, labels, fields)) write('ADDED', o);
    } else {
      const past = store.eventsSince(Number(rvParam));
      if (!past) {
        write('ERROR', new ApiError(410, 'Expired', `too old resource version: ${rvParam} (${store.currentRevision})`).toStatus());
        res.end();
        return;
      }
      for (const ev of past) if (matches(ev)) write(ev.type, ev.object);
    }
    const onEvent = (ev: StoreEvent) => {
      if (matches(ev)) write(ev.type, ev.object);
    };
    store.on('event', onEvent);
    this.watchers.add(res);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const stop = () => {
      store.off('event', onEvent);
      this.watchers.delete(res);
      if (timer) clearTimeout(timer);
    };
    res.on('close', stop);
    res.on('finish', stop);
  }

  private podLog(t: Target, q: URLSearchParams): Reply {
    const text = this.deps.kubelet.logs(t.namespace as string, t.name as string, q.get('previous') === 'true');
    const tail = q.get('tailLines');
    const lines = text.split('\n').filter((l, i, a) => l.length > 0 || i < a.length - 1);
    const out = tail ? lines.slice(-Number(tail)) : lines;
    return { code: 200, body: out.map((l) => `${l}\n`).join(''), contentType: 'text/plain' };
  }

  // --- write -----------------------------------------------------------------------------------------

  /** Type-specific defaulting and validation on create and update (what the registry strategies do). */
  private prepare(t: ResourceType, obj: KObject, isCreate: boolean): void {
    if (t === SECRETS) {
      obj.type = obj.type ?? 'Opaque';
      obj.data = obj.data ?? {};
      for (const [k, v] of Object.entries((obj.stringData ?? {}) as Record<string, string>)) obj.data[k] = Buffer.from(v).toString('base64');
      delete obj.stringData;
      if (Object.keys(obj.data).length === 0) delete obj.data;
      for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, unknown>)) {
        if (!SECRET_KEY.test(k)) {
          throw invalid('Secret', '', obj.metadata.name, [{ field: `data[${k}]`, message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` }]);
        }
        if (typeof v !== 'string' || !BASE64.test(v)) {
          throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (key ${k})`);
        }
      }
      return;
    }
    if (!isCreate) return;
    if (t === PODS) {
      obj.spec = { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', serviceAccountName: 'default', ...(obj.spec ?? {}), nodeName: obj.spec?.nodeName ?? 'sim-node' };
      if (!Array.isArray(obj.spec.containers) || obj.spec.containers.length === 0) {
        throw invalid('Pod', '', obj.metadata.name ?? '', [{ field: 'spec.containers', message: 'Required value' }]);
      }
      obj.status = initialPodStatus(obj);
    } else if (t.kind === 'StatefulSet' || t.kind === 'Deployment') {
      obj.spec = obj.spec ?? {};
      obj.spec.replicas = obj.spec.replicas ?? 1;
      obj.spec.revisionHistoryLimit = obj.spec.revisionHistoryLimit ?? 10;
      if (t.kind === 'StatefulSet') {
        obj.spec.podManagementPolicy = obj.spec.podManagementPolicy ?? 'OrderedReady';
        obj.spec.updateStrategy = obj.spec.updateStrategy ?? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      } else {
        obj.spec.strategy = obj.spec.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      }
      obj.status = { replicas: 0, availableReplicas: 0 };
    } else if (t.kind === 'Service') {
      obj.spec = { type: 'ClusterIP', sessionAffinity: 'None', ...(obj.spec ?? {}) };
      obj.spec.clusterIP = obj.spec.clusterIP ?? `10.96.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
      obj.spec.clusterIPs = [obj.spec.clusterIP];
      obj.status = { loadBalancer: {} };
    } else if (t === NAMESPACES) {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    } else if (t.kind === 'PersistentVolumeClaim') {
      obj.status = { phase: 'Bound', accessModes: obj.spec?.accessModes ?? ['ReadWriteOnce'], capacity: obj.spec?.resources?.requests ?? {} };
    }
  }

  private create(t: Target, body: any, q: URLSearchParams, manager: string): Reply {
    if (t.name || t.subresource) throw methodNotAllowed();
    if (!body || typeof body !== 'object') throw badRequest('the body of the request is empty');
    body.metadata = body.metadata ?? {};
    if (t.type.namespaced) {
      if (body.metadata.namespace && body.metadata.namespace !== t.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      body.metadata.namespace = t.namespace;
    }
    stamp(t.type, body);
    this.prepare(t.type, body, true);
    if (q.get('dryRun') === 'All') return { code: 201, body };
    const created = this.deps.store.create(t.type, body, { manager });
    if (t.type === NAMESPACES) this.ensureDefaultServiceAccount(created.metadata.name);
    return { code: 201, body: created };
  }

  /** Creates an object with the same defaulting as a POST (for the cluster's own setup code). */
  createObject(obj: KObject): KObject {
    const type = typeByKind(obj.kind);
    const body = clone(obj);
    stamp(type, body);
    this.prepare(type, body, true);
    const created = this.deps.store.create(type, body);
    if (type === NAMESPACES) this.ensureDefaultServiceAccount(created.metadata.name);
    return created;
  }

  ensureDefaultServiceAccount(ns: string): void {
    if (!this.deps.store.peek(SERVICE_ACCOUNTS, ns, 'default')) {
      this.deps.store.create(SERVICE_ACCOUNTS, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    }
  }

  /** Keeps what the client may not change, then stores (with the resourceVersion precondition). */
  private commit(t: Target, current: KObject, next: KObject, dryRun: boolean, manager: string, operation: 'Update' | 'Apply' = 'Update'): KObject {
    if (!next || typeof next !== 'object' || !next.metadata) throw badRequest('the body of the request must be an object with metadata');
    if (next.metadata.name !== current.metadata.name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${current.metadata.name})`);
    }
    if (t.type.namespaced && next.metadata.namespace && next.metadata.namespace !== current.metadata.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    next.metadata.namespace = current.metadata.namespace;
    stamp(t.type, next);
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(t.type, current.metadata.name);
    }
    if (t.type === SECRETS && current.immutable && JSON.stringify(current.data ?? {}) !== JSON.stringify(next.data ?? {})) {
      throw invalid('Secret', '', current.metadata.name, [{ field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' }]);
    }
    this.prepare(t.type, next, false);
    if (dryRun) return next;
    return this.deps.store.update(t.type, next, { statusOnly: t.subresource === 'status', manager, operation });
  }

  private update(t: Target, body: any, q: URLSearchParams, manager: string): Reply {
    if (!t.name) throw methodNotAllowed();
    const current = this.deps.store.get(t.type, t.namespace, t.name);
    if (!body?.metadata?.name) throw badRequest('name is required in the request body');
    return { code: 200, body: this.commit(t, current, body, q.get('dryRun') === 'All', manager) };
  }

  private patch(t: Target, req: IncomingMessage, body: unknown, q: URLSearchParams, manager: string): Reply {
    if (!t.name) throw methodNotAllowed();
    const type = patchTypeFromContentType(req.headers['content-type']);
    if (!type) throw unsupportedMediaType(String(req.headers['content-type']));
    if (type === 'strategic' && t.type.group !== '' && t.type.group !== 'apps') {
      throw unsupportedMediaType('application/strategic-merge-patch+json is not supported for this resource');
    }
    const current = this.deps.store.get(t.type, t.namespace, t.name);
    const next = applyPatch(type, current, body) as KObject;
    return { code: 200, body: this.commit(t, current, next, q.get('dryRun') === 'All', manager) };
  }

  private deleteOptions(body: any, q: URLSearchParams): { grace?: number; uid?: string; rv?: string; propagation: string } {
    const graceQ = q.get('gracePeriodSeconds');
    const grace = body?.gracePeriodSeconds ?? (graceQ !== null ? Number(graceQ) : undefined);
    return {
      grace,
      uid: body?.preconditions?.uid,
      rv: body?.preconditions?.resourceVersion,
      propagation: body?.propagationPolicy ?? q.get('propagationPolicy') ?? (body?.orphanDependents ? 'Orphan' : 'Background'),
    };
  }

  private deleteOne(type: ResourceType, ns: string | undefined, name: string, opts: ReturnType<ApiServer['deleteOptions']>): KObject {
    const store = this.deps.store;
    const current = store.peek(type, ns, name);
    if (!current) throw notFound(type, name);
    if (opts.rv && opts.rv !== current.metadata.resourceVersion) throw conflict(type, name);
    if (opts.uid && opts.uid !== current.metadata.uid) return store.delete(type, ns, name, opts.uid);
    if (opts.propagation === 'Orphan') this.orphanDependents(current.metadata.uid as string);
    if (type === PODS) return this.deps.kubelet.deletePod(ns as string, name, opts.grace);
    if (type === NAMESPACES) {
      for (const rt of RESOURCE_TYPES) {
        if (!rt.namespaced) continue;
        for (const o of store.list(rt, name)) {
          if (rt === PODS) this.deps.kubelet.deletePod(name, o.metadata.name, 0);
          else if (store.peek(rt, name, o.metadata.name)) store.delete(rt, name, o.metadata.name);
        }
      }
    }
    return store.delete(type, ns, name);
  }

  private orphanDependents(uid: string): void {
    for (const rt of RESOURCE_TYPES) {
      for (const o of this.deps.store.list(rt)) {
        if (!(o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
        this.deps.store.mutate(rt, o.metadata.namespace, o.metadata.name, (x) => {
          x.metadata.ownerReferences = (x.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
          if (x.metadata.ownerReferences.length === 0) delete x.metadata.ownerReferences;
        });
      }
    }
  }

  private delete(t: Target, body: any, q: URLSearchParams): Reply {
    if (t.subresource) throw methodNotAllowed();
    const opts = this.deleteOptions(body, q);
    if (q.get('dryRun') === 'All') return { code: 200, body: this.deps.store.get(t.type, t.namespace, t.name as string) };
    return { code: 200, body: this.deleteOne(t.type, t.namespace, t.name as string, opts) };
  }

  private deleteCollection(t: Target, body: any, q: URLSearchParams): Reply {
    if (t.subresource) throw methodNotAllowed();
    const { labels, fields } = this.selectors(t, q);
    const opts = this.deleteOptions(body, q);
    const items = this.deps.store
      .list(t.type, t.namespace, labels, fields)
      .map((o) => this.deleteOne(t.type, o.metadata.namespace, o.metadata.name, opts));
    return { code: 200, body: { kind: `${t.type.kind}List`, apiVersion: apiVersionOf(t.type), metadata: { resourceVersion: String(this.deps.store.currentRevision) }, items } };
  }

  // --- scale subresource -----------------------------------------------------------------------------

  private toScale(obj: KObject): KObject {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? 1 },
      status: { replicas: obj.status?.replicas ?? 0, selector: Controllers.selectorString(obj) },
    };
  }

  private scale(method: string, t: Target, req: IncomingMessage, rawBody: Buffer): Reply {
    const current = this.deps.store.get(t.type, t.namespace, t.name as string);
    const scale = this.toScale(current);
    if (method === 'GET') return { code: 200, body: scale };
    let next: KObject;
    if (method === 'PUT') next = parseJson(rawBody);
    else if (method === 'PATCH') {
      const type = patchTypeFromContentType(req.headers['content-type']);
      if (!type) throw unsupportedMediaType(String(req.headers['content-type']));
      next = applyPatch(type, scale, parseJson(rawBody)) as KObject;
    } else throw methodNotAllowed();
    const replicas = next?.spec?.replicas;
    if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
      throw invalid('Scale', 'autoscaling', current.metadata.name, [{ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    }
    const rv = next.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(t.type, current.metadata.name);
    current.spec.replicas = replicas;
    const updated = this.deps.store.update(t.type, current);
    return { code: 200, body: this.toScale(updated) };
  }

  // --- authorization review --------------------------------------------------------------------------

  private selfSubjectAccessReview(user: SimUser, body: any): object {
    const ra = body?.spec?.resourceAttributes;
    const nra = body?.spec?.nonResourceAttributes;
    let allowed: boolean;
    if (ra) {
      allowed = authorize(user, {
        verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource || undefined,
        namespace: ra.namespace || undefined, name: ra.name || undefined,
      });
    } else if (nra) {
      // Discovery and health endpoints are open to every authenticated user (system:discovery).
      allowed = user.rules === undefined || /^\/(api|apis|version|healthz|livez|readyz)(\/|$)/.test(nra.path ?? '');
    } else {
      throw invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', [{ field: 'spec', message: 'Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
    }
    return {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: body.spec,
      status: { allowed, ...(allowed && user.rules !== undefined ? { reason: `RBAC: allowed by simulated rules of user "${user.name}"` } : {}) },
    };
  }

  // --- exec and port-forward -------------------------------------------------------------------------

  private rejectUpgrade(socket: Duplex, err: ApiError): void {
    const body = serialize(err.toStatus());
    socket.end(
      `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sim');
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, verb: 'create', user: '', code: 0, time: Date.now(), connection: this.connectionOf(req) };
    try {
      const user = this.authenticate(req);
      record.user = user.name;
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|portforward|attach)$/.exec(url.pathname);
      if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const [, ns, pod, sub] = m.map(decodeURIComponent);
      Object.assign(record, { resource: 'pods', subresource: sub, namespace: ns, name: pod });
      if (!authorize(user, { verb: 'create', group: '', resource: 'pods', subresource: sub, namespace: ns, name: pod })) {
        throw forbidden(user.name, 'create', { group: '', plural: 'pods', subresource: sub }, ns, pod);
      }
      const apiFault = this.deps.faults.takeApiFault({ verb: 'create', resource: 'pods', subresource: sub, name: pod, namespace: ns });
      if (apiFault) throw statusForCode(apiFault.status, apiFault.message);
      if (sub === 'attach') throw badRequest('attach is not supported by the simulated cluster');
      if (sub === 'exec') await this.upgradeExec(req, socket, head, url, ns, pod, record);
      else await this.upgradePortForward(req, socket, head, url, ns, pod, record);
    } catch (e) {
      const err = e instanceof ApiError ? e : internalError((e as Error).message);
      record.code = err.code;
      this.deps.requests.push(record);
      this.rejectUpgrade(socket, err);
    }
  }

  private requireWebSocket(req: IncomingMessage): void {
    const upgrade = String(req.headers.upgrade ?? '');
    if (upgrade.toLowerCase() !== 'websocket') {
      throw badRequest(`${upgrade} streaming is not supported by the simulated cluster: use WebSockets (kubectl >= 1.31, or @kubernetes/client-node)`);
    }
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, supported: string[]): Promise<WebSocket> {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    if (!offered.some((p) => supported.includes(p))) {
      throw badRequest(`unable to upgrade: no supported WebSocket subprotocol in [${offered.join(', ')}]; supported: [${supported.join(', ')}]`);
    }
    return new Promise((resolve) => this.wss.handleUpgrade(req, socket, head, (ws) => resolve(ws)));
  }

  private async upgradeExec(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, ns: string, pod: string, record: RequestRecord): Promise<void> {
    const q = url.searchParams;
    const argv = q.getAll('command');
    const flag = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
    const streams = { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') };
    record.command = argv;
    if (argv.length === 0) throw badRequest('you must specify at least 1 command');
    if (!streams.stdin && !streams.stdout && !streams.stderr) throw badRequest('you must specify at least one of stdin, stdout, stderr');
    const target = await this.deps.kubelet.execTarget(ns, pod, q.get('container') ?? undefined);
    this.requireWebSocket(req);
    const commandFound = await this.deps.runtime.commandExists(target.root, argv[0]);
    // Nothing async between the upgrade and bridgeExec: stdin frames may arrive right away.
    const ws = await this.accept(req, socket, head, EXEC_PROTOCOLS);
    record.code = 101;
    this.deps.requests.push(record);
    if (!commandFound) {
      failExec(ws, startFailureStatus(argv[0]));
      return;
    }
    const fault = this.deps.faults.takeExecFault(ns, pod, argv);
    const env: Record<string, string> = { HOSTNAME: pod, ...(streams.tty ? { TERM: 'xterm' } : {}) };
    const container = (target.pod.spec?.containers ?? []).find((c: { name: string }) => c.name === target.container);
    for (const e of container?.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
    bridgeExec(ws, argv, streams, () => {
      const child = this.deps.runtime.spawn(target.root, argv, env, streams.stdin);
      this.deps.kubelet.trackProcess(target.record, child);
      return child;
    }, fault);
  }

  private async upgradePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, ns: string, pod: string, record: RequestRecord): Promise<void> {
    // The kubelet dials the pod's own localhost: 8443 (syncer proxy) and 6443 (kube-apiserver) listen there.
    const dial = async (port: number) => {
      const ep = await this.deps.kubelet.podEndpoint(ns, pod, port);
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(ep.port, ep.host, () => resolve(s));
        s.once('error', reject);
      });
    };
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (offered.includes(SPDY_TUNNEL_PROTOCOL)) {
      // kubectl 1.31+: SPDY streams inside the WebSocket name the ports, not the query.
      const podObj = this.deps.store.get(PODS, ns, pod);
      this.requireWebSocket(req);
      req.headers['sec-websocket-protocol'] = SPDY_TUNNEL_TOKEN;
      const ws = await this.accept(req, socket, head, [SPDY_TUNNEL_TOKEN]);
      record.code = 101;
      this.deps.requests.push(record);
      serveSpdyPortForward(ws, `${pod}, uid ${podObj.metadata.uid}`, dial, this.deps.faults.takePortForwardFault(ns, pod));
      return;
    }
    const ports = (url.searchParams.getAll('ports').join(',') || '').split(',').filter(Boolean).map(Number);
    if (ports.length !== 1 || !Number.isInteger(ports[0]) || ports[0] <= 0 || ports[0] > 65535) {
      throw badRequest('exactly one valid port must be given in "ports" (the simulated cluster forwards one port per connection)');
    }
    const podObj = this.deps.store.get(PODS, ns, pod);
    this.requireWebSocket(req);
    const ws = await this.accept(req, socket, head, PORTFORWARD_PROTOCOLS);
    record.code = 101;
    this.deps.requests.push(record);
    const fault = this.deps.faults.takePortForwardFault(ns, pod);
    const port = ports[0];
    bridgePortForward(ws, port, `${pod}, uid ${podObj.metadata.uid}`, () => dial(port), fault);
  }
}
