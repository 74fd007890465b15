// Prometheus text exposition (format 0.0.4) of check results: one gauge family per certificate
// fact, per vCluster state and per run. No sample timestamps: node_exporter's textfile collector
// refuses them, and a scrape stamps the samples itself.
import type { Result, VClusterReport } from '../flows/check.js';
import { secretKeyForFile } from '../pki/certmap.js';
import type { CertRow } from '../pki/types.js';

/** native: this tool's names; x509: enix/x509-certificate-exporter's, so its dashboards and alerts work. */
export type MetricStyle = 'native' | 'x509';

export const PREFIX = 'vcluster_certs';

/** A context of a multi-context check and how it went. */
export interface ContextState {
  name: string;
  /** set when the context could not be checked at all */
  error?: string;
}

export interface MetricsInput {
  reports: VClusterReport[];
  /** when the check finished */
  finishedAt: Date;
  durationMs: number;
  /** the contexts checked: a `context` label and one `context_up` series each (x509 style: a label only for several) */
  contexts?: ContextState[];
  /** serve: counters, and per context when what is served was last checked successfully */
  exporter?: { checks: number; errors: number; lastSuccess: ReadonlyMap<string, Date>; now: Date };
}

type Labels = Array<[string, string]>;

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Array<{ labels: Labels; value: number }>;
}

/** Label values escape backslash, double quote and line feed, as the text format requires. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function renderFamilies(families: Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    // Two series with the same labels would make the whole exposition invalid: keep the first.
    const seen = new Set<string>();
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      if (seen.has(labels)) continue;
      seen.add(labels);
      out.push(`${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

const gauge = (name: string, help: string): Family => ({ name: `${PREFIX}_${name}`, type: 'gauge', help, samples: [] });

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Go's big.Int String() of the serial, as enix's exporter labels it. */
function decimalSerial(hex: string): string {
  try {
    return BigInt(`0x${hex || '0'}`).toString(10);
  } catch {
    return hex;
  }
}

const RESULTS: readonly Result[] = ['OK', 'ATTENTION', 'BROKEN', 'ERROR'];

function vclusterLabels(r: VClusterReport, withContext: boolean): Labels {
  const l: Labels = withContext ? [['context', r.context ?? '']] : [];
  l.push(['namespace', r.namespace], ['vcluster', r.name]);
  return l;
}

function certLabels(r: VClusterReport, c: CertRow, style: MetricStyle, withContext: boolean): Labels {
  if (style === 'x509') {
    const l: Labels = [
      ['issuer_CN', c.issuer], ['serial_number', decimalSerial(c.serial)],
      ['secret_key', secretKeyForFile(c.filename)], ['secret_name', `${r.name}-certs`], ['secret_namespace', r.namespace],
      ['subject_CN', c.subject],
    ];
    // Two host clusters may hold the same namespace and Secret name.
    if (withContext) l.unshift(['context', r.context ?? '']);
    return l;
  }
  return [
    ...vclusterLabels(r, withContext), ['filename', c.filename], ['subject_CN', c.subject], ['issuer_CN', c.issuer],
    ['serial_number', c.serial], ['is_ca', String(c.isCA)],
  ];
}

