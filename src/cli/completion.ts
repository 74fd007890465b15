// Shell completion.
//   completion <shell>   prints a script for bash, zsh, fish or powershell, or (shell
//                        `kubectl`) the kubectl_complete-vcluster_certs helper that
//                        kubectl >= 1.26 runs for `kubectl vcluster-certs <TAB>`.
//   __complete WORDS...  (hidden) Cobra's protocol: the arguments are the words typed so
//                        far plus the partial word (possibly ''); prints one candidate per
//                        line (`value<TAB>description`), then `:<directive>`.
// Commands and flags are read from the yargs definitions themselves, so new commands
// complete without changes here. Only namespaces, vCluster names (from the cluster,
// within a short deadline, silent on errors) and contexts (from the kubeconfig) load
// more than yargs: the Kubernetes client and the YAML parser are imported lazily.
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { connect } from './flags.js';
import type { Runner } from './index.js';

/** Cobra's ShellCompDirective bits. */
export const Directive = { Default: 0, Error: 1, NoSpace: 2, NoFileComp: 4, FilterFileExt: 8, FilterDirs: 16, KeepOrder: 32 } as const;

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell', 'kubectl'] as const;
export type Shell = (typeof SHELLS)[number];

export const PROGRAM = 'kubectl-vcluster_certs';
export const SHIM_NAME = 'kubectl_complete-vcluster_certs';

/** Same bytes as completion/kubectl_complete-vcluster_certs (the file in the release archives). */
export const KUBECTL_SHIM = `#!/bin/sh
# kubectl >= 1.26 runs this for \`kubectl vcluster-certs <TAB>\`: keep it on PATH
# next to kubectl-vcluster_certs. Prints candidates, one per line, then :<directive>.
exec kubectl-vcluster_certs __complete "$@"
`;

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

// ---------------------------------------------------------------------------------------
// Reading the yargs definitions
// ---------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------
// Completing
// ---------------------------------------------------------------------------------------
const SOURCE_VALUES: Candidate[] = [
  { value: 'auto', description: 'the Secret, plus /data/pki of a Ready pod' },
  { value: 'secret', description: 'only the <name>-certs Secret (no exec needed)' },
  { value: 'pod', description: 'only /data/pki in the syncer container' },
];

