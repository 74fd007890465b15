// The values of -o and --source: the commands declare, check and describe their flags from these
// lists, and completion offers them from the same lists.
import type { Source } from '../flows/check.js';

export interface Choice<T extends string = string> {
  value: T;
  description?: string;
}

export const CHECK_FORMATS = ['table', 'wide', 'json', 'yaml', 'prometheus'] as const;
/** check --metric-style (with -o prometheus) */
export const METRIC_STYLES = ['native', 'x509'] as const;
export const BACKUPS_FORMATS = ['table', 'json', 'yaml'] as const;
export const CHANGE_FORMATS = ['text', 'json'] as const;

/** -o values by command. */
export const OUTPUT_FORMATS: Readonly<Record<string, readonly string[]>> = {
  check: CHECK_FORMATS,
  backups: BACKUPS_FORMATS,
  rotate: CHANGE_FORMATS,
  'rotate-ca': CHANGE_FORMATS,
  restore: CHANGE_FORMATS,
};

/** check --source */
export const SOURCES: ReadonlyArray<Choice<Source>> = [
  { value: 'auto', description: 'the Secret; for one named vCluster also /data/pki of every Ready pod, to report drift' },
  { value: 'both', description: 'the Secret and /data/pki of every Ready pod, for every vCluster' },
  { value: 'secret', description: 'only the <name>-certs Secret, no exec needed' },
  { value: 'pod', description: 'only /data/pki in the syncer container of a Ready pod' },
];

/** 'a, b or c' */
export function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}
