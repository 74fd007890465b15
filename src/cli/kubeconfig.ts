import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { parseDuration } from './duration.js';
import { connect, oneOf, type GlobalArgs } from './flags.js';
import type { Runner } from './index.js';

interface CheckArgs extends GlobalArgs {
  args?: string[];
  output?: string;
  'warn-within'?: string;
  'files-only'?: boolean;
}

interface IssueArgs extends GlobalArgs {
  name: string;
  user?: string;
  group?: string[];
  validity?: string;
  server?: string;
  out?: string;
  overwrite?: boolean;
  'key-type'?: string;
  'allow-system-masters'?: boolean;
  'dry-run'?: boolean;
  output?: string;
}

const checkCommand = (run: Runner) => ({
  command: 'check <args..>',
  describe: 'Check kubeconfigs against what the vCluster serves and accepts now: the vc-NAME Secret and any FILEs',
  builder: (y: Argv) =>
    y
      .positional('args', { type: 'string', array: true, describe: '[FILE...] NAME: kubeconfig files, then the vCluster name' })
      .option('output', { alias: 'o', type: 'string', describe: 'Output format: table, wide, json or yaml', default: 'table' })
      .option('warn-within', { type: 'string', describe: 'Flag certificates expiring within this duration as EXPIRING', default: '30d' })
      .option('files-only', { type: 'boolean', describe: 'Check only the FILEs, not the vc-NAME Secret' })
      .example('$0 kubeconfig check my-vc -n team-a', 'the kubeconfig vCluster exports to the vc-my-vc Secret')
      .example('$0 kubeconfig check ~/.kube/config my-vc -n team-a', 'also the contexts of a file that belong to my-vc')
      .epilog('Per context: does its certificate-authority-data trust what the vCluster serves (the proxy on 8443, or kube-apiserver '
        + 'for a server on port 6443), does client-ca.crt accept its client certificate, does its key match, when does it expire. '
        + 'Exit codes: 0 all OK, 1 something expires within --warn-within, 2 EXPIRED / NOT YET VALID / UNTRUSTED / REJECTED / INVALID, 3 could not check.'),
  handler: (args: CheckArgs) => run(async () => {
    const format = oneOf(args.output, ['table', 'wide', 'json', 'yaml'] as const, '-o/--output', 'table');
    const warnWithinMs = parseDuration(args['warn-within'] ?? '30d', '--warn-within');
    const positional = (args.args ?? []).map(String);
    const name = positional.at(-1);
    if (!name) throw new UserError('name the vCluster: kubeconfig check [FILE...] NAME');
    const kube = await connect(args);
    const { runKubeconfigCheck } = await import('../flows/kubeconfig-run.js');
    const { renderKubeconfigCheck } = await import('../output/kubeconfig.js');
    const { useColor } = await import('../output/table.js');
    const outcome = await runKubeconfigCheck(kube, {
      name,
      namespace: kube.namespace,
      files: positional.slice(0, -1),
      secret: !args['files-only'],
      warnWithinMs,
    });
    process.stdout.write(await renderKubeconfigCheck(outcome, format, useColor()));
    // A kubeconfig that could not be checked is an error line on stderr too, for scripts reading stdout as data.
    for (const s of outcome.sources) if (s.error) process.stderr.write(`error: ${s.source}: ${s.error}\n`);
    if (args.verbose) process.stderr.write(`api requests: ${kube.stats.requests}\n`);
    return outcome.exitCode;
  }),
});

const issueCommand = (run: Runner) => ({
  command: 'issue <name>',
  describe: 'Write a new client kubeconfig for the vCluster, signed by its client CA (like kubeadm kubeconfig user)',
  builder: (y: Argv) =>
    y
      .positional('name', { type: 'string', describe: 'vCluster name', demandOption: true })
      .option('user', { type: 'string', describe: 'User name: the certificate\'s common name' })
      .option('group', { type: 'string', array: true, describe: 'Group (organization); repeat for several' })
      .option('validity', { type: 'string', describe: 'How long the certificate is valid', default: '365d' })
      .option('key-type', { type: 'string', describe: 'rsa-2048, rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384', default: 'rsa-2048' })
      .option('server', { type: 'string', describe: 'Server URL written into the kubeconfig', default: 'https://localhost:8443' })
      .option('out', { type: 'string', describe: 'File to write (mode 0600); it holds the private key' })
      .option('overwrite', { type: 'boolean', describe: 'Replace --out if it exists' })
      .option('allow-system-masters', { type: 'boolean', describe: 'Allow --group system:masters (unrestricted, cannot be revoked)' })
      .option('dry-run', { type: 'boolean', describe: 'Show what would be issued; generate and write nothing' })
      .option('output', { alias: 'o', type: 'string', describe: 'Output format: text or json', default: 'text' })
      .example('$0 kubeconfig issue my-vc -n team-a --user alice --group dev --validity 30d --out alice.kubeconfig', 'a 30-day kubeconfig for alice')
      .epilog('The key is generated locally and written only to --out. The kubeconfig trusts the first certificate of server-ca.crt, '
        + 'which the vCluster\'s proxy (8443) chains to; the default server needs "kubectl port-forward -n NS svc/NAME 8443:443". '
        + 'Exit codes: 0 written (or --dry-run), 3 nothing written: bad flags, not found, --out exists, the client CA cannot sign.'),
  handler: (args: IssueArgs) => run(async () => {
    const format = oneOf(args.output, ['text', 'json'] as const, '-o/--output', 'text');
    const { validateRequest, DEFAULT_CLIENT_VALIDITY } = await import('../flows/kubeconfig-issue.js');
    const req = {
      vcName: args.name,
      namespace: '',
      user: args.user ?? '',
      groups: (args.group ?? []).map(String),
      validityMs: parseDuration(args.validity ?? DEFAULT_CLIENT_VALIDITY, '--validity'),
      keyType: args['key-type'] ?? 'rsa-2048',
      server: args.server ?? 'https://localhost:8443',
      now: new Date(),
      allowSystemMasters: !!args['allow-system-masters'],
    };
    validateRequest(req);
    if (!args.out && !args['dry-run']) throw new UserError('name the file to write with --out FILE (or use --dry-run)');
    const kube = await connect(args);
    const { runKubeconfigIssue } = await import('../flows/kubeconfig-run.js');
    const { renderKubeconfigIssue } = await import('../output/kubeconfig.js');
    const outcome = await runKubeconfigIssue(kube, { ...req, namespace: kube.namespace }, {
      out: args.out ?? '', overwrite: !!args.overwrite, dryRun: !!args['dry-run'],
    });
    process.stdout.write(renderKubeconfigIssue(outcome, format));
    if (outcome.written && /^https:\/\/localhost:8443\/?$/.test(outcome.plan.server)) {
      process.stderr.write(`${outcome.written} points at https://localhost:8443: run "kubectl port-forward -n ${outcome.plan.namespace} svc/${outcome.plan.vcluster} 8443:443" first, or issue with --server\n`);
    }
    return 0;
  }),
});

export const kubeconfigCommand = (run: Runner) => ({
  command: 'kubeconfig',
  describe: 'Check the kubeconfigs of a vCluster, or issue a new one',
  builder: (y: Argv) =>
    y
      .command(checkCommand(run))
      .command(issueCommand(run))
      .demandCommand(1, 'name a kubeconfig command: check or issue (see --help)'),
  handler: () => undefined,
});
