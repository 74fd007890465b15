// Shell completion.
//   completion <shell>   prints a script for bash, zsh, fish or powershell, or (shell
//                        `kubectl`) the kubectl_complete-vcluster_certs helper that
//                        kubectl >= 1.26 runs for `kubectl vcluster-certs <TAB>`.
//   __complete WORDS...  (hidden) Cobra's protocol: the arguments are the words typed so
//                        far plus the partial word (possibly ''); prints one candidate per
//                        line (`value<TAB>description`), then `:<directive>`.
// The pieces live in completion/: spec.ts reads the yargs definitions, complete.ts completes,
// lookups.ts asks the cluster and the kubeconfig, scripts.ts holds the shell scripts.
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../errors.js';
import { complete, Directive, formatCompletion } from './completion/complete.js';
import { clusterLookups, lookupTimeoutMs } from './completion/lookups.js';
import { completionScript, SHELLS, SHIM_NAME } from './completion/scripts.js';
import { specFromBuilderInstance, type CommandSpec } from './completion/spec.js';
import type { Runner } from './index.js';

export { complete, Directive, formatCompletion, outputValues, type Candidate, type Completion, type LookupContext, type Lookups } from './completion/complete.js';
export { clusterLookups, lookupTimeoutMs } from './completion/lookups.js';
export { completionScript, KUBECTL_SHIM, PROGRAM, SHELLS, SHIM_NAME, type Shell } from './completion/scripts.js';
export { flagsOf, specFromBuilderInstance, type CommandSpec, type FlagSpec } from './completion/spec.js';

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
          'Completes commands, flags, the values of -o, --source, --metric-style and --mode, contexts (also in',
          'a --contexts list), namespaces (-n, --watch-namespaces) and vCluster names;',
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
