// Renders `kubeconfig check` (table, wide, json, yaml) and `kubeconfig issue` (text, json).
import type { ContextVerdict } from '../flows/kubeconfig-judge.js';
import type { KubeconfigCheckOutcome, KubeconfigIssueOutcome, SourceResult } from '../flows/kubeconfig-run.js';
import type { OutputFormat } from './check.js';
import { formatExpiry } from './time.js';
import { colorStatus, escapeControl as esc, renderTable } from './table.js';

const CLIENT_CELL: Record<ContextVerdict['client']['kind'], string> = {
  certificate: '', token: 'TOKEN', exec: 'EXEC', 'auth-provider': 'AUTH-PROVIDER', basic: 'BASIC', none: 'NONE',
};

function cells(v: ContextVerdict, wide: boolean, color: boolean): string[] {
  const client = v.client.kind === 'certificate' ? v.client.status.toUpperCase() : CLIENT_CELL[v.client.kind];
  const cert = v.client.certificate;
  const base = [esc(v.context || '-'), esc(v.user || '-'), v.ca.status.toUpperCase(), client, cert ? formatExpiry(cert.expiryTime) : '-', colorStatus(v.status, color)];
  if (!wide) return base;
  const who = cert ? `${v.client.subject}${v.client.groups?.length ? ` (${v.client.groups.join(',')})` : ''}` : '-';
  return [...base, esc(v.server || '-'), v.endpoint === 'proxy' ? 'proxy:8443' : 'apiserver:6443', cert ? String(cert.daysLeft) : '-', esc(who)];
}

export function renderKubeconfigCheckText(o: KubeconfigCheckOutcome, wide: boolean, color: boolean): string {
  const head = ['CONTEXT', 'USER', 'CA', 'CLIENT', 'EXPIRES ON', 'STATUS'];
  if (wide) head.push('SERVER', 'ENDPOINT', 'DAYS LEFT', 'CLIENT CN (GROUPS)');
  const out: string[] = ['', `vCluster ${o.vcluster.name} (namespace ${o.vcluster.namespace}), PKI read from ${o.pki}`];
  for (const w of o.warnings) out.push(`  warning: ${w}`);
  for (const s of o.sources) {
    out.push('', esc(`kubeconfig ${s.kind === 'file' ? `file ${s.source}` : s.source}`), '');
    if (s.contexts.length) out.push(renderTable(head, s.contexts.map((v) => cells(v, wide, color)), { color }).trimEnd());
    for (const v of s.contexts) {
      for (const p of v.problems) out.push(`  ! ${esc(`${v.context || '-'}: ${p}`)}`);
      for (const n of v.notes) out.push(`  note: ${esc(`${v.context || '-'}: ${n}`)}`);
    }
    for (const w of s.warnings) out.push(`  warning: ${w}`);
    if (s.skipped.length && s.contexts.length) out.push(`  skipped (not this vCluster's): ${esc(s.skipped.join(', '))}`);
    if (s.error) out.push(`  error: ${s.error}`);
  }
  out.push('');
  return out.join('\n') + '\n';
}

function worst(results: SourceResult[]): SourceResult {
  const rank: SourceResult[] = ['OK', 'EXPIRING', 'BROKEN', 'ERROR'];
  return results.reduce<SourceResult>((a, b) => (rank.indexOf(b) > rank.indexOf(a) ? b : a), 'OK');
}

/** The machine-readable document; never holds key material (the verdicts carry none). */
export function kubeconfigCheckDocument(o: KubeconfigCheckOutcome) {
  return {
    apiVersion: 'vcluster-certs/v1',
    kind: 'KubeconfigCheck',
    vcluster: o.vcluster,
    pki: o.pki,
    result: worst(o.sources.map((s) => s.result)),
    warnings: o.warnings,
    kubeconfigs: o.sources.map((s) => ({
      kind: s.kind,
      source: s.source,
      result: s.result,
      ...(s.error ? { error: s.error } : {}),
      warnings: s.warnings,
      skipped: s.skipped,
      contexts: s.contexts,
    })),
  };
}

export async function renderKubeconfigCheck(o: KubeconfigCheckOutcome, format: OutputFormat, color: boolean): Promise<string> {
  if (format === 'json') return JSON.stringify(kubeconfigCheckDocument(o), null, 4) + '\n';
  if (format === 'yaml') {
    const { stringify } = await import('yaml');
    return stringify(kubeconfigCheckDocument(o));
  }
  return renderKubeconfigCheckText(o, format === 'wide', color);
}

export function renderKubeconfigIssue(o: KubeconfigIssueOutcome, format: 'text' | 'json'): string {
  const p = o.plan;
  if (format === 'json') {
    return JSON.stringify({ apiVersion: 'vcluster-certs/v1', kind: 'KubeconfigIssue', result: o.written ? 'written' : 'dry-run', file: o.written, ...p, warnings: o.warnings }, null, 4) + '\n';
  }
  const rows: Array<[string, string]> = [
    ['vCluster', `${p.namespace}/${p.vcluster}`],
    ['user (CN)', p.user],
    ['groups (O)', p.groups.length ? p.groups.join(', ') : '-'],
    ['key', p.keyType],
    ['valid', `${formatExpiry(p.notBefore)} to ${formatExpiry(p.notAfter)}`],
    ['signed by', `${p.issuer.subject} (client-ca.crt, SHA-256 ${p.issuer.sha256.slice(0, 23)}…)`],
    ['trusts', `${p.caData.subject} (server-ca.crt, SHA-256 ${p.caData.sha256.slice(0, 23)}…)`],
    ['server', p.server],
    ['context', p.context],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const out = [o.written ? `Issued a client kubeconfig:` : 'Would issue a client kubeconfig:', ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
  for (const w of o.warnings) out.push(`  warning: ${w}`);
  out.push(o.written ? `Wrote ${o.written} (mode 0600, it holds the private key).` : 'Dry run: no key was generated, nothing was written.');
  return out.join('\n') + '\n';
}
