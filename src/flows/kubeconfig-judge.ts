// `kubeconfig check`: judges a kubeconfig against the PKI a vCluster serves, the way Go's TLS
// (kubectl, client-go) and kube-apiserver's x509 authenticator would. Pure: file references in a
// kubeconfig are read through the caller's `readFile`. No key material in any message.
//
// What the vCluster serves (upstream pkg/server/cert/{cert,syncer}.go, pkg/k8s/k8s.go):
// - the syncer's proxy (8443, the Service's target port) serves an in-memory leaf signed by the first
//   certificate of server-ca.crt and sends that CA certificate along as the chain;
// - kube-apiserver (127.0.0.1:6443 in the pod) serves apiserver.crt (with any certificates after
//   the first as its chain);
// - both authenticate client certificates against every certificate of client-ca.crt.
// Go treats every certificate of a CA pool as a trust anchor (self-signed or not) and checks the
// validity period of every certificate of the chain, the anchor's too.

import { loadKubeconfig } from '../pki/kubeconfig.js';
import { decodeBase64 } from '../pki/pem.js';
import { rfc3339 } from '../pki/inspect.js';
import { certMatchesKey, isIssuedBy, keyTypeOf, namesChain } from '../pki/x509.js';
import type { CertInfo } from '../pki/types.js';
import { allowsClientAuth, apiserverAnchor, findAnchor, pemCertificates, proxyAnchor, validAt, type ServedPki } from './kubeconfig-trust.js';

export { pemCertificates, servedPki, type ServedPki } from './kubeconfig-trust.js';

const DAY_MS = 86_400_000;

export type Endpoint = 'proxy' | 'apiserver';
export type ContextStatus = 'OK' | 'EXPIRING' | 'EXPIRED' | 'NOT YET VALID' | 'REJECTED' | 'UNTRUSTED' | 'INVALID' | 'UNKNOWN';
export type CredentialKind = 'certificate' | 'token' | 'exec' | 'auth-provider' | 'basic' | 'none';

/** The parts of a vCluster PKI that decide what its endpoints serve and accept. */
// ---------------------------------------------------------------------------------------------
// kubeconfig reading

type Raw = Record<string, unknown>;

/** Reads a file a kubeconfig refers to; throws a message fit for the user. */
export type FileReader = (path: string) => Buffer;

function named(list: unknown, key: string): Map<string, Raw> {
  const out = new Map<string, Raw>();
  if (!Array.isArray(list)) return out;
  for (const e of list) {
    if (typeof e !== 'object' || e === null) continue;
    const entry = e as Raw;
    const body = entry[key];
    out.set(String(entry.name ?? ''), typeof body === 'object' && body !== null ? (body as Raw) : {});
  }
  return out;
}

interface Material {
  data?: Buffer;
  /** where it came from, for messages: 'client-certificate-data' or the file path */
  from: string;
  error?: string;
}

/** `X-data` wins over `X` (a file path), as in client-go; a path is read through `readFile`. */
function material(body: Raw, field: string, owner: string, readFile?: FileReader): Material | undefined {
  const data = body[`${field}-data`];
  if (typeof data === 'string' && data !== '') {
    const bytes = decodeBase64(data);
    return bytes ? { data: bytes, from: `${field}-data` } : { from: `${field}-data`, error: `${owner}: ${field}-data is not base64` };
  }
  const path = body[field];
  if (typeof path !== 'string' || path === '') return undefined;
  if (!readFile) return { from: path, error: `${owner}: ${field} refers to the file ${path}, which cannot be read here` };
  try {
    return { data: readFile(path), from: path };
  } catch (e) {
    return { from: path, error: `${owner}: cannot read ${field} ${path}: ${(e as Error).message}` };
  }
}

export interface ContextEntry {
  context: string;
  cluster: string;
  user: string;
  server: string;
  clusterBody: Raw;
  userBody: Raw;
}

/** Every context of a kubeconfig with its cluster and user; a kubeconfig without contexts but with one cluster and one user gives one. */
export function contextsOf(doc: Raw): ContextEntry[] {
  const clusters = named(doc.clusters, 'cluster');
  const users = named(doc.users, 'user');
  const contexts = named(doc.contexts, 'context');
  const entry = (context: string, cluster: string, user: string): ContextEntry => {
    const clusterBody = clusters.get(cluster) ?? {};
    return {
      context, cluster, user,
      server: typeof clusterBody.server === 'string' ? clusterBody.server : '',
      clusterBody,
      userBody: users.get(user) ?? {},
    };
  };
  if (contexts.size === 0 && clusters.size === 1 && users.size === 1) {
    return [entry('', [...clusters.keys()][0]!, [...users.keys()][0]!)];
  }
  return [...contexts].map(([name, body]) => entry(name, String(body.cluster ?? ''), String(body.user ?? '')));
}

