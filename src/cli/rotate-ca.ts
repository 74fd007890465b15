import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { withChangeFlags, runChangeCommand, type ChangeArgs } from './change-flags.js';
import { parseDuration } from './duration.js';
import type { Runner } from './index.js';

interface RotateCAArgs extends ChangeArgs {
  validity?: string;
  'ca-validity'?: string;
  'kubeconfig-out'?: string;
  overwrite?: boolean;
  graceful?: boolean;
  finalize?: boolean;
  abort?: boolean;
  'allow-short-validity'?: boolean;
}

export const rotateCACommand = (run: Runner) => ({
  command: 'rotate-ca <name>',
  describe: 'Replace the CAs and re-issue everything they sign (existing kubeconfigs stop working)',
  builder: (y: Argv) =>
    withChangeFlags(y)
      .option('ca-validity', { type: 'string', describe: 'Validity of the new CAs', default: '3650d' })
      .option('validity', { type: 'string', describe: 'Validity of the new leaf certificates (more than 90d)', default: '365d' })
      .option('allow-short-validity', { type: 'boolean', describe: 'Allow --validity or --ca-validity of 90 days or less', default: false })
      .option('kubeconfig-out', { type: 'string', describe: 'Write a fresh admin kubeconfig for the vCluster to FILE (mode 0600; an existing FILE only with --overwrite)' })
      .option('overwrite', { type: 'boolean', describe: 'Let --kubeconfig-out replace an existing file', default: false })
      .option('graceful', { type: 'boolean', describe: 'Start a CA rollover without an outage: old and new kubeconfigs both work until --finalize', default: false })
      .option('finalize', { type: 'boolean', describe: 'End a rollover: only the new CA stays trusted (old kubeconfigs stop working)', default: false })
      .option('abort', { type: 'boolean', describe: 'Undo a rollover: back to the old CA (what was issued during it stops working)', default: false })
      .example('$0 rotate-ca my-vc -n team-a --graceful --kubeconfig-out new.kubeconfig', 'open the window; hand out new.kubeconfig')
      .example('$0 rotate-ca my-vc -n team-a --finalize', 'close it once every client has a new kubeconfig')
      .example('$0 rotate-ca my-vc -n team-a --dry-run', 'show what would change')
      .example('$0 rotate-ca my-vc -n team-a --kubeconfig-out my-vc.kubeconfig', 'rotate, then save a working admin kubeconfig')
      .epilog('New ca, front-proxy-ca and etcd-ca (server-ca and client-ca become copies of ca); every leaf and kubeconfig client '
        + 'certificate re-issued; sa.key/sa.pub kept, so service-account tokens stay valid. All replicas and deployed etcd restart together. '
        + 'With --allow-not-running (or --force) it recovers a vCluster whose whole PKI expired. Exit codes as for rotate.'),
  handler: (args: RotateCAArgs) => run(async () => {
    const validityMs = parseDuration(args.validity ?? '365d', '--validity');
    const caValidityMs = parseDuration(args['ca-validity'] ?? '3650d', '--ca-validity');
    if (validityMs <= 0 || caValidityMs <= 0) throw new UserError('--validity and --ca-validity must be positive, e.g. 365d');
    if (caValidityMs < validityMs) throw new UserError('--ca-validity must be at least --validity: a leaf cannot outlive its CA');
    const out = args['kubeconfig-out'];
    if (out && !args['dry-run']) {
      // Find out now, not after the CA changed and every old kubeconfig broke.
      const { assertWritable } = await import('../flows/kubeconfig-out.js');
      assertWritable(out, !!args.overwrite);
    }
    const phases = [args.graceful && '--graceful', args.finalize && '--finalize', args.abort && '--abort'].filter(Boolean);
    if (phases.length > 1) throw new UserError(`${phases.join(' and ')} are phases of one rollover: pass one of them`);
    const allowShortValidity = !!args.force || !!args['allow-short-validity'];
    return runChangeCommand(args, async ({ now, vc, kube }) => {
      const flows = await import('../flows/rotate.js');
      if (args.graceful) return flows.caRolloverStartSpec({ now, validityMs, caValidityMs, allowShortValidity });
      if (args.finalize) return flows.caRolloverFinalizeSpec({ now, validityMs, caValidityMs, allowShortValidity });
      if (args.abort) {
        const { rolloverAbortSpec } = await import('../flows/rollover-abort.js');
        return rolloverAbortSpec(kube, vc, { now, validityMs });
      }
      return flows.caRotationSpec({ now, validityMs, caValidityMs, force: allowShortValidity });
    }, async ({ report, files }, vc) => {
      if (report.result !== 'done' || !files) return;
      if (args.abort) return;
      if (out) {
        const { adminKubeconfigFor, writePrivateFile, LOCAL_SERVER } = await import('../flows/kubeconfig-out.js');
        writePrivateFile(out, adminKubeconfigFor(files, vc.name, vc.namespace), !!args.overwrite);
        process.stderr.write(`wrote ${out} (mode 0600); it points at ${LOCAL_SERVER}: run "kubectl port-forward -n ${vc.namespace} svc/${vc.name} 8443:443" first, or change its server\n`);
      } else if (args.graceful) {
        process.stderr.write(`old and new kubeconfigs of ${vc.namespace}/${vc.name} both work until "rotate-ca --finalize"; get new ones with --kubeconfig-out FILE or "vcluster connect ${vc.name} -n ${vc.namespace}"\n`);
      } else {
        process.stderr.write(`old kubeconfigs of ${vc.namespace}/${vc.name} no longer work: get a new one with "vcluster connect ${vc.name} -n ${vc.namespace}" or re-run with --kubeconfig-out FILE next time\n`);
      }
    });
  }),
});
