// Renders plans and results of rotate / rotate-ca / restore.
import type { ChangeReport, PlanLine } from '../flows/change.js';
import { formatExpiry } from './time.js';
import { escapeControl as esc, renderTable } from './table.js';
import { EXIT } from '../errors.js';
import { resumeCommand, undoCommand } from '../flows/change-marker.js';

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
  } else if (r.result === 'nothing-to-do') {
    out.push('Nothing to do.');
  } else {
    out.push(`Result: ${r.result} (state: ${r.state})`);
    if (r.backups.secret) out.push(`Backup secret: ${r.namespace}/${r.backups.secret}`);
    if (r.renewedByVCluster?.length) out.push(`Leafs renewed by vCluster on start: ${r.renewedByVCluster.join(', ')}`);
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

/** Exit code and one line for a run stopped by a second signal: where the vCluster stands, what to run. */
export function stateAfterInterrupt(r: ChangeReport | undefined, vc: { name: string; namespace: string }): { code: number; line: string } {
  if (!r || r.state === 'unchanged') {
    return { code: EXIT.BROKEN, line: `stopped before the commit: nothing was changed${r?.backups.secret ? ` (backup kept: secret ${r.backups.secret})` : ''}` };
  }
  if (r.state === 'all-new' || r.state === 'all-old') return { code: r.state === 'all-new' ? EXIT.OK : EXIT.BROKEN, line: `the vCluster is ${r.state}` };
  return {
    code: EXIT.PARTIAL,
    line: `stopped after the commit: the pods may not run what the Secret holds yet; finish with "${resumeCommand(vc)}", or go back with "${undoCommand(vc, r.stamp)}"`,
  };
}