// ---------------------------------------------------------------------------------------------
// judging one context

export interface JudgeOptions {
  now: Date;
  /** EXPIRING when a certificate the context depends on ends within this */
  warnWithinMs: number;
  readFile?: FileReader;
}

export interface CertSummary {
  subject: string;
  issuer: string;
  notBefore: string;
  expiryTime: string;
  daysLeft: number;
  sha256: string;
}

export interface ContextVerdict {
  context: string;
  cluster: string;
  user: string;
  server: string;
  /** the endpoint the server URL reaches: port 6443 is kube-apiserver, anything else the proxy */
  endpoint: Endpoint;
  ca: {
    status: 'trusted' | 'untrusted' | 'insecure' | 'unknown';
    /** which endpoints its certificate-authority-data trusts now */
    trusts: { proxy: boolean; apiserver: boolean };
    /** the certificate of certificate-authority-data that anchors the judged endpoint */
    anchor?: CertSummary;
  };
  client: {
    kind: CredentialKind;
    status: 'accepted' | 'rejected' | 'not-certificate' | 'unknown';
    subject?: string;
    groups?: string[];
    certificate?: CertSummary & { keyType: string; serial: string };
    /** the client key matches the certificate (undefined: no key to compare) */
    keyMatches?: boolean;
    /** the certificate of client-ca.crt that accepts it */
    acceptedBy?: CertSummary;
  };
  status: ContextStatus;
  problems: string[];
  notes: string[];
}

function summary(c: CertInfo, now: Date): CertSummary {
  return {
    subject: c.subject,
    issuer: c.issuer,
    notBefore: rfc3339(c.notBefore),
    expiryTime: rfc3339(c.notAfter),
    daysLeft: Math.floor((c.notAfter.getTime() - now.getTime()) / DAY_MS),
    sha256: c.sha256,
  };
}

/** 6443 is kube-apiserver's port in the pod; 443 (the Service), 8443 and anything else reach the proxy. */
export function endpointOf(server: string): Endpoint {
  try {
    return new URL(server).port === '6443' ? 'apiserver' : 'proxy';
  } catch {
    return 'proxy';
  }
}

function credentialKind(user: Raw, hasCert: boolean): CredentialKind {
  if (hasCert) return 'certificate';
  if (user.token || user.tokenFile) return 'token';
  if (user.exec) return 'exec';
  if (user['auth-provider']) return 'auth-provider';
  if (user.username || user.password) return 'basic';
  return 'none';
}

const ORDER: ContextStatus[] = ['EXPIRED', 'NOT YET VALID', 'REJECTED', 'UNTRUSTED', 'INVALID', 'UNKNOWN', 'EXPIRING', 'OK'];

/** What the checks of one context found: statuses, problems (say what is wrong), notes (worth knowing). */
class Findings {
  readonly found = new Set<ContextStatus>();
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  constructor(private readonly warnAt: number) {}

  fail(status: ContextStatus, problem: string): void {
    this.found.add(status);
    this.problems.push(problem);
  }

  /** EXPIRING when `c` ends within --warn-within */
  expiringSoon(c: CertInfo, what: string): void {
    if (c.notAfter.getTime() <= this.warnAt) {
      this.found.add('EXPIRING');
      this.notes.push(`${what} expires on ${rfc3339(c.notAfter)}`);
    }
  }

  status(): ContextStatus {
    return ORDER.find((s) => this.found.has(s)) ?? 'OK';
  }
}

