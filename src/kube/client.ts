// One handle on the host cluster: typed API clients, a request timeout, a request
// counter (bench), and translation of every failure into a one-line UserError.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  observableFrom,
  observableOf,
  ResponseContext,
  SelfDecodingBody,
  type KubeConfig,
} from './k8s.js';
import { resolveKubeConfig, type ClusterFlags, type ResolvedConfig } from './config.js';

export interface KubeOptions extends ClusterFlags {
  /** milliseconds; 0 = none */
  requestTimeoutMs?: number;
}

const TLS_OPTION_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/** All of a response body, in one buffer of its own. */
async function readStream(stream: ReadableStream<Uint8Array> | null): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    length += chunk.byteLength;
  }
  // Not Buffer.concat: a small result could land in Buffer's shared pool, which a transfer to a worker would detach.
  const out = Buffer.from(new ArrayBuffer(length));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A list answer that does not parse: one line, exit 3. */
export function notJson(what: string, err?: unknown): UserError {
  return new UserError(`cannot ${what}: the API server's answer is not JSON`, 3, err);
}

/**
 * client-node gives every REST request a new undici Agent, so a new TCP and TLS connection: one
 * handshake per list chunk. Requests with the same cluster and TLS options share one Agent here,
 * so sequential requests reuse a connection, as kubectl's do. Options that change (an exec plugin
 * handing out a new client certificate) get an Agent of their own. The options are only hashed.
 */
function shareDispatchers(kc: KubeConfig): void {
  type Create = (this: unknown, cluster: { server?: string; proxyUrl?: string; skipTLSVerify?: boolean } | null, agentOptions: Record<string, unknown>) => unknown;
  const target = kc as unknown as { createDispatcher?: Create };
  const create = target.createDispatcher;
  if (typeof create !== 'function') return; // a client-node without it: nothing to share
  const shared = new Map<string, unknown>();
  target.createDispatcher = function (cluster, agentOptions) {
    const h = createHash('sha256');
    h.update(JSON.stringify([cluster?.server, cluster?.proxyUrl, cluster?.skipTLSVerify]));
    for (const k of TLS_OPTION_KEYS) {
      const v = agentOptions[k];
      h.update(`\0${k}=`);
      if (v !== undefined) h.update(Buffer.isBuffer(v) ? v : String(v));
    }
    const key = h.digest('hex');
    let dispatcher = shared.get(key);
    if (dispatcher === undefined) {
      dispatcher = create.call(this, cluster, agentOptions);
      if (dispatcher !== undefined) shared.set(key, dispatcher);
    }
    return dispatcher;
  };
}

export class Kube {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly server: string;
  readonly contextName: string;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly authz: AuthorizationV1Api;
  readonly requestTimeoutMs: number;
  /** API requests made (REST) and exec/port-forward sessions opened; read by benchmarks. */
  readonly stats = { requests: 0, execs: 0 };

  constructor(resolved: ResolvedConfig, requestTimeoutMs = 0) {
    this.kc = resolved.kc;
    this.namespace = resolved.namespace;
    this.server = resolved.server;
    this.contextName = resolved.contextName;
    this.requestTimeoutMs = requestTimeoutMs;
    shareDispatchers(this.kc);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.coordination = this.kc.makeApiClient(CoordinationV1Api);
    this.authz = this.kc.makeApiClient(AuthorizationV1Api);
  }

  static connect(opts: KubeOptions): Kube {
    return new Kube(resolveKubeConfig(opts), opts.requestTimeoutMs ?? 0);
  }

  /** Per-call options: a request timeout and the request counter. */
  get opts() {
    return this.optsWith();
  }

  /** `opts`, with `post` seeing each response before the generated client reads it. */
  private optsWith(post: (resp: ResponseContext) => unknown = observableOf) {
    const timeout = this.requestTimeoutMs;
    const stats = this.stats;
    return {
      middleware: [
        {
          pre: (ctx: { setSignal(s: AbortSignal): void }) => {
            stats.requests++;
            if (timeout > 0) ctx.setSignal(AbortSignal.timeout(timeout));
            return observableOf(ctx);
          },
          post,
        },
      ],
      middlewareMergeStrategy: 'append' as const,
    } as any; // eslint-disable-line @typescript-eslint/no-explicit-any -- client-node's option generics do not name the promise middleware type
  }

  /**
   * One list call whose items are taken as the API server's JSON rather than as client-node's
   * models. client-node's ObjectSerializer walks every field of every item to build typed objects;
   * for a fleet's Secrets (~15 MB) that is a sizeable share of the check's CPU, on the thread that
   * also feeds the workers. The request (auth, TLS, timeout, counting, errors) is client-node's as
   * for any call; only a successful body is taken, before the generated client reads it, and the
   * client is handed an empty object instead. Items keep the API's JSON types (times are strings).
   */
  async listJson<T>(what: string, list: (opts: Kube['opts']) => Promise<unknown>): Promise<{ items: T[]; continue?: string }> {
    const body = await this.listBody(what, list);
    let parsed: { items?: unknown; metadata?: { continue?: unknown } };
    try {
      parsed = JSON.parse(body.toString()) as typeof parsed;
    } catch (err) {
      throw notJson(what, err);
    }
    const cont = parsed?.metadata?.continue;
    return { items: Array.isArray(parsed?.items) ? (parsed.items as T[]) : [], continue: typeof cont === 'string' && cont ? cont : undefined };
  }

