// Renders check reports for humans (table, wide) and machines (json, yaml).
import type { DriftEntry, VClusterReport } from '../flows/check.js';
import type { ContextOutcome } from '../flows/check-contexts.js';
import type { CertRow } from '../pki/types.js';
import { colorStatus, escapeControl as esc, renderTable } from './table.js';
import { formatExpiry } from './time.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

function rowCells(r: CertRow, wide: boolean, color: boolean): string[] {
  const name = r.block > 0 ? `${r.filename}#${r.block}` : r.filename;
  const base = [esc(name), esc(r.subject), esc(r.issuer), r.expiryTime ? formatExpiry(r.expiryTime) : '-', colorStatus(r.status, color)];
  if (!wide) return base;
  const sans = [...r.dnsNames, ...r.ipAddresses];
  const sanText = sans.length > 3 ? `${sans.slice(0, 3).join(',')},+${sans.length - 3}` : sans.join(',');
  return [...base, String(r.daysLeft), r.keyType, esc(sanText) || '-', r.serial];
}

const DRIFT_TEXT: Record<DriftEntry['kind'], string> = {
  differs: 'differs between the Secret and /data/pki',
  'only-in-secret': 'is in the Secret but not in /data/pki',
  'only-on-disk': 'is in /data/pki but not in the Secret',
};

function header(r: VClusterReport): string {
  const bits = r.context !== undefined ? [`context ${r.context}`, `namespace ${r.namespace}`] : [`namespace ${r.namespace}`];
  if (r.version) bits.push(`v${r.version}`);
  if (r.phase) bits.push(r.phase);
  return esc(`vCluster ${r.name} (${bits.join(', ')})${r.source ? `, read from ${r.source}` : ''}`);
}

export function renderReportsText(reports: VClusterReport[], wide: boolean, color: boolean, contexts?: ContextOutcome[]): string {
  const head = ['FILENAME', 'SUBJECT', 'ISSUER', 'EXPIRES ON', 'STATUS'];
  if (wide) head.push('DAYS LEFT', 'KEY', 'SANS', 'SERIAL');
  const out: string[] = [];
  for (const r of reports) {
    out.push('', header(r), '');
    if (r.certificates.length) out.push(renderTable(head, r.certificates.map((c) => rowCells(c, wide, color)), { color }).trimEnd());
    for (const c of r.certificates) for (const p of c.problems) out.push(`  ! ${esc(`${c.filename}: ${p}`)}`);
    for (const d of r.drift) out.push(`  ~ drift: ${esc(`${d.file} ${DRIFT_TEXT[d.kind]} (pod ${d.pod})`)}`);
    for (const w of r.warnings) out.push(`  warning: ${esc(w)}`);
    if (r.error) out.push(`  error: ${esc(r.error)}`);
  }
  if (contexts) {
    out.push('', renderTable(['CONTEXT', 'VCLUSTERS', 'RESULT'], contexts.map((c) => [esc(c.name), String(c.vclusters), c.error ? `${c.failure ?? 'error'}: ${esc(c.error)}` : 'checked']), { color }).trimEnd());
  }
  out.push('');
  return out.join('\n') + '\n';
}

/** The machine-readable document: stable field names, upstream's row keys first. */
export function reportsDocument(reports: VClusterReport[], contexts?: ContextOutcome[]) {
  return { ...documentHead(contexts), vclusters: reports.map(reportDocument) };
}

function documentHead(contexts?: ContextOutcome[]) {
  return {
    apiVersion: 'vcluster-certs/v1',
    kind: 'CertificateCheck',
    ...(contexts ? { contexts: contexts.map((c) => ({ name: c.name, vclusters: c.vclusters, ...(c.error ? { failure: c.failure, error: c.error } : {}) })) } : {}),
  };
}

function reportDocument(r: VClusterReport) {
  return {
    ...(r.context !== undefined ? { context: r.context } : {}),
    name: r.name,
    namespace: r.namespace,
    version: r.version,
    phase: r.phase,
    source: r.source,
    result: r.result,
    ...(r.error ? { error: r.error } : {}),
    warnings: r.warnings,
    drift: r.drift,
    certificates: r.certificates.map((c) => ({
      filename: c.filename,
      subject: c.subject,
      issuer: c.issuer,
      expiryTime: c.expiryTime,
      status: c.status,
      block: c.block,
      notBefore: c.notBefore,
      daysLeft: c.daysLeft,
      isCA: c.isCA,
      keyType: c.keyType,
      dnsNames: c.dnsNames,
      ipAddresses: c.ipAddresses,
      serial: c.serial,
      sha256: c.sha256,
      problems: c.problems,
    })),
  };
}

/**
 * JSON.stringify(reportsDocument(...), null, 4), a vCluster at a time: a fleet's document runs to
 * tens of megabytes, and building it whole (and again as the bytes written) is what a fleet
 * check's memory peaks on. JSON strings hold no raw newline, so re-indenting by lines is exact.
 */
export function* reportsJsonChunks(reports: VClusterReport[], contexts?: ContextOutcome[]): Generator<string> {
  const head = JSON.stringify({ ...documentHead(contexts), vclusters: [] }, null, 4);
  if (reports.length === 0) {
    yield head + '\n';
    return;
  }
  yield head.slice(0, head.lastIndexOf('[') + 1);
  for (let i = 0; i < reports.length; i++) {
    const item = JSON.stringify(reportDocument(reports[i]!), null, 4).replace(/\n/g, '\n        ');
    yield `\n        ${item}${i < reports.length - 1 ? ',' : ''}`;
  }
  yield '\n    ]\n}\n';
}

/** renderReports, in pieces to write one after the other (JSON: a vCluster at a time). */
export async function renderReportChunks(reports: VClusterReport[], format: OutputFormat, color: boolean, contexts?: ContextOutcome[]): Promise<Iterable<string>> {
  return format === 'json' ? reportsJsonChunks(reports, contexts) : [await renderReports(reports, format, color, contexts)];
}

/** `contexts`: a multi-context check's contexts, listed with how each went. */
export async function renderReports(reports: VClusterReport[], format: OutputFormat, color: boolean, contexts?: ContextOutcome[]): Promise<string> {
  switch (format) {
    case 'json':
      return [...reportsJsonChunks(reports, contexts)].join('');
    case 'yaml': {
      const { stringify } = await import('yaml');
      return stringify(reportsDocument(reports, contexts));
    }
    default:
      return renderReportsText(reports, format === 'wide', color, contexts);
  }
}
