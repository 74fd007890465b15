// Kubeconfig resolution exactly as kubectl does it: --kubeconfig, else KUBECONFIG
// (path-list, first file to set a value wins), else ~/.kube/config, else in-cluster.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { UserError } from '../errors.js';
import { KubeConfig, type Cluster, type Context, type User } from './k8s.js';

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface ResolvedConfig {
  kc: KubeConfig;
  contextName: string;
  /** -n, else the context's namespace, else "default" */
  namespace: string;
  server: string;
  /** where the config came from, for error messages */
  origin: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new UserError(`cannot read kubeconfig ${path}: ${firstLine(err)}; fix the file or point --kubeconfig/KUBECONFIG elsewhere`, 3, err);
  }
  return kc;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/** kubectl's merge: entries keep the first definition seen; current-context comes from the first file that sets one. */
export function mergeKubeconfigs(configs: KubeConfig[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const c of configs) {
    for (const x of c.getClusters()) if (!clusters.has(x.name)) clusters.set(x.name, x);
    for (const x of c.getUsers()) if (!users.has(x.name)) users.set(x.name, x);
    for (const x of c.getContexts()) if (!contexts.has(x.name)) contexts.set(x.name, x);
    if (!currentContext && c.getCurrentContext()) currentContext = c.getCurrentContext();
  }
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return merged;
}

/** The kubeconfig kubectl would use, before a context is chosen, and where it came from. */
export function loadKubeConfig(flags: Pick<ClusterFlags, 'kubeconfig'>, env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; origin: string } {
  let kc: KubeConfig;
  let origin: string;
  if (flags.kubeconfig) {
    if (!existsSync(flags.kubeconfig)) {
      throw new UserError(`kubeconfig ${flags.kubeconfig} does not exist; pass an existing file to --kubeconfig`);
    }
    kc = loadFile(flags.kubeconfig);
    origin = flags.kubeconfig;
  } else if (env.KUBECONFIG) {
    // kubectl ignores missing entries of KUBECONFIG, but not a list with none present.
    const paths = env.KUBECONFIG.split(delimiter).filter((p) => p && existsSync(p));
    if (paths.length === 0) {
      throw new UserError(`none of the files in KUBECONFIG (${env.KUBECONFIG}) exist; fix KUBECONFIG or pass --kubeconfig`);
    }
    kc = mergeKubeconfigs(paths.map(loadFile));
    origin = `KUBECONFIG=${env.KUBECONFIG}`;
  } else {
    const home = env.HOME || homedir();
    const defaultPath = join(home, '.kube', 'config');
    if (existsSync(defaultPath)) {
      kc = loadFile(defaultPath);
      origin = defaultPath;
    } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
      kc = new KubeConfig();
      kc.loadFromCluster();
      origin = 'in-cluster service account';
    } else {
      throw new UserError('no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config');
    }
  }
  return { kc, origin };
}

/** Every context name of the kubeconfig (the in-cluster config has one). */
export function listContexts(flags: Pick<ClusterFlags, 'kubeconfig'>, env: NodeJS.ProcessEnv = process.env): string[] {
  return loadKubeConfig(flags, env).kc.getContexts().map((c) => c.name);
}

export function resolveKubeConfig(flags: ClusterFlags, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const { kc, origin } = loadKubeConfig(flags, env);

  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new UserError(`context "${flags.context}" not found in ${origin} (contexts: ${known})`);
    }
    kc.setCurrentContext(flags.context);
  }
  const contextName = kc.getCurrentContext();
  const ctx = contextName ? kc.getContextObject(contextName) : null;
  if (!ctx && origin !== 'in-cluster service account') {
    throw new UserError(`no current context in ${origin}; pass --context or run "kubectl config use-context NAME"`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new UserError(`context "${contextName}" in ${origin} names a cluster that is not defined; fix the kubeconfig`);
  }
  if (ctx?.user && !kc.getCurrentUser()) {
    throw new UserError(`context "${contextName}" in ${origin} names user "${ctx.user}" that is not defined; fix the kubeconfig`);
  }
  const namespace = flags.namespace || ctx?.namespace || 'default';
  return { kc, contextName, namespace, server: cluster.server, origin };
}
