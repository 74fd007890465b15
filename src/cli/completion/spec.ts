// The CLI's commands and flags as completion sees them, read from the yargs definitions
// themselves, so new commands complete without changes here. This reads yargs internals
// (getInternalMethods, the usage and command instances, frozen command state): test/unit/internals.test.ts
// fails loudly when a yargs release drops them.
import yargs from 'yargs';

export interface FlagSpec {
  name: string;
  aliases: string[];
  takesValue: boolean;
  /** may be given more than once (array/count): still offered after use */
  repeatable: boolean;
  describe: string;
  choices?: string[];
}

export interface CommandSpec {
  name: string;
  aliases: string[];
  describe: string;
  hidden: boolean;
  positionals: Array<{ name: string; variadic: boolean; choices?: string[] }>;
  flags: FlagSpec[];
  commands: CommandSpec[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- yargs' internal command/usage objects are untyped */
type YargsAny = any;

const YARGS_BUILTIN = new Set(['help', 'version', '$0', '_']);

function describeText(d: unknown): string {
  return typeof d === 'string' ? d.replace(/^__yargsString__:/, '') : '';
}

/** Flags declared on a yargs instance (aliases folded into their flag). */
export function flagsOf(y: YargsAny, exclude: Set<string> = new Set()): FlagSpec[] {
  const o = y.getOptions();
  const descriptions = y.getInternalMethods().getUsageInstance().getDescriptions() as Record<string, unknown>;
  const alias: Record<string, string[]> = o.alias ?? {};
  const isAlias = new Set(Object.values(alias).flat());
  const hidden = new Set<string>(o.hiddenOptions ?? []);
  const noValue = new Set<string>([...(o.boolean ?? []), ...(o.count ?? [])]);
  const repeat = new Set<string>([...(o.array ?? []), ...(o.count ?? [])]);
  return Object.keys(o.key ?? {})
    .filter((k) => !isAlias.has(k) && !YARGS_BUILTIN.has(k) && !hidden.has(k) && !exclude.has(k))
    .map((name) => ({
      name,
      aliases: alias[name] ?? [],
      takesValue: !noValue.has(name),
      repeatable: repeat.has(name),
      describe: describeText(descriptions[name]),
      ...(Array.isArray(o.choices?.[name]) ? { choices: o.choices[name].map(String) } : {}),
    }));
}

function parsePositionals(original: string): Array<{ name: string; variadic: boolean }> {
  return original.split(/\s+/).slice(1).map((t) => {
    const inner = t.replace(/^[<[]|[>\]]$/g, '');
    const variadic = inner.endsWith('..');
    return { name: inner.replace(/\.\.$/, '').split('|')[0]!, variadic };
  }).filter((p) => p.name);
}

/** A command's spec, from its yargs handler: its builder runs on a fresh, never-parsed instance. */
function commandSpec(handler: YargsAny, depth = 0): CommandSpec {
  const original: string = handler.original ?? '';
  const [name = ''] = original.split(/\s+/);
  const positionals = parsePositionals(original);
  const fresh: YargsAny = yargs([]);
  let commands: CommandSpec[] = [];
  if (typeof handler.builder === 'function') {
    try {
      handler.builder(fresh, false);
      if (depth < 3) commands = Object.values(fresh.getInternalMethods().getCommandInstance().getCommandHandlers()).map((h) => commandSpec(h, depth + 1));
    } catch {
      // a builder that needs a real parse context: complete its name only
    }
  } else if (handler.builder && typeof handler.builder === 'object') {
    fresh.options(handler.builder);
  }
  const choices = fresh.getOptions().choices ?? {};
  return {
    name,
    aliases: handler.aliases ?? [],
    describe: typeof handler.description === 'string' ? handler.description : '',
    hidden: handler.description === false,
    positionals: positionals.map((p) => ({ ...p, ...(Array.isArray(choices[p.name]) ? { choices: choices[p.name].map(String) } : {}) })),
    flags: flagsOf(fresh, new Set(positionals.map((p) => p.name))),
    commands,
  };
}

/**
 * The whole CLI as seen from inside a command builder: `y` is the root instance after
 * yargs' per-command reset, which keeps global options; the root's command handlers are
 * in the command instance's frozen state (yargs 17/18 freeze before running a command).
 */
export function specFromBuilderInstance(y: YargsAny): { root: CommandSpec } {
  const ci = y.getInternalMethods().getCommandInstance();
  const handlers: Record<string, YargsAny> = ci.frozens?.[0]?.handlers ?? ci.getCommandHandlers?.() ?? {};
  return {
    root: {
      name: '',
      aliases: [],
      describe: '',
      hidden: false,
      positionals: [],
      flags: [...flagsOf(y), { name: 'help', aliases: ['h'], takesValue: false, repeatable: false, describe: 'Show help' }],
      commands: Object.values(handlers).map((h) => commandSpec(h)),
    },
  };
}
