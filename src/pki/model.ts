// Shared reading of a PkiFiles set: parsed certificate files, kubeconfig client certs, issuer lookup.
// Pure, no I/O.

import { KUBECONFIG_FILES, expectedIssuer, isSplitCA, keyPathFor } from './certmap.js';
import { currentCredentials, hideProperty, parseKubeconfig, type Kubeconfig } from './kubeconfig.js';
import { looksLikePem, splitPem } from './pem.js';
import { certParser, parseCertificate, parseCertificateDer, isIssuedBy, namesChain } from './x509.js';
import type { CertInfo, PkiFiles } from './types.js';

export interface CertBlock {
  path: string;
  block: number;
  cert?: CertInfo;
  /** why the block could not be parsed */
  error?: string;
}

export interface CertFile {
  path: string;
  blocks: CertBlock[];
  /** labels of non-CERTIFICATE PEM blocks found in the file */
  otherLabels: string[];
  /** the file as a whole could not be read */
  error?: string;
}

export interface KubeconfigEntry {
  path: string;
  kubeconfig?: Kubeconfig;
  clientCert?: CertInfo;
  /** PEM bytes of client-key-data; non-enumerable (not shown by console.log / JSON) */
  clientKey?: Buffer;
  caCerts: CertInfo[];
  error?: string;
}

/**
 * Path order of a recursive directory walk (Go filepath.Walk): segment by segment, a segment before
 * the longer ones it starts. That is plain string order with '/' below every other character,
 * compared in place (rows and files of every PKI are sorted with it).
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function readCertFile(path: string, data: Buffer, parse: (der: Buffer) => CertInfo = parseCertificateDer): CertFile {
  const file: CertFile = { path, blocks: [], otherLabels: [] };
  const text = data.toString('latin1'); // once: the checks below and splitPem all read it
  if (text.trim() === '') {
    file.error = 'empty file, not a PEM certificate';
    return file;
  }
  if (!looksLikePem(text)) {
    file.error = 'not a PEM certificate';
    return file;
  }
  let blocks;
  try {
    blocks = splitPem(text);
  } catch (e) {
    file.error = (e as Error).message;
    return file;
  }
  let n = 0;
  for (const b of blocks) {
    if (b.label !== 'CERTIFICATE') {
      file.otherLabels.push(b.label);
      continue;
    }
    const entry: CertBlock = { path, block: n++ };
    try {
      entry.cert = parse(b.der);
    } catch (e) {
      entry.error = (e as Error).message;
    }
    file.blocks.push(entry);
  }
  if (file.blocks.length === 0) {
    file.error = `not a PEM certificate (found ${[...new Set(file.otherLabels)].join(', ')})`;
  }
  return file;
}

export function readKubeconfigEntry(path: string, data: Buffer, parse: (der: Buffer) => CertInfo = parseCertificateDer): KubeconfigEntry {
  const entry: KubeconfigEntry = { path, caCerts: [] };
  try {
    const kc = parseKubeconfig(data);
    entry.kubeconfig = kc;
    const { cluster, user } = currentCredentials(kc);
    if (!user.clientCertificateData) throw new Error(`user "${user.name}" has no client-certificate-data`);
    try {
      entry.clientCert = parseCertificate(user.clientCertificateData, parse);
    } catch (e) {
      throw new Error(`client-certificate-data: ${(e as Error).message}`);
    }
    if (user.clientKeyData) hideProperty(entry, 'clientKey', user.clientKeyData);
    if (cluster.certificateAuthorityData) {
      const f = readCertFile(`${path}#certificate-authority-data`, cluster.certificateAuthorityData, parse);
      entry.caCerts = f.blocks.flatMap((b) => (b.cert ? [b.cert] : []));
    }
  } catch (e) {
    entry.error = (e as Error).message;
  }
  return entry;
}

/** Everything parsed out of a PkiFiles set, computed once. */
export class PkiModel {
  readonly certFiles = new Map<string, CertFile>();
  readonly kubeconfigs = new Map<string, KubeconfigEntry>();
  readonly split: boolean;

  constructor(readonly files: PkiFiles) {
    // each distinct certificate of this PKI is parsed once (ca.crt, server-ca.crt, client-ca.crt, ... are copies)
    const parse = certParser();
    for (const path of [...files.keys()].sort(comparePaths)) {
      if (path.endsWith('.crt')) this.certFiles.set(path, readCertFile(path, files.get(path)!, parse));
    }
    for (const path of KUBECONFIG_FILES) {
      const data = files.get(path);
      if (data) this.kubeconfigs.set(path, readKubeconfigEntry(path, data, parse));
    }
    this.split = isSplitCA(files);
  }

  /** First certificate of a .crt file, if it parses. */
  first(path: string): CertInfo | undefined {
    return this.certFiles.get(path)?.blocks[0]?.cert;
  }

  /** Every parsed certificate of every .crt file, with its location. */
  allCerts(): CertBlock[] {
    return [...this.certFiles.values()].flatMap((f) => f.blocks.filter((b) => b.cert));
  }

  private ordered?: CertBlock[];

  /** allCerts(), computed once (the files do not change after construction); not to be mutated. */
  private certsInOrder(): CertBlock[] {
    return (this.ordered ??= this.allCerts());
  }

  keyOf(certPath: string): Buffer | undefined {
    return this.files.get(keyPathFor(certPath));
  }

  /**
   * The certificate (in some .crt file of the PKI) that issued `cert`: its subject equals the issuer
   * name and its key verifies the signature. Candidates in `prefer` are tried first.
   * Returns the matching block, or the reason there is none.
   */
  findIssuer(cert: CertInfo, prefer: string[] = []): { issuer: CertBlock } | { reason: string } {
    const rank = (p: string) => {
      const i = prefer.indexOf(p);
      return i < 0 ? prefer.length : i;
    };
    // certFiles is filled in path order and blocks in block order, so a stable sort by rank alone
    // gives rank, then path, then block.
    const named = this.certsInOrder().filter((b) => b.cert !== cert && namesChain(cert, b.cert!));
    if (prefer.length) named.sort((a, b) => rank(a.path) - rank(b.path));
    if (named.length === 0) return { reason: `its issuer "${cert.issuerCN || cert.issuer}" is not a certificate in the PKI` };
    const ok = named.find((b) => isIssuedBy(cert, b.cert!));
    if (!ok) {
      const where = [...new Set(named.map((b) => b.path))].join(', ');
      return { reason: `its signature does not verify against ${where} (issuer "${cert.issuerCN || cert.issuer}")` };
    }
    return { issuer: ok };
  }

  expectedIssuer(path: string): string | undefined {
    return expectedIssuer(path, this.split);
  }
}
