// Flags every command shares, named and behaving as kubectl's (plugins must parse them
// themselves: kubectl refuses global flags placed before a plugin name).
import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { parseDuration } from './duration.js';
import { orList } from './values.js';

export interface GlobalArgs {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  'all-namespaces'?: boolean;
  'request-timeout'?: string;
  verbose?: number;
}

export function withGlobalFlags<T>(y: Argv<T>) {
  return y
    .option('kubeconfig', { type: 'string', describe: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)', global: true })
    .option('context', { type: 'string', describe: 'The kubeconfig context to use', global: true })
    .option('namespace', { alias: 'n', type: 'string', describe: "Namespace of the vCluster (default: the context's namespace)", global: true })
    .option('request-timeout', { type: 'string', describe: 'How long to wait for one API request (e.g. 30s, 1m; 0 = no limit)', default: '30s', global: true })
    .option('verbose', { alias: 'v', type: 'count', describe: 'More detail; shows stack traces of errors', global: true });
}

export function withAllNamespaces<T>(y: Argv<T>) {
  return y.option('all-namespaces', { alias: 'A', type: 'boolean', describe: 'Look in every namespace' });
}

/** -o/--output with the command's formats (values.ts), the first one the default. */
export function withOutput<T>(y: Argv<T>, formats: readonly string[]) {
  return y.option('output', { alias: 'o', type: 'string', describe: `Output format: ${orList(formats)}`, default: formats[0] });
}

/** Validates an enum flag with a one-line error (yargs' `choices` message spans lines). */
export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError(`unknown ${flag} value "${value}": use one of ${allowed.join(', ')}`);
}

/** A flag that takes a whole number (0 or more); a one-line error for anything else. */
export function wholeNumber(value: number | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new UserError(`${flag} takes a whole number (0 or more)${Number.isNaN(value) ? '' : `, not ${value}`}`);
  }
  return value;
}

export async function connect(args: GlobalArgs) {
  const { Kube } = await import('../kube/client.js');
  return Kube.connect({
    kubeconfig: args.kubeconfig,
    context: args.context,
    namespace: args.namespace,
    requestTimeoutMs: parseDuration(args['request-timeout'] ?? '30s', '--request-timeout'),
  });
}
