import { UserError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 365 * 86_400_000 };

/** Parses Go-style durations plus days/weeks/years: '30d', '72h', '1h30m', '8760h', '0'. */
export function parseDuration(text: string, flag: string): number {
  const s = String(text).trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed !== s.length || s.length === 0) {
    throw new UserError(`invalid ${flag} "${text}": use a duration like 30d, 72h, 90m or 1h30m`);
  }
  return total;
}
