// Shell completion: the Cobra-style `__complete` protocol (unit level on a fake CLI, and
// through the built binary on the real one), the scripts for bash (run for real), zsh and
// fish (syntax, when the shell is installed), lazy loading, and namespace / vCluster-name
// lookups against the simulated cluster, bounded and silent on errors.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';
import {
  complete, completionScript, formatCompletion, KUBECTL_SHIM, outputValues, rawCompletionWords, Directive,
  type CommandSpec, type FlagSpec, type LookupContext, type Lookups,
} from '../../src/cli/completion.js';
import { BIN, ROOT, cleanEnv, run, tmpDir, which } from './helpers.js';

const test = suite('release: completion');
const tmp = tmpDir('completion-test-');
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- unit: the protocol on a fake CLI ----------------------------------------------------
const flag = (name: string, o: Partial<FlagSpec> = {}): FlagSpec => ({ name, aliases: [], takesValue: true, repeatable: false, describe: `${name} flag`, ...o });
const cmd = (name: string, o: Partial<CommandSpec> = {}): CommandSpec => ({ name, aliases: [], describe: `${name} command`, hidden: false, positionals: [], flags: [], commands: [], ...o });
const ROOT_SPEC = cmd('', {
  flags: [flag('kubeconfig'), flag('context'), flag('namespace', { aliases: ['n'] }), flag('verbose', { aliases: ['v'], takesValue: false, repeatable: true })],
  commands: [
    cmd('check', {
      positionals: [{ name: 'name', variadic: false }],
      flags: [
        flag('output', { aliases: ['o'], describe: 'Output format: table, wide, json or yaml' }), flag('source'), flag('all-namespaces', { aliases: ['A'], takesValue: false }),
        flag('metric-style'), flag('contexts'),
      ],
    }),
    cmd('rotate', { positionals: [{ name: 'name', variadic: false }], flags: [flag('output', { aliases: ['o'], describe: 'Output format: text or json' }), flag('yes', { aliases: ['y'], takesValue: false })] }),
    cmd('backups', { commands: [cmd('list', { positionals: [{ name: 'name', variadic: false }] })] }),
    cmd('install', { flags: [flag('mode'), flag('metric-style'), flag('watch-namespaces')] }),
    cmd('serve', { flags: [flag('all-namespaces', { aliases: ['A'], takesValue: false }), flag('contexts')] }),
    cmd('__complete', { hidden: true }),
  ],
});

function fakeLookups() {
  const calls: Array<[string, LookupContext]> = [];
  const lookups: Lookups = {
    async namespaces(ctx) { calls.push(['namespaces', ctx]); return [{ value: 'team-a' }, { value: 'team-b' }, { value: 'default' }]; },
    async vclusters(ctx) { calls.push(['vclusters', ctx]); return [{ value: 'vc1', description: 'Running' }, { value: 'vc2', description: 'Paused' }]; },
    async contexts(ctx) { calls.push(['contexts', ctx]); return [{ value: 'prod', description: 'eu' }, { value: 'dev' }, { value: 'staging' }]; },
  };
  return { calls, lookups };
}
const values = async (words: string[], lookups = fakeLookups().lookups) => {
  const r = await complete(ROOT_SPEC, words, lookups);
  return { v: r.candidates.map((c) => c.value), d: r.directive };
};

test('commands: visible ones only, filtered by the partial word, no file completion', async () => {
  assert.equal(await values(['']), { v: ['check', 'rotate', 'backups', 'install', 'serve'], d: Directive.NoFileComp });
  assert.equal(await values(['r']), { v: ['rotate'], d: Directive.NoFileComp });
  assert.equal(await values([]), { v: ['check', 'rotate', 'backups', 'install', 'serve'], d: Directive.NoFileComp });
  assert.equal((await values(['backups', ''])).v, ['list'], 'nested commands');
});

test('flags: command flags then global ones; --x lists long names only; used flags drop out', async () => {
  const all = (await values(['check', '-'])).v;
  assert.equal(all, ['--output', '-o', '--source', '--all-namespaces', '-A', '--metric-style', '--contexts', '--kubeconfig', '--context', '--namespace', '-n', '--verbose', '-v']);
  assert.equal((await values(['check', '--'])).v, ['--output', '--source', '--all-namespaces', '--metric-style', '--contexts', '--kubeconfig', '--context', '--namespace', '--verbose']);
  assert.equal((await values(['check', '-o', 'json', '-v', '--o'])).v, [], '--output already given');
  assert.ok((await values(['check', '-v', '--v'])).v.includes('--verbose'), 'repeatable flags stay');
  const desc = (await complete(ROOT_SPEC, ['check', '--out'], fakeLookups().lookups)).candidates;
  assert.equal(desc, [{ value: '--output', description: 'Output format: table, wide, json or yaml' }]);
});

