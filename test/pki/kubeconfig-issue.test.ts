// The pure parts of `kubeconfig issue`: request checks, the client certificate profile (read by
// openssl and node:crypto), the kubeconfig it writes, and the O_EXCL / 0600 file write.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { clientSubjectHex, issueKubeconfig, prepareIssue, validateRequest, writeKubeconfigFile, type IssueRequest } from '../../src/flows/kubeconfig-issue.js';
import { UserError } from '../../src/errors.js';
import { generatePki, pemBlocks } from '../cluster/pkigen.js';
import { leaksKey, openssl, opensslCert, opensslVerify } from './helpers.js';
import type { PkiFiles } from '../../src/pki/types.js';

const test = suite('flows/kubeconfig-issue');
const DAY = 86_400_000;
let pki: PkiFiles;
let split: PkiFiles;
let dir = '';

const req = (over: Partial<IssueRequest> = {}): IssueRequest => ({
  vcName: 'kc', namespace: 'ns', user: 'alice', groups: ['dev'], validityMs: 30 * DAY, keyType: 'rsa-2048',
  server: 'https://localhost:8443', now: new Date(), ...over,
});

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kc-issue-'));
  [pki, split] = await Promise.all([
    generatePki({ name: 'kc', namespace: 'ns', reuseKeys: true }),
    generatePki({ name: 'sp', namespace: 'ns', splitCA: true, reuseKeys: true }),
  ]);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

function userError(fn: () => unknown, re: RegExp) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /\n/);
    return;
  }
  assert.unreachable('expected a UserError');
}

test('validateRequest: system:masters only when allowed; user, groups, server and key type checked', () => {
  userError(() => validateRequest(req({ groups: ['dev', 'system:masters'] })), /system:masters.*--allow-system-masters/);
  validateRequest(req({ groups: ['system:masters'], allowSystemMasters: true }));
  userError(() => validateRequest(req({ user: '' })), /--user/);
  userError(() => validateRequest(req({ user: ' bob' })), /--user/);
  userError(() => validateRequest(req({ groups: [''] })), /--group/);
  userError(() => validateRequest(req({ server: 'http://localhost:8443' })), /https/);
  userError(() => validateRequest(req({ server: 'localhost' })), /not a URL/);
  userError(() => validateRequest(req({ keyType: 'dsa' })), /--key-type.*ecdsa-p256/);
  userError(() => validateRequest(req({ validityMs: 0 })), /--validity/);
});

test('clientSubjectHex: the DER openssl reads as O=..., CN=...; UTF8String only when needed', async () => {
  const asn1 = async (hex: string) => openssl(['asn1parse', '-inform', 'DER'], Buffer.from(hex, 'hex'));
  const plain = await asn1(clientSubjectHex('alice', ['dev', 'system:masters']));
  assert.match(plain, /organizationName\n.*PRINTABLESTRING +:dev/);
  assert.match(plain, /organizationName\n.*PRINTABLESTRING +:system:masters/);
  assert.match(plain, /commonName\n.*PRINTABLESTRING +:alice/);
  assert.ok(plain.indexOf('organizationName') < plain.indexOf('commonName'), 'O before CN, as Go orders pkix.Name');
  const utf = await asn1(clientSubjectHex('jürgen', []));
  assert.match(utf, /UTF8STRING/);
  assert.not.match(utf, /organizationName/);
});

