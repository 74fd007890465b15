// Tests of the test PKI generator, checked with the openssl CLI and node:crypto.X509Certificate only.
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { CERT_MAP, filesToSecretData, secretDataToFiles } from './certmap.js';
import { clonePki, createCA, firstServiceIP, generatePki, issueLeaf, issueWithOpenssl, randomSerial, writePkiDir } from './pkigen.js';

const execFileP = promisify(execFile);
const MIN = 60_000;
const DAY = 86_400_000;
const NOW = new Date('2026-03-04T05:06:07.890Z');
const START = Date.parse('2026-03-04T05:06:07Z'); // generation time truncated to seconds
const NAME = 'vc1';
const NS = 'team-a';

type Files = Map<string, Buffer>;

// ---------------------------------------------------------------------------------------------- helpers

function str(files: Files, f: string): string {
  const b = files.get(f);
  assert.ok(b, `missing ${f}`);
  return b!.toString();
}
function firstPem(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(pem);
  assert.ok(m, 'no PEM certificate block');
  return m![0].endsWith('\n') ? m![0] : m![0] + '\n';
}

interface Ext {
  critical: boolean;
  value: string;
}
interface Info {
  x: X509Certificate;
  subject: string[]; // ['O=...', 'CN=...'] in cert order
  issuer: string[];
  serial: bigint;
  ext: Record<string, Ext>;
  sigAlg: string;
}

let tmpRoot = '';
async function ossl(args: string[], input?: { name: string; data: string }[]): Promise<{ ok: boolean; out: string }> {
  const dir = await mkdtemp(join(tmpRoot, 't-'));
  try {
    for (const f of input ?? []) await writeFile(join(dir, f.name), f.data);
    const r = await execFileP('openssl', args, { cwd: dir, encoding: 'utf8' });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: (err.stdout ?? '') + (err.stderr ?? '') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const EXT_NAMES: Record<string, string> = {
  'X509v3 Basic Constraints': 'bc',
  'X509v3 Key Usage': 'ku',
  'X509v3 Extended Key Usage': 'eku',
  'X509v3 Subject Alternative Name': 'san',
  'X509v3 Subject Key Identifier': 'skid',
  'X509v3 Authority Key Identifier': 'akid',
};

async function info(pem: string): Promise<Info> {
  const x = new X509Certificate(pem);
  const r = await ossl(['x509', '-in', 'c.pem', '-noout', '-text'], [{ name: 'c.pem', data: pem }]);
  assert.ok(r.ok, r.out);
  const ext: Record<string, Ext> = {};
  const lines = r.out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s+(X509v3 [A-Za-z ]+):( critical)?\s*$/.exec(lines[i]!);
    if (m && EXT_NAMES[m[1]!]) {
      const vals: string[] = [];
      for (let j = i + 1; j < lines.length && /^\s{16,}\S/.test(lines[j]!); j++) vals.push(lines[j]!.trim());
      ext[EXT_NAMES[m[1]!]!] = { critical: !!m[2], value: vals.join(' ') };
    }
  }
  const sig = /Signature Algorithm: (\S+)/.exec(r.out);
  return {
    x,
    subject: x.subject.split('\n'),
    issuer: x.issuer.split('\n'),
    serial: BigInt('0x' + x.serialNumber),
    ext,
    sigAlg: sig ? sig[1]! : '',
  };
}

async function verify(caPem: string, certPem: string, extra: string[] = []): Promise<boolean> {
  const r = await ossl(['verify', ...extra, '-CAfile', 'ca.pem', 'c.pem'], [
    { name: 'ca.pem', data: caPem },
    { name: 'c.pem', data: certPem },
  ]);
  return r.ok && /c\.pem: OK/.test(r.out);
}

function sans(i: Info): { dns: string[]; ips: string[] } {
  const v = i.ext.san?.value ?? '';
  const parts = v ? v.split(', ') : [];
  return {
    dns: parts.filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4)),
    ips: parts.filter((p) => p.startsWith('IP Address:')).map((p) => p.slice(11)),
  };
}

interface Kubeconfig {
  doc: any;
  caPem: string;
  certPem: string;
  keyPem: string;
}
function kubeconfig(files: Files, f: string): Kubeconfig {
  const doc = parseYaml(str(files, f));
  const caPem = Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  const certPem = Buffer.from(doc.users[0].user['client-certificate-data'], 'base64').toString();
  const keyPem = Buffer.from(doc.users[0].user['client-key-data'], 'base64').toString();
  return { doc, caPem, certPem, keyPem };
}

