// What a vCluster serves and accepts, read from its PKI, and Go's chain building over it: the trust
// half of `kubeconfig check` (see kubeconfig-judge.ts for the upstream behaviour it follows). Pure.
import { looksLikePem, splitPem } from '../pki/pem.js';
import { certHandles, certPublicKey, isIssuedBy, parseCertificateDer } from '../pki/x509.js';
import type { CertInfo, PkiFiles } from '../pki/types.js';

export interface ServedPki {
  /** first certificate of server-ca.crt: what the proxy's serving certificate chains to */
  serverCA?: CertInfo;
  /** every certificate of apiserver.crt, the served leaf first */
  apiserverChain: CertInfo[];
  /** every certificate of client-ca.crt: the client CA pool */
  clientCAs: CertInfo[];
  /** every CA certificate of the PKI (ca.crt, server-ca.crt, client-ca.crt), to recognise its kubeconfigs */
  ownCAs: CertInfo[];
  /** files that could not be read; the judgments that need them say "unknown" */
  problems: string[];
}

function certsOf(files: PkiFiles, path: string, problems: string[]): CertInfo[] {
  const data = files.get(path);
  if (!data?.length) {
    problems.push(`${path} is missing from the vCluster's PKI`);
    return [];
  }
  try {
    const certs = pemCertificates(data);
    if (certs.length) return certs;
    problems.push(`${path} holds no certificate`);
  } catch (e) {
    problems.push(`${path}: ${(e as Error).message}`);
  }
  return [];
}

/** Every CERTIFICATE block of a PEM text (other blocks are skipped); throws on unreadable PEM. */
export function pemCertificates(data: Buffer | string): CertInfo[] {
  if (!looksLikePem(data)) throw new Error('not PEM');
  return splitPem(data).filter((b) => b.label === 'CERTIFICATE').map((b) => parseCertificateDer(b.der));
}

export function servedPki(files: PkiFiles): ServedPki {
  const problems: string[] = [];
  const serverCAs = certsOf(files, 'server-ca.crt', problems);
  const apiserverChain = certsOf(files, 'apiserver.crt', problems);
  const clientCAs = certsOf(files, 'client-ca.crt', problems);
  const ca = certsOf(files, 'ca.crt', problems);
  return { serverCA: serverCAs[0], apiserverChain, clientCAs, ownCAs: [...ca, ...serverCAs, ...clientCAs], problems };
}

// ---------------------------------------------------------------------------------------------
// chains

export function validAt(c: CertInfo, now: Date): boolean {
  return now.getTime() >= c.notBefore.getTime() && now.getTime() <= c.notAfter.getTime();
}

function sameKey(a: CertInfo, b: CertInfo): boolean {
  try {
    return certPublicKey(a).equals(certPublicKey(b));
  } catch {
    return false;
  }
}

/** May `parent` sign certificates in a chain Go builds: a CA (BasicConstraints CA:TRUE) valid now. */
function canAnchor(parent: CertInfo, now: Date): boolean {
  return parent.isCA && validAt(parent, now);
}

/**
 * The root of `roots` that `cert` chains to, through `intermediates` (each a valid CA), as Go's
 * x509.Verify would find it; `cert`'s own validity is the caller's business.
 */
export function findAnchor(cert: CertInfo, intermediates: CertInfo[], roots: CertInfo[], now: Date, depth = 0): CertInfo | undefined {
  for (const r of roots) {
    if (r.der.equals(cert.der)) return r; // a pinned certificate is its own chain
    if (canAnchor(r, now) && isIssuedBy(cert, r)) return r;
  }
  if (depth >= 4) return undefined;
  for (const i of intermediates) {
    if (i.der.equals(cert.der) || !canAnchor(i, now) || !isIssuedBy(cert, i)) continue;
    const found = findAnchor(i, intermediates, roots, now, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The root of `roots` that the proxy's serving certificate chains to. That certificate is made in
 * memory, so it is modelled by its issuer: a root with server-ca's name and key verifies it directly,
 * and a root that issued server-ca verifies the chain server-ca is sent in.
 */
export function proxyAnchor(served: ServedPki, roots: CertInfo[], now: Date): CertInfo | undefined {
  const ca = served.serverCA;
  if (!ca) return undefined;
  const h = certHandles(ca);
  const direct = roots.find((r) => canAnchor(r, now) && certHandles(r).subjectHex === h.subjectHex && sameKey(r, ca));
  if (direct) return direct;
  return canAnchor(ca, now) ? findAnchor(ca, [], roots, now) : undefined;
}

export function apiserverAnchor(served: ServedPki, roots: CertInfo[], now: Date): CertInfo | undefined {
  const [leaf, ...rest] = served.apiserverChain;
  if (!leaf || !validAt(leaf, now)) return undefined;
  return findAnchor(leaf, rest, roots, now);
}

/** Go's ExtKeyUsage check for a client certificate: no EKU, clientAuth, or any. */
export function allowsClientAuth(c: CertInfo): boolean {
  return c.extKeyUsage.length === 0 || c.extKeyUsage.some((u) => u === 'clientAuth' || u === 'anyExtendedKeyUsage' || u === '2.5.29.37.0');
}
