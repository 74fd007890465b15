// Times as the output shows them.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Go's `Jan 02, 2006 15:04 MST` in UTC, as upstream prints expiry. */
export function formatExpiry(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** A span in its largest whole unit: '3y' (from two years on), '45d', '5h', '12m'. */
export function formatDays(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (Math.abs(days) >= 730) return `${Math.floor(days / 365)}y`;
  if (Math.abs(days) >= 1) return `${days}d`;
  const hours = Math.floor(ms / HOUR_MS);
  return hours !== 0 ? `${hours}h` : `${Math.floor(ms / MINUTE_MS)}m`;
}