/** The etcd SAN list written out from the reference, independently of pkigen's own helper. */
function expectedEtcdDns(n: string, ns: string, domain: string): string[] {
  const l = [n, 'localhost', `${n}-etcd`, `${n}-etcd-headless`, `${n}-etcd.${ns}`, `${n}-etcd.${ns}.svc`];
  for (const h of [`${n}-headless`, `${n}-etcd-headless`]) l.push(`*.${h}`, `*.${h}.${ns}`, `*.${h}.${ns}.svc`, `*.${h}.${ns}.svc.${domain}`);
  for (const i of [0, 1, 2, 3, 4]) {
    l.push(`${n}-${i}`, `${n}-${i}.${n}-headless`, `${n}-${i}.${n}-headless.${ns}`);
    l.push(`${n}-etcd-${i}`, `${n}-etcd-${i}.${n}-etcd-headless`, `${n}-etcd-${i}.${n}-etcd-headless.${ns}`);
  }
  return l.sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)); // byte order, like Go's sort.Strings
}

const CAS = ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'];
/** file -> [CN, O[], issuer file, EKU text] */
const LEAFS: Record<string, [string, string[], string, string]> = {
  'apiserver.crt': ['kube-apiserver', [], 'ca.crt', 'TLS Web Server Authentication'],
  'apiserver-kubelet-client.crt': ['kube-apiserver-kubelet-client', ['kubeadm:cluster-admins'], 'ca.crt', 'TLS Web Client Authentication'],
  'front-proxy-client.crt': ['front-proxy-client', [], 'front-proxy-ca.crt', 'TLS Web Client Authentication'],
  'etcd/server.crt': [NAME, [], 'etcd/ca.crt', 'TLS Web Server Authentication, TLS Web Client Authentication'],
  'etcd/peer.crt': [NAME, [], 'etcd/ca.crt', 'TLS Web Server Authentication, TLS Web Client Authentication'],
  'etcd/healthcheck-client.crt': ['kube-etcd-healthcheck-client', [], 'etcd/ca.crt', 'TLS Web Client Authentication'],
  'apiserver-etcd-client.crt': ['kube-apiserver-etcd-client', [], 'etcd/ca.crt', 'TLS Web Client Authentication'],
};
const KUBECONFIGS: Record<string, [string, string[]]> = {
  'admin.conf': ['kubernetes-super-admin', ['system:masters']],
  'controller-manager.conf': ['system:kube-controller-manager', []],
  'scheduler.conf': ['system:kube-scheduler', []],
};
const CA_CN: Record<string, string> = { 'ca.crt': 'kubernetes', 'front-proxy-ca.crt': 'front-proxy-ca', 'etcd/ca.crt': 'etcd-ca' };

function assertSerial(i: Info, what: string) {
  assert.ok(i.serial >= 1n && i.serial < (1n << 63n) - 1n, `${what}: serial ${i.serial} out of [1, 2^63-1)`);
}

let base: Files; // default RSA PKI, shared by several tests

// ---------------------------------------------------------------------------------------------- certmap

const cm = suite('certmap');

cm('29 entries, etcd/ prefix mapped to etcd-', () => {
  assert.is(CERT_MAP.size, 29);
  assert.is(CERT_MAP.get('etcd/ca.crt'), 'etcd-ca.crt');
  assert.is(CERT_MAP.get('etcd/healthcheck-client.key'), 'etcd-healthcheck-client.key');
  assert.is(CERT_MAP.get('ca.crt'), 'ca.crt');
  assert.is(CERT_MAP.get('admin.conf'), 'admin.conf');
  for (const [f, k] of CERT_MAP) {
    if (f.startsWith('etcd/')) assert.is(k, 'etcd-' + f.slice(5));
    else assert.is(k, f);
  }
  assert.is(new Set(CERT_MAP.values()).size, 29);
});

cm('secret data round trip; unknown files keep their basename', () => {
  const files: Files = new Map([
    ['etcd/peer.crt', Buffer.from('peer')],
    ['ca.crt', Buffer.from('ca')],
    ['extra/thing.txt', Buffer.from([0, 1, 2, 255])],
  ]);
  const data = filesToSecretData(files);
  assert.equal(Object.keys(data).sort(), ['ca.crt', 'etcd-peer.crt', 'thing.txt']);
  assert.is(data['etcd-peer.crt'], Buffer.from('peer').toString('base64'));
  const back = secretDataToFiles(data);
  assert.is(back.get('etcd/peer.crt')?.toString(), 'peer');
  assert.is(back.get('ca.crt')?.toString(), 'ca');
  assert.equal([...back.get('thing.txt')!], [0, 1, 2, 255]);
});

