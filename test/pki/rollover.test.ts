// The graceful CA rollover's PKI layouts, judged by openssl and node:crypto (never by the code
// that made them): during the window a client trusting only the old CA and one trusting only the
// new CA both verify what the vCluster serves, and client certificates of both CAs are accepted;
// vCluster's own rules hold (server-ca.crt one certificate; ca, server-ca and client-ca start with
// the same certificate, so no split signing). After the finalize only the new CA is trusted.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { finalizeRollover, rolloverState, RolloverRefused, startRollover } from '../../src/pki/rollover.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/index.js';
import { certBlocks, opensslKeyMatches, opensslVerify } from './helpers.js';

const test = suite('CA rollover');
const DAY = 86_400_000;
const opts = { now: new Date(), validityMs: 365 * DAY, caValidityMs: 3650 * DAY };
let OLD: PkiFiles;
let WINDOW: PkiFiles;
let FINAL: PkiFiles;

const text = (f: PkiFiles, p: string) => f.get(p)!.toString();
function kubeconfigField(f: PkiFiles, p: string, field: string): string {
  const m = new RegExp(`${field}: (\\S+)`).exec(text(f, p));
  return Buffer.from(m![1]!, 'base64').toString();
}

const scratch = mkdtempSync(join(tmpdir(), 'rollover-'));
let n = 0;
/** A chain certificate as a file, for openssl's -untrusted. */
function tmpFile(content: string): string {
  const p = join(scratch, `f${n++}.pem`);
  writeFileSync(p, content);
  return p;
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));
test.before(async () => {
  OLD = await generatePki({ name: 'vc', namespace: 'ns', now: new Date(Date.now() - 3_600_000) });
  WINDOW = (await startRollover(OLD, opts)).files;
  FINAL = finalizeRollover(WINDOW, opts).files;
});

test("window: vCluster's rules hold (server-ca one certificate, the same first certificate everywhere, keys match)", async () => {
  const first = (p: string) => new X509Certificate(certBlocks(text(WINDOW, p))[0]!).raw;
  assert.is(certBlocks(text(WINDOW, 'server-ca.crt')).length, 1);
  assert.ok(first('ca.crt').equals(first('server-ca.crt')) && first('ca.crt').equals(first('client-ca.crt')), 'no split signing (HasSplitClusterSigningCA)');
  assert.is(certBlocks(text(WINDOW, 'client-ca.crt')).length, 2);
  assert.is(certBlocks(text(WINDOW, 'client-ca.crt'))[1], certBlocks(text(OLD, 'ca.crt'))[0], 'the old CA stays in client-ca.crt');
  for (const f of ['ca', 'server-ca', 'client-ca']) assert.ok(await opensslKeyMatches(certBlocks(text(WINDOW, `${f}.crt`))[0]!, WINDOW.get(`${f}.key`)!), `${f}.key`);
  const cross = new X509Certificate(certBlocks(text(WINDOW, 'ca.crt'))[0]!);
  const old = new X509Certificate(text(OLD, 'ca.crt'));
  assert.ok(cross.ca && cross.checkIssued(old) && cross.verify(old.publicKey), 'cross-signed by the old CA (node)');
  assert.is(cross.subject, old.subject, 'same subject');
  assert.ok(cross.validToDate <= old.validToDate, 'never outlives the old CA');
  assert.ok((await opensslVerify(text(OLD, 'ca.crt'), certBlocks(text(WINDOW, 'ca.crt'))[0]!)).ok, 'openssl: the old CA vouches for the new one');
});

test('window: the served chain verifies for old and new trust, on 6443 (apiserver.crt) as on the proxy', async () => {
  const [leaf, chain] = certBlocks(text(WINDOW, 'apiserver.crt'));
  assert.ok(leaf && chain);
  assert.is(chain, certBlocks(text(WINDOW, 'server-ca.crt'))[0], 'chain = the proxy chain (first certificate of server-ca.crt)');
  const oldTrust = await opensslVerify(text(OLD, 'ca.crt'), leaf, ['-untrusted', tmpFile(chain)]);
  assert.ok(oldTrust.ok, `old kubeconfigs (trust the old CA): ${oldTrust.out}`);
  const newCA = kubeconfigField(WINDOW, 'admin.conf', 'certificate-authority-data');
  assert.ok(new X509Certificate(newCA).verify(new X509Certificate(newCA).publicKey), 'new kubeconfigs trust the new CA, self-signed');
  const newTrust = await opensslVerify(newCA, leaf, ['-untrusted', tmpFile(chain)]);
  assert.ok(newTrust.ok, `new kubeconfigs: ${newTrust.out}`);
});