test('-o values per command, after a space, after =, and as -o=', async () => {
  assert.equal(await values(['check', '-o', '']), { v: ['table', 'wide', 'json', 'yaml', 'prometheus'], d: Directive.NoFileComp });
  assert.equal((await values(['rotate', 'vc1', '--output', ''])).v, ['text', 'json']);
  assert.equal((await values(['check', '--output=j'])).v, ['json']);
  assert.equal((await values(['check', '-o=y'])).v, ['yaml']);
  assert.equal(outputValues(flag('output', { describe: 'no list here' }), 'check'), ['table', 'wide', 'json', 'yaml', 'prometheus']);
  assert.equal(outputValues(flag('output', { choices: ['a', 'b'] }), 'x'), ['a', 'b']);
});

test('--source values, --kubeconfig leaves file names to the shell, unknown value flags complete nothing', async () => {
  assert.equal((await values(['check', '--source', ''])).v, ['auto', 'both', 'secret', 'pod']);
  assert.equal(await values(['--kubeconfig', '']), { v: [], d: Directive.Default });
  assert.equal(await values(['rotate', 'x', '--yes', 'extra', '']), { v: [], d: Directive.NoFileComp });
});

test('namespaces, contexts and vCluster names come from lookups with the connection flags typed so far', async () => {
  const { calls, lookups } = fakeLookups();
  assert.equal((await values(['check', '--kubeconfig', '/k', '--context=prod', '-n', 'te'], lookups)).v, ['team-a', 'team-b']);
  assert.equal(calls.at(-1), ['namespaces', { kubeconfig: '/k', context: 'prod', namespace: undefined, allNamespaces: false }]);
  assert.equal((await values(['check', '-n', 'team-a', '-A', 'v'], lookups)).v, ['vc1', 'vc2']);
  assert.equal(calls.at(-1), ['vclusters', { kubeconfig: undefined, context: undefined, namespace: 'team-a', allNamespaces: true }]);
  assert.equal((await values(['check', '-nteam-b', ''], lookups)).v, ['vc1', 'vc2'], '-nVALUE form');
  assert.is(calls.at(-1)![1].namespace, 'team-b');
  assert.equal((await values(['--context', 'd'], lookups)).v, ['dev']);
  assert.equal(await values(['check', 'vc1', ''], lookups), { v: [], d: Directive.NoFileComp }, 'one name only');
  assert.equal((await values(['backups', 'list', ''], lookups)).v, ['vc1', 'vc2']);
  assert.equal((await values(['check', '--', '-x', ''], lookups)).v, [], 'after --, -x is the name');
});

test('--metric-style and --mode values, with their descriptions, in every command that has the flag', async () => {
  const check = await complete(ROOT_SPEC, ['check', '--metric-style', ''], fakeLookups().lookups);
  assert.equal(check, {
    candidates: [{ value: 'native', description: 'vcluster_certs_*' }, { value: 'x509', description: "x509-certificate-exporter's metric names and labels" }],
    directive: Directive.NoFileComp,
  });
  assert.equal((await values(['check', '--metric-style=x'])).v, ['x509']);
  assert.equal(await values(['install', '--mode', '']), { v: ['exporter', 'cronjob'], d: Directive.NoFileComp });
  assert.equal((await values(['install', '--mode=c'])).v, ['cronjob']);
  assert.equal((await values(['install', '--metric-style', 'n'])).v, ['native']);
});

