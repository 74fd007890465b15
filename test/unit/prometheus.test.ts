// check -o prometheus and --textfile, judged by an independent parser and by promtool.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { VClusterReport } from '../../src/flows/check.js';
import { escapeLabelValue, renderExporterMetrics, renderPrometheus } from '../../src/output/prometheus.js';
import { writeFileAtomic } from '../../src/output/textfile.js';
import { forMetrics } from '../../src/flows/serve.js';
import type { CertRow } from '../../src/pki/types.js';
import { parseExposition, promtool, sample } from '../e2e/prom.js';

const test = suite('prometheus');

function row(over: Partial<CertRow>): CertRow {
  return {
    filename: 'apiserver.crt', block: 0, subject: 'kube-apiserver', issuer: 'kubernetes', expiryTime: '2030-01-02T03:04:05Z',
    notBefore: '2025-01-02T03:04:05Z', status: 'OK', daysLeft: 100, isCA: false, keyType: 'RSA-2048', dnsNames: [], ipAddresses: [],
    serial: '0a1b', sha256: 'AA', problems: [], ...over,
  };
}

function report(over: Partial<VClusterReport>): VClusterReport {
  return { name: 'vc', namespace: 'ns', version: '0.26.0', phase: 'Running', source: 's', result: 'OK', warnings: [], drift: [], certificates: [], ...over };
}

const finishedAt = new Date('2026-06-01T00:00:00Z');
const evil = 'a\\b"c\nd';
const reports: VClusterReport[] = [
  report({
    context: 'prod', certificates: [
      row({}),
      row({ filename: 'etcd/ca.crt', subject: 'etcd-ca', issuer: 'etcd-ca', isCA: true, serial: 'ff', expiryTime: '2035-01-01T00:00:00Z' }),
      row({ filename: 'front-proxy-client.crt', subject: evil, issuer: 'front-proxy-ca', expiryTime: '2026-01-01T00:00:00Z', status: 'EXPIRED', serial: '01' }),
      row({ filename: 'broken.crt', expiryTime: '', notBefore: '', status: 'INVALID' }),
    ],
    drift: [{ file: 'ca.crt', kind: 'differs', pod: 'vc-0' }, { file: 'x.crt', kind: 'only-on-disk', pod: 'vc-1' }],
    result: 'BROKEN',
    rollover: { since: '2026-05-01T00:00:00Z', until: '2027-05-01T00:00:00Z', oldCA: 'kubernetes' },
  }),
  report({ context: 'prod', name: 'down', result: 'ERROR', error: 'cannot read', unfinished: { command: 'rotate', state: 'committed', stamp: '1', committedAt: new Date(1000) } }),
];

test('the exporter keeps only what the metrics read: the same exposition in both styles', () => {
  const full = reports.map((r) => ({ ...r, warnings: ['w'], certificates: r.certificates.map((c) => ({ ...c, dnsNames: ['a.example'], problems: ['p'], sha256: 'AB:CD', subjectDN: '/CN=x' })) }));
  const slim = full.map(forMetrics);
  for (const style of ['native', 'x509'] as const) {
    const input = (rs: VClusterReport[]) => ({ reports: rs, finishedAt, durationMs: 1500, contexts: [{ name: 'prod' }] });
    assert.is(renderPrometheus(input(slim), style), renderPrometheus(input(full), style), style);
  }
  assert.equal(slim[0]!.certificates[0]!.dnsNames, []);
  assert.is(slim[0]!.certificates[0]!.sha256, '');
  assert.is(slim[0]!.certificates[0]!.subjectDN, undefined);
  assert.is(slim[0]!.drift.length, 2, 'drift is counted by the metrics');
});