/** `-o` values: the flag's choices, else the list its description names ("Output format: a, b or c"). */
export function outputValues(flag: FlagSpec, command: string): string[] {
  if (flag.choices?.length) return flag.choices;
  const m = /format[^:]*:\s*([a-z][\w-]*(?:\s*(?:,|\bor\b)\s*[a-z][\w-]*)+)/i.exec(flag.describe);
  if (m) return m[1]!.split(/\s*,\s*|\s+or\s+/).map((s) => s.trim()).filter(Boolean);
  return command === 'check' ? ['table', 'wide', 'json', 'yaml'] : ['text', 'json'];
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

async function flagValues(f: FlagSpec, w: Walk, lookups: Lookups): Promise<Completion> {
  const command = w.path.slice(1).map((c) => c.name).join(' ');
  const none = { candidates: [], directive: Directive.NoFileComp };
  if (f.name === 'output') return { candidates: outputValues(f, command).map((value) => ({ value })), directive: Directive.NoFileComp };
  if (f.choices?.length) return { candidates: f.choices.map((value) => ({ value })), directive: Directive.NoFileComp };
  switch (f.name) {
    case 'source': return { candidates: SOURCE_VALUES, directive: Directive.NoFileComp };
    case 'namespace': return { candidates: await lookups.namespaces(ctxOf(w)).catch(() => []), directive: Directive.NoFileComp };
    case 'context': return { candidates: await lookups.contexts(ctxOf(w)).catch(() => []), directive: Directive.NoFileComp };
    case 'kubeconfig': return { candidates: [], directive: Directive.Default }; // the shell completes file names
    default: return none;
  }
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

  if (w.pending) return filtered(flagValues(w.pending, w, lookups), partial);

  if (partial.startsWith('-') && partial.includes('=')) {
    const eq = partial.indexOf('=');
    const name = partial.slice(partial.startsWith('--') ? 2 : 1, eq);
    const f = findLong(flags, name);
    if (!f || !f.takesValue) return { candidates: [], directive: Directive.NoFileComp };
    return filtered(flagValues(f, w, lookups), partial.slice(eq + 1));
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

// ---------------------------------------------------------------------------------------
// Cluster and kubeconfig lookups (lazy, bounded, silent)
// ---------------------------------------------------------------------------------------
export function lookupTimeoutMs(): number {
  const v = Number(process.env.VCERTS_COMPLETION_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 2000;
}

type KubeHandle = Awaited<ReturnType<typeof connect>>;

async function withCluster<T>(ctx: LookupContext, fn: (kube: KubeHandle) => Promise<T>): Promise<T | undefined> {
  const ms = lookupTimeoutMs();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  const work = (async () => {
    const kube = await connect({ kubeconfig: ctx.kubeconfig, context: ctx.context, namespace: ctx.namespace, 'request-timeout': `${ms}ms` });
    return fn(kube);
  })().catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export const clusterLookups: Lookups = {
  async namespaces(ctx) {
    const list = await withCluster(ctx, (kube) => kube.call('list namespaces', () => kube.core.listNamespace({}, kube.opts)));
    return (list?.items ?? []).map((n) => ({ value: n.metadata?.name ?? '' })).filter((c) => c.value);
  },
  async vclusters(ctx) {
    const found = await withCluster(ctx, async (kube) => {
      const { findVClusters } = await import('../kube/discovery.js');
      return findVClusters(kube, { namespace: kube.namespace, allNamespaces: ctx.allNamespaces });
    });
    const byName = new Map<string, string[]>();
    for (const vc of found ?? []) byName.set(vc.name, [...(byName.get(vc.name) ?? []), ctx.allNamespaces ? `${vc.namespace} ${vc.status}` : vc.status]);
    return [...byName].map(([value, d]) => ({ value, description: d.join(', ') }));
  },
  async contexts(ctx) {
    const files = ctx.kubeconfig ? [ctx.kubeconfig]
      : process.env.KUBECONFIG ? process.env.KUBECONFIG.split(delimiter).filter(Boolean)
        : [join(homedir(), '.kube', 'config')];
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const names: Candidate[] = [];
    for (const f of files) {
      try {
        const doc = parse(await readFile(f, 'utf8')) as { contexts?: Array<{ name?: string; context?: { cluster?: string; namespace?: string } }> };
        for (const c of doc?.contexts ?? []) if (c?.name) names.push({ value: c.name, description: c.context?.cluster ?? '' });
      } catch {
        // unreadable or not YAML: kubectl skips it too
      }
    }
    return names;
  },
};

// ---------------------------------------------------------------------------------------
// Shell scripts
// ---------------------------------------------------------------------------------------
const fnName = (p: string) => `__${p.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;

function bashScript(names: string[]): string {
  const fn = fnName(PROGRAM);
  return `# bash completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this shell:  source <(${PROGRAM} completion bash)
# Every new shell: add that line to ~/.bashrc.
# \`kubectl vcluster-certs <TAB>\` is completed by kubectl itself (1.26+) through the
# ${SHIM_NAME} helper on PATH: ${PROGRAM} completion kubectl
${fn}() {
    local line="\${COMP_LINE:0:COMP_POINT}" cur="" out c directive=0 prefix=""
    local -a words=() lines=()
    read -r -a words <<< "$line"
    if [[ -n $line && \${line: -1} != [[:space:]] && \${#words[@]} -gt 1 ]]; then
        cur="\${words[\${#words[@]}-1]}"
        unset 'words[\${#words[@]}-1]'
    fi
    out=$("\${words[0]}" __complete "\${words[@]:1}" "$cur" 2>/dev/null) || return 0
    while IFS= read -r c; do lines+=("$c"); done <<< "$out"
    if [[ \${#lines[@]} -gt 0 && \${lines[\${#lines[@]}-1]} =~ ^:([0-9]+)$ ]]; then
        directive=\${BASH_REMATCH[1]}
        unset 'lines[\${#lines[@]}-1]'
    fi
    (( directive & 1 )) && return 0
    # --flag=value: bash replaces only the text after "=" when "=" breaks words
    if [[ $cur == -*=* && $COMP_WORDBREAKS != *=* ]]; then prefix="\${cur%%=*}="; fi
    COMPREPLY=()
    for c in "\${lines[@]}"; do
        c="\${c%%$'\\t'*}"
        [[ -n $c ]] && COMPREPLY+=("$prefix$c")
    done
    if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
    if (( directive & 4 )) || (( \${#COMPREPLY[@]} > 0 )); then compopt +o default 2>/dev/null; fi
    return 0
}
${names.map((n) => `complete -o default -F ${fn} ${n}`).join('\n')}
`;
}

function zshScript(names: string[]): string {
  const fn = `_${PROGRAM}`;
  return `#compdef ${names.join(' ')}
# zsh completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this shell (after compinit):  source <(${PROGRAM} completion zsh)
# Or save it as ${fn} in a directory of $fpath.
${fn}() {
  local cur="\${words[CURRENT]}" out line value desc prefix="" directive=0
  local -a args lines cands opts
  args=("\${(@)words[2,CURRENT-1]}")
  out=$(\${words[1]} __complete "\${args[@]}" "$cur" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  if [[ \${lines[-1]} =~ '^:[0-9]+$' ]]; then
    directive=\${lines[-1]#:}
    lines=("\${(@)lines[1,-2]}")
  fi
  (( directive & 1 )) && return 1
  [[ $cur == -*=* ]] && prefix="\${cur%%=*}="
  for line in "\${lines[@]}"; do
    [[ -z $line ]] && continue
    value="\${line%%$'\\t'*}"; desc=""
    [[ $line == *$'\\t'* ]] && desc="\${line#*$'\\t'}"
    value="$prefix$value"
    cands+=("\${value//:/\\\\:}\${desc:+:$desc}")
  done
  if (( \${#cands} )); then
    (( directive & 2 )) && opts=(-S '')
    _describe -t values 'vcluster-certs' cands "\${opts[@]}"
    return
  fi
  (( directive & 4 )) && return 1
  _files
}
if [ "$funcstack[1]" = "${fn}" ]; then
  ${fn} "$@"
else
  compdef ${fn} ${names.join(' ')}
fi
`;
}

function fishScript(names: string[]): string {
  const fn = fnName(PROGRAM);
  return `# fish completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this shell:  ${PROGRAM} completion fish | source
# Or save it as ~/.config/fish/completions/${PROGRAM}.fish
function ${fn}
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l prog $words[1]
    set -e words[1]
    set -l out ($prog __complete $words "$cur" 2>/dev/null)
    or return
    set -l directive 0
    if test (count $out) -gt 0; and string match -qr '^:[0-9]+$' -- $out[-1]
        set directive (string sub -s 2 -- $out[-1])
        set -e out[-1]
    end
    if test (math "$directive % 2") -eq 1
        return
    end
    set -l prefix ''
    if string match -qr -- '^-[^=]*=' $cur
        set prefix (string replace -r -- '=.*' '=' $cur)
    end
    set -l n 0
    for line in $out
        test -n "$line"; or continue
        printf '%s%s\\n' $prefix $line
        set n (math $n + 1)
    end
    if test $n -eq 0; and test (math "floor($directive / 4) % 2") -eq 0
        __fish_complete_path $cur
    end
end
${names.map((n) => `complete -c ${n} -f -a '(${fn})'`).join('\n')}
`;
}

function powershellScript(names: string[]): string {
  const all = names.flatMap((n) => [n, `${n}.exe`]);
  return `# PowerShell completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this session:  ${PROGRAM} completion powershell | Out-String | Invoke-Expression
# Every session: add that line to $PROFILE.
Register-ArgumentCompleter -Native -CommandName @(${all.map((n) => `'${n}'`).join(', ')}) -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $line = $commandAst.Extent.Text
    if ($line.Length -gt $cursorPosition) { $line = $line.Substring(0, $cursorPosition) }
    $words = @($line -split '\\s+' | Where-Object { $_ -ne '' })
    $prog = $words[0]
    $rest = @()
    if ($words.Count -gt 1) { $rest = @($words | Select-Object -Skip 1) }
    if ($wordToComplete -ne '' -and $rest.Count -gt 0) { $rest = @($rest | Select-Object -First ($rest.Count - 1)) }
    $partial = $wordToComplete
    # Windows PowerShell < 7.3 drops empty arguments to native commands; '""' stands for ''.
    if ($partial -eq '' -and $PSVersionTable.PSVersion -lt [version]'7.3') { $partial = '""' }
    $out = @(& $prog __complete @rest $partial 2>$null)
    $directive = 0
    if ($out.Count -gt 0 -and $out[-1] -match '^:(\\d+)$') {
        $directive = [int]$Matches[1]
        $out = @($out | Select-Object -First ($out.Count - 1))
    }
    if ($directive -band 1) { return }
    $prefix = ''
    if ($wordToComplete -match '^(-[^=]*=)') { $prefix = $Matches[1] }
    foreach ($l in $out) {
        if (-not $l) { continue }
        $parts = $l -split "\`t", 2
        $desc = if ($parts.Count -gt 1 -and $parts[1]) { $parts[1] } else { $parts[0] }
        [System.Management.Automation.CompletionResult]::new($prefix + $parts[0], $parts[0], 'ParameterValue', $desc)
    }
}
`;
}

/** The script for `shell`, registered for the program name and the name we run as (e.g. a `vcerts` symlink). */
export function completionScript(shell: Shell, invoked: string = PROGRAM): string {
  const names = [...new Set([PROGRAM, ...(invoked.startsWith('kubectl ') || /\s/.test(invoked) ? [] : [invoked])])];
  switch (shell) {
    case 'bash': return bashScript(names);
    case 'zsh': return zshScript(names);
    case 'fish': return fishScript(names);
    case 'powershell': return powershellScript(names);
    case 'kubectl': return KUBECTL_SHIM;
  }
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------
/** The words after `__complete` as the shell passed them (yargs' parse of them is not used). */
export function rawCompletionWords(argv: string[] = process.argv): string[] {
  const i = argv.indexOf('__complete', 1);
  let words = i < 0 ? [] : argv.slice(i + 1);
  if (words[0] === '--') words = words.slice(1);
  if (words.length && words.at(-1) === '""') words = [...words.slice(0, -1), ''];
  return words;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- registered on the root parser, whatever its option types
export const completionCommand = (run: Runner): Array<CommandModule<any, any>> => {
  let spec: { root: CommandSpec } | undefined;
  return [
    {
      command: 'completion <shell>',
      describe: 'Print a shell completion script (bash, zsh, fish, powershell), or the kubectl completion helper (kubectl)',
      builder: (y: Argv) => y
        .positional('shell', { type: 'string', choices: SHELLS, describe: 'bash, zsh, fish, powershell, or kubectl' })
        .epilog([
          'Set up:',
          '  bash        source <(kubectl-vcluster_certs completion bash)         # in ~/.bashrc',
          '  zsh         kubectl-vcluster_certs completion zsh > "${fpath[1]}/_kubectl-vcluster_certs"',
          '  fish        kubectl-vcluster_certs completion fish | source          # in config.fish',
          '  powershell  kubectl-vcluster_certs completion powershell | Out-String | Invoke-Expression',
          `  kubectl     SHIM="\${KREW_ROOT:-$HOME/.krew}/bin/${SHIM_NAME}"`,
          '              kubectl vcluster-certs completion kubectl > "$SHIM" && chmod +x "$SHIM"',
          '              (kubectl 1.26+ runs it for `kubectl vcluster-certs <TAB>`)',
          '',
          'Completes commands, flags, -o and --source values, contexts, namespaces (-n) and vCluster names;',
          `names come from the cluster within ${lookupTimeoutMs() / 1000}s and are left out on any error.`,
        ].join('\n')),
      handler: (args: Record<string, unknown>) => run(async () => {
        const shell = SHELLS.find((s) => s === args.shell);
        if (!shell) throw new UserError(`unknown shell "${String(args.shell)}": use one of ${SHELLS.join(', ')}`);
        const { invokedName } = await import('./name.js');
        process.stdout.write(completionScript(shell, invokedName()));
        return 0;
      }),
    },
    {
      command: '__complete [words..]',
      describe: false as const,
      builder: (y: Argv) => {
        spec = specFromBuilderInstance(y);
        // The words are data, not options: no strict checks, no --help handling.
        return y.strict(false).help(false).version(false);
      },
      handler: () => run(async () => {
        let out = ':' + Directive.NoFileComp + '\n';
        try {
          if (spec) out = formatCompletion(await complete(spec.root, rawCompletionWords(), clusterLookups));
        } catch {
          // completion never prints errors into the user's command line
        }
        process.stdout.write(out);
        // Sockets of a timed-out lookup must not keep the shell waiting.
        setTimeout(() => process.exit(), 50).unref();
        return 0;
      }),
    },
  ];
};
