// `check`: one row per certificate of a PKI, with a status and the reasons behind it. Pure, no I/O.

import { isCertMapFile, keyPathFor } from './certmap.js';
import { PkiModel, comparePaths, type CertBlock, type KubeconfigEntry } from './model.js';
import { certMatchesKey, isSelfSigned, keyTypeOf, namesChain, signatureVerifies } from './x509.js';
import type { CertInfo, CertRow, CertStatus, PkiFiles } from './types.js';

export interface InspectOptions {
  now: Date;
  /** EXPIRING when notAfter - now <= this */
  warnWithinMs: number;
}

const DAY_MS = 86_400_000;

/** RFC 3339 UTC without fractional seconds, as Go's time.Time marshals a certificate time. */
export function rfc3339(d: Date): string {
  // 'YYYY-MM-DDTHH:MM:SS.sssZ': X.509 years are 0000-9999, so the seconds always end at 19
  return `${d.toISOString().slice(0, 19)}Z`;
}

interface Finding {
  problems: string[];
  /** a problem that makes the row INVALID */
  invalid: boolean;
  issuedBy?: string;
}

function emptyRow(filename: string, block: number, problem: string): CertRow {
  return {
    filename,
    block,
    subject: '',
    issuer: '',
    expiryTime: '',
    notBefore: '',
    status: 'INVALID',
    daysLeft: 0,
    isCA: false,
    keyType: '',
    dnsNames: [],
    ipAddresses: [],
    serial: '',
    sha256: '',
    problems: [problem],
  };
}

function statusOf(cert: CertInfo, invalid: boolean, opts: InspectOptions): CertStatus {
  const now = opts.now.getTime();
  if (now < cert.notBefore.getTime()) return 'NOT YET VALID';
  if (now > cert.notAfter.getTime()) return 'EXPIRED';
  if (invalid) return 'INVALID';
  if (cert.notAfter.getTime() - now <= opts.warnWithinMs) return 'EXPIRING';
  return 'OK';
}

function rowFor(filename: string, block: number, cert: CertInfo, f: Finding, opts: InspectOptions): CertRow {
  const row: CertRow = {
    filename,
    block,
    subject: cert.subjectCN,
    issuer: cert.issuerCN,
    expiryTime: rfc3339(cert.notAfter),
    notBefore: rfc3339(cert.notBefore),
    status: statusOf(cert, f.invalid, opts),
    daysLeft: Math.floor((cert.notAfter.getTime() - opts.now.getTime()) / DAY_MS),
    isCA: cert.isCA,
    keyType: keyTypeOf(cert),
    dnsNames: cert.dnsNames,
    ipAddresses: cert.ipAddresses,
    serial: cert.serialHex,
    sha256: cert.sha256,
    problems: f.problems,
    subjectDN: cert.subject,
    issuerDN: cert.issuer,
  };
  if (f.issuedBy !== undefined) row.issuedBy = f.issuedBy;
  return row;
}

function validityProblem(what: string, cert: CertInfo, now: Date): string | undefined {
  if (now.getTime() > cert.notAfter.getTime()) return `${what} expired on ${rfc3339(cert.notAfter)}`;
  if (now.getTime() < cert.notBefore.getTime()) return `${what} is not valid before ${rfc3339(cert.notBefore)}`;
  return undefined;
}

/**
 * Chain check: self-signed certs verify themselves; others against the PKI's CA that issued them.
 * The file's issuer rule binds its first certificate; later blocks are chain or bundle certificates
 * (apiserver.crt's cross-signed CA during a rollover) and need only some CA of the PKI.
 */
function checkChain(model: PkiModel, path: string, cert: CertInfo, f: Finding, now: Date, firstBlock = true): void {
  const expected = firstBlock ? model.expectedIssuer(path) : undefined;
  if (namesChain(cert, cert) && (expected === undefined || expected === path)) {
    if (isSelfSigned(cert)) {
      f.issuedBy = path;
      if (!cert.isCA) f.problems.push('self-signed but not a CA (BasicConstraints CA:FALSE or missing)');
      return;
    }
    // Subject == issuer but the self-signature fails: maybe issued by another CA with the same name.
  }
  const found = model.findIssuer(cert, expected ? [expected] : []);
  if ('reason' in found) {
    f.invalid = true;
    f.problems.push(`does not verify: ${found.reason}`);
    return;
  }
  const issuer = found.issuer;
  f.issuedBy = issuer.path;
  if (expected && issuer.path !== expected) {
    const exp = model.first(expected);
    // ca.crt / client-ca.crt / server-ca.crt may be identical copies; only flag a real mismatch.
    if (!exp || !(namesChain(cert, exp) && signatureVerifies(cert, exp))) {
      f.invalid = true;
      f.problems.push(`issued by ${issuer.path}, but ${path} must be issued by ${expected}`);
    }
  }
  if (!issuer.cert!.isCA) {
    f.invalid = true;
    f.problems.push(`its issuer ${issuer.path} is not a CA`);
  }
  const v = validityProblem(`its issuing CA ${issuer.path}`, issuer.cert!, now);
  if (v) {
    f.invalid = true;
    f.problems.push(v);
  }
}

