// Kube.listJson takes a list's items as the API server's JSON, through client-node's request
// path. Checked against a plain HTTP server that answers what a test asks for: the items and the
// continue token come back untouched (times stay strings), the request is counted and carries the
// kubeconfig's token, errors stay API errors, and a body that is not JSON is a one-line error.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiStatusCode, Kube } from '../../src/kube/client.js';
import { UserError } from '../../src/errors.js';
import type { V1Secret } from '../../src/kube/k8s.js';

const test = suite('kube/listJson');

let dir = '';
let server: Server;
let kube: Kube;
let answer: { status: number; body: string; chunked?: boolean } = { status: 200, body: '{}' };
let seen: IncomingMessage[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcerts-listjson-'));
  server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    if (!answer.chunked) return void res.end(answer.body);
    // no Content-Length: the body comes in pieces of unknown total length
    const half = Math.floor(answer.body.length / 2);
    res.write(answer.body.slice(0, half));
    setTimeout(() => res.end(answer.body.slice(half)), 5);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    // plain HTTP: client-node allows it only with insecure-skip-tls-verify
    'clusters:', '- name: c', '  cluster:', `    server: http://127.0.0.1:${port}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: u', '  user:', '    token: list-json-token',
    'contexts:', '- name: c', '  context:', '    cluster: c', '    user: u', '    namespace: team',
    '',
  ].join('\n'));
  kube = Kube.connect({ kubeconfig: path });
});

test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const listSecrets = () =>
  kube.listJson<V1Secret>('list secrets in namespace team', (o) => kube.core.listNamespacedSecret({ namespace: 'team', labelSelector: 'app=vcluster', limit: 2 }, o));

test('items and the continue token as the server sent them; one counted request with the token', async () => {
  const items = [
    { metadata: { name: 'a-certs', namespace: 'team', creationTimestamp: '2026-01-02T03:04:05Z', resourceVersion: '7' }, data: { 'ca.crt': 'Y2E=' }, type: 'Opaque' },
    { metadata: { name: 'vc-config-a', namespace: 'team' }, data: { 'config.yaml': 'eDogMQ==' } },
  ];
  answer = { status: 200, body: JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '9', continue: 'next-page' }, items }) };
  seen = [];
  const before = kube.stats.requests;
  const list = await listSecrets();
  assert.equal(list.items, items);
  assert.is(typeof list.items[0]!.metadata!.creationTimestamp, 'string', 'times stay strings');
  assert.is(list.continue, 'next-page');
  assert.is(kube.stats.requests, before + 1);
  assert.is(seen.length, 1);
  assert.is(seen[0]!.headers.authorization, 'Bearer list-json-token');
  assert.match(seen[0]!.url!, /^\/api\/v1\/namespaces\/team\/secrets\?/);
  assert.match(seen[0]!.url!, /labelSelector=app%3Dvcluster/);
  assert.match(seen[0]!.url!, /limit=2/);
});

test('the last chunk has no continue token; an empty list has no items', async () => {
  answer = { status: 200, body: JSON.stringify({ kind: 'SecretList', metadata: { continue: '' }, items: null }) };
  const list = await listSecrets();
  assert.equal(list, { items: [], continue: undefined });
});

test('an API error stays an API error (403, 410) for the callers that look at its code', async () => {
  for (const code of [403, 410]) {
    answer = { status: code, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `status ${code}`, code }) };
    const err = await listSecrets().then(() => undefined, (e: unknown) => e);
    assert.instance(err, UserError);
    assert.is(apiStatusCode(err), code);
  }
});

test('a 200 whose body is not JSON: a one-line error that says which call', async () => {
  answer = { status: 200, body: '<html>proxy login</html>' };
  const err = await listSecrets().then(() => undefined, (e: unknown) => e);
  assert.instance(err, UserError);
  assert.is((err as UserError).message, "cannot list secrets in namespace team: the API server's answer is not JSON");
  assert.not.match((err as UserError).message, /\n/);
});

test('listBody: the exact bytes, in a buffer of their own (a worker can take it without a copy)', async () => {
  const body = JSON.stringify({ kind: 'SecretList', metadata: {}, items: [{ metadata: { name: 'ü-certs' }, data: { 'ca.crt': 'x'.repeat(200_000) } }] });
  answer = { status: 200, body };
  const before = kube.stats.requests;
  const bytes = await kube.listBody('list secrets in namespace team', (o) => kube.core.listNamespacedSecret({ namespace: 'team' }, o));
  assert.ok(bytes.equals(Buffer.from(body)), 'byte for byte, multi-byte characters included');
  assert.is(bytes.byteOffset, 0);
  assert.is(bytes.buffer.byteLength, bytes.length, 'not a view into a shared pool');
  assert.is(kube.stats.requests, before + 1);
  answer = { status: 200, body, chunked: true };
  const pieces = await kube.listBody('list secrets in namespace team', (o) => kube.core.listNamespacedSecret({ namespace: 'team' }, o));
  assert.ok(pieces.equals(Buffer.from(body)), 'without Content-Length too');
  assert.is(pieces.buffer.byteLength, pieces.length);
  answer = { status: 200, body: '' };
  const small = await kube.listBody('list secrets in namespace team', (o) => kube.core.listNamespacedSecret({ namespace: 'team' }, o));
  assert.is(small.length, 0);
  answer = { status: 403, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'no', code: 403 }) };
  const err = await kube.listBody('list secrets in namespace team', (o) => kube.core.listNamespacedSecret({ namespace: 'team' }, o)).then(() => undefined, (e: unknown) => e);
  assert.is(apiStatusCode(err), 403);
});

test.run();
