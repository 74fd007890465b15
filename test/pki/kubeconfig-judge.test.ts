// The pure judgment of `kubeconfig check`: chains as Go would build them, which contexts are the
// vCluster's, and the status of each. Certificates are made by openssl (test/cluster/pkigen.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify as toYaml } from 'yaml';
import {
  belongsTo, contextsOf, endpointOf, judgeContext, judgeKubeconfig, servedPki, type ContextEntry, type JudgeOptions,
} from '../../src/flows/kubeconfig-judge.js';
import { createCA, generatePki, issueLeaf, issueWithOpenssl, pemBlocks, takeKeys, type CertAndKey } from '../cluster/pkigen.js';
import { opensslVerify } from './helpers.js';
import type { PkiFiles } from '../../src/pki/types.js';

const test = suite('flows/kubeconfig-judge');
const DAY = 86_400_000;
const VC = { name: 'kc', namespace: 'ns' };
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const opts = (over: Partial<JudgeOptions> = {}): JudgeOptions => ({ now: new Date(), warnWithinMs: 30 * DAY, ...over });

let pki: PkiFiles;
let split: PkiFiles;
let clientCA: CertAndKey;
let serverCAPem: string;

test.before(async () => {
  [pki, split] = await Promise.all([
    generatePki({ name: 'kc', namespace: 'ns', reuseKeys: true }),
    generatePki({ name: 'sp', namespace: 'ns', splitCA: true, reuseKeys: true }),
  ]);
  clientCA = { cert: pemBlocks(pki.get('client-ca.crt')!)[0]!, key: pki.get('client-ca.key')!.toString() };
  serverCAPem = pemBlocks(pki.get('server-ca.crt')!)[0]!;
});

function entry(o: { caPem?: string; certPem?: string; keyPem?: string; server?: string; context?: string; cluster?: Record<string, unknown>; user?: Record<string, unknown> }): ContextEntry {
  const clusterBody: Record<string, unknown> = { server: o.server ?? 'https://localhost:8443', ...(o.caPem ? { 'certificate-authority-data': b64(o.caPem) } : {}), ...o.cluster };
  const userBody: Record<string, unknown> = {
    ...(o.certPem ? { 'client-certificate-data': b64(o.certPem) } : {}),
    ...(o.keyPem ? { 'client-key-data': b64(o.keyPem) } : {}),
    ...o.user,
  };
  return { context: o.context ?? 'c', cluster: 'k', user: 'u', server: String(clusterBody.server ?? ''), clusterBody, userBody };
}

async function client(issuer: CertAndKey, o: { cn?: string; eku?: Array<'clientAuth' | 'serverAuth'>; notBefore?: Date; notAfter?: Date } = {}) {
  return issueLeaf(issuer, { cn: o.cn ?? 'alice', org: ['dev'], eku: o.eku ?? ['clientAuth'], notBefore: o.notBefore, notAfter: o.notAfter });
}

test('the kubeconfigs vCluster generates are trusted by both endpoints and accepted', () => {
  const served = servedPki(pki);
  assert.equal(served.problems, []);
  for (const f of ['admin.conf', 'controller-manager.conf', 'scheduler.conf']) {
    const v = judgeKubeconfig(pki.get(f)!, served, VC, true, opts()).contexts[0]!;
    assert.is(v.status, 'OK', `${f}: ${v.problems.join('; ')}`);
    assert.is(v.endpoint, 'apiserver', 'https://127.0.0.1:6443 is kube-apiserver');
    assert.equal(v.ca.trusts, { proxy: true, apiserver: true });
    assert.is(v.client.status, 'accepted');
    assert.is(v.client.keyMatches, true);
  }
});

