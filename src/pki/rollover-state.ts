// Whether a PKI is inside a graceful CA rollover window (rollover.ts opens and closes it). Apart
// from rollover.ts so that a fleet check's worker threads can answer it without the signing code.
// Pure, no I/O.

import { splitPem } from './pem.js';
import { isSelfSigned, isIssuedBy, parseCertificates } from './x509.js';
import type { CertInfo, PkiFiles } from './types.js';

export interface RolloverState {
  /** when the window opened (the cross-signed CA's NotBefore) */
  since: Date;
  /** when it closes by itself: the cross-signed CA's NotAfter (never later than the old CA's) */
  until: Date;
  oldCA: CertInfo;
  crossSigned: CertInfo;
}


export function firstDer(data: Buffer | undefined): Buffer | undefined {
  return data ? splitPem(data).find((b) => b.label === 'CERTIFICATE')?.der : undefined;
}

/** The window, when the PKI has the layout a graceful start leaves; undefined otherwise. */
export function rolloverState(files: PkiFiles): RolloverState | undefined {
  const ca = firstDer(files.get('ca.crt'));
  const server = firstDer(files.get('server-ca.crt'));
  const client = files.get('client-ca.crt');
  if (!ca || !server || !client || !ca.equals(server)) return undefined;
  // Most PKIs have a single client CA: no window, and nothing worth parsing (a fleet check asks for every vCluster).
  if (splitPem(client).filter((b) => b.label === 'CERTIFICATE').length < 2) return undefined;
  let bundle: CertInfo[];
  try {
    bundle = parseCertificates(client);
  } catch {
    return undefined;
  }
  const first = bundle[0];
  if (!first || bundle.length < 2 || !first.der.equals(ca) || !first.isCA || isSelfSigned(first)) return undefined;
  const oldCA = bundle.slice(1).find((c) => c.isCA && isIssuedBy(first, c));
  if (!oldCA) return undefined;
  return { since: first.notBefore, until: first.notAfter, oldCA, crossSigned: first };
}
