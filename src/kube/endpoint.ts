// Talks to the two TLS endpoints of a vCluster control-plane pod through a pod port-forward:
// 8443, the syncer's proxy (the Service's target port; a certificate made in memory and signed by
// server-ca), and 6443, kube-apiserver on the pod's own 127.0.0.1 (apiserver.crt). A probe records the
// chain the pod presents and whether it accepts a client certificate; judging the chain is the
// caller's, so a wrong certificate is reported as such rather than as a failed handshake.
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { request } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { PortForward } from './k8s.js';

/** The syncer's proxy: what `svc/<name>:443` reaches. */
export const PROXY_PORT = 8443;
/** kube-apiserver, bound to the pod's localhost. */
export const APISERVER_PORT = 6443;

export interface ClientCredentials {
  certPem: string;
  keyPem: string;
}

export interface ProbeResult {
  port: number;
  /** DER of the certificates the pod presented, leaf first */
  chain: Buffer[];
  /** SHA-256 of the presented leaf certificate, upper-case colon hex */
  servedSha256: string;
  statusCode: number;
  body: string;
}

function fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** A loopback listener whose connections are tunnelled to pod:port. */
export async function openPortForward(kube: Kube, namespace: string, pod: string, port = PROXY_PORT): Promise<{ port: number; close(): Promise<void> }> {
  const forward = new PortForward(kube.kc, true);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    kube.stats.execs++;
    forward.portForward(namespace, pod, [port], socket, null, socket).then((ws) => {
      const w = ws as unknown as { on?(e: string, f: () => void): void; close?(): void };
      w.on?.('close', () => socket.destroy());
      socket.on('close', () => w.close?.());
    }, () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).on('error', reject));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The presented chain as TLS handed it over, leaf first, without repeating a self-signed root. */
function presentedChain(sock: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c: PeerCertificate | undefined = sock.getPeerCertificate(true);
  while (c?.raw && !out.some((d) => d.equals(c!.raw))) {
    out.push(c.raw);
    c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return out;
}

/**
 * GET `path` on pod:`port` with the given client certificate. The server's chain is captured, not
 * verified here (the caller checks it against the CA it expects).
 */
export async function probePodPort(kube: Kube, namespace: string, pod: string, port: number, creds: ClientCredentials, path = '/version', timeoutMs = 15_000): Promise<ProbeResult> {
  const tunnel = await openPortForward(kube, namespace, pod, port);
  try {
    return await new Promise<ProbeResult>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: tunnel.port, path, method: 'GET',
        cert: creds.certPem, key: creds.keyPem,
        rejectUnauthorized: false,
        agent: false, timeout: timeoutMs,
      }, (res) => {
        const chain = presentedChain(res.socket as TLSSocket);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({
          port, chain, servedSha256: chain[0] ? fingerprint(chain[0]) : '', statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'),
        }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
      req.on('error', (err) => reject(new UserError(`pod ${namespace}/${pod} port ${port} could not be reached: ${err.message.split('\n')[0]}`, 2, err)));
      req.end();
    });
  } finally {
    await tunnel.close();
  }
}