test('split CA (migrated k3s): server-ca is what both endpoints chain to; ca.crt as CA data is untrusted', () => {
  const served = servedPki(split);
  const admin = judgeKubeconfig(split.get('admin.conf')!, served, VC, true, opts()).contexts[0]!;
  assert.is(admin.status, 'OK', admin.problems.join('; '));
  const caOnly = pemBlocks(split.get('ca.crt')!)[0]!;
  const v = judgeContext(entry({ caPem: caOnly, user: { token: 't' } }), served, opts());
  assert.is(v.ca.status, 'untrusted');
  assert.equal(v.ca.trusts, { proxy: false, apiserver: false });
  assert.is(v.status, 'UNTRUSTED');
});

test('a cross-signed server-ca is trusted by the old CA (chain through the served CA); a same-name CA with another key is not', async () => {
  const [oldKey, newKey] = await takeKeys(2);
  const now = Date.now();
  const old = await createCA('kubernetes', { key: oldKey });
  const fresh = await createCA('kubernetes', { key: newKey });
  const cross = await issueWithOpenssl({ subject: { CN: 'kubernetes' }, key: newKey, issuer: old, isCA: true, subjectKeyId: true, dnsNames: ['kubernetes'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 100 * DAY) });
  assert.ok((await opensslVerify(old.cert, cross.cert)).ok, 'openssl agrees the cross-signed CA chains to the old one');
  const files: PkiFiles = new Map(pki);
  files.set('server-ca.crt', Buffer.from(cross.cert));
  const served = servedPki(files);
  const viaOld = judgeContext(entry({ caPem: old.cert, user: { token: 't' } }), served, opts({ warnWithinMs: 0 }));
  assert.is(viaOld.ca.status, 'trusted', viaOld.problems.join('; '));
  assert.is(viaOld.ca.anchor!.sha256.replace(/:/g, '').toLowerCase().length, 64);
  // the self-signed twin of the new CA: same name, same key, other bytes
  const viaNew = judgeContext(entry({ caPem: fresh.cert, user: { token: 't' } }), served, opts({ warnWithinMs: 0 }));
  assert.is(viaNew.ca.status, 'trusted', 'same subject and key verify the proxy leaf directly');
  const stranger = await createCA('kubernetes');
  const viaStranger = judgeContext(entry({ caPem: stranger.cert, user: { token: 't' } }), served, opts());
  assert.is(viaStranger.ca.status, 'untrusted');
});

test('an expired anchor trusts nothing (Go checks the root\'s dates too); one expiring soon is EXPIRING', async () => {
  const key = pki.get('server-ca.key')!.toString();
  const now = Date.now();
  const expired = await issueWithOpenssl({ subject: { CN: 'kubernetes' }, key, isCA: true, dnsNames: ['kubernetes'], notBefore: new Date(now - 20 * DAY), notAfter: new Date(now - DAY) });
  const soon = await issueWithOpenssl({ subject: { CN: 'kubernetes' }, key, isCA: true, dnsNames: ['kubernetes'], notBefore: new Date(now - DAY), notAfter: new Date(now + 5 * DAY) });
  const served = servedPki(pki);
  const a = judgeContext(entry({ caPem: expired.cert, user: { token: 't' } }), served, opts());
  assert.is(a.status, 'UNTRUSTED');
  assert.match(a.problems.join('\n'), /1 of its 1 certificates are outside their validity/);
  const b = judgeContext(entry({ caPem: soon.cert, user: { token: 't' } }), served, opts());
  assert.is(b.ca.status, 'trusted');
  assert.is(b.status, 'EXPIRING');
  assert.match(b.notes.join('\n'), /the CA it trusts .* expires on/);
  assert.is(judgeContext(entry({ caPem: soon.cert, user: { token: 't' } }), served, opts({ warnWithinMs: DAY })).status, 'OK');
});

