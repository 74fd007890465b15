// Issuing CA certificates: kubeadm's self-signed CA profile, and a new CA cross-signed by an old
// one for a CA rollover. Pure, no I/O; built and signed as every other certificate (issue.ts).
import { X509Certificate } from 'node:crypto';
import jsrsasign from './fast/jsrsasign.js';
import { BACKDATE_MS, buildCertificate, assertIssued, subjectKeyIdFor, truncateToSeconds, type ExtParam, type KeyPair, type Signer } from './issue.js';
import { certHandles, certPublicKey, parseCertificate } from './x509.js';
import type { CertInfo } from './types.js';

const { KJUR } = jsrsasign;

export interface CreateCAOptions {
  /** CN of the new CA (kubeadm: 'kubernetes', 'front-proxy-ca', 'etcd-ca') */
  commonName: string;
  now: Date;
  validityMs: number;
  key: KeyPair;
  /** keep exactly this subject (DER of an old CA's subject) instead of CN=commonName */
  subjectFrom?: CertInfo;
}

/** DER hex of a Name with one CN, PrintableString when the value allows it (as Go marshals it). */
export function commonNameHex(cn: string): string {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(cn);
  const name = new KJUR.asn1.x509.X500Name({ array: [[{ type: 'CN', value: cn, ds: printable ? 'prn' : 'utf8' }]] } as never);
  return name.getEncodedHex();
}

/**
 * A self-signed CA with kubeadm's profile: CA:TRUE without path length (critical), KeyUsage
 * digitalSignature|keyEncipherment|keyCertSign (critical, as Go marks it), SubjectKeyIdentifier,
 * DNS SAN = CN, NotBefore now - 5 min, NotAfter now + validity, random serial.
 */
export function createCA(opts: CreateCAOptions): string {
  if (!(opts.validityMs > 0)) throw new Error('CA validity must be positive');
  const subjectHex = opts.subjectFrom ? certHandles(opts.subjectFrom).subjectHex : commonNameHex(opts.commonName);
  const dnsName = opts.subjectFrom?.subjectCN || opts.commonName;
  const ext: ExtParam[] = [
    { extname: 'keyUsage', critical: true, names: ['digitalSignature', 'keyEncipherment', 'keyCertSign'] },
    { extname: 'basicConstraints', critical: true, cA: true },
    { extname: 'subjectKeyIdentifier', kid: { hex: subjectKeyIdFor(opts.key.publicKeyPem) } },
  ];
  if (dnsName) ext.push({ extname: 'subjectAltName', array: [{ dns: dnsName }] });
  const pem = buildCertificate({
    subjectHex,
    issuerHex: subjectHex,
    publicKeyPem: opts.key.publicKeyPem,
    notBefore: truncateToSeconds(new Date(opts.now.getTime() - BACKDATE_MS)),
    notAfter: truncateToSeconds(new Date(opts.now.getTime() + opts.validityMs)),
    extensions: ext,
    signer: opts.key.privateKey,
  });
  const cert = parseCertificate(pem);
  assertIssued(pem, { cert, key: opts.key.privateKey }, opts.key);
  return pem;
}

export interface CrossSignOptions {
  /** the new self-signed CA whose subject, key and extensions the cross-signed copy carries */
  newCA: CertInfo;
  newKeyPublicPem: string;
  /** the old CA that vouches for the new one */
  oldSigner: Signer;
  now: Date;
  /** clamped to the old CA's NotAfter: a cross-signed CA never outlives the CA that signed it */
  notAfter: Date;
}

/**
 * The new CA as issued by the old one (same subject, key and SubjectKeyIdentifier, kubeadm's CA
 * profile, AuthorityKeyIdentifier = the old CA's): clients that trust only the old CA reach the new
 * one through it, the way k3s's rotate-default-ca-certs.sh and Kubernetes' manual CA rotation do.
 */
export function crossSignCA(opts: CrossSignOptions): string {
  const old = opts.oldSigner.cert;
  const notAfter = new Date(Math.min(opts.notAfter.getTime(), old.notAfter.getTime()));
  const ext: ExtParam[] = [
    { extname: 'keyUsage', critical: true, names: ['digitalSignature', 'keyEncipherment', 'keyCertSign'] },
    { extname: 'basicConstraints', critical: true, cA: true },
    { extname: 'subjectKeyIdentifier', kid: { hex: subjectKeyIdFor(opts.newKeyPublicPem) } },
  ];
  if (old.subjectKeyId) ext.push({ extname: 'authorityKeyIdentifier', kid: { hex: old.subjectKeyId } });
  if (opts.newCA.dnsNames.length) ext.push({ extname: 'subjectAltName', array: opts.newCA.dnsNames.map((dns) => ({ dns })) });
  const pem = buildCertificate({
    subjectHex: certHandles(opts.newCA).subjectHex,
    issuerHex: certHandles(old).subjectHex,
    publicKeyPem: opts.newKeyPublicPem,
    notBefore: truncateToSeconds(new Date(opts.now.getTime() - BACKDATE_MS)),
    notAfter: truncateToSeconds(notAfter),
    extensions: ext,
    signer: opts.oldSigner.key,
  });
  if (!new X509Certificate(pem).verify(certPublicKey(old))) throw new Error('internal error: cross-signed CA does not verify against the old CA');
  return pem;
}