test("serve's split: the check's exposition, rendered once, plus the exporter's families is the whole exposition", () => {
  const exporter = { checks: 7, errors: 1, lastSuccess: new Map([['prod', new Date('2026-05-31T23:59:00Z')]]), now: finishedAt };
  for (const style of ['native', 'x509'] as const) {
    const input = { reports, finishedAt, durationMs: 1500, contexts: [{ name: 'prod' }] };
    const whole = renderPrometheus({ ...input, exporter }, style);
    const split = renderPrometheus(input, style) + renderExporterMetrics(exporter);
    // process memory is read at each render: compare everything else
    const steady = (t: string) => t.replace(/^(process_resident_memory_bytes|nodejs_heap_size_used_bytes) .*$/gm, '$1 N');
    assert.is(steady(split), steady(whole), style);
    assert.match(whole, /^vcluster_certs_checks_total 7$/m);
    assert.match(whole, /^vcluster_certs_result_age_seconds\{context="prod"\} 60$/m);
  }
  // no success yet: the age family is left out, the counters stay
  const none = renderExporterMetrics({ checks: 0, errors: 0, lastSuccess: new Map(), now: finishedAt });
  assert.not.match(none, /result_age_seconds/);
  assert.match(none, /^vcluster_certs_checks_total 0$/m);
});

test('label values escape backslash, quote and newline', () => {
  assert.is(escapeLabelValue(evil), 'a\\\\b\\"c\\nd');
});

test('native style: names, labels and values read back by the parser; promtool finds nothing', async () => {
  const text = renderPrometheus({ reports, finishedAt, durationMs: 1500, contexts: [{ name: 'prod' }, { name: 'gone', error: 'refused' }] });
  const lint = await promtool(text);
  assert.is(lint.code, 0, lint.output);
  assert.is(lint.output.trim(), '', 'no lint problem');
  const fams = parseExposition(text);
  const notAfter = fams.get('vcluster_certs_cert_not_after_timestamp_seconds')!;
  assert.is(notAfter.type, 'GAUGE');
  assert.is(notAfter.metrics.length, 3, 'the unreadable row has no dates to give');
  const api = sample(fams, 'vcluster_certs_cert_not_after_timestamp_seconds', { filename: 'apiserver.crt' })!;
  assert.equal(api.labels, { context: 'prod', namespace: 'ns', vcluster: 'vc', filename: 'apiserver.crt', subject_CN: 'kube-apiserver', issuer_CN: 'kubernetes', serial_number: '0a1b', is_ca: 'false' });
  assert.is(Number(api.value), Date.UTC(2030, 0, 2, 3, 4, 5) / 1000);
  assert.is(Number(sample(fams, 'vcluster_certs_cert_not_before_timestamp_seconds', { filename: 'apiserver.crt' })!.value), Date.UTC(2025, 0, 2, 3, 4, 5) / 1000);
  assert.is(sample(fams, 'vcluster_certs_cert_not_after_timestamp_seconds', { filename: 'etcd/ca.crt' })!.labels.is_ca, 'true');
  // The parser gives back the exact value the certificate held, escapes undone.
  assert.is(sample(fams, 'vcluster_certs_cert_expired', { filename: 'front-proxy-client.crt' })!.labels.subject_CN, evil);
  assert.is(sample(fams, 'vcluster_certs_cert_expired', { filename: 'front-proxy-client.crt' })!.value, '1');
  assert.is(sample(fams, 'vcluster_certs_cert_expired', { filename: 'apiserver.crt' })!.value, '0');
  assert.is(sample(fams, 'vcluster_certs_vcluster_check_success', { vcluster: 'vc' })!.value, '1');
  assert.is(sample(fams, 'vcluster_certs_vcluster_check_success', { vcluster: 'down' })!.value, '0');
  assert.is(sample(fams, 'vcluster_certs_vcluster_result', { vcluster: 'vc', result: 'BROKEN' })!.value, '1');
  assert.is(sample(fams, 'vcluster_certs_vcluster_result', { vcluster: 'vc', result: 'OK' })!.value, '0');
  assert.is(sample(fams, 'vcluster_certs_vcluster_drift_files', { vcluster: 'vc' })!.value, '2');
  assert.is(sample(fams, 'vcluster_certs_vcluster_unfinished_change', { vcluster: 'down' })!.value, '1');
  assert.is(sample(fams, 'vcluster_certs_vcluster_unfinished_change', { vcluster: 'vc' })!.value, '0');
  assert.is(sample(fams, 'vcluster_certs_vcluster_ca_rollover_open', { vcluster: 'vc' })!.value, '1');
  assert.is(Number(sample(fams, 'vcluster_certs_vcluster_ca_rollover_deadline_timestamp_seconds', { vcluster: 'vc' })!.value), Date.UTC(2027, 4, 1) / 1000);
  assert.is(sample(fams, 'vcluster_certs_context_up', { context: 'gone' })!.value, '0');
  assert.is(sample(fams, 'vcluster_certs_context_up', { context: 'prod' })!.value, '1');
  assert.is(Number(fams.get('vcluster_certs_check_duration_seconds')!.metrics[0]!.value), 1.5);
  assert.is(Number(fams.get('vcluster_certs_check_timestamp_seconds')!.metrics[0]!.value), finishedAt.getTime() / 1000);
  assert.not.match(text, /\} \S+ \d+\n/, 'no sample timestamps (the textfile collector refuses them)');
});