cm.run();

// ---------------------------------------------------------------------------------------------- default PKI

const pki = suite('pkigen: default RSA PKI');

pki.before(async () => {
  tmpRoot = await mkdtemp(join(tmpdir(), 'pkigen-test-'));
  base = await generatePki({ name: NAME, namespace: NS, now: NOW });
});

pki('exactly the certMap files', () => {
  assert.equal([...base.keys()].sort(), [...CERT_MAP.keys()].sort());
  for (const [f, b] of base) assert.ok(b.length > 0, `${f} empty`);
});

pki('every cert parses; keys are RSA-2048 PKCS#1 and match their certs', async () => {
  for (const f of [...base.keys()].filter((f) => f.endsWith('.crt'))) {
    const pem = str(base, f);
    assert.is(pem.match(/BEGIN CERTIFICATE/g)?.length, 1, `${f}: one block`);
    const x = new X509Certificate(pem);
    const keyPem = str(base, f.replace(/\.crt$/, '.key'));
    assert.ok(keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'), `${f}: PKCS#1 key`);
    const key = createPrivateKey(keyPem);
    assert.is(key.asymmetricKeyType, 'rsa');
    assert.is(key.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(x.checkPrivateKey(key), `${f}: key matches`);
    assert.is((await info(pem)).sigAlg, 'sha256WithRSAEncryption');
  }
  // sa pair
  const saKey = str(base, 'sa.key');
  assert.ok(saKey.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'));
  assert.is(createPrivateKey(saKey).asymmetricKeyDetails?.modulusLength, 2048);
  const saPub = str(base, 'sa.pub');
  assert.ok(saPub.startsWith('-----BEGIN PUBLIC KEY-----\n'));
  assert.is(
    createPublicKey(saPub).export({ type: 'spki', format: 'der' }).toString('hex'),
    createPublicKey(saKey).export({ type: 'spki', format: 'der' }).toString('hex'),
  );
});

pki('all private keys distinct except the documented CA copies', () => {
  const keys = [...base.keys()].filter((f) => f.endsWith('.key') && f !== 'server-ca.key' && f !== 'client-ca.key').map((f) => str(base, f));
  for (const f of Object.keys(KUBECONFIGS)) keys.push(kubeconfig(base, f).keyPem);
  assert.is(keys.length, 14);
  assert.is(new Set(keys).size, 14);
});

pki('CAs: self-signed kubeadm CA profile', async () => {
  for (const f of CAS) {
    const i = await info(str(base, f));
    assert.equal(i.subject, [`CN=${CA_CN[f]}`], f);
    assert.equal(i.issuer, i.subject, `${f} self-signed`);
    assert.ok(await verify(str(base, f), str(base, f)), `${f} verifies against itself`);
    assert.equal(i.ext.bc, { critical: true, value: 'CA:TRUE' }, `${f} bc`);
    assert.equal(i.ext.ku, { critical: true, value: 'Digital Signature, Key Encipherment, Certificate Sign' }, `${f} ku`);
    assert.not.ok(i.ext.eku, `${f} no EKU`);
    assert.equal(sans(i), { dns: [CA_CN[f]!], ips: [] }, `${f} SAN`);
    assert.ok(i.ext.skid && /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/.test(i.ext.skid.value), `${f} SKID`);
    assert.not.ok(i.ext.akid, `${f} no AKID`);
    assert.is(i.x.validFromDate.getTime(), START - 5 * MIN, `${f} NotBefore`);
    assert.is(i.x.validToDate.getTime(), START + 3650 * DAY, `${f} NotAfter`);
    assert.ok(i.x.ca);
    assertSerial(i, f);
  }
});

pki('leafs: profile table field by field', async () => {
  for (const [f, [cn, org, caFile, eku]] of Object.entries(LEAFS)) {
    const i = await info(str(base, f));
    const ca = await info(str(base, caFile));
    assert.equal(i.subject, [...org.map((o) => `O=${o}`), `CN=${cn}`], `${f} subject`);
    assert.equal(i.issuer, ca.subject, `${f} issuer`);
    assert.ok(await verify(str(base, caFile), str(base, f)), `${f} verifies against ${caFile}`);
    assert.equal(i.ext.bc, { critical: true, value: 'CA:FALSE' }, `${f} bc`);
    assert.equal(i.ext.ku, { critical: true, value: 'Digital Signature, Key Encipherment' }, `${f} ku`);
    assert.equal(i.ext.eku?.value, eku, `${f} eku`);
    assert.not.ok(i.ext.skid, `${f} no SKID`);
    assert.is(i.ext.akid?.value, ca.ext.skid!.value, `${f} AKID = issuer SKID`);
    assert.is(i.x.validFromDate.getTime(), START - 5 * MIN, `${f} NotBefore`);
    assert.is(i.x.validToDate.getTime(), START + 365 * DAY, `${f} NotAfter`);
    assert.not.ok(i.x.ca);
    assertSerial(i, f);
  }
  // wrong CA must not verify (the checks above can fail)
  assert.not.ok(await verify(str(base, 'etcd/ca.crt'), str(base, 'apiserver.crt')));
  assert.not.ok(await verify(str(base, 'ca.crt'), str(base, 'front-proxy-client.crt')));
});

pki('SAN lists: apiserver and etcd server/peer', async () => {
  const api = sans(await info(str(base, 'apiserver.crt')));
  assert.equal(api, {
    dns: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'vc1'],
    ips: ['10.96.0.1', '127.0.0.1'],
  });
  const want = expectedEtcdDns(NAME, NS, 'cluster.local');
  assert.is(want.length, 44);
  for (const f of ['etcd/server.crt', 'etcd/peer.crt']) {
    const s = sans(await info(str(base, f)));
    assert.equal(s.dns, want, f);
    assert.equal(s.ips, ['127.0.0.1', '0:0:0:0:0:0:0:1'], f);
  }
  for (const f of ['apiserver-kubelet-client.crt', 'front-proxy-client.crt', 'etcd/healthcheck-client.crt', 'apiserver-etcd-client.crt']) {
    assert.not.ok((await info(str(base, f))).ext.san, `${f} has no SAN`);
  }
});

pki('server-ca / client-ca are copies of ca', () => {
  assert.is(str(base, 'server-ca.crt'), firstPem(str(base, 'ca.crt')));
  assert.is(str(base, 'client-ca.crt'), firstPem(str(base, 'ca.crt')));
  assert.is(str(base, 'server-ca.key'), str(base, 'ca.key'));
  assert.is(str(base, 'client-ca.key'), str(base, 'ca.key'));
});

pki('kubeconfigs: layout, users, embedded CA, client certs', async () => {
  const caInfo = await info(str(base, 'ca.crt'));
  for (const [f, [user, org]] of Object.entries(KUBECONFIGS)) {
    const k = kubeconfig(base, f);
    assert.is(k.doc.apiVersion, 'v1');
    assert.is(k.doc.kind, 'Config');
    assert.is(k.doc.clusters.length, 1);
    assert.is(k.doc.clusters[0].name, 'kubernetes');
    assert.is(k.doc.clusters[0].cluster.server, 'https://127.0.0.1:6443');
    assert.equal(k.doc.contexts, [{ name: `${user}@kubernetes`, context: { cluster: 'kubernetes', user } }]);
    assert.is(k.doc['current-context'], `${user}@kubernetes`);
    assert.is(k.doc.users.length, 1);
    assert.is(k.doc.users[0].name, user);
    assert.is(k.caPem, firstPem(str(base, 'ca.crt')), `${f} embeds ca.crt`);
    const i = await info(k.certPem);
    assert.equal(i.subject, [...org.map((o) => `O=${o}`), `CN=${user}`], `${f} subject`);
    assert.equal(i.issuer, ['CN=kubernetes']);
    assert.ok(await verify(str(base, 'ca.crt'), k.certPem), `${f} verifies`);
    assert.ok(k.keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'));
    assert.ok(i.x.checkPrivateKey(createPrivateKey(k.keyPem)), `${f} key matches`);
    assert.equal(i.ext.bc, { critical: true, value: 'CA:FALSE' });
    assert.equal(i.ext.ku, { critical: true, value: 'Digital Signature, Key Encipherment' });
    assert.is(i.ext.eku?.value, 'TLS Web Client Authentication');
    assert.is(i.ext.akid?.value, caInfo.ext.skid!.value);
    assert.not.ok(i.ext.san);
    assert.is(i.x.validFromDate.getTime(), caInfo.x.validFromDate.getTime(), `${f} NotBefore = CA NotBefore`);
    assert.is(i.x.validToDate.getTime(), START + 365 * DAY, `${f} NotAfter`);
    assertSerial(i, f);
  }
});

pki('names use PrintableString like Go; serials differ', async () => {
  const r = await ossl(['asn1parse', '-in', 'c.pem'], [{ name: 'c.pem', data: str(base, 'apiserver-kubelet-client.crt') }]);
  assert.ok(/PRINTABLESTRING\s+:kubeadm:cluster-admins/.test(r.out), r.out);
  assert.not.ok(/UTF8STRING/.test(r.out));
  const serials = new Set<bigint>();
  for (const f of [...base.keys()].filter((f) => f.endsWith('.crt') && !f.startsWith('server-ca') && !f.startsWith('client-ca'))) {
    serials.add((await info(str(base, f))).serial);
  }
  assert.is(serials.size, 10);
  for (let n = 0; n < 2000; n++) {
    const s = randomSerial();
    assert.ok(s >= 1n && s < (1n << 63n) - 1n);
  }
});

pki('clonePki is a deep copy; writePkiDir writes modes', async () => {
  const c = clonePki(base);
  c.get('ca.crt')![0] = 0;
  assert.is.not(c.get('ca.crt')![0], base.get('ca.crt')![0]);
  const dir = await mkdtemp(join(tmpRoot, 'w-'));
  await writePkiDir(base, dir);
  const { stat } = await import('node:fs/promises');
  assert.is((await stat(join(dir, 'etcd/ca.key'))).mode & 0o777, 0o600);
  assert.is((await stat(join(dir, 'admin.conf'))).mode & 0o777, 0o600);
  assert.is((await stat(join(dir, 'ca.crt'))).mode & 0o777, 0o644);
  const r = await ossl(['verify', '-CAfile', join(dir, 'etcd/ca.crt'), join(dir, 'etcd/peer.crt')]);
  assert.ok(r.ok, r.out);
});

pki.run();

// ---------------------------------------------------------------------------------------------- variants

const v = suite('pkigen: variants');

v('serviceCIDR / clusterDomain / etcd extra SANs', async () => {
  assert.is(firstServiceIP('10.96.0.0/12'), '10.96.0.1');
  assert.is(firstServiceIP('10.100.5.7/16'), '10.100.0.1');
  assert.is(firstServiceIP('172.20.0.0/16,fd00::/108'), '172.20.0.1');
  assert.is(firstServiceIP(' fd00:10:96::/112, 10.96.0.0/12'), 'fd00:10:96::1');
  const f = await generatePki({
    name: 'other',
    namespace: 'ns2',
    now: NOW,
    serviceCIDR: '172.20.0.0/16,fd00::/108',
    clusterDomain: 'corp.example',
    etcdExtraSANs: ['10.1.2.3', 'vc.example.com', 'bad name!'],
  });
  const api = sans(await info(str(f, 'apiserver.crt')));
  assert.equal(api.dns, ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.corp.example', 'other']);
  assert.equal(api.ips, ['172.20.0.1', '127.0.0.1']);
  const etcd = sans(await info(str(f, 'etcd/server.crt')));
  const want = expectedEtcdDns('other', 'ns2', 'corp.example');
  want.push('vc.example.com');
  want.sort();
  assert.equal(etcd.dns, want);
  assert.equal(etcd.ips, ['127.0.0.1', '0:0:0:0:0:0:0:1', '10.1.2.3']);
  assert.equal((await info(str(f, 'etcd/peer.crt'))).subject, ['CN=other']);
});

v('custom validity', async () => {
  const f = await generatePki({ name: NAME, namespace: NS, now: NOW, leafValiditySeconds: 3600, caValiditySeconds: 86400 * 30, reuseKeys: true });
  const leaf = await info(str(f, 'apiserver.crt'));
  assert.is(leaf.x.validToDate.getTime(), START + 3600_000);
  const ca = await info(str(f, 'etcd/ca.crt'));
  assert.is(ca.x.validToDate.getTime(), START + 30 * DAY);
  const k = await info(kubeconfig(f, 'scheduler.conf').certPem);
  assert.is(k.x.validToDate.getTime(), START + 3600_000);
});

v('expiredLeafs: leafs and kubeconfig certs expired, CAs valid', async () => {
  const now = Date.now();
  const f = await generatePki({ name: NAME, namespace: NS, expiredLeafs: true, reuseKeys: true });
  for (const c of CAS) {
    const i = await info(str(f, c));
    assert.ok(i.x.validFromDate.getTime() < now && i.x.validToDate.getTime() > now + 3000 * DAY, `${c} valid`);
  }
  for (const [c, [, , caFile]] of Object.entries(LEAFS)) {
    const i = await info(str(f, c));
    assert.ok(i.x.validToDate.getTime() < now && i.x.validFromDate.getTime() < i.x.validToDate.getTime(), `${c} expired`);
    assert.is(i.x.validToDate.getTime() - i.x.validFromDate.getTime(), 365 * DAY + 5 * MIN);
    assert.not.ok(await verify(str(f, caFile), str(f, c)), `${c} must fail verify (expired)`);
    assert.ok(await verify(str(f, caFile), str(f, c), ['-no_check_time']), `${c} chain ok`);
  }
  for (const c of Object.keys(KUBECONFIGS)) {
    assert.ok((await info(kubeconfig(f, c).certPem)).x.validToDate.getTime() < now, `${c} expired`);
  }
});

v('expiredCA: everything expired', async () => {
  const now = Date.now();
  const f = await generatePki({ name: NAME, namespace: NS, expiredCA: true, reuseKeys: true });
  for (const c of [...CAS, ...Object.keys(LEAFS)]) {
    assert.ok((await info(str(f, c))).x.validToDate.getTime() < now, `${c} expired`);
  }
  const ca = await info(str(f, 'ca.crt'));
  assert.is(ca.x.validToDate.getTime() - ca.x.validFromDate.getTime(), 3650 * DAY + 5 * MIN);
  assert.ok(await verify(str(f, 'ca.crt'), str(f, 'apiserver.crt'), ['-no_check_time']));
});

v('notYetValid: listed files start in the future, others do not', async () => {
  const f = await generatePki({ name: NAME, namespace: NS, now: NOW, notYetValid: ['apiserver.crt', 'etcd/ca.crt', 'admin.conf'], reuseKeys: true });
  const nb = async (pem: string) => (await info(pem)).x.validFromDate.getTime();
  assert.is(await nb(str(f, 'apiserver.crt')), START + DAY);
  assert.is(await nb(str(f, 'etcd/ca.crt')), START + DAY);
  assert.is(await nb(kubeconfig(f, 'admin.conf').certPem), START + DAY);
  assert.is(await nb(str(f, 'ca.crt')), START - 5 * MIN);
  assert.is(await nb(str(f, 'etcd/server.crt')), START - 5 * MIN);
  assert.is(await nb(kubeconfig(f, 'scheduler.conf').certPem), START - 5 * MIN);
  assert.ok(await verify(str(f, 'etcd/ca.crt'), str(f, 'etcd/peer.crt'), ['-no_check_time']));
});

v('splitCA: apiserver from server-ca, kubeconfigs trust server-ca, clients from ca', async () => {
  const f = await generatePki({ name: NAME, namespace: NS, now: NOW, splitCA: true });
  const ca = str(f, 'ca.crt');
  const sca = str(f, 'server-ca.crt');
  assert.is.not(firstPem(ca), firstPem(sca));
  assert.is.not(str(f, 'server-ca.key'), str(f, 'ca.key'));
  assert.ok(new X509Certificate(sca).checkPrivateKey(createPrivateKey(str(f, 'server-ca.key'))));
  assert.is(str(f, 'client-ca.crt'), firstPem(ca));
  assert.is(str(f, 'client-ca.key'), str(f, 'ca.key'));
  const caI = await info(ca);
  const scaI = await info(sca);
  assert.ok(/^CN=k3s-client-ca@\d+$/.test(caI.subject.join()), caI.subject.join());
  assert.ok(/^CN=k3s-server-ca@\d+$/.test(scaI.subject.join()), scaI.subject.join());
  assert.equal(scaI.ext.bc, { critical: true, value: 'CA:TRUE' });
  assert.ok(await verify(sca, str(f, 'apiserver.crt')));
  assert.not.ok(await verify(ca, str(f, 'apiserver.crt')));
  assert.ok(await verify(ca, str(f, 'apiserver-kubelet-client.crt')));
  assert.not.ok(await verify(sca, str(f, 'apiserver-kubelet-client.crt')));
  for (const c of Object.keys(KUBECONFIGS)) {
    const k = kubeconfig(f, c);
    assert.is(k.caPem, firstPem(sca), `${c} trusts server-ca`);
    assert.ok(await verify(ca, k.certPem), `${c} client cert from ca`);
  }
});

v('corrupt: listed files are garbage, the rest intact', async () => {
  const f = await generatePki({ name: NAME, namespace: NS, corrupt: ['apiserver.crt', 'etcd/peer.key', 'admin.conf'], reuseKeys: true });
  assert.is(f.size, 29);
  assert.throws(() => new X509Certificate(str(f, 'apiserver.crt')));
  assert.throws(() => createPrivateKey(str(f, 'etcd/peer.key')));
  let adminOk = false;
  try {
    adminOk = !!kubeconfig(f, 'admin.conf').certPem;
  } catch {
    adminOk = false;
  }
  assert.not.ok(adminOk, 'admin.conf unusable');
  assert.ok(new X509Certificate(str(f, 'etcd/peer.crt')));
  assert.ok(kubeconfig(f, 'scheduler.conf').certPem.includes('BEGIN CERTIFICATE'));
  assert.ok(await verify(str(f, 'ca.crt'), str(f, 'apiserver-kubelet-client.crt')));
});

v('extraFiles are added as-is', async () => {
  const f = await generatePki({ name: NAME, namespace: NS, reuseKeys: true, extraFiles: { 'foo.txt': Buffer.from('bar'), 'ca.crt': Buffer.from('x') } });
  assert.is(f.size, 30);
  assert.is(str(f, 'foo.txt'), 'bar');
  assert.is(str(f, 'ca.crt'), 'x');
});

v('ecdsa: P-256 SEC1 keys everywhere, same profile', async () => {
  const f = await generatePki({ name: NAME, namespace: NS, now: NOW, keyType: 'ecdsa' });
  for (const c of [...CAS, ...Object.keys(LEAFS)]) {
    const keyPem = str(f, c.replace(/\.crt$/, '.key'));
    assert.ok(keyPem.startsWith('-----BEGIN EC PRIVATE KEY-----\n'), c);
    const key = createPrivateKey(keyPem);
    assert.is(key.asymmetricKeyType, 'ec');
    assert.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const i = await info(str(f, c));
    assert.ok(i.x.checkPrivateKey(key), c);
    assert.is(i.sigAlg, 'ecdsa-with-SHA256', c);
  }
  assert.ok(await verify(str(f, 'etcd/ca.crt'), str(f, 'etcd/server.crt')));
  const k = kubeconfig(f, 'admin.conf');
  assert.ok(k.keyPem.startsWith('-----BEGIN EC PRIVATE KEY-----'));
  assert.ok((await info(k.certPem)).x.checkPrivateKey(createPrivateKey(k.keyPem)));
  const ku = (await info(str(f, 'apiserver.crt'))).ext.ku;
  assert.equal(ku, { critical: true, value: 'Digital Signature, Key Encipherment' });
  assert.is(createPrivateKey(str(f, 'sa.key')).asymmetricKeyType, 'ec');
});

v('key sharing: never across PKIs unless reuseKeys', async () => {
  const keysOf = (f: Files) => new Set([...f].filter(([n]) => n.endsWith('.key')).map(([, b]) => b.toString()));
  const a = keysOf(base);
  const b = keysOf(await generatePki({ name: 'b', namespace: NS }));
  assert.is([...b].filter((k) => a.has(k)).length, 0, 'fresh PKIs share no keys');
  const r1 = keysOf(await generatePki({ name: 'r1', namespace: NS, reuseKeys: true }));
  const r2 = keysOf(await generatePki({ name: 'r2', namespace: NS, reuseKeys: true }));
  assert.is([...r1].filter((k) => r2.has(k)).length, r1.size, 'reuseKeys PKIs share keys');
  assert.is([...r1].filter((k) => a.has(k) || b.has(k)).length, 0, 'reuse pool is separate from fresh keys');
});

v('caSource: rotate-like re-issue keeps CAs and SA keys', async () => {
  const later = START + 10 * DAY;
  const f = await generatePki({ name: NAME, namespace: NS, caSource: base, now: new Date(later) });
  for (const c of ['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'server-ca.crt', 'client-ca.key', 'sa.key', 'sa.pub']) {
    assert.is(str(f, c), str(base, c), c);
  }
  for (const [c, [, , caFile]] of Object.entries(LEAFS)) {
    assert.is.not(str(f, c), str(base, c), `${c} re-issued`);
    assert.is.not(str(f, c.replace('.crt', '.key')), str(base, c.replace('.crt', '.key')), `${c} new key`);
    assert.ok(await verify(str(base, caFile), str(f, c)), `${c} from the old CA`);
    assert.is((await info(str(f, c))).x.validFromDate.getTime(), later - 5 * MIN, `${c} NotBefore`);
  }
  // kubeconfig client certs: NotBefore = the (old) CA's NotBefore, NotAfter = new start + 365 d
  for (const c of Object.keys(KUBECONFIGS)) {
    const i = await info(kubeconfig(f, c).certPem);
    assert.is(i.x.validFromDate.getTime(), START - 5 * MIN, `${c} NotBefore`);
    assert.is(i.x.validToDate.getTime(), later + 365 * DAY, `${c} NotAfter`);
    assert.is(kubeconfig(f, c).caPem, firstPem(str(base, 'ca.crt')));
  }
});

v('low-level helpers: foreign CA and leaf', async () => {
  const foreign = await createCA('foreign-ca', { keyType: 'ecdsa' });
  const leaf = await issueLeaf(foreign, { cn: 'kube-apiserver', eku: ['serverAuth'], dnsNames: ['b', 'a', 'b'], ipAddresses: ['10.0.0.1'] });
  const i = await info(leaf.cert);
  assert.equal(sans(i), { dns: ['a', 'b'], ips: ['10.0.0.1'] });
  assert.ok(await verify(foreign.cert, leaf.cert));
  assert.not.ok(await verify(str(base, 'ca.crt'), leaf.cert));
  // arbitrary dates, explicit serial, self-signed leaf (e2e "expiring test cert")
  const nb = new Date(Date.now() - 3600_000);
  const na = new Date(Date.now() + 30 * DAY);
  const ss = await issueWithOpenssl({ subject: { CN: 'kube-apiserver' }, keyType: 'ecdsa', isCA: false, extKeyUsage: ['serverAuth'], notBefore: nb, notAfter: na, serial: 0xabcdefn });
  const s = await info(ss.cert);
  assert.is(s.serial, 0xabcdefn);
  assert.equal(s.issuer, ['CN=kube-apiserver']);
  assert.is(s.x.validFromDate.getTime(), Math.floor(nb.getTime() / 1000) * 1000);
  assert.is(s.x.validToDate.getTime(), Math.floor(na.getTime() / 1000) * 1000);
  assert.equal(s.ext.bc?.value, 'CA:FALSE');
  // names needing UTF8String / escaping survive
  const odd = await issueWithOpenssl({ subject: { CN: 'a/b+c=d@e', O: ['x y', 'z'] }, issuer: foreign, notBefore: nb, notAfter: na });
  assert.equal((await info(odd.cert)).subject, ['O=x y', 'O=z', 'CN=a/b\\+c=d@e']); // node escapes '+'
});

v('temp dirs are removed', async () => {
  // A private TMPDIR: other test files generate PKIs in the shared one at the same time.
  const own = await mkdtemp(join(tmpRoot, 'tmpdir-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = own;
  try {
    assert.is(tmpdir(), own);
    await generatePki({ name: NAME, namespace: NS, reuseKeys: true });
    await createCA('x');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  assert.equal(await readdir(own), []);
});

v('disk key cache: a second process reuses the first one\'s keys ($VCERTS_TEST_CACHE)', async () => {
  const cache = await mkdtemp(join(tmpRoot, 'cache-'));
  const mod = fileURLToPath(new URL('./pkigen.ts', import.meta.url));
  const script = `import { generatePki, keyPoolStats } from ${JSON.stringify(mod)};
const f = await generatePki({ name: 'c', namespace: 'n' });
console.log(JSON.stringify({ ...keyPoolStats(), key: f.get('apiserver.key').toString() }));`;
  const run = async () => {
    const r = await execFileP(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, VCERTS_TEST_CACHE: cache },
      encoding: 'utf8',
    });
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { generated: number; fromDisk: number; key: string };
  };
  const first = await run();
  assert.is(first.generated, 14);
  assert.is(first.fromDisk, 0);
  const files = await readdir(join(cache, 'rsa-2048'));
  assert.is(files.filter((n) => n.endsWith('.pem')).length, 14);
  const second = await run();
  assert.is(second.generated, 0);
  assert.is(second.fromDisk, 14);
  assert.is(second.key, first.key);
});

v.after(async () => {
  await rm(tmpRoot, { recursive: true, force: true });
});

v.run();
