// Cobra's completion protocol: the candidates for the words typed so far. Pure apart from the
// lookups it is given (namespaces, vCluster names, contexts).
import { FLAG_VALUES, OUTPUT_FORMATS } from '../values.js';
import type { CommandSpec, FlagSpec } from './spec.js';

/** Cobra's ShellCompDirective bits. */
export const Directive = { Default: 0, Error: 1, NoSpace: 2, NoFileComp: 4, FilterFileExt: 8, FilterDirs: 16, KeepOrder: 32 } as const;

export interface Candidate {
  value: string;
  description?: string;
}

/** What a lookup needs to reach the cluster, taken from the words typed so far. */
export interface LookupContext {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces: boolean;
}

export interface Lookups {
  namespaces(ctx: LookupContext): Promise<Candidate[]>;
  vclusters(ctx: LookupContext): Promise<Candidate[]>;
  contexts(ctx: LookupContext): Promise<Candidate[]>;
}

export interface Completion {
  candidates: Candidate[];
  directive: number;
}

/** `-o` values: the flag's choices, else the command's formats (the list the command itself checks). */
export function outputValues(flag: FlagSpec, command: string): string[] {
  if (flag.choices?.length) return flag.choices;
  return [...(OUTPUT_FORMATS[command] ?? [])];
}

interface Walk {
  path: CommandSpec[];
  positionals: string[];
  used: Set<string>;
  values: Record<string, string>;
  pending?: FlagSpec;
}

/** The innermost command's flags first, the global ones last. */
function flagsInScope(path: CommandSpec[]): FlagSpec[] {
  return [...path].reverse().flatMap((c) => c.flags);
}

function findLong(flags: FlagSpec[], n: string): FlagSpec | undefined {
  return flags.find((f) => f.name === n || f.aliases.includes(n));
}

/** Walks the complete words (not the partial one) like the parser would. */
function walk(root: CommandSpec, words: string[]): Walk {
  const w: Walk = { path: [root], positionals: [], used: new Set(), values: {} };
  let dashdash = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const flags = flagsInScope(w.path);
    if (dashdash || word === '-' || !word.startsWith('-')) {
      const cmd = w.path.at(-1)!;
      const sub = !dashdash && w.positionals.length === 0 ? cmd.commands.find((c) => c.name === word || c.aliases.includes(word)) : undefined;
      if (sub) w.path.push(sub);
      else w.positionals.push(word);
      continue;
    }
    if (word === '--') { dashdash = true; continue; }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const f = findLong(flags, name);
      if (!f) continue;
      w.used.add(f.name);
      if (eq >= 0) w.values[f.name] = word.slice(eq + 1);
      else if (f.takesValue) {
        if (i + 1 < words.length) w.values[f.name] = words[++i]!;
        else w.pending = f;
      }
      continue;
    }
    // -abc: a cluster of short flags; the first one taking a value eats the rest or the next word
    const chars = word.slice(1);
    for (let j = 0; j < chars.length; j++) {
      const f = findLong(flags, chars[j]!);
      if (!f) break;
      w.used.add(f.name);
      if (!f.takesValue) continue;
      const rest = chars.slice(j + 1).replace(/^=/, '');
      if (rest) w.values[f.name] = rest;
      else if (i + 1 < words.length) w.values[f.name] = words[++i]!;
      else w.pending = f;
      break;
    }
  }
  return w;
}

function ctxOf(w: Walk): LookupContext {
  return {
    kubeconfig: w.values.kubeconfig || undefined,
    context: w.values.context || undefined,
    namespace: w.values.namespace || undefined,
    allNamespaces: w.used.has('all-namespaces'),
  };
}

/** Flags whose values come from a lookup; `list`: they take a comma-separated list of them. */
const LOOKUP_FLAGS: Readonly<Record<string, { lookup: 'contexts' | 'namespaces'; list?: true }>> = {
  namespace: { lookup: 'namespaces' },
  context: { lookup: 'contexts' },
  contexts: { lookup: 'contexts', list: true },
  'watch-namespaces': { lookup: 'namespaces', list: true },
};

/** Flags that take a comma-separated list in one command only (`serve -n a,b` checks each namespace on its own). */
const LIST_IN: Readonly<Record<string, readonly string[]>> = { serve: ['namespace'] };

/**
 * The values of flag `f`, `typed` being the part of its value typed so far (the caller filters by
 * it). A list flag offers what precedes the last comma followed by each item not listed yet.
 */
