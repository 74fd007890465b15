// The values of -o and the other enum flags: the commands declare, check (oneOf) and describe
// their flags from these lists, and completion offers them from the same lists.
import type { Source } from '../flows/check.js';
import type { InstallMode } from '../output/install.js';
import type { MetricStyle } from '../output/prometheus.js';

export interface Choice<T extends string = string> {
  value: T;
  description?: string;
}

export const CHECK_FORMATS = ['table', 'wide', 'json', 'yaml', 'prometheus'] as const;
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

/** check, serve and install --metric-style */
export const METRIC_STYLES: ReadonlyArray<Choice<MetricStyle>> = [
  { value: 'native', description: 'vcluster_certs_*' },
  { value: 'x509', description: "x509-certificate-exporter's metric names and labels" },
];

/** install --mode */
export const INSTALL_MODES: ReadonlyArray<Choice<InstallMode>> = [
  { value: 'exporter', description: 'Deployment + Service serving /metrics' },
  { value: 'cronjob', description: 'a scheduled check' },
];

/**
 * The values of the enum flags other than -o, by flag name (a name means the same values in
 * every command that has it): what completion offers.
 */
export const FLAG_VALUES: Readonly<Record<string, ReadonlyArray<Choice>>> = {
  source: SOURCES,
  'metric-style': METRIC_STYLES,
  mode: INSTALL_MODES,
};

export function valuesOf<T extends string>(choices: ReadonlyArray<Choice<T>>): T[] {
  return choices.map((c) => c.value);
}

/** 'a (what a is) or b (what b is)', for a flag's help */
export function describeChoices(choices: readonly Choice[]): string {
  return orList(choices.map((c) => (c.description ? `${c.value} (${c.description})` : c.value)));
}

/** 'a, b or c' */
export function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}
