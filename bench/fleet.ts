// N simulated host clusters of M vClusters each and one kubeconfig with a context per cluster
// (host-0 .. host-N-1): the fleet bench/contexts.ts measures and bench/fleet-serve.ts serves.
// The vClusters share `pkis` distinct PKIs (generating 2,000 takes long); the check inspects each
// Secret on its own all the same: nothing in the tool caches across vClusters.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { startCluster, type SimCluster } from '../test/cluster/index.js';
import { generatePki } from '../test/cluster/pkigen.js';

export interface Fleet {
  clusters: SimCluster[];
  /** the merged kubeconfig, as YAML */
  kubeconfig: string;
}

export async function startFleet(contexts: number, perContext: number, pkis: number): Promise<Fleet> {
  const pool = await Promise.all(Array.from({ length: Math.min(perContext, pkis) }, (_, i) => generatePki({ name: `vc-${i}`, namespace: 'team', reuseKeys: true })));
  const clusters: SimCluster[] = [];
  for (let c = 0; c < contexts; c++) {
    const cluster = await startCluster();
    clusters.push(cluster);
    const fleet = Array.from({ length: perContext }, (_, i) => ({ name: `vc-${String(i).padStart(3, '0')}`, namespace: `team-${String(i % 20).padStart(2, '0')}` }));
    await Promise.all(fleet.map((vc, i) => cluster.addVCluster({ ...vc, pki: pool[i % pool.length]! })));
    await Promise.all(fleet.map((vc) => cluster.waitReady(vc.namespace, vc.name, 300_000)));
  }
  const merged = { apiVersion: 'v1', kind: 'Config', 'current-context': 'host-0', clusters: [] as unknown[], users: [] as unknown[], contexts: [] as unknown[] };
  clusters.forEach((cluster, i) => {
    const kc = parseYaml(readFileSync(cluster.kubeconfigPath, 'utf8'));
    merged.clusters.push({ name: `host-${i}`, cluster: kc.clusters[0].cluster });
    merged.users.push({ name: `host-${i}`, user: kc.users[0].user });
    merged.contexts.push({ name: `host-${i}`, context: { cluster: `host-${i}`, user: `host-${i}` } });
  });
  return { clusters, kubeconfig: stringify(merged) };
}
