// continueToken reads a list's continue token from the head of its bytes, so the next chunk can
// be asked for while this one is parsed elsewhere. Anything it cannot be sure of is null (the
// caller then waits for the whole parse); it must never mistake a middle chunk for the last one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { continueToken } from '../../src/kube/secret-index.js';

const test = suite('kube/secret-index continueToken');
const body = (o: unknown) => Buffer.from(JSON.stringify(o));

test("kube-apiserver's order (kind, apiVersion, metadata, items): the token, or undefined on the last chunk", () => {
  assert.is(continueToken(body({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '9', continue: 'eyJ2Ijo' }, items: [{ data: { a: 'x'.repeat(10_000) } }] })), 'eyJ2Ijo');
  assert.is(continueToken(body({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '9' }, items: [] })), undefined);
  assert.is(continueToken(body({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '9', continue: '', remainingItemCount: 0 }, items: [] })), undefined);
});

test('anything else: null, never a guess', () => {
  // items first: the metadata (and its token) may follow them
  assert.is(continueToken(body({ kind: 'SecretList', items: [], metadata: { continue: 'x' } })), null);
  assert.is(continueToken(body({ kind: 'SecretList', apiVersion: 'v1', items: [] })), null);
  assert.is(continueToken(Buffer.from('<html>login</html>')), null);
  assert.is(continueToken(Buffer.from('{"metadata":{"continue":"x"},"items":')), 'x', 'only the head is read');
  assert.is(continueToken(Buffer.from(`{"kind":"SecretList","metadata":{"continue":"${'y'.repeat(5000)}"},"items":[]}`)), null, 'a head past 4 KiB');
  assert.is(continueToken(Buffer.from('{"metadata":"odd","items":[]}')), null);
});

test.run();
