// What a fleet check keeps of a Secret list page (src/pki/secret-digest.ts): the rows must be the
// ones inspectPki gives for the same PKI, the rollover window the one rolloverState finds, and
// the PKI's base64 (private keys included) must be gone from what is handed back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { digestSecretData, digestSecretList } from '../../src/pki/secret-digest.js';
import { inspectPki } from '../../src/pki/inspect.js';
import { secretDataFromFiles } from '../../src/pki/certmap.js';
import { rolloverState, startRollover } from '../../src/pki/rollover.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/index.js';

const test = suite('secret digest');
const DAY = 86_400_000;
const opts = { now: new Date(), warnWithinMs: 30 * DAY };
let good: PkiFiles;
let expired: PkiFiles;
let window: PkiFiles;

test.before(async () => {
  [good, expired] = await Promise.all([
    generatePki({ name: 'a', namespace: 'ns', reuseKeys: true }),
    generatePki({ name: 'b', namespace: 'ns', reuseKeys: true, expiredLeafs: true }),
  ]);
  window = (await startRollover(good, { now: new Date(), validityMs: 365 * DAY, caValidityMs: 3650 * DAY })).files;
});

const listOf = (items: unknown[], cont?: string) => Buffer.from(JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: cont ? { continue: cont } : {}, items }));

test('a page: rows as inspectPki gives them, data dropped from the -certs Secrets only, continue token kept', () => {
  const config = { metadata: { name: 'vc-config-a', namespace: 'ns' }, data: { 'config.yaml': 'eDogMQ==' } };
  const body = listOf([
    { metadata: { name: 'a-certs', namespace: 'ns', annotations: { x: '1' } }, data: secretDataFromFiles(good) },
    config,
    { metadata: { name: 'b-certs', namespace: 'ns' }, data: secretDataFromFiles(expired) },
  ], 'next');
  const page = digestSecretList(body, opts)!;
  assert.is(page.continue, 'next');
  assert.equal(page.items.map((i) => i.metadata!.name), ['a-certs', 'vc-config-a', 'b-certs']);
  assert.equal(page.certs.map((c) => c.index), [0, 2]);
  assert.equal(page.certs[0]!.digest!.rows, inspectPki(good, opts));
  assert.equal(page.certs[1]!.digest!.rows, inspectPki(expired, opts));
  assert.ok(page.certs[1]!.digest!.rows.some((r) => r.status === 'EXPIRED'), 'the expired PKI really is judged');
  assert.is(page.items[0]!.data, undefined);
  assert.is(page.items[2]!.data, undefined);
  assert.equal(page.items[1], config, 'other Secrets are kept whole');
  assert.equal((page.items[0] as { metadata: { annotations: unknown } }).metadata.annotations, { x: '1' });
  const text = JSON.stringify(page);
  assert.not.match(text, /PRIVATE KEY|LS0tLS1CRUdJTi/, 'no PEM and no base64 PEM comes back');
});

test('empty values are named; a value that is not base64 leaves the Secret as it was (digest null)', () => {
  const data = secretDataFromFiles(good);
  const withEmpty = { ...data, 'apiserver.crt': '' };
  const broken = { ...data, 'ca.crt': '!!not base64!!' };
  const page = digestSecretList(listOf([
    { metadata: { name: 'a-certs', namespace: 'ns' }, data: withEmpty },
    { metadata: { name: 'c-certs', namespace: 'ns' }, data: broken },
  ]), opts)!;
  assert.equal(page.certs[0]!.emptyKeys, ['apiserver.crt']);
  assert.ok(page.certs[0]!.digest!.rows.some((r) => r.filename === 'apiserver.crt' && r.status === 'INVALID'));
  assert.is(page.certs[1]!.digest, null);
  assert.equal(page.items[1]!.data, broken);
  assert.is(page.continue, undefined);
});

test('the rollover window is the one rolloverState finds', () => {
  const state = rolloverState(window)!;
  assert.ok(state, 'the test PKI is in a window');
  const d = digestSecretData(secretDataFromFiles(window), opts)!;
  assert.equal(d.rollover, { since: state.since.toISOString(), until: state.until.toISOString(), oldCA: state.oldCA.subject });
  assert.is(digestSecretData(secretDataFromFiles(good), opts)!.rollover, undefined);
});

test('a body that is not a JSON list: null; a list without items: no items', () => {
  assert.is(digestSecretList(Buffer.from('<html>login</html>'), opts), null);
  assert.equal(digestSecretList(Buffer.from('{"kind":"SecretList","items":null}'), opts), { items: [], certs: [] });
  // a view into a larger buffer reads only its own bytes
  const body = listOf([]);
  const big = Buffer.concat([Buffer.from('garbage'), body, Buffer.from('more')]);
  assert.equal(digestSecretList(big.subarray(7, 7 + body.length), opts), { items: [], certs: [] });
});

test.run();
