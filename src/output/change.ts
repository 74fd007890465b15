// Renders plans and results of rotate / rotate-ca / restore.
import type { ChangeReport, PlanLine } from '../flows/change.js';
import { formatExpiry } from './time.js';
import { escapeControl as esc, renderTable } from './table.js';

const when = (iso?: string) => (iso ? formatExpiry(iso) : '-');

export function renderPlan(lines: PlanLine[], color: boolean): string {
  const rows = lines.map((l) => [esc(l.file), l.action, when(l.oldExpiry), when(l.newExpiry), l.keyType ?? '-', esc(l.note ?? '')]);
  return renderTable(['FILE', 'ACTION', 'EXPIRES NOW', 'EXPIRES AFTER', 'KEY', 'NOTE'], rows, { color });
}

export function renderChangeText(r: ChangeReport, color: boolean): string {
  const out: string[] = ['', `${r.kind} of vCluster ${r.namespace}/${r.vcluster}: plan`, '', renderPlan(r.plan, color).trimEnd()];
  for (const w of r.warnings) out.push(`  warning: ${esc(w)}`);
  out.push('');
  if (r.result === 'dry-run') {
    out.push('Dry run: nothing was changed.');
  } else {
    out.push(`Result: ${r.result} (state: ${r.state})`);
    if (r.backups.secret) out.push(`Backup secret: ${r.namespace}/${r.backups.secret}`);
    for (const b of r.backups.pods) out.push(`Backup in pod ${b.pod}: ${b.dir}`);
    const changed = r.certificates.filter((c) => c.oldSha256 !== c.newSha256);
    if (changed.length) {
      out.push('', renderTable(['FILE', 'OLD SHA-256', 'NEW SHA-256'], changed.map((c) => [esc(c.file), short(c.oldSha256), short(c.newSha256)]), { color }).trimEnd());
    }
    if (r.recovery) out.push('', r.recovery);
  }
  out.push('');
  return out.join('\n') + '\n';
}

function short(fp?: string): string {
  return fp ? `${fp.slice(0, 23)}…` : '-';
}
