// Independent cross-checks for the PKI core: the `openssl` CLI (stdin, or a temp dir removed in
// `finally`) and node:crypto.X509Certificate. Nothing here imports src/pki.

import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command with optional stdin; never throws on a non-zero exit (see `code`). */
export function run(cmd: string, args: string[], input?: string | Buffer, cwd?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

export async function openssl(args: string[], input?: string | Buffer, cwd?: string): Promise<string> {
  const r = await run('openssl', args, input, cwd);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pki-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What `openssl x509` says about a certificate (subject/issuer in RFC 2253 order reversed = OpenSSL oneline). */
export interface OpensslCert {
  subject: string; // '/O=system:masters/CN=kubernetes-super-admin'
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  serialHex: string; // lower-case, as openssl prints (no leading zero byte)
  sha256: string; // AA:BB:...
  text: string; // full -text output
  dns: string[];
  ips: string[];
  keyUsage: string; // e.g. 'critical:Digital Signature, Key Encipherment'
  extKeyUsage: string;
  basicConstraints: string; // e.g. 'critical:CA:FALSE'
  skid?: string; // lower-case hex without colons
  akid?: string;
  signatureAlgorithm: string;
  publicKey: string; // 'RSA 2048' | 'EC prime256v1'
}

function extBlock(text: string, name: string): string | undefined {
  const m = new RegExp(`^ {12}${name}:( critical)? *\\n((?: {16}.*\\n?)*)`, "m").exec(text);
  if (!m) return undefined;
  return `${m[1] ? 'critical:' : ''}${m[2]!.trim().replace(/\s*\n\s*/g, ' ')}`;
}

export async function opensslCert(pem: string | Buffer): Promise<OpensslCert> {
  const fields = await openssl(
    ['x509', '-noout', '-subject', '-issuer', '-startdate', '-enddate', '-serial', '-fingerprint', '-sha256', '-nameopt', 'compat'],
    pem,
  );
  const text = await openssl(['x509', '-noout', '-text'], pem);
  const get = (re: RegExp) => re.exec(fields)?.[1]?.trim() ?? '';
  const san = extBlock(text, 'X509v3 Subject Alternative Name') ?? '';
  const names = san.replace(/^critical:/, '').split(/,\s*/).filter(Boolean);
  const skid = extBlock(text, 'X509v3 Subject Key Identifier');
  const akid = extBlock(text, 'X509v3 Authority Key Identifier');
  const hex = (s: string | undefined) => s?.replace(/^keyid:/i, '').replace(/:/g, '').toLowerCase();
  const pkAlg = /Public Key Algorithm: (\S+)/.exec(text)?.[1] ?? '';
  const bits = /Public-Key: \((\d+) bit\)/.exec(text)?.[1] ?? '';
  const curve = /ASN1 OID: (\S+)/.exec(text)?.[1];
  return {
    subject: get(/^subject=(.*)$/m),
    issuer: get(/^issuer=(.*)$/m),
    notBefore: new Date(get(/^notBefore=(.*)$/m)),
    notAfter: new Date(get(/^notAfter=(.*)$/m)),
    serialHex: get(/^serial=(.*)$/m).toLowerCase(),
    sha256: get(/Fingerprint=(.*)$/m),
    text,
    dns: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    ips: names.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice(11)),
    keyUsage: extBlock(text, 'X509v3 Key Usage') ?? '',
    extKeyUsage: extBlock(text, 'X509v3 Extended Key Usage') ?? '',
    basicConstraints: extBlock(text, 'X509v3 Basic Constraints') ?? '',
    skid: hex(skid),
    akid: hex(akid),
    signatureAlgorithm: /Signature Algorithm: (\S+)/.exec(text)?.[1] ?? '',
    publicKey: pkAlg === 'rsaEncryption' ? `RSA ${bits}` : pkAlg === 'id-ecPublicKey' ? `EC ${curve}` : pkAlg,
  };
}

/** The extension section of `openssl x509 -text`, minus the per-certificate key identifiers. */
export function profileText(o: OpensslCert): string {
  const m = /X509v3 extensions:\n([\s\S]*?)\n {4}Signature Algorithm/.exec(o.text);
  const ext = (m?.[1] ?? '')
    .replace(/( {12}X509v3 (Subject|Authority) Key Identifier:.*\n)( {16}.*\n?)*/g, '$1');
  return `subject=${o.subject}\nissuer=${o.issuer}\nsig=${o.signatureAlgorithm}\nkey=${o.publicKey}\n${ext}`;
}

/** `openssl verify -CAfile <ca> -x509_strict` on the cert (stdin). Returns openssl's output; ok = exit 0. */
export async function opensslVerify(caPem: string | Buffer, certPem: string | Buffer, extra: string[] = []): Promise<{ ok: boolean; out: string }> {
  return withTmp(async (dir) => {
    await writeFile(join(dir, 'ca.pem'), caPem);
    const r = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), ...extra], certPem);
    return { ok: r.code === 0, out: (r.stdout + r.stderr).trim() };
  });
}

/** Does openssl agree that the key belongs to the cert? (compares the public key openssl derives from each) */
export async function opensslKeyMatches(certPem: string | Buffer, keyPem: string | Buffer): Promise<boolean> {
  const fromCert = await openssl(['x509', '-noout', '-pubkey'], certPem);
  const fromKey = await openssl(['pkey', '-pubout'], keyPem);
  return fromCert.trim() === fromKey.trim();
}