test('client certificates: EKU, empty CN, intermediates sent along, key match', async () => {
  const served = servedPki(pki);
  const server = await client(clientCA, { eku: ['serverAuth'] });
  const v1 = judgeContext(entry({ caPem: serverCAPem, certPem: server.cert, keyPem: server.key }), served, opts());
  assert.is(v1.status, 'REJECTED');
  assert.match(v1.problems.join('\n'), /extended key usage/);

  const noCN = await issueWithOpenssl({ subject: { O: ['dev'] }, issuer: clientCA, extKeyUsage: ['clientAuth'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 100 * DAY) });
  const v2 = judgeContext(entry({ caPem: serverCAPem, certPem: noCN.cert, keyPem: noCN.key }), served, opts());
  assert.is(v2.status, 'REJECTED');
  assert.match(v2.problems.join('\n'), /no common name/);

  const inter = await issueWithOpenssl({ subject: { CN: 'team-ca' }, issuer: clientCA, isCA: true, subjectKeyId: true, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 200 * DAY) });
  const leaf = await client({ cert: inter.cert, key: inter.key });
  const withChain = judgeContext(entry({ caPem: serverCAPem, certPem: leaf.cert + inter.cert, keyPem: leaf.key }), served, opts());
  assert.is(withChain.status, 'OK', withChain.problems.join('; '));
  assert.is(withChain.client.acceptedBy!.subject, '/CN=kubernetes');
  const alone = judgeContext(entry({ caPem: serverCAPem, certPem: leaf.cert, keyPem: leaf.key }), served, opts());
  assert.is(alone.status, 'REJECTED', 'without its intermediate the leaf does not reach client-ca');
  assert.match(alone.problems.join('\n'), /issued by "\/CN=team-ca"/);

  const other = await client(clientCA);
  const mismatch = judgeContext(entry({ caPem: serverCAPem, certPem: leaf.cert + inter.cert, keyPem: other.key }), served, opts());
  assert.is(mismatch.status, 'INVALID');
  assert.is(mismatch.client.keyMatches, false);
  const keyless = judgeContext(entry({ caPem: serverCAPem, certPem: other.cert }), served, opts());
  assert.is(keyless.status, 'INVALID');
  assert.match(keyless.problems.join('\n'), /no client key/);
});