  /** listJson's answer as the bytes the API server sent, for a caller that parses it elsewhere (a worker thread). */
  async listBody(what: string, list: (opts: Kube['opts']) => Promise<unknown>): Promise<Buffer> {
    let body: Buffer | undefined;
    const opts = this.optsWith((rsp: ResponseContext) =>
      observableFrom((async () => {
        if (rsp.httpStatusCode < 200 || rsp.httpStatusCode > 299) return rsp;
        // Not binary(): client-node's fetch wrapper calls a method undici's Response does not have.
        body = await readStream(rsp.body.stream());
        return new ResponseContext(rsp.httpStatusCode, rsp.headers, new SelfDecodingBody(Promise.resolve(Buffer.from('{}'))));
      })()));
    await this.call(what, () => list(opts));
    return body ?? Buffer.alloc(0);
  }

  /**
   * Runs one API call; failures become a one-line UserError naming what was attempted.
   * `notFound` lets callers turn a 404 into null instead of an error.
   */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T>;
  async call<T>(what: string, fn: () => Promise<T>, notFound: 'null'): Promise<T | null>;
  async call<T>(what: string, fn: () => Promise<T>, notFound?: 'null'): Promise<T | null> {
    try {
      return await this.withDeadline(fn());
    } catch (err) {
      if (notFound === 'null' && apiStatusCode(err) === 404) return null;
      throw this.explain(what, err);
    }
  }

  /** The abort signal does not always interrupt a TLS connect; this deadline always holds. */
  private withDeadline<T>(p: Promise<T>): Promise<T> {
    if (this.requestTimeoutMs <= 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })), this.requestTimeoutMs + 250);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  explain(what: string, err: unknown): UserError {
    if (err instanceof UserError) return err;
    const code = apiStatusCode(err);
    if (code !== undefined) {
      const msg = apiStatusMessage(err);
      switch (code) {
        case 401:
          return new UserError(`cannot ${what}: the host cluster rejected your credentials (401 Unauthorized); log in again or refresh the kubeconfig user of context "${this.contextName}"`, 3, err);
        case 403:
          return new UserError(`cannot ${what}: forbidden (403)${msg ? `: ${msg}` : ''}; ask your cluster admin for that RBAC permission`, 3, err, 'forbidden');
        case 404:
          return new UserError(`cannot ${what}: not found (404)${msg ? `: ${msg}` : ''}`, 3, err);
        case 409:
          return new UserError(`cannot ${what}: conflict (409): it was changed by someone else meanwhile; re-run the command`, 3, err);
        default:
          return new UserError(`cannot ${what}: the API server answered ${code}${msg ? `: ${msg}` : ''}`, 3, err);
      }
    }
    return new UserError(`cannot ${what}: ${describeNetworkError(err, this.server, this.requestTimeoutMs)}`, 3, err);
  }
}

export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  // Only an HTTP answer has a status; a DOMException's numeric `code` (e.g. 23 on timeout) is not one.
  if (err instanceof UserError) return apiStatusCode(err.cause);
  const e = err as { code?: unknown; body?: unknown };
  return typeof e?.code === 'number' && e.code >= 100 && e.code < 600 && 'body' in e ? e.code : undefined;
}

/** The `message` of a Kubernetes Status body, if the error carries one. */
export function apiStatusMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 200);
    }
  }
  const message = (parsed as { message?: unknown })?.message;
  return typeof message === 'string' ? message : '';
}

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate is not signed by the kubeconfig\'s certificate-authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chains to a CA the kubeconfig does not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server presents a self-signed certificate the kubeconfig does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server certificate is not signed by the kubeconfig\'s certificate-authority',
  CERT_HAS_EXPIRED: 'the API server\'s certificate has expired',
  CERT_NOT_YET_VALID: 'the API server\'s certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not name this host',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server does not speak TLS (is the server URL http:// ?)',
};

/** Finds the innermost error code in an error's cause chain (undici wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 6 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function describeNetworkError(err: unknown, server: string, timeoutMs = 0): string {
  const code = errorCode(err);
  const name = (err as { name?: string })?.name;
  if (name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return `the API server ${server} did not answer${timeoutMs ? ` within ${timeoutMs / 1000}s` : ''}; check the network or raise --request-timeout`;
  }
  if (code && TLS_CODES[code]) {
    return `TLS to the host API server ${server} failed: ${TLS_CODES[code]}; check the cluster's certificate-authority-data in your kubeconfig`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `connection to the API server ${server} refused; is the cluster up and the kubeconfig's server address right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the API server host in ${server} does not resolve; check the kubeconfig's server address and DNS`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `the connection to the API server ${server} was reset; try again`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the API server ${server} is unreachable from this machine; check the network or VPN`;
  }
  // undici says only "fetch failed"; the reason is in the innermost cause.
  let inner: unknown = err;
  while ((inner as { cause?: unknown })?.cause instanceof Error) inner = (inner as { cause: unknown }).cause;
  const msg = inner instanceof Error ? inner.message.split('\n')[0] : String(inner);
  return `talking to the API server ${server} failed: ${msg}${code ? ` (${code})` : ''}`;
}
