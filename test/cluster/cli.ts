// Runs the simulated host cluster in the foreground (for `npm run demo` and manual poking):
//
//   node --import tsx test/cluster/cli.ts --dir DIR [--vcluster NAME/NAMESPACE[:statefulset|deployment]]...
//
// Writes DIR/kubeconfig (cluster admin), creates each vCluster with a fresh kubeadm-profile PKI, waits
// until all are Ready, prints the kubeconfig path on stdout and runs until SIGTERM or SIGINT.

import { mkdir } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { startCluster } from './index.js';
import { generatePki } from './pkigen.js';

interface CliArgs {
  dir: string;
  vclusters: { name: string; namespace: string; kind: 'StatefulSet' | 'Deployment' }[];
}

function usage(message: string): never {
  process.stderr.write(`error: ${message}\nusage: cli.ts --dir DIR [--vcluster NAME/NAMESPACE[:statefulset|deployment]]...\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): CliArgs {
  let dir: string | undefined;
  const vclusters: CliArgs['vclusters'] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === '--dir') dir = value();
    else if (arg === '--vcluster') {
      const m = /^([a-z0-9-]+)\/([a-z0-9-]+)(?::(\w+))?$/.exec(value());
      if (!m) usage(`--vcluster wants NAME/NAMESPACE[:statefulset|deployment], got "${argv[i]}"`);
      const kind = (m[3] ?? 'statefulset').toLowerCase();
      if (!['statefulset', 'sts', 'deployment', 'deploy'].includes(kind)) usage(`unknown kind "${m[3]}"`);
      vclusters.push({ name: m[1], namespace: m[2], kind: kind.startsWith('d') ? 'Deployment' : 'StatefulSet' });
    } else usage(`unknown argument "${arg}"`);
  }
  if (!dir) usage('--dir is required');
  return { dir: resolve(dir), vclusters };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await mkdir(args.dir, { recursive: true });
  const cluster = await startCluster({ kubeconfigPath: join(args.dir, 'kubeconfig') });
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    cluster.close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  for (const vc of args.vclusters) {
    const pki = await generatePki({ name: vc.name, namespace: vc.namespace });
    await cluster.addVCluster({ ...vc, persistence: vc.kind === 'StatefulSet', pki });
  }
  await Promise.all(args.vclusters.map((vc) => cluster.waitReady(vc.namespace, vc.name, 60_000)));
  process.stderr.write(`simulated cluster at ${cluster.url} with ${args.vclusters.length} vCluster(s)\n`);
  process.stdout.write(`${cluster.kubeconfigPath}\n`);
}

main().catch((e) => {
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
});
