// Shared shapes of the pure PKI core. No I/O lives under src/pki/.

/** A vCluster PKI as files relative to /data/pki: 'ca.crt', 'etcd/ca.crt', 'admin.conf', ... */
export type PkiFiles = Map<string, Buffer>;

export type CertStatus = 'OK' | 'EXPIRING' | 'EXPIRED' | 'NOT YET VALID' | 'INVALID';

export interface KeyInfo {
  /** 'RSA' | 'EC' | 'Ed25519' ... */
  algorithm: string;
  /** RSA modulus bits, or EC curve size in bits */
  bits?: number;
  /** EC curve name as OpenSSL names it, e.g. 'prime256v1' */
  curve?: string;
}

/** Everything we read from one X.509 certificate. Dates are JS Dates in UTC. */
export interface CertInfo {
  subjectCN: string;
  subjectO: string[];
  /** Full subject as an OpenSSL-style one-line string, e.g. '/O=system:masters/CN=kubernetes-super-admin' */
  subject: string;
  issuerCN: string;
  issuer: string;
  /** lowercase hex, no leading zeros stripped beyond DER */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  /** true when the BasicConstraints extension is present at all */
  hasBasicConstraints: boolean;
  /** e.g. ['digitalSignature','keyEncipherment','keyCertSign'] */
  keyUsage: string[];
  /** e.g. ['serverAuth','clientAuth'] */
  extKeyUsage: string[];
  dnsNames: string[];
  ipAddresses: string[];
  subjectKeyId?: string;
  authorityKeyId?: string;
  signatureAlgorithm: string;
  publicKey: KeyInfo;
  /** SHA-256 of the DER, upper-case colon-separated hex (upstream e2e format) */
  sha256: string;
  der: Buffer;
}

/** One row of `check`: one PEM block of a .crt file, or one kubeconfig client certificate. */
export interface CertRow {
  /** path relative to the PKI dir: 'etcd/ca.crt', 'admin.conf' */
  filename: string;
  /** 0-based position of the block in a bundle file */
  block: number;
  subject: string;
  issuer: string;
  /** RFC 3339 UTC, as upstream */
  expiryTime: string;
  notBefore: string;
  status: CertStatus;
  /** whole days until notAfter, floored; negative when expired */
  daysLeft: number;
  isCA: boolean;
  keyType: string;
  dnsNames: string[];
  ipAddresses: string[];
  serial: string;
  sha256: string;
  /** why a row is INVALID (or other findings); empty when none */
  problems: string[];
  /** full subject / issuer DN, OpenSSL one-line style ('/O=system:masters/CN=kubernetes-super-admin') */
  subjectDN?: string;
  issuerDN?: string;
  /** path of the PKI file holding the certificate that issued this one (itself for a self-signed CA) */
  issuedBy?: string;
}

/** One line of a change's plan: what happens to a file, with expiries before and after. */
export interface PlanLine {
  file: string;
  action: string;
  oldExpiry?: string;
  newExpiry?: string;
  keyType?: string;
  note?: string;
}