test('x509 style: x509-certificate-exporter names and labels', async () => {
  const text = renderPrometheus({ reports, finishedAt, durationMs: 10, contexts: [{ name: 'prod' }] }, 'x509');
  const lint = await promtool(text);
  assert.is(lint.code, 0, lint.output);
  const fams = parseExposition(text);
  for (const n of ['x509_cert_not_after', 'x509_cert_not_before', 'x509_cert_expired']) assert.ok(fams.has(n), n);
  assert.not.ok(fams.has('vcluster_certs_cert_not_after_timestamp_seconds'));
  const etcd = sample(fams, 'x509_cert_not_after', { secret_key: 'etcd-ca.crt' })!;
  assert.equal(etcd.labels, { issuer_CN: 'etcd-ca', serial_number: '255', secret_key: 'etcd-ca.crt', secret_name: 'vc-certs', secret_namespace: 'ns', subject_CN: 'etcd-ca' });
  assert.is(sample(fams, 'x509_cert_expired', { secret_key: 'front-proxy-client.crt' })!.value, '1');
  // Several contexts: the context tells the same namespace and Secret in two clusters apart.
  const two = parseExposition(renderPrometheus({ reports: [...reports, { ...reports[0]!, context: 'dr' }], finishedAt, durationMs: 10, contexts: [{ name: 'prod' }, { name: 'dr' }] }, 'x509'));
  assert.is(two.get('x509_cert_not_after')!.metrics.length, 6);
  assert.is(sample(two, 'x509_cert_not_after', { context: 'dr', secret_key: 'apiserver.crt' })!.labels.secret_name, 'vc-certs');
});

test('promtool and the parser would catch a broken exposition', async () => {
  const bad = 'x509_cert_not_after{subject_CN="a"b"} 1\n';
  assert.throws(() => parseExposition(bad));
  assert.is.not((await promtool(bad)).code, 0);
});

test('--textfile: written whole through a temp file and a rename, mode 0644, old file kept on failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcerts-prom-'));
  const old = process.umask(0o077);
  try {
    const path = join(dir, 'vcluster_certs.prom');
    writeFileSync(path, 'old\n');
    const big = renderPrometheus({ reports: Array.from({ length: 300 }, (_, i) => ({ ...reports[0]!, name: `vc${i}` })), finishedAt, durationMs: 1 });
    // A reader polling meanwhile sees the old file or the new one, never a part.
    let reads = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const t = readFileSync(path, 'utf8');
        assert.ok(t === 'old\n' || t === big, `partial read of ${t.length} bytes`);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await writeFileAtomic(path, big);
    stop = true;
    await reader;
    assert.ok(reads > 0);
    assert.is(readFileSync(path, 'utf8'), big);
    assert.is(statSync(path).mode & 0o777, 0o644, 'mode 0644 despite umask 077');
    assert.equal(readdirSync(dir), ['vcluster_certs.prom'], 'no temp file left');
    // An unwritable directory: an error, and the old file unchanged.
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'm.prom'), 'kept\n');
    chmodSync(ro, 0o555);
    if (process.getuid?.() !== 0) {
      await writeFileAtomic(join(ro, 'm.prom'), big).then(() => assert.unreachable('wrote into a read-only directory'), (e: Error) => assert.match(e.message, /cannot write .*m\.prom \(EACCES\)/));
      assert.is(readFileSync(join(ro, 'm.prom'), 'utf8'), 'kept\n');
    }
    await writeFileAtomic(join(dir, 'missing', 'm.prom'), big).then(() => assert.unreachable('wrote into a missing directory'), (e: Error) => assert.match(e.message, /ENOENT/));
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
