// Serves the simulated host cluster (test/cluster) with one Ready vCluster for benchmarks
// run in another process: prints one JSON line {kubeconfig, url, name, namespace} when
// ready, then serves until stdin closes.
//   node --import tsx bench/sim-serve.ts
import { startCluster } from '../test/cluster/index.js';
import { generatePki } from '../test/cluster/pkigen.js';

const cluster = await startCluster();
const pki = await generatePki({ name: 'vc', namespace: 'team', reuseKeys: true });
await cluster.addVCluster({ name: 'vc', namespace: 'team', pki });
await cluster.waitReady('team', 'vc', 60_000);
process.stdout.write(JSON.stringify({ kubeconfig: cluster.kubeconfigPath, url: cluster.url, name: 'vc', namespace: 'team' }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => {
  cluster.close().finally(() => process.exit(0));
});