async function flagValues(f: FlagSpec, w: Walk, lookups: Lookups, typed: string): Promise<Completion> {
  const command = w.path.slice(1).map((c) => c.name).join(' ');
  const of = (candidates: readonly Candidate[], directive: number = Directive.NoFileComp) => ({ candidates: [...candidates], directive });
  if (f.name === 'output') return of(outputValues(f, command).map((value) => ({ value })));
  if (f.choices?.length) return of(f.choices.map((value) => ({ value })));
  if (FLAG_VALUES[f.name]) return of(FLAG_VALUES[f.name]!);
  if (f.name === 'kubeconfig') return of([], Directive.Default); // the shell completes file names
  const by = LOOKUP_FLAGS[f.name];
  if (!by) return of([]);
  const items = await lookups[by.lookup](ctxOf(w)).catch(() => []);
  if (!by.list && !LIST_IN[command]?.includes(f.name)) return of(items);
  const head = typed.slice(0, typed.lastIndexOf(',') + 1);
  const listed = new Set(head.split(',').map((x) => x.trim()));
  return of(items.filter((c) => !listed.has(c.value)).map((c) => ({ ...c, value: head + c.value })));
}

function byPrefix(c: Candidate[], prefix: string): Candidate[] {
  const seen = new Set<string>();
  return c.filter((x) => x.value.startsWith(prefix) && !seen.has(x.value) && seen.add(x.value));
}

/**
 * Candidates for `words` (the last one is the partial word being completed) against the
 * CLI `root`. Pure apart from `lookups`.
 */
export async function complete(root: CommandSpec, words: string[], lookups: Lookups): Promise<Completion> {
  const all = words.length ? words : [''];
  const partial = all.at(-1)!;
  const w = walk(root, all.slice(0, -1));
  const flags = flagsInScope(w.path);
  const cmd = w.path.at(-1)!;

  const filtered = async (p: Promise<Completion> | Completion, prefix: string): Promise<Completion> => {
    const r = await p;
    return { candidates: byPrefix(r.candidates, prefix), directive: r.directive };
  };

  if (w.pending) return filtered(flagValues(w.pending, w, lookups, partial), partial);

  if (partial.startsWith('-') && partial.includes('=')) {
    const eq = partial.indexOf('=');
    const name = partial.slice(partial.startsWith('--') ? 2 : 1, eq);
    const f = findLong(flags, name);
    if (!f || !f.takesValue) return { candidates: [], directive: Directive.NoFileComp };
    const typed = partial.slice(eq + 1);
    return filtered(flagValues(f, w, lookups, typed), typed);
  }

  if (partial.startsWith('-')) {
    const out: Candidate[] = [];
    for (const f of flags) {
      if (w.used.has(f.name) && !f.repeatable) continue;
      for (const n of [f.name, ...f.aliases]) {
        const text = n.length === 1 ? `-${n}` : `--${n}`;
        if (partial.startsWith('--') && n.length === 1) continue;
        out.push({ value: text, description: f.describe });
      }
    }
    return { candidates: byPrefix(out, partial), directive: Directive.NoFileComp };
  }

  if (cmd.commands.length && w.positionals.length === 0) {
    const subs = cmd.commands.filter((c) => !c.hidden).map((c) => ({ value: c.name, description: c.describe }));
    return { candidates: byPrefix(subs, partial), directive: Directive.NoFileComp };
  }

  const pos = cmd.positionals[w.positionals.length] ?? (cmd.positionals.at(-1)?.variadic ? cmd.positionals.at(-1) : undefined);
  if (!pos) return { candidates: [], directive: Directive.NoFileComp };
  if (pos.choices?.length) return filtered({ candidates: pos.choices.map((value) => ({ value })), directive: Directive.NoFileComp }, partial);
  if (pos.name === 'name') {
    return filtered(lookups.vclusters(ctxOf(w)).catch(() => []).then((candidates) => ({ candidates, directive: Directive.NoFileComp })), partial);
  }
  return { candidates: [], directive: Directive.NoFileComp };
}

export function formatCompletion(c: Completion): string {
  const lines = c.candidates.map((x) => (x.description ? `${x.value}\t${x.description.replace(/[\t\n]+/g, ' ')}` : x.value));
  return [...lines, `:${c.directive}`].join('\n') + '\n';
}
