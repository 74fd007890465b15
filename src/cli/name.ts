import { basename } from 'node:path';

/** What to call ourselves in usage text: kubectl's plugin name, or the name we were run as. */
export function invokedName(argv1 = process.argv[1] ?? ''): string {
  const base = basename(argv1).replace(/\.(exe|cjs|js|mjs|ts)$/, '');
  if (!base || base.startsWith('kubectl-') || base === 'main' || base === 'bundle') return PLUGIN_NAME;
  return base;
}

/** How kubectl and krew run us; the build renders the top-level help for this name. */
export const PLUGIN_NAME = 'kubectl vcluster-certs';

/** Help is laid out 100 columns wide, narrower only on a narrower terminal. */
export function helpWidth(columns = process.stdout.columns): number {
  return columns && columns < 100 ? columns : 100;
}
