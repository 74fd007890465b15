// The two TLS endpoints of a vCluster control-plane pod:
//  - 8443, the syncer's proxy (the Service's target port). Its certificate is made in memory at start
//    (pkg/server/cert/cert.go GenAPIServerServingCerts, pkg/util/certhelper/cert.go NewSignedCert):
//    ECDSA P-256, CN kube-apiserver, serverAuth, signed by the FIRST certificate of server-ca.crt,
//    NotBefore = that CA's NotBefore, chain = leaf + that CA. Client certificates are authenticated
//    against client-ca.crt, and front-proxy-ca.crt as request-header CA (pkg/server/server.go).
//  - 6443 on the pod's 127.0.0.1, kube-apiserver with --tls-cert-file=apiserver.crt,
//    --client-ca-file=client-ca.crt, --requestheader-client-ca-file=front-proxy-ca.crt,
//    --requestheader-allowed-names=front-proxy-client (pkg/k8s/k8s.go).
// Both answer /version, /healthz, /livez, /readyz: 200 for an accepted client, 401 otherwise.

import { X509Certificate } from 'node:crypto';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { generateKey, issueWithOpenssl, pemBlocks } from './pkigen.js';

export const PROXY_PORT = 8443;
export const APISERVER_PORT = 6443;
export const SERVED_PORTS = [PROXY_PORT, APISERVER_PORT] as const;
export type ServedPort = (typeof SERVED_PORTS)[number];

export interface Endpoint {
  /** PEM chain the server presents */
  cert: string;
  key: string;
  /** --client-ca-file */
  clientCa: string;
  /** --requestheader-client-ca-file (front-proxy-ca.crt) */
  requestHeaderCa: string;
  /** --requestheader-allowed-names; empty = any certificate of the request-header CA */
  requestHeaderAllowedNames: string[];
}

export type ServingConfig = Record<ServedPort, Endpoint>;

const YEAR_MS = 365 * 86_400_000;

/**
 * The SANs of the proxy certificate (pkg/server/cert/cert.go: the kubernetes.* names, localhost and
 * 127.0.0.1 first, then the sorted extra SANs: `<name>`, `<name>.<ns>`, the node-proxy wildcards, the
 * Service's ClusterIP and the pod IP, de-duplicated case-insensitively).
 */
export function proxySans(o: { name: string; namespace: string; clusterDomain?: string; serviceIp?: string; podIp?: string }): { dns: string[]; ips: string[] } {
  const domain = o.clusterDomain ?? 'cluster.local';
  const dns = [`kubernetes.default.svc.${domain}`, 'kubernetes.default.svc', 'kubernetes.default', 'kubernetes', 'localhost'];
  const ips = ['127.0.0.1'];
  const extra = [o.name, `${o.name}.${o.namespace}`, '*.nodes.vcluster.com', o.name, `${o.name}.${o.namespace}`,
    `*.${o.name}.${o.namespace}.nodes.vcluster.com`, o.serviceIp, o.podIp].filter((s): s is string => !!s).sort();
  const seen = new Set<string>();
  for (const s of extra) {
    if (seen.has(s.toLowerCase())) continue;
    seen.add(s.toLowerCase());
    if (/^[\d.]+$/.test(s) || s.includes(':')) ips.push(s);
    else dns.push(s);
  }
  return { dns, ips };
}

/** The syncer's in-memory serving certificate (never written to disk): chain = leaf + signing CA. */
export async function makeProxyCert(serverCaCrt: string, serverCaKey: string, sans: { dns: string[]; ips: string[] }): Promise<{ cert: string; key: string }> {
  const caPem = pemBlocks(serverCaCrt)[0];
  if (!caPem) throw new Error('server-ca.crt holds no certificate');
  const ca = new X509Certificate(caPem);
  if (ca.validToDate.getTime() < Date.now()) throw new Error('expired CA certificate: /data/pki/server-ca.crt');
  const key = await generateKey('ecdsa');
  const leaf = await issueWithOpenssl({
    subject: { CN: 'kube-apiserver' },
    issuer: { cert: caPem, key: serverCaKey },
    key,
    basicConstraints: false,
    extKeyUsage: ['serverAuth'],
    dnsNames: sans.dns,
    ipAddresses: sans.ips,
    notBefore: ca.validFromDate,
    notAfter: new Date(Date.now() + YEAR_MS),
  });
  return { cert: leaf.cert + caPem, key };
}

function certsOf(pem: string): X509Certificate[] {
  return pemBlocks(pem).map((b) => new X509Certificate(b));
}

function issuedBy(cert: X509Certificate, cas: X509Certificate[]): boolean {
  return cas.some((ca) => {
    try {
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
}

/** The user a request authenticates as, or undefined (401), as the two authenticators do it. */
function authenticate(req: IncomingMessage, ep: Endpoint, clientCas: X509Certificate[], headerCas: X509Certificate[]): string | undefined {
  const sock = req.socket as TLSSocket;
  if (!sock.authorized) return undefined;
  const peer = sock.getPeerX509Certificate();
  if (!peer) return undefined;
  if (issuedBy(peer, clientCas)) return /CN=([^\n]*)/.exec(peer.subject)?.[1] ?? 'unknown';
  // A front proxy: its certificate names the proxy, the headers name the user.
  const cn = /CN=([^\n]*)/.exec(peer.subject)?.[1] ?? '';
  const user = req.headers['x-remote-user'];
  const allowed = ep.requestHeaderAllowedNames.length === 0 || ep.requestHeaderAllowedNames.includes(cn);
  if (issuedBy(peer, headerCas) && allowed && typeof user === 'string' && user) return user;
  return undefined;
}

/** One endpoint's HTTPS server (the caller listens). */
export function createEndpointServer(ep: Endpoint, kubernetesVersion: string): https.Server {
  const [major, minor] = kubernetesVersion.replace(/^v/, '').split('.');
  const clientCas = certsOf(ep.clientCa);
  const headerCas = certsOf(ep.requestHeaderCa);
  return https.createServer(
    { cert: ep.cert, key: ep.key, ca: [...pemBlocks(ep.clientCa), ...pemBlocks(ep.requestHeaderCa)], requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      const json = (code: number, body: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!authenticate(req, ep, clientCas, headerCas)) {
        json(401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/version') {
        json(200, {
          major,
          minor,
          gitVersion: kubernetesVersion,
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2025-01-01T00:00:00Z',
          goVersion: 'go1.24.0',
          compiler: 'gc',
          platform: 'linux/amd64',
        });
      } else if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      } else {
        json(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', code: 404 });
      }
    },
  );
}
