import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { VClusterReport } from '../../src/flows/check.js';
import { renderReports, renderReportsText, reportsDocument, reportsJsonChunks } from '../../src/output/check.js';
import { writeChunks } from '../../src/output/write.js';
import { PassThrough } from 'node:stream';
import { escapeControl, renderTable } from '../../src/output/table.js';
import { formatDays, formatExpiry } from '../../src/output/time.js';
import type { CertRow } from '../../src/pki/types.js';

const test = suite('output');

test('upstream time format and table look', () => {
  assert.is(formatExpiry('2026-07-14T19:24:05Z'), 'Jul 14, 2026 19:24 UTC');
  const t = renderTable(['A', 'BB'], [['xyz', '1']], { color: false });
  assert.is(t, '  A   | BB\n  ----+---\n  xyz | 1\n');
});

test('spans in their largest whole unit', () => {
  assert.is(formatDays(3 * 365 * 86_400_000), '3y');
  assert.is(formatDays(45 * 86_400_000), '45d');
  assert.is(formatDays(5 * 3_600_000 + 1), '5h');
  assert.is(formatDays(12 * 60_000), '12m');
});

test('control characters (C0, DEL, C1) are escaped, everything else is kept', () => {
  assert.is(escapeControl('a\nb\rc\td'), 'a\\nb\\rc\\td');
  assert.is(escapeControl('\x1b[2J\x00\x7f\x85\x9f'), '\\x1b[2J\\x00\\x7f\\x85\\x9f');
  assert.is(escapeControl('ünïcødé ok-1.crt'), 'ünïcødé ok-1.crt');
  for (let c = 0; c < 0x100; c++) {
    const out = escapeControl(String.fromCharCode(c));
    assert.is(out.length > 1, c < 0x20 || (c >= 0x7f && c < 0xa0), `U+${c.toString(16)}`);
  }
});

test('table and wide output: names from the cluster cannot break lines or send escape sequences', () => {
  const row: CertRow = {
    filename: 'evil\n\x1b[2Jname.crt', block: 0, subject: 'CN=\x1b]0;title\x07', issuer: 'ca\r', expiryTime: '2030-01-01T00:00:00Z',
    status: 'OK', notBefore: '2020-01-01T00:00:00Z', daysLeft: 100, isCA: false, keyType: 'RSA-2048',
    dnsNames: ['a\nb'], ipAddresses: [], serial: '01', sha256: 'AA', problems: ['bad\x9bthing'],
  };
  const report: VClusterReport = {
    name: 'vc', namespace: 'ns', version: '', phase: 'Running', source: 'secret ns/vc-certs', result: 'OK',
    warnings: ['w\x1b[31m'], drift: [{ file: 'x\ny.crt', kind: 'only-on-disk', pod: 'vc-0' }], certificates: [row], error: 'e\x07',
  };
  for (const wide of [false, true]) {
    const out = renderReportsText([report], wide, false);
    assert.not.match(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'no control character but the line breaks');
    assert.ok(out.includes('evil\\n\\x1b[2Jname.crt'), out);
    assert.ok(out.includes('~ drift: x\\ny.crt is in /data/pki but not in the Secret (pod vc-0)'), out);
    // one line per row: header, rule, the row, and nothing of the name spills onto another line
    assert.is(out.split('\n').filter((l) => l.includes('name.crt')).length, 2, 'the row and its problem line');
  }
});

test('-o json is written a vCluster at a time, byte for byte what JSON.stringify gives for the whole document', async () => {
  const row = (filename: string, problems: string[] = []): CertRow => ({
    filename, block: 0, subject: 'kube "apiserver"', issuer: 'kubernetes', expiryTime: '2030-01-01T00:00:00Z', status: 'OK',
    notBefore: '2020-01-01T00:00:00Z', daysLeft: 100, isCA: false, keyType: 'RSA-2048', dnsNames: ['a', 'b\nc'], ipAddresses: [],
    serial: '01', sha256: 'AA', problems,
  });
  const report = (name: string, context?: string): VClusterReport => ({
    name, namespace: 'ns', version: '0.33.0', phase: 'Running', source: 'secret ns/x-certs', result: 'OK', warnings: ['w\tx'], drift: [],
    certificates: [row('ca.crt'), row('apiserver.crt', ['bad\nthing'])], ...(context ? { context } : {}),
  });
  const contexts = [{ name: 'c1', vclusters: 2, exitCode: 0 }, { name: 'c2', vclusters: 0, exitCode: 3, error: 'unreachable', failure: 'unreachable' as const }];
  for (const [reports, ctx] of [[[], undefined], [[report('one')], undefined], [[report('a', 'c1'), report('b', 'c1'), report('c', 'c1')], contexts]] as const) {
    const whole = JSON.stringify(reportsDocument([...reports], ctx ? [...ctx] : undefined), null, 4) + '\n';
    const chunks = [...reportsJsonChunks([...reports], ctx ? [...ctx] : undefined)];
    assert.is(chunks.join(''), whole);
    assert.is(chunks.length, reports.length === 0 ? 1 : reports.length + 2, 'a chunk per vCluster');
    assert.is(await renderReports([...reports], 'json', false, ctx ? [...ctx] : undefined), whole);
  }
});

test('writeChunks waits for a full pipe and stops when the reader is gone', async () => {
  const out = new PassThrough({ highWaterMark: 8 });
  let read = '';
  const done = writeChunks(out, ['0123456789', 'abcdefghij', 'KLMNOPQRST']);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(out.writableLength > 0, 'the first chunk waits in the pipe');
  out.on('data', (d) => (read += d));
  await done;
  assert.is(read + (out.read()?.toString() ?? ''), '0123456789abcdefghijKLMNOPQRST');
  const gone = new PassThrough({ highWaterMark: 4 });
  const stopped = writeChunks(gone, ['aaaaaaaa', 'bbbbbbbb', 'cccccccc']);
  gone.destroy();
  await stopped; // resolves instead of waiting for a drain that never comes
});

test.run();
