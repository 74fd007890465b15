// Test PKI generator: builds sample vCluster PKIs (kubeadm profile, reference vcluster-pki.md §2/§3)
// using ONLY the `openssl` CLI and node:crypto, never src/pki, so the product is checked by independent code.
//
// Certificates are issued with `openssl ca` (it is the only OpenSSL 3.0 command that takes arbitrary
// -startdate/-enddate); every issuance gets its own throw-away CA database under a temp dir that is removed
// before the call returns. RSA keys come from a pool cached on disk (see KEY CACHE below).

import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CERT_MAP } from './certmap.js';

const execFileP = promisify(execFile);

export type KeyType = 'rsa' | 'ecdsa';
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

const MINUTE = 60_000;
const DAY = 86_400_000;
export const LEAF_VALIDITY_SECONDS = 365 * 86_400;
export const CA_VALIDITY_SECONDS = 3650 * 86_400;
/** kubeadm's CertificateBackdate */
export const BACKDATE_MS = 5 * MINUTE;
export const CONTROL_PLANE_ENDPOINT = 'https://127.0.0.1:6443';
export const KUBECONFIG_CLUSTER = 'kubernetes';

// ---------------------------------------------------------------------------------------------------------
// openssl plumbing

// Bound concurrent openssl processes: many PKIs generated at once would otherwise fork hundreds of them.
const MAX_OPENSSL = Math.max(2, availableParallelism() * 2);
let running = 0;
const waiting: (() => void)[] = [];

async function openssl(args: string[], cwd?: string): Promise<string> {
  if (running >= MAX_OPENSSL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await opensslNow(args, cwd);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

async function opensslNow(args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileP('openssl', args, { cwd, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Run fn in a fresh temp dir; removed afterwards unless it lives under `parent` (the caller removes that). */
async function withTmpDir<T>(parent: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(parent ?? tmpdir(), 'vcerts-pkigen-'));
  try {
    return await fn(dir);
  } finally {
    if (!parent) await rm(dir, { recursive: true, force: true });
  }
}

/** openssl date for -startdate/-enddate (GeneralizedTime; openssl stores UTCTime for 1950..2049 like Go). */
function opensslDate(d: Date): string {
  const iso = new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString(); // 2025-01-02T03:04:05.000Z
  return iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
}

// --- minimal DER encoder, enough to build a PKCS#10 request signed with node:crypto (saves one openssl run per cert)

function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);
}
function derOid(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const b: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return der(0x06, Buffer.from(out));
}

/** Subject Name in Go's pkix.Name order (O before CN); PrintableString when possible else UTF8String, like Go. */
function derName(s: Subject): Buffer {
  const rdns: Buffer[] = [];
  const attr = (oid: string, v: string) => {
    const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v);
    rdns.push(der(0x31, der(0x30, derOid(oid), der(printable ? 0x13 : 0x0c, Buffer.from(v, 'utf8')))));
  };
  for (const o of s.O ?? []) attr('2.5.4.10', o);
  if (s.CN !== undefined) attr('2.5.4.3', s.CN);
  return der(0x30, ...rdns);
}

/** PKCS#10 CSR (DER) for `subject`, signed by `keyPem` (RSA: sha256WithRSAEncryption, EC: ecdsa-with-SHA256). */
function buildCsr(subject: Subject, keyPem: string): Buffer {
  const key = createPrivateKey(keyPem);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = der(0x30, der(0x02, Buffer.from([0])), derName(subject), spki, Buffer.from([0xa0, 0x00]));
  const alg =
    key.asymmetricKeyType === 'rsa'
      ? der(0x30, derOid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]))
      : der(0x30, derOid('1.2.840.10045.4.3.2'));
  const sig = cryptoSign('sha256', info, key);
  return der(0x30, info, alg, der(0x03, Buffer.from([0]), sig));
}

/** Random serial in [1, 2^63-1), like kubeadm's pkiutil. */
export function randomSerial(): bigint {
  const max = (1n << 63n) - 1n;
  for (;;) {
    const v = randomBytes(8).readBigUInt64BE() & max;
    if (v >= 1n && v < max) return v;
  }
}

// ---------------------------------------------------------------------------------------------------------
// keys