export function nodeCert(pem: string | Buffer): X509Certificate {
  return new X509Certificate(pem);
}

export function certBlocks(pem: string | Buffer): string[] {
  return (pem.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? []).map((b) =>
    b.endsWith('\n') ? b : `${b}\n`,
  );
}

export interface MadeCert {
  certPem: string;
  keyPem: string;
}

export interface MakeCertOptions {
  subj: string; // openssl -subj, e.g. '/O=a/CN=b'
  key?: 'rsa' | 'rsa3072' | 'ec' | 'ec384' | 'ed25519';
  issuer?: MadeCert; // self-signed when absent
  days?: number;
  /** lines for the [ext] section, e.g. 'basicConstraints=critical,CA:TRUE'; none (and an issuer): a version 1 certificate */
  ext: string[];
  /** openssl -set_serial, e.g. '0x80aa' (issued certificates only) */
  serial?: string;
  /** e.g. 'sha384' (not for Ed25519) */
  digest?: string;
  /** openssl -sigopt values, e.g. 'rsa_padding_mode:pss' */
  sigopt?: string[];
  /** the subject is UTF-8 (openssl -utf8) */
  utf8?: boolean;
  /** [req] string_mask: 'utf8only' (UTF8String), 'nombstr' (PrintableString, T61String), 'default' */
  stringMask?: string;
}

/** Make one certificate with the openssl CLI (keys by node:crypto, files only in a temp dir). */
export async function makeCert(o: MakeCertOptions): Promise<MadeCert> {
  const kind = o.key ?? 'rsa';
  const { privateKey } =
    kind === 'rsa' || kind === 'rsa3072'
      ? generateKeyPairSync('rsa', { modulusLength: kind === 'rsa' ? 2048 : 3072 })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: kind === 'ec' ? 'prime256v1' : 'secp384r1' });
  const keyType = kind === 'ed25519' ? 'pkcs8' : kind.startsWith('rsa') ? 'pkcs1' : 'sec1';
  const keyPem = privateKey.export({ type: keyType, format: 'pem' }).toString();
  const signing = [...(o.digest ? [`-${o.digest}`] : []), ...(o.sigopt ?? []).flatMap((v) => ['-sigopt', v])];
  const naming = [...(o.utf8 ? ['-utf8'] : [])];
  const reqSection = `[req]\ndistinguished_name=dn\n${o.stringMask ? `string_mask=${o.stringMask}\n` : ''}[dn]\n`;
  return withTmp(async (dir) => {
    await writeFile(join(dir, 'key.pem'), keyPem, { mode: 0o600 });
    await writeFile(join(dir, 'ext.cnf'), `${reqSection}[ext]\n${o.ext.join('\n')}\n`);
    const days = String(o.days ?? 30);
    if (!o.issuer) {
      await openssl(['req', '-x509', '-new', '-key', 'key.pem', '-subj', o.subj, ...naming, ...signing, '-days', days, '-extensions', 'ext', '-config', 'ext.cnf', '-out', 'cert.pem'], undefined, dir);
    } else {
      await writeFile(join(dir, 'ca.pem'), o.issuer.certPem);
      await writeFile(join(dir, 'ca.key'), o.issuer.keyPem, { mode: 0o600 });
      await writeFile(join(dir, 'req.cnf'), reqSection);
      const csr = await openssl(['req', '-new', '-key', 'key.pem', '-subj', o.subj, ...naming, '-config', 'req.cnf'], undefined, dir);
      const extensions = o.ext.length ? ['-extfile', 'ext.cnf', '-extensions', 'ext'] : [];
      const serial = o.serial ?? String(1000 + Math.floor(Math.random() * 1e9));
      await openssl(['x509', '-req', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, ...signing, '-days', days, ...extensions, '-out', 'cert.pem'], csr, dir);
    }
    return { certPem: await readFile(join(dir, 'cert.pem'), 'utf8'), keyPem };
  });
}

export const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign', 'subjectKeyIdentifier=hash'];

export function publicKeyDer(pem: string | Buffer): Buffer {
  const k = pem.toString().includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  return k.export({ type: 'spki', format: 'der' });
}

/**
 * true when `text` shows private key material of the PEM key: its private scalar/exponent (hex, base64,
 * base64url), or a PEM body line that is not also part of the public key (EC keys embed the public point).
 */
export function leaksKey(text: string, keyPem: string | Buffer): boolean {
  const key = createPrivateKey(keyPem);
  const pub = createPublicKey(key);
  const publicText = [
    pub.export({ type: 'spki', format: 'pem' }).toString(),
    key.asymmetricKeyType === 'rsa' ? pub.export({ type: 'pkcs1', format: 'pem' }).toString() : '',
  ].join('\n');
  const d = Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url');
  const needles = [d.toString('hex').slice(0, 32), d.toString('base64').slice(0, 24), d.toString('base64url').slice(0, 24)];
  for (let i = 0; i < 3; i++) needles.push(d.subarray(i, i + 18).toString('base64'));
  const lines = keyPem.toString().split('\n').filter((l) => l.length > 20 && !l.startsWith('-----') && !publicText.includes(l));
  const b64OfPem = Buffer.from(keyPem).toString('base64');
  const pemB64Needles = [0, 1, 2].map((i) => b64OfPem.slice(80 + i * 4, 80 + i * 4 + 40));
  return [...needles, ...lines, ...pemB64Needles].some((n) => n.length >= 16 && text.includes(n));
}