test('--contexts and --watch-namespaces: each item not listed yet, after the items typed before the last comma', async () => {
  const { calls, lookups } = fakeLookups();
  assert.equal(await values(['check', '--contexts', ''], lookups), { v: ['prod', 'dev', 'staging'], d: Directive.NoFileComp });
  assert.equal((await values(['check', '--contexts', 'prod,'], lookups)).v, ['prod,dev', 'prod,staging']);
  assert.equal((await values(['check', '--contexts', 'prod,staging,'], lookups)).v, ['prod,staging,dev']);
  assert.equal((await values(['check', '--contexts', 'staging, prod,d'], lookups)).v, ['staging, prod,dev'], 'spaces around a listed item');
  assert.equal((await values(['check', '--contexts', 'dev,prod,staging,'], lookups)).v, [], 'every context listed');
  assert.equal((await values(['check', '--contexts', 'dev,x'], lookups)).v, []);
  assert.equal((await values(['check', '--contexts=dev,'], lookups)).v, ['dev,prod', 'dev,staging'], '--flag=value: the value only');
  assert.equal((await complete(ROOT_SPEC, ['check', '--contexts', 'dev,p'], lookups)).candidates, [{ value: 'dev,prod', description: 'eu' }], 'descriptions kept');
  assert.equal((await values(['check', '--kubeconfig', '/k', '--contexts', 'prod,'], lookups)).v, ['prod,dev', 'prod,staging']);
  assert.equal(calls.at(-1), ['contexts', { kubeconfig: '/k', context: undefined, namespace: undefined, allNamespaces: false }]);
  assert.equal(await values(['install', '--watch-namespaces', 'team-a,'], lookups), { v: ['team-a,team-b', 'team-a,default'], d: Directive.NoFileComp });
  assert.equal((await values(['install', '--watch-namespaces', 'default,team-b,t'], lookups)).v, ['default,team-b,team-a']);
  assert.is(calls.at(-1)![0], 'namespaces');
  // serve -n takes a list (each namespace checked on its own); check -n takes one namespace
  assert.equal((await values(['serve', '-n', 'team-a,'], lookups)).v, ['team-a,team-b', 'team-a,default']);
  assert.equal((await values(['serve', '--namespace', 'default,t'], lookups)).v, ['default,team-a', 'default,team-b']);
  assert.equal((await values(['check', '-n', 'team-a,'], lookups)).v, []);
  assert.equal((await values(['check', '-n', 'team'], lookups)).v, ['team-a', 'team-b']);
});

test('--context lists the contexts of the --kubeconfig typed before it (flags after the cursor are not read, as in kubectl)', async () => {
  const { calls, lookups } = fakeLookups();
  assert.equal(await values(['check', '--kubeconfig', '/k', '--context', ''], lookups), { v: ['prod', 'dev', 'staging'], d: Directive.NoFileComp });
  assert.equal(calls.at(-1), ['contexts', { kubeconfig: '/k', context: undefined, namespace: undefined, allNamespaces: false }]);
});

test('a failing lookup completes nothing, without throwing', async () => {
  const failing: Lookups = { namespaces: () => Promise.reject(new Error('x')), vclusters: () => Promise.reject(new Error('x')), contexts: () => Promise.reject(new Error('x')) };
  assert.equal(await values(['check', ''], failing), { v: [], d: Directive.NoFileComp });
  assert.equal(await values(['check', '-n', ''], failing), { v: [], d: Directive.NoFileComp });
  assert.equal(await values(['check', '--contexts', 'a,'], failing), { v: [], d: Directive.NoFileComp });
});

test('output format: value<TAB>description lines, then :directive; raw words keep "" and --', () => {
  assert.is(formatCompletion({ candidates: [{ value: 'a', description: 'x\ty' }, { value: 'b' }], directive: 4 }), 'a\tx y\nb\n:4\n');
  assert.equal(rawCompletionWords(['node', 'bin', '__complete', 'check', '']), ['check', '']);
  assert.equal(rawCompletionWords(['node', 'bin', '__complete', '--', 'check', '-o']), ['check', '-o']);
  assert.equal(rawCompletionWords(['node', 'bin', '__complete', 'check', '""']), ['check', ''], 'PowerShell 5 stand-in for an empty word');
});

// ---- the built binary --------------------------------------------------------------------
const complete$ = (args: string[], env: NodeJS.ProcessEnv = cleanEnv({ HOME: tmp })) => run(BIN, ['__complete', ...args], { env });
const lines = (s: string) => s.trimEnd().split('\n');
/** the candidates' values, and the directive */
const names = (r: { stdout: string }) => lines(r.stdout).map((l) => l.split('\t')[0]);
/** a kubeconfig with the contexts prod-eu (cluster eu), prod-us (us) and dev (eu) */
function contextsKubeconfig(): string {
  const kc = path.join(tmp, 'kc-contexts');
  fs.writeFileSync(kc, [
    'apiVersion: v1', 'kind: Config',
    'clusters: [{name: eu, cluster: {server: "https://127.0.0.1:1"}}, {name: us, cluster: {server: "https://127.0.0.1:1"}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: prod-eu, context: {cluster: eu, user: u}}, {name: prod-us, context: {cluster: us, user: u}}, {name: dev, context: {cluster: eu, user: u}}]',
    'current-context: dev', '',
  ].join('\n'));
  return kc;
}