export function renderPrometheus(input: MetricsInput, style: MetricStyle = 'native'): string {
  const withContext = style === 'x509' ? (input.contexts?.length ?? 0) > 1 : input.contexts !== undefined;
  const now = input.finishedAt.getTime();
  const names = style === 'x509'
    ? { after: 'x509_cert_not_after', before: 'x509_cert_not_before', expired: 'x509_cert_expired' }
    : { after: `${PREFIX}_cert_not_after_timestamp_seconds`, before: `${PREFIX}_cert_not_before_timestamp_seconds`, expired: `${PREFIX}_cert_expired` };
  const after: Family = { name: names.after, type: 'gauge', help: 'The certificate is invalid after this time (unix seconds).', samples: [] };
  const before: Family = { name: names.before, type: 'gauge', help: 'The certificate is invalid before this time (unix seconds).', samples: [] };
  const expired: Family = { name: names.expired, type: 'gauge', help: 'Whether the certificate had expired when checked (1) or not (0).', samples: [] };
  const success = gauge('vcluster_check_success', 'Whether the vCluster could be checked (1) or not (0, see the error on the check\'s output).');
  const result = gauge('vcluster_result', 'The vCluster\'s grade: 1 for the current one of OK, ATTENTION, BROKEN, ERROR.');
  const drift = gauge('vcluster_drift_files', 'Files that differ between the certs Secret and a replica\'s /data/pki.');
  const unfinished = gauge('vcluster_unfinished_change', 'Whether a rotate, rotate-ca or restore was committed and never finished (1) or not (0).');
  const rollover = gauge('vcluster_ca_rollover_open', 'Whether a graceful CA rollover waits for --finalize (1) or not (0).');
  const deadline = gauge('vcluster_ca_rollover_deadline_timestamp_seconds', 'Finalize the open CA rollover before this time (unix seconds).');
  const certs = gauge('vcluster_certificates', 'Certificates checked in the vCluster.');

  for (const r of input.reports) {
    const vl = vclusterLabels(r, withContext);
    for (const c of r.certificates) {
      if (!c.expiryTime || !c.notBefore) continue; // unreadable: the vCluster's result says so
      const l = certLabels(r, c, style, withContext);
      after.samples.push({ labels: l, value: seconds(c.expiryTime) });
      before.samples.push({ labels: l, value: seconds(c.notBefore) });
      expired.samples.push({ labels: l, value: Date.parse(c.expiryTime) < now ? 1 : 0 });
    }
    success.samples.push({ labels: vl, value: r.result === 'ERROR' ? 0 : 1 });
    for (const res of RESULTS) result.samples.push({ labels: [...vl, ['result', res]], value: r.result === res ? 1 : 0 });
    drift.samples.push({ labels: vl, value: r.drift.length });
    unfinished.samples.push({ labels: vl, value: r.unfinished ? 1 : 0 });
    rollover.samples.push({ labels: vl, value: r.rollover ? 1 : 0 });
    if (r.rollover) deadline.samples.push({ labels: vl, value: seconds(r.rollover.until) });
    certs.samples.push({ labels: vl, value: r.certificates.length });
  }

  const families = [after, before, expired, success, result, drift, unfinished, rollover, deadline, certs];
  if (input.contexts) {
    const up = gauge('context_up', 'Whether the host cluster of the kubeconfig context could be checked (1) or not (0).');
    for (const c of input.contexts) up.samples.push({ labels: [['context', c.name]], value: c.error === undefined ? 1 : 0 });
    families.push(up);
  }
  const duration = gauge('check_duration_seconds', 'How long the last check took.');
  duration.samples.push({ labels: [], value: input.durationMs / 1000 });
  const finished = gauge('check_timestamp_seconds', 'When the last check finished (unix seconds).');
  finished.samples.push({ labels: [], value: Math.floor(now / 1000) });
  families.push(duration, finished);
  if (input.exporter) families.push(...exporterFamilies(input.exporter));
  return renderKept(families);
}

/** A family without samples is left out, except a counter (0 is its value). */
function renderKept(families: Family[]): string {
  return renderFamilies(families.filter((f) => f.samples.length > 0 || f.type === 'counter'));
}

/**
 * The families `serve` adds: they change with every scrape (ages, memory), while the rest only
 * changes with a check. renderPrometheus(input) is renderPrometheus(input without exporter) +
 * renderExporterMetrics(exporter), so the exporter renders the large part once per check.
 */
export function renderExporterMetrics(ex: NonNullable<MetricsInput['exporter']>): string {
  return renderKept(exporterFamilies(ex));
}

function exporterFamilies(ex: NonNullable<MetricsInput['exporter']>): Family[] {
  const checks: Family = { name: `${PREFIX}_checks_total`, type: 'counter', help: 'Checks the exporter has run.', samples: [{ labels: [], value: ex.checks }] };
  const errors: Family = { name: `${PREFIX}_check_errors_total`, type: 'counter', help: 'Checks that failed as a whole; the last good result is still served.', samples: [{ labels: [], value: ex.errors }] };
  const age = gauge('result_age_seconds', 'Age of the served result of a context: time since the check behind it finished.');
  for (const [context, at] of ex.lastSuccess) age.samples.push({ labels: [['context', context]], value: Math.max(0, (ex.now.getTime() - at.getTime()) / 1000) });
  const mem = process.memoryUsage();
  const rss: Family = { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size in bytes.', samples: [{ labels: [], value: mem.rss }] };
  const heap: Family = { name: 'nodejs_heap_size_used_bytes', type: 'gauge', help: 'V8 heap in use, in bytes.', samples: [{ labels: [], value: mem.heapUsed }] };
  return [checks, errors, age, rss, heap];
}