/** certificate-authority-data: trusted by what the endpoints serve now? */
function judgeTrust(v: ContextVerdict, e: ContextEntry, served: ServedPki, opts: JudgeOptions, f: Findings): void {
  const { now } = opts;
  const caMat = material(e.clusterBody, 'certificate-authority', `cluster "${e.cluster}"`, opts.readFile);
  if (e.clusterBody['insecure-skip-tls-verify'] === true) {
    v.ca.status = 'insecure';
    f.notes.push('insecure-skip-tls-verify: the server certificate is not verified at all');
    return;
  }
  if (!e.server) return f.fail('UNKNOWN', `cluster "${e.cluster}" is missing or has no server`);
  if (!caMat) {
    v.ca.status = 'untrusted';
    return f.fail('UNTRUSTED', 'no certificate-authority-data: the client falls back to the system roots, which do not hold the vCluster\'s CA');
  }
  if (caMat.error || !caMat.data) return f.fail('UNKNOWN', caMat.error ?? 'certificate-authority-data is empty');
  let roots: CertInfo[] = [];
  try {
    roots = pemCertificates(caMat.data);
  } catch (err) {
    f.problems.push(`${caMat.from}: ${(err as Error).message}`);
  }
  const proxy = proxyAnchor(served, roots, now);
  const api = apiserverAnchor(served, roots, now);
  v.ca.trusts = { proxy: !!proxy, apiserver: !!api };
  const anchor = v.endpoint === 'proxy' ? proxy : api;
  const needed = v.endpoint === 'proxy' ? served.serverCA : served.apiserverChain[0];
  if (!needed) {
    return f.fail('UNKNOWN', `the vCluster's ${v.endpoint === 'proxy' ? 'server-ca.crt' : 'apiserver.crt'} is unreadable: trust not judged`);
  }
  if (anchor) {
    v.ca.status = 'trusted';
    v.ca.anchor = summary(anchor, now);
    f.expiringSoon(anchor, `the CA it trusts (${anchor.subject})`);
    return;
  }
  v.ca.status = 'untrusted';
  const expired = roots.filter((r) => !validAt(r, now));
  const what = v.endpoint === 'proxy' ? 'the proxy (8443, chained to server-ca.crt)' : 'kube-apiserver (6443, apiserver.crt)';
  const why = roots.length === 0 ? ': it holds no certificate' : expired.length ? `; ${expired.length} of its ${roots.length} certificates are outside their validity` : '';
  f.fail('UNTRUSTED', `certificate-authority-data does not trust ${what}${why}`);
}

/** Why client-ca.crt (kube-apiserver's x509 authenticator) refuses the certificate; empty when it accepts it. */
function rejections(leaf: CertInfo, acceptedBy: CertInfo | undefined, served: ServedPki): string[] {
  const reasons: string[] = [];
  if (!acceptedBy) {
    reasons.push(served.clientCAs.some((c) => namesChain(leaf, c))
      ? `its signature does not verify against client-ca.crt (same issuer name "${leaf.issuerCN}", another key: signed by a replaced CA?)`
      : `it is issued by "${leaf.issuer}", not by client-ca.crt ("${served.clientCAs[0]!.subject}")`);
  }
  if (!allowsClientAuth(leaf)) reasons.push('its extended key usage does not allow client authentication');
  if (!leaf.subjectCN) reasons.push('it has no common name, so kube-apiserver maps it to no user');
  return reasons;
}

/** The client certificate: within its dates, accepted by client-ca.crt, its key present and matching. */
function judgeClientCertificate(v: ContextVerdict, e: ContextEntry, certMat: Material, served: ServedPki, opts: JudgeOptions, f: Findings): void {
  const { now } = opts;
  let chain: CertInfo[] = [];
  if (certMat.error || !certMat.data) f.problems.push(certMat.error ?? 'client-certificate-data is empty');
  else {
    try {
      chain = pemCertificates(certMat.data);
      if (!chain.length) f.problems.push(`${certMat.from} holds no certificate`);
    } catch (err) {
      f.problems.push(`${certMat.from}: ${(err as Error).message}`);
    }
  }
  const leaf = chain[0];
  if (!leaf) {
    v.client.status = 'unknown';
    f.found.add('UNKNOWN');
    return;
  }
  v.client.subject = leaf.subjectCN;
  v.client.groups = leaf.subjectO;
  v.client.certificate = { ...summary(leaf, now), keyType: keyTypeOf(leaf), serial: leaf.serialHex };
  if (now.getTime() > leaf.notAfter.getTime()) f.fail('EXPIRED', `the client certificate expired on ${rfc3339(leaf.notAfter)}`);
  else if (now.getTime() < leaf.notBefore.getTime()) f.fail('NOT YET VALID', `the client certificate is not valid before ${rfc3339(leaf.notBefore)}`);
  else f.expiringSoon(leaf, 'the client certificate');

  if (!served.clientCAs.length) {
    v.client.status = 'unknown';
    f.fail('UNKNOWN', 'the vCluster\'s client-ca.crt is unreadable: the client certificate was not judged');
  } else {
    const acceptedBy = findAnchor(leaf, chain.slice(1), served.clientCAs, now);
    const reasons = rejections(leaf, acceptedBy, served);
    v.client.status = reasons.length ? 'rejected' : 'accepted';
    if (reasons.length) f.fail('REJECTED', `client-ca.crt does not accept the client certificate: ${reasons.join('; ')}`);
    else if (acceptedBy) {
      v.client.acceptedBy = summary(acceptedBy, now);
      f.expiringSoon(acceptedBy, `the client CA that accepts it (${acceptedBy.subject})`);
    }
  }

  const keyMat = material(e.userBody, 'client-key', `user "${e.user}"`, opts.readFile);
  if (!keyMat) f.fail('INVALID', 'there is a client certificate but no client key');
  else if (keyMat.error || !keyMat.data) f.fail('UNKNOWN', keyMat.error ?? 'client-key-data is empty');
  else {
    v.client.keyMatches = certMatchesKey(leaf, keyMat.data);
    if (!v.client.keyMatches) f.fail('INVALID', 'the client key does not match the client certificate');
  }
}

