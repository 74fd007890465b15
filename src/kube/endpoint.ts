// Talks to a vCluster's own API endpoint (syncer port 8443) through a pod port-forward,
// to prove which certificate it serves and that it accepts a client certificate.
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { request } from 'node:https';
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { PortForward } from './k8s.js';

export const VCLUSTER_PORT = 8443;

export interface ClientCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface ProbeResult {
  /** SHA-256 of the presented leaf certificate, upper-case colon hex */
  servedSha256: string;
  statusCode: number;
  body: string;
}

function fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** A loopback listener whose connections are tunnelled to pod:port. */
export async function openPortForward(kube: Kube, namespace: string, pod: string, port = VCLUSTER_PORT): Promise<{ port: number; close(): Promise<void> }> {
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

/** GET `path` on the vCluster endpoint of `pod` with the given client certificate. */
export async function probeVClusterEndpoint(kube: Kube, namespace: string, pod: string, creds: ClientCredentials, path = '/version', timeoutMs = 15_000): Promise<ProbeResult> {
  const tunnel = await openPortForward(kube, namespace, pod);
  try {
    return await new Promise<ProbeResult>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: tunnel.port, path, method: 'GET',
        ca: creds.caPem, cert: creds.certPem, key: creds.keyPem,
        // The chain is verified against the CA; the name does not matter for a tunnel to one pod.
        checkServerIdentity: () => undefined,
        agent: false, timeout: timeoutMs,
      }, (res) => {
        const peer = (res.socket as unknown as { getPeerCertificate(): { raw?: Buffer } }).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ servedSha256: peer.raw ? fingerprint(peer.raw) : '', statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
      req.on('error', (err) => reject(new UserError(`the vCluster endpoint of pod ${namespace}/${pod} (port ${VCLUSTER_PORT}) failed the TLS check: ${err.message.split('\n')[0]}`, 2, err)));
      req.end();
    });
  } finally {
    await tunnel.close();
  }
}