test('binary: __complete lists the real commands and flags, hides itself, prints nothing on stderr', async () => {
  const r = await complete$(['']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  const names = lines(r.stdout).map((l) => l.split('\t')[0]);
  for (const c of ['check', 'rotate', 'completion', 'version']) assert.ok(names.includes(c), `${c} in ${names}`);
  assert.not.ok(names.includes('__complete'));
  assert.is(names.at(-1), ':4');
  const flags = lines((await complete$(['check', '--'])).stdout).map((l) => l.split('\t')[0]);
  for (const f of ['--output', '--source', '--warn-within', '--all-namespaces', '--kubeconfig', '--context', '--namespace', '--request-timeout', '--help']) assert.ok(flags.includes(f), `${f} in ${flags}`);
  assert.equal(lines((await complete$(['check', '-o', ''])).stdout), ['table', 'wide', 'json', 'yaml', 'prometheus', ':4']);
  assert.equal(lines((await complete$(['rotate', 'vc', '-o', ''])).stdout), ['text', 'json', ':4']);
  assert.equal(lines((await complete$(['check', '--source', 's'])).stdout).map((l) => l.split('\t')[0]), ['secret', ':4']);
  assert.equal(lines((await complete$(['completion', ''])).stdout), ['bash', 'zsh', 'fish', 'powershell', 'kubectl', ':4']);
  const h = await complete$(['check', '--help', '-o', '']);
  assert.equal(lines(h.stdout), ['table', 'wide', 'json', 'yaml', 'prometheus', ':4'], 'words are data: --help does not print help');
});

test('binary: --metric-style (check, serve, install) and install --mode values', async () => {
  for (const c of ['check', 'serve', 'install']) assert.equal(names(await complete$([c, '--metric-style', ''])), ['native', 'x509', ':4'], c);
  assert.equal(names(await complete$(['serve', '--metric-style=x'])), ['x509', ':4']);
  assert.equal(names(await complete$(['install', '--mode', ''])), ['exporter', 'cronjob', ':4']);
});

test('binary: completion <shell> prints each script; kubectl prints the helper shipped in the archives', async () => {
  for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
    const r = await run(BIN, ['completion', shell], { env: cleanEnv({ HOME: tmp }) });
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes('__complete'), shell);
    assert.ok(r.stdout.includes('kubectl-vcluster_certs'), shell);
  }
  const k = await run(BIN, ['completion', 'kubectl'], { env: cleanEnv({ HOME: tmp }) });
  const shipped = fs.readFileSync(path.join(ROOT, 'completion/kubectl_complete-vcluster_certs'), 'utf8');
  assert.is(k.stdout, shipped);
  assert.is(KUBECTL_SHIM, shipped);
  assert.ok((fs.statSync(path.join(ROOT, 'completion/kubectl_complete-vcluster_certs')).mode & 0o111) !== 0, 'helper is executable');
  assert.match(fs.readFileSync(path.join(ROOT, 'completion/kubectl_complete-vcluster_certs.cmd'), 'utf8'), /^@kubectl-vcluster_certs\.exe __complete %\*\r$/m);
  const bad = await run(BIN, ['completion', 'tcsh'], { env: cleanEnv({ HOME: tmp }) });
  assert.is(bad.code, 3);
  assert.match(bad.stderr, /^error: .*tcsh.*\n$/);
});

