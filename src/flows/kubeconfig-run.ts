// `kubeconfig check` and `kubeconfig issue` against a cluster: find the vCluster, read its PKI
// from `<name>-certs` (what every restart loads), read the kubeconfigs, judge or issue.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { findOneVCluster, requireK8sDistro } from '../kube/discovery.js';
import { certsSecretName, readPkiFromSecret } from '../kube/pki-source.js';
import { loadKubeconfig } from '../pki/kubeconfig.js';
import { contextsOf, judgeKubeconfig, servedPki, type ContextStatus, type ContextVerdict, type FileReader, type ServedPki } from './kubeconfig-judge.js';
import { assertOutFree, issueKubeconfig, prepareIssue, writeKubeconfigFile, type IssuePlan, type IssueRequest } from './kubeconfig-issue.js';

/** The exported kubeconfig's Secret and key (upstream pkg/util/kubeconfig/kubeconfig.go: prefix "vc-", key "config"). */
export function kubeconfigSecretName(vcName: string): string {
  return `vc-${vcName}`;
}
export const KUBECONFIG_SECRET_KEY = 'config';

export type SourceResult = 'OK' | 'EXPIRING' | 'BROKEN' | 'ERROR';

export interface SourceReport {
  kind: 'secret' | 'file';
  /** 'secret NS/vc-NAME (key config)' or the file path */
  source: string;
  result: SourceResult;
  error?: string;
  warnings: string[];
  /** contexts of the file that nothing ties to this vCluster */
  skipped: string[];
  contexts: ContextVerdict[];
}

export interface KubeconfigCheckOptions {
  name: string;
  namespace: string;
  files: string[];
  /** also the vc-NAME Secret (the default) */
  secret: boolean;
  warnWithinMs: number;
  now?: Date;
}

export interface KubeconfigCheckOutcome {
  vcluster: { name: string; namespace: string };
  /** where the vCluster's PKI was read */
  pki: string;
  warnings: string[];
  sources: SourceReport[];
  exitCode: number;
}

const RESULT_OF: Record<ContextStatus, SourceResult> = {
  OK: 'OK', EXPIRING: 'EXPIRING', EXPIRED: 'BROKEN', 'NOT YET VALID': 'BROKEN', REJECTED: 'BROKEN', UNTRUSTED: 'BROKEN', INVALID: 'BROKEN', UNKNOWN: 'ERROR',
};
const RANK: Record<SourceResult, number> = { OK: EXIT.OK, EXPIRING: EXIT.ATTENTION, BROKEN: EXIT.BROKEN, ERROR: EXIT.CANNOT_RUN };

function grade(contexts: ContextVerdict[]): SourceResult {
  return contexts.map((c) => RESULT_OF[c.status]).reduce<SourceResult>((a, b) => (RANK[b] > RANK[a] ? b : a), 'OK');
}

/** Relative file references resolve against the kubeconfig's directory, as clientcmd resolves them. */
function readerBeside(path: string): FileReader {
  const base = dirname(resolve(path));
  return (ref) => {
    try {
      return readFileSync(isAbsolute(ref) ? ref : resolve(base, ref));
    } catch (e) {
      throw new Error((e as NodeJS.ErrnoException).code ?? 'unreadable');
    }
  };
}

function judgeSource(kind: SourceReport['kind'], source: string, text: Buffer, served: ServedPki, opts: KubeconfigCheckOptions, now: Date, readFile?: FileReader): SourceReport {
  const report: SourceReport = { kind, source, result: 'OK', warnings: [], skipped: [], contexts: [] };
  try {
    const v = judgeKubeconfig(text, served, { name: opts.name, namespace: opts.namespace }, kind === 'secret', { now, warnWithinMs: opts.warnWithinMs, readFile });
    report.contexts = v.contexts;
    report.skipped = v.skipped;
    if (v.contexts.length === 0) {
      report.result = 'ERROR';
      report.error = `none of its ${v.skipped.length} contexts (${v.skipped.join(', ')}) is vCluster ${opts.namespace}/${opts.name}'s: no CA data or client certificate of its PKI, no vcluster_${opts.name}_${opts.namespace} context name, no server ${opts.name}.${opts.namespace}`;
      return report;
    }
    report.result = grade(v.contexts);
  } catch (e) {
    report.result = 'ERROR';
    report.error = (e as Error).message;
  }
  return report;
}

/** The keys upstream stores beside `config`, from its current context (pkg/util/kubeconfig/kubeconfig.go). */
const SECRET_PARTS = [
  { key: 'certificate-authority', of: 'cluster', field: 'certificate-authority-data' },
  { key: 'client-certificate', of: 'user', field: 'client-certificate-data' },
  { key: 'client-key', of: 'user', field: 'client-key-data' },
] as const;