function checkKey(model: PkiModel, path: string, cert: CertInfo, f: Finding): void {
  const keyPath = keyPathFor(path);
  const key = model.files.get(keyPath);
  if (key === undefined) {
    if (isCertMapFile(path)) {
      f.invalid = true;
      f.problems.push(`its private key ${keyPath} is missing`);
    }
    return;
  }
  if (!certMatchesKey(cert, key)) {
    f.invalid = true;
    f.problems.push(`its private key ${keyPath} does not match (or is not a readable PEM key)`);
  }
}

function inspectCertBlock(model: PkiModel, b: CertBlock, extra: string[], opts: InspectOptions): CertRow {
  if (!b.cert) return emptyRow(b.path, b.block, b.error ?? 'unreadable certificate');
  const f: Finding = { problems: [...extra], invalid: false };
  checkChain(model, b.path, b.cert, f, opts.now, b.block === 0);
  if (b.block === 0) checkKey(model, b.path, b.cert, f);
  return rowFor(b.path, b.block, b.cert, f, opts);
}

function inspectKubeconfig(model: PkiModel, k: KubeconfigEntry, opts: InspectOptions): CertRow {
  if (!k.clientCert) return emptyRow(k.path, 0, k.error ?? 'no client certificate');
  const cert = k.clientCert;
  const f: Finding = { problems: [], invalid: false };
  checkChain(model, k.path, cert, f, opts.now);
  if (!k.clientKey) {
    f.invalid = true;
    f.problems.push('client-key-data is missing');
  } else if (!certMatchesKey(cert, k.clientKey)) {
    f.invalid = true;
    f.problems.push('client-key-data does not match the client certificate (or is not a readable PEM key)');
  }
  const anchor = k.caCerts[0];
  if (!anchor) {
    f.invalid = true;
    f.problems.push('certificate-authority-data is missing or holds no certificate');
  } else {
    const server = model.first('apiserver.crt');
    if (server && !(namesChain(server, anchor) && signatureVerifies(server, anchor))) {
      f.invalid = true;
      f.problems.push('certificate-authority-data does not verify apiserver.crt');
    }
  }
  return rowFor(k.path, 0, cert, f, opts);
}

/**
 * One row per PEM certificate block of every .crt file (sorted by path, walk order) and one per client
 * certificate embedded in admin.conf, controller-manager.conf and scheduler.conf.
 * Status: NOT YET VALID / EXPIRED by the dates; INVALID when the chain, issuer or key does not check out;
 * EXPIRING within warnWithinMs; else OK. Never throws on bad content: such rows are INVALID.
 */
export function inspectPki(files: PkiFiles, opts: InspectOptions): CertRow[] {
  const model = new PkiModel(files);
  const rows: CertRow[] = [];
  for (const file of model.certFiles.values()) {
    if (file.error && file.blocks.length === 0) {
      rows.push(emptyRow(file.path, 0, file.error));
      continue;
    }
    const extra = file.otherLabels.some((l) => l.includes('PRIVATE KEY'))
      ? ['the file also holds a private key block']
      : [];
    for (const b of file.blocks) rows.push(inspectCertBlock(model, b, extra, opts));
  }
  for (const k of model.kubeconfigs.values()) rows.push(inspectKubeconfig(model, k, opts));
  return rows.sort((a, b) => comparePaths(a.filename, b.filename) || a.block - b.block);
}

export interface PkiDrift {
  /** files present only in the first set */
  onlyInA: string[];
  /** files present only in the second set */
  onlyInB: string[];
  /** files in both whose bytes differ */
  differing: string[];
  equal: boolean;
}

/** Compare two PKI file sets (e.g. the Secret vs a pod's /data/pki) byte for byte. */
export function diffPki(a: PkiFiles, b: PkiFiles): PkiDrift {
  const onlyInA = [...a.keys()].filter((p) => !b.has(p)).sort(comparePaths);
  const onlyInB = [...b.keys()].filter((p) => !a.has(p)).sort(comparePaths);
  const differing = [...a.keys()].filter((p) => b.has(p) && !a.get(p)!.equals(b.get(p)!)).sort(comparePaths);
  return { onlyInA, onlyInB, differing, equal: !onlyInA.length && !onlyInB.length && !differing.length };
}