test('bash: the script completes commands, -o values, --flag=value, through a symlinked name too', async () => {
  const dir = path.join(tmp, 'bashpath');
  fs.mkdirSync(dir);
  fs.symlinkSync(BIN, path.join(dir, 'kubectl-vcluster_certs'));
  fs.symlinkSync(BIN, path.join(dir, 'vcerts'));
  const script = path.join(tmp, 'completion.bash');
  const gen = await run(path.join(dir, 'vcerts'), ['completion', 'bash'], { env: cleanEnv({ HOME: tmp }, [dir]) });
  fs.writeFileSync(script, gen.stdout);
  assert.match(gen.stdout, /^complete -o default -F __kubectl_vcluster_certs_complete vcerts$/m, 'registered for the invoked name');
  const syntax = await run('bash', ['-n', script]);
  assert.is(syntax.code, 0, syntax.stderr);
  const reply = async (line: string) => {
    const r = await run('bash', ['-c', `source "$1"; COMP_LINE="$2"; COMP_POINT=\${#COMP_LINE}; read -r -a COMP_WORDS <<< "$COMP_LINE"; __kubectl_vcluster_certs_complete; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', script, line], { env: cleanEnv({ HOME: tmp }, [dir]) });
    assert.is(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  assert.equal(await reply('kubectl-vcluster_certs '), ['check', 'rotate', 'backups', 'rotate-ca', 'restore', 'resume', 'kubeconfig', 'serve', 'install', 'completion', 'version']);
  assert.equal(await reply('kubectl-vcluster_certs ch'), ['check']);
  assert.equal(await reply('vcerts check -o '), ['table', 'wide', 'json', 'yaml', 'prometheus']);
  assert.equal(await reply('vcerts check --output=j'), ['json'], '"=" is a word break: only the value is replaced');
  assert.equal(await reply('vcerts check --warn-'), ['--warn-within']);
  const kc = contextsKubeconfig();
  assert.equal(await reply(`vcerts check --kubeconfig ${kc} --contexts dev,`), ['dev,prod-eu', 'dev,prod-us'], 'the whole list replaces the word');
  assert.equal(await reply(`vcerts check --kubeconfig ${kc} --contexts=prod-us,d`), ['prod-us,dev']);
});

for (const shell of ['zsh', 'fish']) {
  const exe = which(shell);
  (exe ? test : test.skip)(`${shell}: the script parses (${shell} -n)`, async () => {
    const script = path.join(tmp, `completion.${shell}`);
    fs.writeFileSync(script, completionScript(shell as 'zsh' | 'fish'));
    const r = await run(exe!, ['-n', script]);
    assert.is(r.code, 0, r.stderr);
  });
  if (!exe) console.log(`skip: ${shell} not installed, its completion script is not syntax-checked`);
}

const fish = which('fish');
(fish ? test : test.skip)('fish: the script completes commands, -o values and prefixes for real (complete -C)', async () => {
  const dir = path.join(tmp, 'fishpath');
  fs.mkdirSync(dir);
  fs.symlinkSync(BIN, path.join(dir, 'kubectl-vcluster_certs'));
  const script = path.join(tmp, 'completion-run.fish');
  const gen = await run(path.join(dir, 'kubectl-vcluster_certs'), ['completion', 'fish'], { env: cleanEnv({ HOME: tmp }, [dir]) });
  fs.writeFileSync(script, gen.stdout);
  const reply = async (line: string) => {
    const r = await run(fish!, ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', script, line], { env: cleanEnv({ HOME: tmp }, [dir]) });
    assert.is(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  };
  assert.equal((await reply('kubectl-vcluster_certs ')).sort(), ['backups', 'check', 'completion', 'install', 'kubeconfig', 'restore', 'resume', 'rotate', 'rotate-ca', 'serve', 'version']);
  assert.equal((await reply('kubectl-vcluster_certs check -o ')).sort(), ['json', 'prometheus', 'table', 'wide', 'yaml']);
  assert.equal((await reply('kubectl-vcluster_certs rot')).sort(), ['rotate', 'rotate-ca']);
});
if (!fish) console.log('skip: fish not installed, its completion script is not run');

test('lazy loading: completion never evaluates the Kubernetes client, YAML or jsrsasign unless it needs cluster data', async () => {
  const heavy = B.HEAVY.filter((p) => p !== 'yargs' && p !== 'yargs-parser');
  const probes = await B.probeLazy({
    rules: [
      { args: ['__complete', ''], forbid: heavy },
      { args: ['__complete', 'check', '-o', ''], forbid: heavy },
      { args: ['__complete', 'install', '--mode', ''], forbid: heavy },
      { args: ['__complete', 'rotate', 'x', '--'], forbid: heavy },
      { args: ['completion', 'bash'], forbid: heavy },
      { args: ['__complete', 'check', ''], forbid: [] }, // needs the cluster: loads the client
    ],
  });
  for (const p of probes) {
    assert.is(p.status, 0, `${p.args.join(' ')}: ${p.stderr}`);
    assert.equal(p.forbidden, [], p.args.join(' '));
  }
  assert.ok(probes.at(-1)!.loaded!.includes('@kubernetes/client-node'), 'the probe sees a cluster lookup load the client');
});

// ---- lookups against a cluster -------------------------------------------------------------
type Sim = Awaited<ReturnType<typeof import('../cluster/index.js')['startCluster']>>;
let sim: Sim | null = null;
let simError = '';
test.before(async () => {
  try {
    const { startCluster } = await import('../cluster/index.js');
    sim = await startCluster({ namespace: 'team-a' });
    await sim.addVCluster({ name: 'alpha', namespace: 'team-a' });
    await sim.addVCluster({ name: 'beta', namespace: 'team-a', kind: 'Deployment' });
    await sim.addVCluster({ name: 'gamma', namespace: 'team-b' });
  } catch (e) {
    simError = String((e as Error)?.message ?? e);
    sim = null;
  }
});
test.after(async () => { await sim?.close(); });

test('simulated cluster: -n lists namespaces; names come from the context namespace, -n, or -A', async () => {
  assert.ok(sim, `simulated cluster did not start: ${simError}`);
  const env = cleanEnv({ HOME: tmp, KUBECONFIG: sim!.kubeconfigPath });
  const ns = await complete$(['check', '-n', 'team'], env);
  assert.is(ns.stderr, '');
  assert.equal(lines(ns.stdout), ['team-a', 'team-b', ':4']);
  assert.equal(names(await complete$(['check', ''], env)), ['alpha', 'beta', ':4'], 'context namespace team-a');
  assert.equal(names(await complete$(['rotate', '-n', 'team-b', ''], env)), ['gamma', ':4']);
  const all = await complete$(['check', '-A', ''], env);
  assert.equal(names(all).sort(), [':4', 'alpha', 'beta', 'gamma']);
  assert.match(all.stdout, /^gamma\tteam-b \w+/m, 'with -A the description names the namespace');
  assert.equal(names(await complete$(['check', 'a'], env)), ['alpha', ':4']);
  const ctx = await complete$(['check', '--context', ''], env);
  assert.equal(names(ctx), ['admin@sim', ':4']);
  assert.equal(names(await complete$(['install', '--watch-namespaces', 'team-a,t'], env)), ['team-a,team-b', ':4']);
  assert.equal(names(await complete$(['serve', '-n', 'team-a,t'], env)), ['team-a,team-b', ':4']);
});

test('binary: --context and --contexts list the contexts of the --kubeconfig typed before them', async () => {
  const kc = contextsKubeconfig();
  const env = cleanEnv({ HOME: tmp });
  const one = await complete$(['check', '--kubeconfig', kc, '--context', ''], env);
  assert.is(one.stderr, '');
  assert.equal(lines(one.stdout), ['prod-eu\teu', 'prod-us\tus', 'dev\teu', ':4']);
  assert.equal(lines((await complete$(['check', `--kubeconfig=${kc}`, '--contexts', 'dev,prod-eu,'], env)).stdout), ['dev,prod-eu,prod-us\tus', ':4']);
  assert.equal(lines((await complete$(['serve', '--kubeconfig', kc, '--contexts=prod-us,'], env)).stdout), ['prod-us,prod-eu\teu', 'prod-us,dev\teu', ':4']);
});

test('unreachable or silent API server: nothing printed but the directive, within the 2 s deadline', async () => {
  const kc = (server: string) => {
    const f = path.join(tmp, `kc-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(f, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]\ncurrent-context: x\n`);
    return f;
  };
  // a port that accepts connections and never answers
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => { sockets.push(s); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    for (const [label, server, maxMs] of [['closed port', 'https://127.0.0.1:1', 1500], ['silent server', `https://127.0.0.1:${port}`, 3500]] as const) {
      for (const words of [['check', ''], ['check', '-n', '']]) {
        const r = await complete$(words, cleanEnv({ HOME: tmp, KUBECONFIG: kc(server) }));
        assert.is(r.code, 0, label);
        assert.is(r.stdout, ':4\n', label);
        assert.is(r.stderr, '', label);
        assert.ok(r.ms < maxMs, `${label} ${words.join(' ')}: ${r.ms.toFixed(0)} ms`);
      }
    }
    const none = await complete$(['check', ''], cleanEnv({ HOME: tmp }));
    assert.equal([none.code, none.stdout, none.stderr], [0, ':4\n', ''], 'no kubeconfig at all');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test.run();