export function judgeContext(e: ContextEntry, served: ServedPki, opts: JudgeOptions): ContextVerdict {
  const f = new Findings(opts.now.getTime() + opts.warnWithinMs);
  const v: ContextVerdict = {
    context: e.context, cluster: e.cluster, user: e.user, server: e.server, endpoint: endpointOf(e.server),
    ca: { status: 'unknown', trusts: { proxy: false, apiserver: false } },
    client: { kind: 'none', status: 'not-certificate' },
    status: 'OK', problems: f.problems, notes: f.notes,
  };
  judgeTrust(v, e, served, opts, f);
  const certMat = material(e.userBody, 'client-certificate', `user "${e.user}"`, opts.readFile);
  v.client.kind = credentialKind(e.userBody, !!certMat);
  if (certMat) {
    judgeClientCertificate(v, e, certMat, served, opts, f);
    if (e.userBody.token || e.userBody.tokenFile) f.notes.push('a token is set too; kube-apiserver authenticates the certificate first');
  } else if (v.client.kind === 'none') {
    f.notes.push('no client credentials: requests are anonymous');
  }
  v.status = f.status();
  return v;
}

// ---------------------------------------------------------------------------------------------
// which contexts are this vCluster's

export interface VClusterRef {
  name: string;
  namespace: string;
}

/**
 * Why a context belongs to this vCluster, or undefined: its CA data holds one of the vCluster's CA
 * certificates, its client certificate was issued by client-ca.crt, its name is one vCluster's tools
 * give (`vcluster_NAME_NAMESPACE[_HOSTCONTEXT]` from `vcluster connect`, `USER@vcluster_NAME_NAMESPACE`
 * from `kubeconfig issue`), or its server is the vCluster's Service by its in-cluster name.
 */
export function belongsTo(e: ContextEntry, served: ServedPki, vc: VClusterRef): string | undefined {
  const base = `vcluster_${vc.name}_${vc.namespace}`;
  if (e.context === base || e.context.startsWith(`${base}_`) || e.context.endsWith(`@${base}`)) return 'context name';
  try {
    const host = new URL(e.server).hostname;
    const svc = `${vc.name}.${vc.namespace}`;
    if (host === svc || host === `${svc}.svc` || host.startsWith(`${svc}.svc.`)) return 'server';
  } catch {
    // no usable server URL: the other rules decide
  }
  const ca = e.clusterBody['certificate-authority-data'];
  if (typeof ca === 'string') {
    const certs = safeCerts(decodeBase64(ca));
    if (certs.some((c) => served.ownCAs.some((own) => own.der.equals(c.der)))) return 'CA data';
  }
  const cert = e.userBody['client-certificate-data'];
  if (typeof cert === 'string') {
    const leaf = safeCerts(decodeBase64(cert))[0];
    if (leaf && served.clientCAs.some((c) => isIssuedBy(leaf, c))) return 'client certificate';
  }
  return undefined;
}

function safeCerts(data: Buffer | undefined): CertInfo[] {
  if (!data) return [];
  try {
    return pemCertificates(data);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// a whole kubeconfig

export interface KubeconfigVerdict {
  contexts: ContextVerdict[];
  /** contexts left out because nothing ties them to this vCluster */
  skipped: string[];
}

/**
 * Judges the contexts of one kubeconfig. `all`: every context (the vCluster's own Secret); otherwise
 * only those that belong to the vCluster, or the only one when there is just one.
 * Throws (a message without YAML source) when the text is not a kubeconfig.
 */
export function judgeKubeconfig(text: string | Buffer, served: ServedPki, vc: VClusterRef, all: boolean, opts: JudgeOptions): KubeconfigVerdict {
  const doc = loadKubeconfig(text.toString());
  const entries = contextsOf(doc);
  if (entries.length === 0) throw new Error('kubeconfig has no contexts');
  const picked = all || entries.length === 1 ? entries : entries.filter((e) => belongsTo(e, served, vc));
  const skipped = entries.filter((e) => !picked.includes(e)).map((e) => e.context);
  return { contexts: picked.map((e) => judgeContext(e, served, opts)), skipped };
}