test('window: client certificates of the old and the new kubeconfigs are both accepted by client-ca.crt', async () => {
  for (const [what, f] of [['old', OLD], ['new', WINDOW]] as const) {
    const r = await opensslVerify(text(WINDOW, 'client-ca.crt'), kubeconfigField(f, 'admin.conf', 'client-certificate-data'));
    assert.ok(r.ok, `${what} admin.conf: ${r.out}`);
  }
  const newClient = new X509Certificate(kubeconfigField(WINDOW, 'admin.conf', 'client-certificate-data'));
  assert.ok(newClient.checkPrivateKey(createPrivateKey(kubeconfigField(WINDOW, 'admin.conf', 'client-key-data'))));
});

test('window: only cluster-CA material changes; front-proxy, etcd and service-account files stay byte for byte', () => {
  for (const [p, v] of OLD) {
    const changes = /^(ca|server-ca|client-ca|apiserver|apiserver-kubelet-client)\.(crt|key)$|\.conf$/.test(p);
    if (!changes) assert.ok(WINDOW.get(p)!.equals(v), `${p} unchanged`);
    else assert.not.ok(WINDOW.get(p)!.equals(v), `${p} changed`);
  }
});

test('the window is visible from the files alone, and gone after the finalize', () => {
  assert.is(rolloverState(OLD), undefined);
  const s = rolloverState(WINDOW);
  assert.ok(s);
  assert.is(s.oldCA.der.toString('base64'), new X509Certificate(text(OLD, 'ca.crt')).raw.toString('base64'));
  assert.ok(s.since.getTime() <= Date.now() && s.until.getTime() > Date.now());
  assert.is(rolloverState(FINAL), undefined);
});

test('finalize: the new CA alone (same key), old client certificates refused, new ones and the served leaf verify', async () => {
  for (const f of ['ca.crt', 'server-ca.crt', 'client-ca.crt']) {
    assert.is(certBlocks(text(FINAL, f)).length, 1, f);
    const c = new X509Certificate(text(FINAL, f));
    assert.ok(c.verify(c.publicKey), `${f} self-signed`);
    assert.ok(await opensslKeyMatches(text(FINAL, f), WINDOW.get('ca.key')!), `${f}: the window's new key`);
  }
  assert.is(certBlocks(text(FINAL, 'apiserver.crt')).length, 1, 'no cross-signed chain any more');
  assert.ok((await opensslVerify(text(FINAL, 'ca.crt'), text(FINAL, 'apiserver.crt'))).ok);
  assert.ok((await opensslVerify(text(FINAL, 'client-ca.crt'), kubeconfigField(WINDOW, 'admin.conf', 'client-certificate-data'))).ok, 'kubeconfigs of the window keep working');
  assert.not.ok((await opensslVerify(text(FINAL, 'client-ca.crt'), kubeconfigField(OLD, 'admin.conf', 'client-certificate-data'))).ok, 'old kubeconfigs stop');
  assert.ok((await opensslVerify(kubeconfigField(WINDOW, 'admin.conf', 'certificate-authority-data'), text(FINAL, 'apiserver.crt'))).ok, "the window's CA data still trusts the server");
  assert.is(kubeconfigField(FINAL, 'admin.conf', 'certificate-authority-data'), text(FINAL, 'ca.crt'));
});

test('refusals: split CAs, a window already open, none open, a CA about to expire, short validity', async () => {
  const refused = async (p: Promise<unknown> | (() => unknown), re: RegExp) => {
    try {
      await (typeof p === 'function' ? p() : p);
    } catch (err) {
      assert.instance(err, RolloverRefused);
      assert.match((err as Error).message, re);
      return;
    }
    assert.unreachable('expected a refusal');
  };
  const split = await generatePki({ name: 'vc', namespace: 'ns', splitCA: true });
  await refused(startRollover(split, opts), /split CAs .*use rotate-ca without --graceful/);
  await refused(startRollover(WINDOW, opts), /already in progress: finish it with "rotate-ca --finalize" or undo it with "rotate-ca --abort"/);
  await refused(() => finalizeRollover(OLD, opts), /no CA rollover is in progress/);
  const late = await generatePki({ name: 'vc', namespace: 'ns', now: new Date(Date.now() - 3650 * DAY + 3_600_000) });
  await refused(startRollover(late, opts), /too soon for a transition window/);
  await refused(startRollover(OLD, { ...opts, validityMs: 30 * DAY }), /--allow-short-validity/);
});

test.run();