test('issueKubeconfig: the kubeadm client profile, checked by openssl; the key only in the YAML', async () => {
  const r = req({ groups: ['dev', 'ops'] });
  const issued = await issueKubeconfig(pki, r);
  const kc = parseYaml(issued.yaml);
  const certPem = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64').toString();
  const keyPem = Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString();
  assert.ok(keyPem.startsWith('-----BEGIN RSA PRIVATE KEY-----'), 'PKCS#1, as kubeadm writes RSA keys');
  assert.ok((await opensslVerify(pki.get('client-ca.crt')!, certPem, ['-purpose', 'sslclient'])).ok);
  const o = await opensslCert(certPem);
  assert.match(o.keyUsage, /^critical:Digital Signature, Key Encipherment$/);
  assert.is(o.extKeyUsage, 'TLS Web Client Authentication');
  assert.is(o.basicConstraints, 'critical:CA:FALSE');
  assert.equal(o.dns, []);
  const ca = new X509Certificate(pki.get('client-ca.crt')!);
  assert.match(o.text, new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${(await opensslCert(pki.get('client-ca.crt')!)).skid!.replace(/(..)(?!$)/g, '$1:').toUpperCase()}`));
  const x = new X509Certificate(certPem);
  assert.ok(x.verify(ca.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(keyPem)));
  assert.is(new Date(x.validFrom).getTime(), Math.floor((r.now.getTime() - 5 * 60_000) / 1000) * 1000, 'NotBefore = now - 5 min, seconds');
  assert.is(new Date(x.validTo).getTime(), Math.floor((r.now.getTime() + 30 * DAY) / 1000) * 1000);
  const caData = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  assert.is(caData, pemBlocks(pki.get('server-ca.crt')!)[0]);
  assert.is(kc.contexts[0].name, 'alice@vcluster_kc_ns');
  assert.is(kc['current-context'], 'alice@vcluster_kc_ns');
  assert.equal(issued.plan.groups.sort(), ['dev', 'ops']);
  assert.equal(issued.warnings, []);
  assert.not.ok(leaksKey(JSON.stringify(issued.plan), keyPem), 'the plan holds no key');
});

test('issueKubeconfig: split CA signs with client-ca (= ca) and trusts server-ca; ECDSA P-384 on request', async () => {
  const issued = await issueKubeconfig(split, req({ keyType: 'ecdsa-p384' }));
  const kc = parseYaml(issued.yaml);
  const certPem = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64');
  const caData = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  assert.is(caData, pemBlocks(split.get('server-ca.crt')!)[0]);
  assert.is.not(caData, pemBlocks(split.get('ca.crt')!)[0]);
  assert.ok((await opensslVerify(split.get('client-ca.crt')!, certPem)).ok);
  assert.not.ok((await opensslVerify(split.get('server-ca.crt')!, certPem)).ok, 'not signed by server-ca');
  const key = createPrivateKey(Buffer.from(kc.users[0].user['client-key-data'], 'base64'));
  assert.is(key.asymmetricKeyDetails?.namedCurve, 'secp384r1');
});

test('prepareIssue: a validity beyond the client CA, an expired CA, a missing CA key are one-line errors', async () => {
  userError(() => prepareIssue(pki, req({ validityMs: 20 * 365 * DAY })), /expires on .* use --validity 36\d\dd or less/);
  userError(() => prepareIssue(pki, req({ now: new Date(Date.now() + 11 * 365 * DAY), validityMs: DAY })), /not valid now/);
  const noKey: PkiFiles = new Map(pki);
  noKey.delete('client-ca.key');
  userError(() => prepareIssue(noKey, req()), /no client-ca\.crt\/client-ca\.key/);
  const wrongKey: PkiFiles = new Map(pki);
  wrongKey.set('client-ca.key', pki.get('apiserver.key')!);
  userError(() => prepareIssue(wrongKey, req()), /does not match/);
});

test('writeKubeconfigFile: 0600, refuses an existing file and a symlink, replaces with overwrite', () => {
  const p = join(dir, 'a.kubeconfig');
  writeKubeconfigFile(p, 'one\n', false);
  assert.is(statSync(p).mode & 0o777, 0o600);
  userError(() => writeKubeconfigFile(p, 'two\n', false), /already exists/);
  assert.is(readFileSync(p, 'utf8'), 'one\n');
  const target = join(dir, 'target');
  const link = join(dir, 'link.kubeconfig');
  symlinkSync(target, link);
  userError(() => writeKubeconfigFile(link, 'secret\n', false), /already exists/);
  assert.not.ok(existsSync(target), 'a dangling symlink is not followed');
  writeFileSync(join(dir, 'loose'), 'x', { mode: 0o644 });
  writeKubeconfigFile(join(dir, 'loose'), 'new\n', true);
  assert.is(readFileSync(join(dir, 'loose'), 'utf8'), 'new\n');
  assert.is(statSync(join(dir, 'loose')).mode & 0o777, 0o600);
  userError(() => writeKubeconfigFile(join(dir, 'missing-dir', 'x'), 'y', false), /cannot create/);
});

test.run();