/** A brand-new private key (PEM): RSA-2048 PKCS#1 `RSA PRIVATE KEY` or P-256 SEC1 `EC PRIVATE KEY`. */
export function generateKey(type: KeyType = 'rsa'): Promise<string> {
  return new Promise((res, rej) => {
    const cb = (err: Error | null, _pub: string, priv: string) => (err ? rej(err) : res(priv));
    if (type === 'rsa') {
      generateKeyPair(
        'rsa',
        {
          modulusLength: 2048,
          publicExponent: 0x10001,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        },
        cb,
      );
    } else {
      generateKeyPair(
        'ec',
        {
          namedCurve: 'prime256v1',
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'sec1', format: 'pem' },
        },
        cb,
      );
    }
  });
}

/** PKIX `PUBLIC KEY` PEM of a private key. */
export function publicKeyPem(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

// KEY CACHE: RSA-2048 keys are kept in <dir>/rsa-2048/*.pem, dir = $VCERTS_TEST_CACHE or <repo>/.cache/test-keys.
// Within one process every key is handed out at most once (PKIs never share keys) except through the
// `reuseKeys` path, which hands the same reserved keys to every PKI asking for reuse.

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function keyCacheDir(): string {
  return process.env.VCERTS_TEST_CACHE || join(REPO_ROOT, '.cache', 'test-keys');
}

const RSA_HEADER = '-----BEGIN RSA PRIVATE KEY-----';

class RsaKeyPool {
  private files: string[] | undefined; // cached key files not yet handed out in this process
  private shared: string[] = []; // keys reserved for reuseKeys PKIs
  private lock: Promise<unknown> = Promise.resolve();
  private seq = 0;
  generated = 0;
  fromDisk = 0;

  private get dir(): string {
    return join(keyCacheDir(), 'rsa-2048');
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async list(): Promise<string[]> {
    if (!this.files) {
      try {
        this.files = (await readdir(this.dir)).filter((f) => f.endsWith('.pem')).sort();
      } catch {
        this.files = [];
      }
    }
    return this.files;
  }

  private async fresh(n: number): Promise<string[]> {
    const files = await this.list();
    const out: string[] = [];
    while (out.length < n && files.length > 0) {
      const f = files.shift()!;
      try {
        const pem = await readFile(join(this.dir, f), 'utf8');
        if (pem.startsWith(RSA_HEADER)) {
          createPrivateKey(pem); // parses?
          out.push(pem);
          this.fromDisk++;
          continue;
        }
      } catch {
        /* unreadable cache entry: skip */
      }
      await rm(join(this.dir, f), { force: true });
    }
    const missing = n - out.length;
    if (missing > 0) {
      const keys = await Promise.all(Array.from({ length: missing }, () => generateKey('rsa')));
      this.generated += missing;
      await this.persist(keys);
      out.push(...keys);
    }
    return out;
  }

  /** Write keys to the cache; returns their file names (in order; fewer if the cache is not writable). */
  private async persist(keys: string[]): Promise<string[]> {
    const names: string[] = [];
    try {
      await mkdir(this.dir, { recursive: true });
      const seq = this.seq;
      this.seq += keys.length;
      await Promise.all(
        keys.map(async (k, i) => {
          // sortable: a later process reads the keys in the order this one handed them out
          const stamp = Date.now().toString(36).padStart(9, '0');
          const name = `${stamp}-${String(seq + i).padStart(6, '0')}-${randomBytes(6).toString('hex')}.pem`;
          const tmp = join(this.dir, `.${name}.tmp`);
          await writeFile(tmp, k, { mode: 0o600 });
          await rename(tmp, join(this.dir, name));
          names[i] = name;
        }),
      );
    } catch {
      /* read-only cache: keys still usable in memory */
    }
    return names.filter(Boolean);
  }

  /** n distinct keys; never handed out before in this process unless `reuse`. */
  take(n: number, reuse = false): Promise<string[]> {
    return this.serial(async () => {
      if (!reuse) return this.fresh(n);
      if (this.shared.length < n) this.shared.push(...(await this.fresh(n - this.shared.length)));
      return this.shared.slice(0, n);
    });
  }

  /** Make sure at least n unused keys exist in the disk cache (e.g. before a benchmark). */
  warm(n: number): Promise<void> {
    return this.serial(async () => {
      const files = await this.list();
      const missing = n - files.length;
      if (missing <= 0) return;
      const keys = await Promise.all(Array.from({ length: missing }, () => generateKey('rsa')));
      this.generated += missing;
      files.push(...(await this.persist(keys))); // not handed out yet
    });
  }
}

const rsaPool = new RsaKeyPool();

/** n distinct private keys of the given type (RSA from the cached pool, ECDSA freshly generated). */
export async function takeKeys(n: number, type: KeyType = 'rsa', reuse = false): Promise<string[]> {
  if (type === 'rsa') return rsaPool.take(n, reuse);
  return Promise.all(Array.from({ length: n }, () => generateKey('ecdsa')));
}

/** Pre-fill the on-disk RSA key cache with at least n keys that this process has not handed out yet. */
export function warmKeyPool(n: number): Promise<void> {
  return rsaPool.warm(n);
}

export function keyPoolStats(): { generated: number; fromDisk: number } {
  return { generated: rsaPool.generated, fromDisk: rsaPool.fromDisk };
}

// ---------------------------------------------------------------------------------------------------------
// issuing certificates

export interface Subject {
  CN?: string;
  O?: string[];
}

export interface CertAndKey {
  /** PEM certificate */
  cert: string;
  /** PEM private key */
  key: string;
}

export interface IssueOptions {
  subject: Subject;
  /** Subject private key (PEM). Default: a fresh key of `keyType` from the pool. */
  key?: string;
  keyType?: KeyType;
  /** Signing CA. Absent = self-signed. */
  issuer?: CertAndKey;
  /** BasicConstraints CA:TRUE. Default: true when self-signed, else false. */
  isCA?: boolean;
  /** Emit BasicConstraints at all (default true; critical like Go). */
  basicConstraints?: boolean;
  /** OpenSSL KeyUsage names. Default CA: digitalSignature,keyEncipherment,keyCertSign; leaf: digitalSignature,keyEncipherment. [] = none. */
  keyUsage?: string[];
  extKeyUsage?: ExtKeyUsage[];
  /** DNS SANs, written in the given order (the caller sorts). */
  dnsNames?: string[];
  /** IP SANs in the given order. */
  ipAddresses?: string[];
  notBefore: Date;
  notAfter: Date;
  /** Default: random in [1, 2^63-1). */
  serial?: bigint;
  /** Default: isCA (Go fills SKID for CAs only). */
  subjectKeyId?: boolean;
  /** AKID keyid = issuer SKID. Default: true when signed by an issuer (Go: only when issuer != subject). */
  authorityKeyId?: boolean;
  /** Work dir parent (kept by the caller); default: own temp dir, removed afterwards. */
  tmpDir?: string;
}

function extSection(o: IssueOptions, isCA: boolean): string {
  const lines: string[] = [];
  if (o.basicConstraints ?? true) lines.push(`basicConstraints = critical,CA:${isCA ? 'TRUE' : 'FALSE'}`);
  const ku = o.keyUsage ?? (isCA ? ['digitalSignature', 'keyEncipherment', 'keyCertSign'] : ['digitalSignature', 'keyEncipherment']);
  if (ku.length) lines.push(`keyUsage = critical,${ku.join(',')}`);
  if (o.extKeyUsage?.length) lines.push(`extendedKeyUsage = ${o.extKeyUsage.join(',')}`);
  lines.push(`subjectKeyIdentifier = ${(o.subjectKeyId ?? isCA) ? 'hash' : 'none'}`);
  if (o.authorityKeyId ?? !!o.issuer) lines.push('authorityKeyIdentifier = keyid:always');
  const san = [...(o.dnsNames ?? []).map((d) => `DNS:${d}`), ...(o.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
  if (san.length) lines.push(`subjectAltName = ${san.join(',')}`);
  return lines.join('\n');
}

/**
 * Issue one certificate with `openssl req` + `openssl ca` (explicit serial, -startdate/-enddate, -preserveDN,
 * extensions exactly as given). Returns the cert and the subject key.
 */
export async function issueWithOpenssl(o: IssueOptions): Promise<CertAndKey> {
  const key = o.key ?? (await takeKeys(1, o.keyType ?? 'rsa'))[0]!;
  const isCA = o.isCA ?? !o.issuer;
  const serial = o.serial ?? randomSerial();
  if (serial < 1n) throw new Error('serial must be positive');
  let hex = serial.toString(16).toUpperCase();
  if (hex.length % 2) hex = '0' + hex;
  return withTmpDir(o.tmpDir, async (dir) => {
    const cnf = [
      '[ ca ]',
      'default_ca = CA_default',
      '[ CA_default ]',
      `database = ${dir}/index.txt`,
      `serial = ${dir}/serial`,
      `new_certs_dir = ${dir}`,
      'default_md = sha256',
      'policy = policy_anything',
      'unique_subject = no',
      'email_in_dn = no',
      'copy_extensions = none',
      // Go encodes names as PrintableString when possible, else UTF8String
      'string_mask = MASK:0x2002',
      '[ policy_anything ]',
      'organizationName = optional',
      'commonName = optional',
      '[ ext ]',
      extSection(o, isCA),
      '',
    ].join('\n');
    await Promise.all([
      writeFile(join(dir, 'openssl.cnf'), cnf),
      writeFile(join(dir, 'index.txt'), ''),
      writeFile(join(dir, 'serial'), hex + '\n'),
      writeFile(join(dir, 'req.csr'), buildCsr(o.subject, key)),
      o.issuer ? undefined : writeFile(join(dir, 'subject.key'), key, { mode: 0o600 }),
      o.issuer ? writeFile(join(dir, 'issuer.crt'), o.issuer.cert) : undefined,
      o.issuer ? writeFile(join(dir, 'issuer.key'), o.issuer.key, { mode: 0o600 }) : undefined,
    ]);
    const signer = o.issuer ? ['-cert', 'issuer.crt', '-keyfile', 'issuer.key'] : ['-selfsign', '-keyfile', 'subject.key'];
    await openssl(
      [
        'ca', '-batch', '-notext', '-config', 'openssl.cnf', '-extensions', 'ext', '-preserveDN',
        ...signer,
        '-inform', 'DER', '-in', 'req.csr', '-out', 'cert.pem',
        '-startdate', opensslDate(o.notBefore), '-enddate', opensslDate(o.notAfter),
      ],
      dir,
    );
    const cert = await readFile(join(dir, 'cert.pem'), 'utf8');
    return { cert, key };
  });
}

/** A kubeadm-style CA: self-signed, CA:TRUE, KU DigitalSignature|KeyEncipherment|CertSign, DNS SAN = CN, SKID. */
export function createCA(
  cn: string,
  o: { key?: string; keyType?: KeyType; notBefore?: Date; notAfter?: Date; serial?: bigint; tmpDir?: string } = {},
): Promise<CertAndKey> {
  const now = Date.now();
  return issueWithOpenssl({
    subject: { CN: cn },
    dnsNames: [cn],
    key: o.key,
    keyType: o.keyType,
    notBefore: o.notBefore ?? new Date(now - BACKDATE_MS),
    notAfter: o.notAfter ?? new Date(now + CA_VALIDITY_SECONDS * 1000),
    serial: o.serial,
    tmpDir: o.tmpDir,
  });
}

/** A kubeadm-style leaf signed by `issuer` (defaults: 1 year from now-5m, no SANs, no EKU). DNS SANs are sorted+deduped. */
export function issueLeaf(
  issuer: CertAndKey,
  o: {
    cn: string;
    org?: string[];
    eku?: ExtKeyUsage[];
    dnsNames?: string[];
    ipAddresses?: string[];
    key?: string;
    keyType?: KeyType;
    notBefore?: Date;
    notAfter?: Date;
    serial?: bigint;
    tmpDir?: string;
  },
): Promise<CertAndKey> {
  const now = Date.now();
  return issueWithOpenssl({
    subject: { CN: o.cn, O: o.org },
    issuer,
    extKeyUsage: o.eku,
    dnsNames: sortedUnique(o.dnsNames ?? []),
    ipAddresses: [...new Set(o.ipAddresses ?? [])],
    key: o.key,
    keyType: o.keyType,
    notBefore: o.notBefore ?? new Date(now - BACKDATE_MS),
    notAfter: o.notAfter ?? new Date(now + LEAF_VALIDITY_SECONDS * 1000),
    serial: o.serial,
    tmpDir: o.tmpDir,
  });
}

// ---------------------------------------------------------------------------------------------------------
// kubeadm profile helpers

function sortedUnique(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

function parseIPv4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseIPv6(s: string): bigint | undefined {
  let str = s;
  const lastColon = str.lastIndexOf(':');
  if (lastColon >= 0 && str.slice(lastColon + 1).includes('.')) {
    const n = parseIPv4(str.slice(lastColon + 1));
    if (n === undefined) return undefined;
    str = `${str.slice(0, lastColon + 1)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = str.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const groups: number[] = [...head, ...Array<number>(halves.length === 2 ? 8 - known : 0).fill(0), ...rest];
  if (groups.some((g) => Number.isNaN(g))) return undefined;
  return groups.reduce((acc: bigint, g: number) => (acc << 16n) | BigInt(g), 0n);
}

function formatIPv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, first one on ties
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

/** First usable IP (network + 1) of the first CIDR of a comma-separated list (Go's GetIndexedIP(subnet, 1)). */
export function firstServiceIP(serviceCIDR: string): string {
  const first = serviceCIDR.split(',')[0]!.trim();
  const [ip, bitsStr] = first.split('/');
  const v4 = parseIPv4(ip ?? '');
  const v6 = v4 === undefined ? parseIPv6(ip ?? '') : undefined;
  const width = v4 !== undefined ? 32 : 128;
  const addr = v4 ?? v6;
  const bits = Number(bitsStr);
  if (addr === undefined || !Number.isInteger(bits) || bits < 0 || bits > width) throw new Error(`bad CIDR ${first}`);
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
  const n = (addr & mask) + 1n;
  if (v4 !== undefined) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  return formatIPv6(n);
}

/** apiserver.crt SANs (DNS sorted; IPs = first service IP, 127.0.0.1). */
export function apiserverSANs(name: string, serviceCIDR = '10.96.0.0/12', clusterDomain = 'cluster.local'): { dns: string[]; ips: string[] } {
  return {
    dns: sortedUnique([name, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${clusterDomain}`]),
    ips: [...new Set([firstServiceIP(serviceCIDR), '127.0.0.1'])],
  };
}

/** etcd server/peer SANs for a non-standalone vCluster (DNS sorted; IPs 127.0.0.1, ::1, then IP-looking extra SANs). */
export function etcdSANs(name: string, ns: string, clusterDomain = 'cluster.local', extraSANs: string[] = []): { dns: string[]; ips: string[] } {
  const dns = [name, 'localhost', `${name}-etcd`, `${name}-etcd-headless`, `${name}-etcd.${ns}`, `${name}-etcd.${ns}.svc`];
  for (const s of [name, `${name}-etcd`]) {
    dns.push(`*.${s}-headless`, `*.${s}-headless.${ns}`, `*.${s}-headless.${ns}.svc`, `*.${s}-headless.${ns}.svc.${clusterDomain}`);
  }
  for (let i = 0; i < 5; i++) {
    dns.push(`${name}-${i}`, `${name}-${i}.${name}-headless`, `${name}-${i}.${name}-headless.${ns}`);
    dns.push(`${name}-etcd-${i}`, `${name}-etcd-${i}.${name}-etcd-headless`, `${name}-etcd-${i}.${name}-etcd-headless.${ns}`);
  }
  const ips = ['127.0.0.1', '::1'];
  for (const s of extraSANs) {
    if (parseIPv4(s) !== undefined) ips.push(s);
    else if (parseIPv6(s) !== undefined) ips.push(formatIPv6(parseIPv6(s)!));
    else if (/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(s)) dns.push(s);
  }
  return { dns: sortedUnique(dns), ips: [...new Set(ips)] };
}

/** The kubeconfig kubeadm writes (clientcmd YAML layout), CA/cert/key given as PEM. */
export function buildKubeconfig(o: { user: string; caPem: string; certPem: string; keyPem: string; server?: string; cluster?: string }): string {
  const cluster = o.cluster ?? KUBECONFIG_CLUSTER;
  const ctx = `${o.user}@${cluster}`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(o.caPem)}`,
    `    server: ${o.server ?? CONTROL_PLANE_ENDPOINT}`,
    `  name: ${cluster}`,
    'contexts:',
    '- context:',
    `    cluster: ${cluster}`,
    `    user: ${o.user}`,
    `  name: ${ctx}`,
    `current-context: ${ctx}`,
    'kind: Config',
    'preferences: {}',
    'users:',
    `- name: ${o.user}`,
    '  user:',
    `    client-certificate-data: ${b64(o.certPem)}`,
    `    client-key-data: ${b64(o.keyPem)}`,
    '',
  ].join('\n');
}

/** PEM blocks of one type (default CERTIFICATE) in a bundle. */
export function pemBlocks(pem: string | Buffer, type = 'CERTIFICATE'): string[] {
  const re = new RegExp(`-----BEGIN ${type}-----[\\s\\S]*?-----END ${type}-----\\n?`, 'g');
  return (pem.toString().match(re) ?? []).map((b) => (b.endsWith('\n') ? b : b + '\n'));
}

// ---------------------------------------------------------------------------------------------------------
// whole PKI

export interface PkiOptions {
  name: string;
  namespace: string;
  /** default '10.96.0.0/12' (comma list allowed; the first CIDR's first IP goes into apiserver.crt) */
  serviceCIDR?: string;
  /** default 'cluster.local' */
  clusterDomain?: string;
  /** default 'rsa' (RSA-2048 PKCS#1); 'ecdsa' = P-256 `EC PRIVATE KEY` for every key incl. sa.key */
  keyType?: KeyType;
  /** generation time (default: now); truncated to whole seconds */
  now?: Date;
  /** default 365 d */
  leafValiditySeconds?: number;
  /** default 3650 d */
  caValiditySeconds?: number;
  /** leafs (and kubeconfig client certs) expired: the PKI is generated at now - leafValidity - 1 d; CAs stay valid */
  expiredLeafs?: boolean;
  /** whole PKI expired: generated at now - caValidity - 1 d */
  expiredCA?: boolean;
  /** files (e.g. 'apiserver.crt', 'etcd/ca.crt', 'admin.conf') whose certs start 1 d after `now` */
  notYetValid?: string[];
  /** migrated-k3s layout: ca/client-ca = k3s client CA (CN k3s-client-ca@<unix>), server-ca = separate CA
   *  (CN k3s-server-ca@<unix>); apiserver.crt from server-ca; kubeconfigs embed server-ca */
  splitCA?: boolean;
  /** files whose content is replaced by garbage (after everything else, so copies/kubeconfigs stay intact) */
  corrupt?: string[];
  /** added/overridden as-is at the end */
  extraFiles?: Record<string, Buffer>;
  /** share RSA keys with other reuseKeys PKIs of this process (faster; default false = all keys unique) */
  reuseKeys?: boolean;
  /** etcd server/peer extra SANs (controlPlane.proxy.extraSANs): IPs become IP SANs, DNS names are added */
  etcdExtraSANs?: string[];
  /** take the CAs (ca, front-proxy-ca, etcd/ca, server-ca, client-ca) and sa.* from this PKI instead of
   *  generating them, like `rotate` does (leafs and kubeconfigs are re-issued) */
  caSource?: Map<string, Buffer>;
}

/** Files to which each key belongs, in key-assignment order. */
const KEYED = [
  'ca',
  'front-proxy-ca',
  'etcd/ca',
  'server-ca',
  'apiserver',
  'apiserver-kubelet-client',
  'front-proxy-client',
  'etcd/server',
  'etcd/peer',
  'etcd/healthcheck-client',
  'apiserver-etcd-client',
  'sa',
  'admin.conf',
  'controller-manager.conf',
  'scheduler.conf',
] as const;
type Keyed = (typeof KEYED)[number];

function garbageFor(file: string): Buffer {
  const junk = randomBytes(180).toString('base64').replace(/(.{64})/g, '$1\n');
  if (file.endsWith('.crt')) return Buffer.from(`-----BEGIN CERTIFICATE-----\n${junk}\n-----END CERTIFICATE-----\n`);
  if (file.endsWith('.key')) return Buffer.from(`-----BEGIN RSA PRIVATE KEY-----\n${junk}\n-----END RSA PRIVATE KEY-----\n`);
  if (file.endsWith('.pub')) return Buffer.from(`-----BEGIN PUBLIC KEY-----\n${junk}\n-----END PUBLIC KEY-----\n`);
  return Buffer.from(`apiVersion: v1\nkind: Config\nclusters: [ {{ garbage ${junk.slice(0, 40)}\n`);
}

/** Generate a complete vCluster PKI (the 29 certMap files, paths relative to /data/pki). */
export async function generatePki(opts: PkiOptions): Promise<Map<string, Buffer>> {
  const keyType = opts.keyType ?? 'rsa';
  const leafMs = (opts.leafValiditySeconds ?? LEAF_VALIDITY_SECONDS) * 1000;
  const caMs = (opts.caValiditySeconds ?? CA_VALIDITY_SECONDS) * 1000;
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000;
  const start = opts.expiredCA ? now - caMs - DAY : opts.expiredLeafs ? now - leafMs - DAY : now;
  const future = new Set(opts.notYetValid ?? []);
  const src = opts.caSource;
  const firstCert = (f: string) => pemBlocks(src?.get(f) ?? '')[0];
  // with a caSource the split-ness is whatever the source has (server-ca != ca)
  const split = src ? firstCert('server-ca.crt') !== firstCert('ca.crt') : !!opts.splitCA;
  const cidr = opts.serviceCIDR ?? '10.96.0.0/12';
  const domain = opts.clusterDomain ?? 'cluster.local';
  const { name, namespace } = opts;

  // keys
  const needed = KEYED.filter((k) => {
    if (k === 'server-ca' && !split) return false;
    if (src && (k === 'ca' || k === 'front-proxy-ca' || k === 'etcd/ca' || k === 'server-ca' || k === 'sa')) return false;
    return true;
  });
  const keyList = await takeKeys(needed.length, keyType, !!opts.reuseKeys);
  const keys = new Map<Keyed, string>(needed.map((k, i) => [k, keyList[i]!]));

  const validity = (file: string, isCA: boolean, notBefore?: Date): { notBefore: Date; notAfter: Date } => {
    const ms = isCA ? caMs : leafMs;
    if (future.has(file)) return { notBefore: new Date(now + DAY), notAfter: new Date(now + DAY + ms) };
    return { notBefore: notBefore ?? new Date(start - BACKDATE_MS), notAfter: new Date(start + ms) };
  };

  return withTmpDir(undefined, async (tmp) => {
    const unixStart = Math.floor(start / 1000);
    const fromSrc = (base: string): CertAndKey => {
      const crt = src!.get(`${base}.crt`);
      const key = src!.get(`${base}.key`);
      if (!crt || !key) throw new Error(`caSource lacks ${base}.crt/.key`);
      return { cert: crt.toString(), key: key.toString() };
    };
    const ca = (base: Keyed, cn: string): Promise<CertAndKey> =>
      src
        ? Promise.resolve(fromSrc(base))
        : issueWithOpenssl({ subject: { CN: cn }, dnsNames: [cn], key: keys.get(base)!, ...validity(`${base}.crt`, true), tmpDir: tmp });

    const [rootCA, fpCA, etcdCA, serverCA] = await Promise.all([
      ca('ca', split ? `k3s-client-ca@${unixStart}` : 'kubernetes'),
      ca('front-proxy-ca', 'front-proxy-ca'),
      ca('etcd/ca', 'etcd-ca'),
      split ? ca('server-ca', `k3s-server-ca@${unixStart}`) : undefined,
    ]);
    // the signing CA = first cert of the bundle
    const signer = (c: CertAndKey): CertAndKey => ({ cert: pemBlocks(c.cert)[0] ?? c.cert, key: c.key });
    const root = signer(rootCA);
    const server = serverCA ? signer(serverCA) : root;

    const leaf = (file: Keyed, issuer: CertAndKey, cn: string, eku: ExtKeyUsage[], san?: { dns: string[]; ips: string[] }, org?: string[]) =>
      issueWithOpenssl({
        subject: { CN: cn, O: org },
        issuer,
        key: keys.get(file)!,
        extKeyUsage: eku,
        dnsNames: san?.dns,
        ipAddresses: san?.ips,
        ...validity(`${file}.crt`, false),
        tmpDir: tmp,
      });
    const caNotBefore = new X509Certificate(root.cert).validFromDate;
    const kubeconfig = async (file: Keyed, user: string, org?: string[]): Promise<string> => {
      const c = await issueWithOpenssl({
        subject: { CN: user, O: org },
        issuer: root,
        key: keys.get(file)!,
        extKeyUsage: ['clientAuth'],
        ...validity(file, false, caNotBefore),
        tmpDir: tmp,
      });
      return buildKubeconfig({ user, caPem: server.cert, certPem: c.cert, keyPem: c.key });
    };

    const etcdSan = etcdSANs(name, namespace, domain, opts.etcdExtraSANs);
    const [apiserver, kubeletClient, fpClient, etcdServer, etcdPeer, etcdHealth, etcdClient, admin, cm, sched] = await Promise.all([
      leaf('apiserver', server, 'kube-apiserver', ['serverAuth'], apiserverSANs(name, cidr, domain)),
      leaf('apiserver-kubelet-client', root, 'kube-apiserver-kubelet-client', ['clientAuth'], undefined, ['kubeadm:cluster-admins']),
      leaf('front-proxy-client', signer(fpCA), 'front-proxy-client', ['clientAuth']),
      leaf('etcd/server', signer(etcdCA), name, ['serverAuth', 'clientAuth'], etcdSan),
      leaf('etcd/peer', signer(etcdCA), name, ['serverAuth', 'clientAuth'], etcdSan),
      leaf('etcd/healthcheck-client', signer(etcdCA), 'kube-etcd-healthcheck-client', ['clientAuth']),
      leaf('apiserver-etcd-client', signer(etcdCA), 'kube-apiserver-etcd-client', ['clientAuth']),
      kubeconfig('admin.conf', 'kubernetes-super-admin', ['system:masters']),
      kubeconfig('controller-manager.conf', 'system:kube-controller-manager'),
      kubeconfig('scheduler.conf', 'system:kube-scheduler'),
    ]);

    let saKey: string;
    let saPub: string;
    if (src) {
      saKey = src.get('sa.key')?.toString() ?? '';
      saPub = src.get('sa.pub')?.toString() ?? '';
      if (!saKey || !saPub) throw new Error('caSource lacks sa.key/sa.pub');
    } else {
      saKey = keys.get('sa')!;
      saPub = publicKeyPem(saKey);
    }

    const content: Record<string, string> = {
      'admin.conf': admin,
      'controller-manager.conf': cm,
      'scheduler.conf': sched,
      'apiserver.crt': apiserver.cert,
      'apiserver.key': apiserver.key,
      'apiserver-etcd-client.crt': etcdClient.cert,
      'apiserver-etcd-client.key': etcdClient.key,
      'apiserver-kubelet-client.crt': kubeletClient.cert,
      'apiserver-kubelet-client.key': kubeletClient.key,
      'ca.crt': rootCA.cert,
      'ca.key': rootCA.key,
      'server-ca.crt': server.cert,
      'server-ca.key': server.key,
      'client-ca.crt': src?.get('client-ca.crt')?.toString() ?? root.cert,
      'client-ca.key': src?.get('client-ca.key')?.toString() ?? root.key,
      'front-proxy-ca.crt': fpCA.cert,
      'front-proxy-ca.key': fpCA.key,
      'front-proxy-client.crt': fpClient.cert,
      'front-proxy-client.key': fpClient.key,
      'sa.key': saKey,
      'sa.pub': saPub,
      'etcd/ca.crt': etcdCA.cert,
      'etcd/ca.key': etcdCA.key,
      'etcd/server.crt': etcdServer.cert,
      'etcd/server.key': etcdServer.key,
      'etcd/peer.crt': etcdPeer.cert,
      'etcd/peer.key': etcdPeer.key,
      'etcd/healthcheck-client.crt': etcdHealth.cert,
      'etcd/healthcheck-client.key': etcdHealth.key,
    };
    if (split) content['server-ca.crt'] = serverCA!.cert;

    const files = new Map<string, Buffer>();
    for (const file of CERT_MAP.keys()) files.set(file, Buffer.from(content[file]!));
    for (const f of opts.corrupt ?? []) files.set(f, garbageFor(f));
    for (const [f, b] of Object.entries(opts.extraFiles ?? {})) files.set(f, Buffer.from(b));
    return files;
  });
}

/** Deep copy of a PKI file map. */
export function clonePki(files: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...files].map(([k, v]): [string, Buffer] => [k, Buffer.from(v)]));
}

/** Write a PKI file map under dir (keys/kubeconfigs 0600, the rest 0644). */
export async function writePkiDir(files: Map<string, Buffer>, dir: string): Promise<void> {
  for (const [f, b] of files) {
    const p = join(dir, f);
    await mkdir(dirname(p), { recursive: true });
    const mode = f.endsWith('.key') || f.endsWith('.conf') ? 0o600 : 0o644;
    await writeFile(p, b, { mode });
    await chmod(p, mode);
  }
}