test('status order: an expired certificate of a foreign CA reads EXPIRED; every reason is listed', async () => {
  const stranger = await createCA('kubernetes');
  const old = await client(stranger, { notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
  const v = judgeContext(entry({ caPem: stranger.cert, certPem: old.cert, keyPem: old.key }), servedPki(pki), opts());
  assert.is(v.status, 'EXPIRED');
  assert.is(v.ca.status, 'untrusted');
  assert.is(v.client.status, 'rejected');
  assert.is(v.problems.length, 3, v.problems.join('\n'));
  const future = await client(clientCA, { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 100 * DAY) });
  assert.is(judgeContext(entry({ caPem: serverCAPem, certPem: future.cert, keyPem: future.key }), servedPki(pki), opts()).status, 'NOT YET VALID');
});

test('CA data: absent (system roots) is UNTRUSTED, insecure-skip-tls-verify is noted, a file path is read through readFile', () => {
  const served = servedPki(pki);
  assert.is(judgeContext(entry({ user: { token: 't' } }), served, opts()).status, 'UNTRUSTED');
  const insecure = judgeContext(entry({ cluster: { 'insecure-skip-tls-verify': true }, user: { token: 't' } }), served, opts());
  assert.is(insecure.status, 'OK');
  assert.is(insecure.ca.status, 'insecure');
  assert.match(insecure.notes.join('\n'), /not verified/);
  const byPath = entry({ cluster: { 'certificate-authority': 'ca.pem' }, user: { token: 't' } });
  const read: string[] = [];
  const ok = judgeContext(byPath, served, opts({ readFile: (p) => { read.push(p); return Buffer.from(serverCAPem); } }));
  assert.is(ok.ca.status, 'trusted');
  assert.equal(read, ['ca.pem']);
  const unread = judgeContext(byPath, served, opts());
  assert.is(unread.status, 'UNKNOWN');
  assert.match(unread.problems.join('\n'), /refers to the file ca\.pem/);
});

test('credential kinds: token, exec, none; the endpoint follows the port', () => {
  const served = servedPki(pki);
  const kind = (user: Record<string, unknown>) => judgeContext(entry({ caPem: serverCAPem, user }), served, opts()).client;
  assert.equal(kind({ token: 'x' }), { kind: 'token', status: 'not-certificate' });
  assert.is(kind({ exec: { command: 'vcluster' } }).kind, 'exec');
  assert.is(kind({}).kind, 'none');
  assert.is(endpointOf('https://127.0.0.1:6443'), 'apiserver');
  assert.is(endpointOf('https://localhost:8443'), 'proxy');
  assert.is(endpointOf('https://kc.ns.svc'), 'proxy');
});

test('belongsTo: CA data, client certificate, vcluster connect names, the Service name; nothing else', async () => {
  const served = servedPki(pki);
  const stranger = await createCA('kubernetes');
  const foreign = await client(stranger);
  const mine = await client(clientCA);
  assert.is(belongsTo(entry({ caPem: serverCAPem }), served, VC), 'CA data');
  assert.is(belongsTo(entry({ caPem: stranger.cert, certPem: mine.cert }), served, VC), 'client certificate');
  assert.is(belongsTo(entry({ caPem: stranger.cert, context: 'vcluster_kc_ns_kind-host' }), served, VC), 'context name');
  assert.is(belongsTo(entry({ caPem: stranger.cert, context: 'alice@vcluster_kc_ns' }), served, VC), 'context name');
  assert.is(belongsTo(entry({ caPem: stranger.cert, server: 'https://kc.ns.svc.cluster.local' }), served, VC), 'server');
  assert.is(belongsTo(entry({ caPem: stranger.cert, certPem: foreign.cert, context: 'vcluster_kc_nsx_h', server: 'https://kc.other' }), served, VC), undefined);
});

test('judgeKubeconfig: a single context is judged whatever it is; of several only this vCluster\'s', async () => {
  const stranger = await createCA('kubernetes');
  const doc = (contexts: string[]) => toYaml({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'mine', cluster: { server: 'https://localhost:8443', 'certificate-authority-data': b64(serverCAPem) } }, { name: 'theirs', cluster: { server: 'https://x', 'certificate-authority-data': b64(stranger.cert) } }],
    users: [{ name: 'u', user: { token: 't' } }],
    contexts: contexts.map((c) => ({ name: c, context: { cluster: c, user: 'u' } })),
  });
  const served = servedPki(pki);
  const one = judgeKubeconfig(doc(['theirs']), served, VC, false, opts());
  assert.equal(one.contexts.map((c) => c.status), ['UNTRUSTED']);
  const two = judgeKubeconfig(doc(['theirs', 'mine']), served, VC, false, opts());
  assert.equal(two.contexts.map((c) => c.context), ['mine']);
  assert.equal(two.skipped, ['theirs']);
  assert.equal(judgeKubeconfig(doc(['theirs', 'mine']), served, VC, true, opts()).skipped, [], 'all: the Secret\'s contexts are all judged');
  assert.equal(contextsOf({ clusters: [{ name: 'a', cluster: {} }], users: [{ name: 'b', user: {} }] }).map((e) => [e.cluster, e.user]), [['a', 'b']]);
  assert.throws(() => judgeKubeconfig('clusters: [ {{ bad', served, VC, true, opts()), (e: Error) => /not valid YAML/.test(e.message) && !e.message.includes('{{'));
});

test('a PKI without readable server-ca.crt or client-ca.crt makes the judgment UNKNOWN, not OK', () => {
  const files: PkiFiles = new Map(pki);
  files.set('server-ca.crt', Buffer.from('garbage'));
  files.delete('client-ca.crt');
  const served = servedPki(files);
  assert.is(served.problems.length, 2);
  const v = judgeKubeconfig(pki.get('admin.conf')!.toString().replace('https://127.0.0.1:6443', 'https://localhost:8443'), served, VC, true, opts()).contexts[0]!;
  assert.is(v.status, 'UNKNOWN');
  assert.is(v.client.status, 'unknown');
});

test.run();