/** Keys of the vc-NAME Secret that hold something else than its config's current context (what their readers get). */
export function secretKeysDisagree(config: Buffer, data: Record<string, string>): string[] {
  const doc = loadKubeconfig(config.toString());
  const entries = contextsOf(doc);
  const current = entries.find((e) => e.context === doc['current-context']) ?? (entries.length === 1 ? entries[0] : undefined);
  if (!current) return [];
  const out: string[] = [];
  for (const part of SECRET_PARTS) {
    const body = part.of === 'cluster' ? current.clusterBody : current.userBody;
    const inConfig = typeof body[part.field] === 'string' ? Buffer.from(body[part.field] as string, 'base64') : Buffer.alloc(0);
    const stored = data[part.key];
    if (stored === undefined) continue;
    if (!Buffer.from(stored, 'base64').equals(inConfig)) {
      out.push(`its "${part.key}" key differs from ${part.field} of the config's current context: tools that read the key get other credentials`);
    }
  }
  return out;
}

export async function runKubeconfigCheck(kube: Kube, opts: KubeconfigCheckOptions): Promise<KubeconfigCheckOutcome> {
  if (!opts.secret && opts.files.length === 0) throw new UserError('nothing to check: name kubeconfig FILEs, or drop --files-only to check the vc-NAME Secret');
  const now = opts.now ?? new Date();
  const vc = await findOneVCluster(kube, { name: opts.name, namespace: opts.namespace });
  requireK8sDistro(vc);
  const pki = await readPkiFromSecret(kube, vc);
  const served = servedPki(pki.files);
  const sources: SourceReport[] = [];
  if (opts.secret) {
    const name = kubeconfigSecretName(vc.name);
    const where = `secret ${vc.namespace}/${name}`;
    const secret = await kube.call(`read ${where}`, () => kube.core.readNamespacedSecret({ name, namespace: vc.namespace }, kube.opts), 'null');
    const data = secret?.data?.[KUBECONFIG_SECRET_KEY];
    if (!secret || !data) {
      sources.push({
        kind: 'secret', source: where, result: 'ERROR', warnings: [], skipped: [], contexts: [],
        error: !secret
          ? `${where} not found: vCluster writes it once its syncer has started; wait for the vCluster to be Running, or check only FILEs with --files-only`
          : `${where} has no "${KUBECONFIG_SECRET_KEY}" key`,
      });
    } else {
      // File references inside it point into the syncer's container, so they are not read.
      const config = Buffer.from(data, 'base64');
      const report = judgeSource('secret', `${where} (key ${KUBECONFIG_SECRET_KEY})`, config, served, opts, now);
      if (!report.error) report.warnings.push(...secretKeysDisagree(config, secret.data ?? {}));
      // like check's drift: nothing is broken yet, but someone should look
      if (report.warnings.length && report.result === 'OK') report.result = 'EXPIRING';
      sources.push(report);
    }
  }
  for (const file of opts.files) {
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch (e) {
      sources.push({ kind: 'file', source: file, result: 'ERROR', warnings: [], skipped: [], contexts: [], error: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}` });
      continue;
    }
    sources.push(judgeSource('file', file, text, served, opts, now, readerBeside(file)));
  }
  const exitCode = Math.max(...sources.map((s) => RANK[s.result]));
  return {
    vcluster: { name: vc.name, namespace: vc.namespace },
    pki: `secret ${vc.namespace}/${certsSecretName(vc.name)}`,
    warnings: [...vc.warnings, ...served.problems],
    sources,
    exitCode,
  };
}

export interface KubeconfigIssueOptions {
  out: string;
  overwrite: boolean;
  dryRun: boolean;
}

export interface KubeconfigIssueOutcome {
  plan: IssuePlan;
  /** the file written; undefined on --dry-run */
  written?: string;
  warnings: string[];
}

export async function runKubeconfigIssue(kube: Kube, req: IssueRequest, opts: KubeconfigIssueOptions): Promise<KubeconfigIssueOutcome> {
  if (!opts.dryRun) assertOutFree(opts.out, opts.overwrite);
  const vc = await findOneVCluster(kube, { name: req.vcName, namespace: req.namespace });
  requireK8sDistro(vc);
  const { files } = await readPkiFromSecret(kube, vc);
  const r = { ...req, vcName: vc.name, namespace: vc.namespace };
  if (opts.dryRun) return { plan: prepareIssue(files, r).plan, warnings: [...vc.warnings] };
  const issued = await issueKubeconfig(files, r);
  writeKubeconfigFile(opts.out, issued.yaml, opts.overwrite);
  return { plan: issued.plan, written: opts.out, warnings: [...vc.warnings, ...issued.warnings] };
}
