// The fleet check's worker pool: workers built from the real worker bundle give the same rows as
// the main thread, and a worker that dies or misbehaves costs speed only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startInspectPool, defaultThreads } from '../../src/flows/inspect-pool.js';
import { inspectPki } from '../../src/pki/inspect.js';
import { packFiles, unpackFiles } from '../../src/pki/packed-files.js';
import { digestSecretList } from '../../src/pki/secret-digest.js';
import { secretDataFromFiles } from '../../src/pki/certmap.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/index.js';
import { bundleInspectWorker } from '../../scripts/build-lib.mjs';

const test = suite('inspect pool');
const opts = { now: new Date(), warnWithinMs: 400 * 86_400_000 };
let source = '';
let pkis: PkiFiles[] = [];

test.before(async () => {
  source = await bundleInspectWorker();
  pkis = await Promise.all([
    generatePki({ name: 'a', namespace: 'ns', reuseKeys: true }),
    generatePki({ name: 'b', namespace: 'ns', reuseKeys: true, keyType: 'ecdsa' }),
    generatePki({ name: 'c', namespace: 'ns', reuseKeys: true, expiredLeafs: true }),
    generatePki({ name: 'd', namespace: 'ns', reuseKeys: true, corrupt: ['apiserver.crt', 'admin.conf'] }),
    generatePki({ name: 'e', namespace: 'ns', reuseKeys: true, splitCA: true }),
  ]);
});

test('packFiles / unpackFiles round trip into one fresh buffer', () => {
  const files = pkis[0]!;
  const packed = packFiles(files);
  assert.is(packed.bytes.byteOffset, 0);
  assert.is(packed.bytes.buffer.byteLength, [...files.values()].reduce((n, b) => n + b.length, 0));
  const back = unpackFiles(packed);
  assert.equal([...back.keys()], [...files.keys()]);
  for (const [k, v] of files) assert.ok(back.get(k)!.equals(v), k);
});

test('two workers and the main thread: the same rows as inspectPki, in order', async () => {
  const pool = await startInspectPool(2, source);
  try {
    assert.is(pool.threads, 2);
    const jobs = Array.from({ length: 30 }, (_, i) => pkis[i % pkis.length]!);
    const rows = await Promise.all(jobs.map((files) => pool.inspect(files, opts)));
    jobs.forEach((files, i) => assert.equal(rows[i], inspectPki(files, opts), `job ${i}`));
    assert.ok(pool.offloaded > 0, 'workers took jobs');
    assert.ok(pool.offloaded < 30 || jobs.length === pool.offloaded, 'count is sane');
    // The bad PKIs really are judged (not just equal): expired and unreadable rows come back.
    assert.ok(rows[2]!.some((r) => r.status === 'EXPIRED'));
    assert.ok(rows[3]!.some((r) => r.status === 'INVALID'));
  } finally {
    await pool.close();
  }
});

test('a worker that dies hands its jobs back: same rows, nothing offloaded', async () => {
  // Exits on its first job, without answering.
  const pool = await startInspectPool(1, `require('node:worker_threads').parentPort.on('message', () => process.exit(7));`);
  try {
    const rows = await Promise.all(pkis.map((files) => pool.inspect(files, opts)));
    pkis.forEach((files, i) => assert.equal(rows[i], inspectPki(files, opts)));
    assert.is(pool.offloaded, 0);
  } finally {
    await pool.close();
  }
});

test('a worker whose code does not even load: same rows', async () => {
  const pool = await startInspectPool(1, 'this is not javascript');
  try {
    const rows = await Promise.all(pkis.map((files) => pool.inspect(files, opts)));
    pkis.forEach((files, i) => assert.equal(rows[i], inspectPki(files, opts)));
  } finally {
    await pool.close();
  }
});

test('no source (running from TypeScript) or no threads: inline', async () => {
  for (const pool of [await startInspectPool(2, undefined), await startInspectPool(0, source)]) {
    assert.is(pool.threads, 0);
    assert.equal(await pool.inspect(pkis[0]!, opts), inspectPki(pkis[0]!, opts));
    await pool.close();
  }
});

test('close() drops unanswered jobs: they reject instead of running inline on the way out', async () => {
  const pool = await startInspectPool(1, source);
  const settled = Promise.allSettled(Array.from({ length: 20 }, () => pool.inspect(pkis[0]!, opts)));
  await pool.close();
  const results = await settled;
  assert.ok(results.every((r) => r.status === 'rejected' && /closed/.test(String(r.reason))), 'all dropped');
  assert.is(pool.threads, 1);
});

test('Secret list pages: the same digests from workers and inline; a pooled or sliced buffer is copied, not detached', async () => {
  const page = (names: string[]) => Buffer.from(JSON.stringify({
    kind: 'SecretList', metadata: { continue: 'c' },
    items: names.map((n, i) => ({ metadata: { name: `${n}-certs`, namespace: 'ns' }, data: secretDataFromFiles(pkis[i % pkis.length]!, { allowMissing: true }) })),
  }));
  const bodies = Array.from({ length: 6 }, (_, i) => page([`a${i}`, `b${i}`, `c${i}`]));
  // one body as a view into a bigger buffer: the pool must not hand the whole buffer away
  const outer = Buffer.concat([Buffer.from('xx'), bodies[0]!]);
  const view = outer.subarray(2);
  const expected = bodies.map((b) => digestSecretList(b, opts));
  const pool = await startInspectPool(1, source);
  try {
    const got = await Promise.all([view, ...bodies.slice(1)].map((b) => pool.inspectSecretList(b, opts)));
    expected.forEach((e, i) => assert.equal(got[i], e, `page ${i}`));
    // a body of its own was handed over (detached), not copied
    assert.ok(bodies.slice(1).some((b) => b.length === 0), 'transferred');
    assert.ok(pool.offloaded > 0, 'the worker took pages');
    assert.is(outer.subarray(0, 2).toString(), 'xx', 'the outer buffer is still readable');
    assert.ok(view.equals(bodies[0]!));
    assert.ok(got[0]!.certs.every((c) => c.digest && c.digest.rows.length > 0));
  } finally {
    await pool.close();
  }
});

test('defaultThreads: spare cores, capped; VCERTS_THREADS overrides', () => {
  assert.ok(defaultThreads({}) >= 0 && defaultThreads({}) <= 3);
  assert.is(defaultThreads({ VCERTS_THREADS: '0' }), 0);
  assert.is(defaultThreads({ VCERTS_THREADS: '5' }), 5);
  assert.is(defaultThreads({ VCERTS_THREADS: '99' }), 8);
  assert.is(defaultThreads({ VCERTS_THREADS: 'lots' }), defaultThreads({}));
});

test.run();
