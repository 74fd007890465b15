// `npm run demo`: starts the bundled simulated host cluster with sample vClusters and runs
// the built plugin against it, the way an admin would from a shell.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BINARY = join(ROOT, 'dist', 'kubectl-vcluster_certs');
const DAY = 86_400_000;

async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
    return true;
  } catch {
    return false;
  }
}

/** The simulated pods are chroots of Debian's static busybox: install it when we may. */
async function ensurePrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (!(await have('busybox'))) missing.push('busybox-static');
  if (!(await have('openssl'))) missing.push('openssl');
  if (missing.length === 0) return;
  if (process.getuid?.() === 0 && (await have('apt-get'))) {
    console.log(`Installing ${missing.join(', ')} for the simulated cluster (apt-get)...`);
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return;
  }
  throw new Error(`the simulated cluster needs ${missing.join(' and ')}: run "sudo apt-get install -y ${missing.join(' ')}" and try again`);
}

function show(title: string) {
  console.log(`\n\x1b[1m$ ${title}\x1b[0m`);
}

/** Runs the plugin as a user would type it, streaming its output. */
function plugin(args: string[], env: NodeJS.ProcessEnv, via = 'kubectl vcluster-certs'): Promise<number> {
  show(`${via} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(BINARY, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => {
      console.log(`(exit code ${code})`);
      resolve(code ?? -1);
    });
  });
}

async function main() {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "npm run build" first`);
  await ensurePrerequisites();
  const { startCluster, generatePki } = await import('../test/cluster/index.js');

  const dir = mkdtempSync(join(tmpdir(), 'vcerts-demo-'));
  console.log('Starting the simulated host cluster (HTTPS Kubernetes API on 127.0.0.1, busybox chroot pods)...');
  const cluster = await startCluster({ stateDir: join(dir, 'cluster') });
  try {
    const now = Date.now();
    const [prod, staging, legacy] = await Promise.all([
      generatePki({ name: 'prod', namespace: 'team-a', now: new Date(now - 30 * DAY) }),
      generatePki({ name: 'staging', namespace: 'team-b', now: new Date(now - 345 * DAY) }),
      generatePki({ name: 'legacy', namespace: 'team-c', expiredLeafs: true }),
    ]);
    await cluster.addVCluster({ name: 'prod', namespace: 'team-a', pki: prod, replicas: 3 });
    await cluster.addVCluster({ name: 'staging', namespace: 'team-b', pki: staging, kind: 'Deployment' });
    await cluster.addVCluster({ name: 'legacy', namespace: 'team-c', pki: legacy, persistence: false });
    await cluster.waitReady('team-a', 'prod');
    await cluster.waitReady('team-b', 'staging');
    console.log('Sample vClusters: team-a/prod (healthy, 3 replicas), team-b/staging (certificates expire in ~20 days),');
    console.log('team-c/legacy (leaf certificates expired: its pod crash-loops).');

    // kubectl finds plugins on PATH: put the binary there under its krew name.
    const bin = join(dir, 'bin');
    await run('mkdir', ['-p', bin]);
    symlinkSync(BINARY, join(bin, 'kubectl-vcluster_certs'));
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath, PATH: `${bin}:${process.env.PATH}` };

    await plugin(['check', 'prod', '-n', 'team-a'], env);
    await plugin(['check', '-A'], env);
    await plugin(['check', 'staging', '-n', 'team-b', '-o', 'wide'], env);
    await plugin(['rotate', 'staging', '-n', 'team-b', '--dry-run'], env);
    await plugin(['rotate', 'staging', '-n', 'team-b', '--yes'], env);
    await plugin(['rotate', 'legacy', '-n', 'team-c', '--yes', '--allow-not-running'], env);
    await plugin(['check', '-A'], env);
    // A CA change without an outage: old and new kubeconfigs both work until the finalize.
    await plugin(['rotate-ca', 'prod', '-n', 'team-a', '--graceful', '--yes'], env);
    await plugin(['check', 'prod', '-n', 'team-a', '--source', 'secret'], env);
    await plugin(['rotate-ca', 'prod', '-n', 'team-a', '--finalize', '--yes'], env);
    if (await have('kubectl')) {
      show('kubectl vcluster-certs check prod -n team-a -o json   # through the real kubectl (plugin discovery)');
      const { stdout } = await run('kubectl', ['vcluster-certs', 'check', 'prod', '-n', 'team-a', '-o', 'json'], { env });
      const doc = JSON.parse(stdout);
      console.log(`${doc.vclusters[0].certificates.length} certificates, result ${doc.vclusters[0].result}`);
    }
    console.log('\nDemo done. Try it yourself against this cluster with KUBECONFIG set as above (the cluster stops now).');
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
});
