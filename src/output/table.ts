// Upstream's `vcluster certs check` table look: two-space indent, ' | ' between
// columns, a dashed rule under the header. (cli-table3 cannot draw a header-only rule.)

export interface TableStyle {
  color: boolean;
}

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[0m';

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export function colorStatus(status: string, color: boolean): string {
  if (!color) return status;
  if (status === 'OK') return status;
  if (status === 'EXPIRING') return `${YELLOW}${status}${RESET}`;
  return `${RED}${status}${RESET}`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (s: string) => s.replace(ANSI, '').length;

export function renderTable(header: string[], rows: string[][], style: TableStyle): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join(' | ').trimEnd();
  const head = pad(header);
  const lines = [
    `  ${style.color ? GREEN + head + RESET : head}`,
    '  ' + widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...rows.map((r) => `  ${pad(r)}`),
  ];
  return lines.join('\n') + '\n';
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from the cluster (file, Secret and pod names, subjects) made safe for a terminal: every
 * control character (C0, DEL, C1) is written as an escape, so a newline cannot break a table and
 * an escape sequence cannot rewrite the screen. JSON and YAML escape them on their own.
 */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
