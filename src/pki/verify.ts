// verifyPki: the consistency checks a PKI must pass before it is committed to the Secret. Pure, no I/O.

import {
  CA_CERT_FILES,
  KUBECONFIG_FILES,
  LEAF_CERT_FILES,
  ROOT_CA_FILES,
  keyPathFor,
  kubeconfigTrustAnchor,
  missingCertMapFiles,
} from './certmap.js';
import { parsePrivateKey, parsePublicKey, spkiDer } from './keys.js';
import { rfc3339 } from './inspect.js';
import { PkiModel } from './model.js';
import { rolloverState } from './rollover.js';
import { certMatchesKey, isIssuedBy, isSelfSigned, signatureVerifies } from './x509.js';
import type { CertInfo, PkiFiles } from './types.js';

export interface VerifyOptions {
  /** also report certificates that are not valid at this time */
  now?: Date;
}

/**
 * Problems that make a PKI unfit to commit, in plain words (empty = fine): missing certMap files,
 * unreadable certificates, keys that do not match, leafs not issued by their CA, CA copies out of
 * step, kubeconfig credentials and certificate-authority-data, sa.key vs sa.pub, and (with `now`)
 * certificates outside their validity. Never includes key material.
 */
export function verifyPki(files: PkiFiles, opts: VerifyOptions = {}): string[] {
  const problems: string[] = [];
  const model = new PkiModel(files);
  for (const p of missingCertMapFiles(files)) problems.push(`${p} is missing or empty`);

  const dated = (what: string, c: CertInfo) => {
    if (!opts.now) return;
    if (opts.now.getTime() > c.notAfter.getTime()) problems.push(`${what} expired on ${rfc3339(c.notAfter)}`);
    else if (opts.now.getTime() < c.notBefore.getTime()) problems.push(`${what} is not valid before ${rfc3339(c.notBefore)}`);
  };

  const firsts = new Map<string, CertInfo>();
  for (const path of [...CA_CERT_FILES, ...LEAF_CERT_FILES]) {
    const f = model.certFiles.get(path);
    if (!f) continue; // reported as missing
    const b = f.blocks[0];
    if (!b?.cert) {
      problems.push(`${path}: ${b?.error ?? f.error ?? 'unreadable'}`);
      continue;
    }
    firsts.set(path, b.cert);
    const key = files.get(keyPathFor(path));
    if (key?.length && !certMatchesKey(b.cert, key)) problems.push(`${keyPathFor(path)} does not match ${path}`);
    dated(path, b.cert);
  }

  for (const path of CA_CERT_FILES) {
    const c = firsts.get(path);
    if (c && !c.isCA) problems.push(`${path} is not a CA certificate`);
  }
  // During a CA rollover ca/server-ca start with the new CA cross-signed by the old one (pki/rollover.ts).
  const window = rolloverState(files);
  const crossSigned = (c: CertInfo) => !!window && c.der.equals(window.crossSigned.der);
  for (const path of [...ROOT_CA_FILES, 'server-ca.crt']) {
    const c = firsts.get(path);
    if (c && !isSelfSigned(c) && !crossSigned(c)) problems.push(`${path} is not a self-signed CA`);
  }
  const ca = firsts.get('ca.crt');
  const sameAsCa = (path: string) => {
    const c = firsts.get(path);
    if (c && ca && !c.der.equals(ca.der)) problems.push(`${path} is not a copy of ca.crt`);
  };
  sameAsCa('client-ca.crt');
  if (!model.split) sameAsCa('server-ca.crt');

  for (const path of LEAF_CERT_FILES) {
    const c = firsts.get(path);
    if (!c) continue;
    if (c.isCA) problems.push(`${path} is a CA certificate, expected a leaf`);
    const expected = model.expectedIssuer(path)!;
    const issuer = firsts.get(expected);
    if (issuer && !isIssuedBy(c, issuer)) problems.push(`${path} is not issued by ${expected}`);
  }

  const anchorPath = kubeconfigTrustAnchor(model.split);
  const anchor = firsts.get(anchorPath);
  for (const path of KUBECONFIG_FILES) {
    const k = model.kubeconfigs.get(path);
    if (!k) continue; // reported as missing
    if (!k.clientCert) {
      problems.push(`${path}: ${k.error ?? 'no client certificate'}`);
      continue;
    }
    if (ca && !isIssuedBy(k.clientCert, ca)) problems.push(`${path}: client certificate is not issued by ca.crt`);
    if (!k.clientKey) problems.push(`${path}: client-key-data is missing`);
    else if (!certMatchesKey(k.clientCert, k.clientKey)) problems.push(`${path}: client-key-data does not match the client certificate`);
    if (!k.caCerts.length) problems.push(`${path}: certificate-authority-data is missing`);
    else if (anchor && !k.caCerts[0]!.der.equals(anchor.der) && !(window && sameCA(k.caCerts[0]!, window.crossSigned))) {
      problems.push(`${path}: certificate-authority-data is not ${anchorPath}`);
    }
    dated(`${path} client certificate`, k.clientCert);
  }

  /** The new CA self-signed, as the kubeconfigs of a rollover window trust it: same subject and key. */
  function sameCA(c: CertInfo, cross: CertInfo): boolean {
    return c.isCA && c.subject === cross.subject && isSelfSigned(c) && signatureVerifies(c, cross);
  }

  const saKey = files.get('sa.key');
  const saPub = files.get('sa.pub');
  if (saKey?.length && saPub?.length) {
    try {
      if (!spkiDer(parsePrivateKey(saKey, 'sa.key')).equals(spkiDer(parsePublicKey(saPub, 'sa.pub')))) {
        problems.push('sa.pub is not the public key of sa.key');
      }
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}
