// certMap <-> Secret data, and kubeconfig reading / credential replacement.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  CERT_MAP_FILES,
  fileRole,
  filesFromSecretData,
  isSplitCA,
  missingCertMapFiles,
  secretDataFromFiles,
  secretKeyForFile,
  expectedIssuer,
} from '../../src/pki/certmap.js';
import { parseKubeconfig, currentCredentials } from '../../src/pki/kubeconfig.js';
import { replaceKubeconfigCredentials } from '../../src/pki/kubeconfig-edit.js';
import { generatePki } from '../cluster/index.js';
import { leaksKey } from './helpers.js';

const test = suite('pki/certmap+kubeconfig');

test('certMap has the 29 upstream files; etcd/x <-> etcd-x', () => {
  assert.is(CERT_MAP_FILES.length, 29);
  assert.is(new Set(CERT_MAP_FILES).size, 29);
  assert.is(secretKeyForFile('etcd/healthcheck-client.key'), 'etcd-healthcheck-client.key');
  assert.is(secretKeyForFile('apiserver-etcd-client.crt'), 'apiserver-etcd-client.crt');
  assert.is(fileRole('etcd/ca.key'), 'ca-key');
  assert.is(fileRole('server-ca.crt'), 'ca-cert');
  assert.is(fileRole('etcd/peer.crt'), 'leaf-cert');
  assert.is(fileRole('admin.conf'), 'kubeconfig');
  assert.is(fileRole('sa.pub'), 'sa');
  assert.is(fileRole('extra.crt'), 'unknown');
  assert.is(expectedIssuer('apiserver.crt', false), 'ca.crt');
  assert.is(expectedIssuer('apiserver.crt', true), 'server-ca.crt');
  assert.is(expectedIssuer('etcd/server.crt', true), 'etcd/ca.crt');
  assert.is(expectedIssuer('front-proxy-client.crt', false), 'front-proxy-ca.crt');
  assert.is(expectedIssuer('scheduler.conf', true), 'ca.crt');
});

test('Secret data round trip (29 keys, etcd- prefix, unknown keys kept as files)', async () => {
  const pki = await generatePki({ name: 'cm', namespace: 'ns', reuseKeys: true });
  const data = secretDataFromFiles(pki);
  assert.is(Object.keys(data).length, 29);
  assert.ok('etcd-ca.crt' in data && 'etcd-peer.key' in data && !('etcd/ca.crt' in data));
  assert.is(Buffer.from(data['etcd-server.crt']!, 'base64').toString(), pki.get('etcd/server.crt')!.toString());
  const back = filesFromSecretData({ ...data, 'custom.txt': Buffer.from('x').toString('base64') });
  assert.is(back.size, 30);
  for (const [k, v] of pki) assert.ok(back.get(k)!.equals(v), k);
  assert.is(back.get('custom.txt')!.toString(), 'x');
  // unknown files only when asked, and never with a '/'
  const withExtra = new Map(pki).set('custom.txt', Buffer.from('x')).set('dir/x.crt', Buffer.from('y'));
  assert.is(Object.keys(secretDataFromFiles(withExtra)).length, 29);
  const inc = secretDataFromFiles(withExtra, { includeUnknown: true });
  assert.is(Object.keys(inc).length, 30);
  assert.ok('custom.txt' in inc);
});

test('secretDataFromFiles refuses a missing or empty certMap file', async () => {
  const pki = await generatePki({ name: 'cm2', namespace: 'ns', reuseKeys: true });
  pki.delete('sa.pub');
  pki.set('etcd/peer.key', Buffer.alloc(0));
  assert.equal(missingCertMapFiles(pki), ['sa.pub', 'etcd/peer.key']);
  assert.throws(() => secretDataFromFiles(pki), /missing or empty: sa\.pub, etcd\/peer\.key/);
  assert.is(Object.keys(secretDataFromFiles(pki, { allowMissing: true })).length, 27);
  assert.throws(() => filesFromSecretData({ 'ca.crt': 'not base64 !!' }), /not valid base64/);
});

test('split CA detection', async () => {
  const plain = await generatePki({ name: 'sp1', namespace: 'ns', reuseKeys: true });
  const split = await generatePki({ name: 'sp2', namespace: 'ns', splitCA: true, reuseKeys: true });
  assert.not.ok(isSplitCA(plain));
  assert.ok(isSplitCA(split));
});

