// Serves N simulated host clusters of M vClusters each, for looking at a fleet check by hand
// (profiles, heap snapshots): writes the merged kubeconfig (contexts host-0 .. host-N-1), prints
// its path, then serves until stdin closes.
//   node --import tsx bench/fleet-serve.ts --kubeconfig FILE [--contexts 10] [--per-context 200] [--pkis 20]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFleet } from './fleet.js';

const { values: opt } = parseArgs({
  options: {
    contexts: { type: 'string', default: '10' },
    'per-context': { type: 'string', default: '200' },
    pkis: { type: 'string', default: '20' },
    kubeconfig: { type: 'string' },
  },
});
if (!opt.kubeconfig) throw new Error('--kubeconfig FILE: where to write the kubeconfig');
const fleet = await startFleet(Number(opt.contexts), Number(opt['per-context']), Number(opt.pkis));
writeFileSync(opt.kubeconfig, fleet.kubeconfig, { mode: 0o600 });
process.stdout.write(`${opt.kubeconfig}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  Promise.all(fleet.clusters.map((c) => c.close())).finally(() => process.exit(0));
});