const KC = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: "Q0E="
    server: https://127.0.0.1:6443
  name: kubernetes
- cluster:
    certificate-authority-data: T1RIRVI=
    server: https://other:443
  name: other
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-super-admin
  name: kubernetes-super-admin@kubernetes
- context:
    cluster: other
    user: someone
  name: other
current-context: kubernetes-super-admin@kubernetes
kind: Config
preferences: {}
users:
- name: someone
  user:
    token: abc # keep me
- name: kubernetes-super-admin
  user:
    client-certificate-data: Q0VSVA==   # trailing comment
    client-key-data: |
      S0VZ
`;

test('parseKubeconfig decodes the current credentials; the key is not enumerable', () => {
  const kc = parseKubeconfig(KC);
  assert.is(kc.currentContext, 'kubernetes-super-admin@kubernetes');
  const { cluster, user } = currentCredentials(kc);
  assert.is(cluster.name, 'kubernetes');
  assert.is(cluster.certificateAuthorityData!.toString(), 'CA');
  assert.is(user.clientCertificateData!.toString(), 'CERT');
  assert.is(user.clientKeyData!.toString(), 'KEY');
  assert.not.ok(JSON.stringify(kc).includes('S0VZ') || JSON.stringify(kc).includes('"KEY"'));
  assert.not.ok(inspect(kc, { depth: 10 }).includes('KEY'));
});

test('replaceKubeconfigCredentials changes only the three values (text diff) and keeps quoting/comments', () => {
  const out = replaceKubeconfigCredentials(KC, { clientCertPem: 'NEWCERT', clientKeyPem: 'NEWKEY', caPem: 'NEWCA' });
  const b = (s: string) => Buffer.from(s).toString('base64');
  const expected = KC.replace('"Q0E="', `"${b('NEWCA')}"`)
    .replace('client-certificate-data: Q0VSVA==', `client-certificate-data: ${b('NEWCERT')}`)
    .replace('|\n      S0VZ\n', `${b('NEWKEY')}\n`);
  assert.is(out, expected);
  const y = parseYaml(out);
  assert.is(y.clusters[1].cluster['certificate-authority-data'], 'T1RIRVI=');
  assert.is(y.users[0].user.token, 'abc');
  // only the cert: the key and CA stay
  const onlyCert = replaceKubeconfigCredentials(KC, { clientCertPem: 'X' });
  assert.is(onlyCert, KC.replace('Q0VSVA==', b('X')));
  assert.is(replaceKubeconfigCredentials(KC, {}), KC);
});

test('replaceKubeconfigCredentials on a pkigen kubeconfig keeps every other line', async () => {
  const pki = await generatePki({ name: 'kc', namespace: 'ns', reuseKeys: true });
  const text = pki.get('controller-manager.conf')!.toString();
  const out = replaceKubeconfigCredentials(text, { clientCertPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', clientKeyPem: 'k' });
  const a = text.split('\n');
  const c = out.split('\n');
  assert.is(a.length, c.length);
  const changed = a.map((l, i) => (l === c[i] ? null : l.trim().split(':')[0])).filter(Boolean);
  assert.equal(changed.sort(), ['client-certificate-data', 'client-key-data']);
});

test('missing field is added through the Document API; errors never quote the YAML', () => {
  const noKey = KC.replace(/    client-key-data: \|\n      S0VZ\n/, '');
  const out = replaceKubeconfigCredentials(noKey, { clientKeyPem: 'K2' });
  assert.is(parseYaml(out).users[1].user['client-key-data'], Buffer.from('K2').toString('base64'));
  assert.is(parseYaml(out).users[0].user.token, 'abc');
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const secret = Buffer.from(keyPem).toString('base64');
  const broken = `users:\n- name: a\n  user:\n    client-key-data: ${secret}\n   bad: [\n`;
  for (const fn of [() => parseKubeconfig(broken), () => replaceKubeconfigCredentials(broken, { clientCertPem: 'x' })]) {
    try {
      fn();
      assert.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      assert.match(msg, /^kubeconfig is not valid YAML/);
      assert.not.ok(msg.includes(secret.slice(0, 12)), msg);
      assert.not.ok(leaksKey(msg, keyPem));
    }
  }
  assert.throws(() => parseKubeconfig('users:\n- name: a\n  user:\n    client-key-data: "%%%"\n'), /client-key-data is not base64/);
});

test.run();
