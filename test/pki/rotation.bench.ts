// Crypto time of a full leaf rotation (7 leafs + 3 kubeconfig client certs = 10 RSA-2048 keys) against
// the floor of generating the same 10 keys in parallel with node:crypto. Target ratio <= 1.2.
// Run: node --import tsx test/pki/rotation.bench.ts [rounds]

import { generateKeyPair } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { applyLeafRotation, planLeafRotation } from '../../src/pki/rotation.js';
import { generatePki } from '../cluster/pkigen.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const DAY = 86_400_000;

function keygenFloor(n: number): Promise<unknown> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) =>
          generateKeyPair(
            'rsa',
            { modulusLength: 2048, publicExponent: 0x10001, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } },
            (err, pub, priv) => (err ? reject(err) : resolve([pub, priv])),
          ),
        ),
    ),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const pki = await generatePki({ name: 'bench', namespace: 'ns', reuseKeys: true });
const plan = planLeafRotation(pki, { now: new Date(), validityMs: 365 * DAY });
const keys = plan.entries.filter((e) => e.action === 'reissue' && e.role !== 'leaf-key').length;

// warm-up (JIT, thread pool)
await applyLeafRotation(pki, plan);
await keygenFloor(keys);

const tPlan: number[] = [];
const tApply: number[] = [];
const tFloor: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 ? ['floor', 'apply'] : ['apply', 'floor'];
  for (const what of order) {
    const t0 = performance.now();
    if (what === 'apply') {
      const p = planLeafRotation(pki, { now: new Date(), validityMs: 365 * DAY });
      const t1 = performance.now();
      await applyLeafRotation(pki, p);
      tPlan.push(t1 - t0);
      tApply.push(performance.now() - t1);
    } else {
      await keygenFloor(keys);
      tFloor.push(performance.now() - t0);
    }
  }
}
const ratio = median(tApply) / median(tFloor);
console.log(`leaf rotation crypto: ${keys} RSA-2048 keys, ${ROUNDS} rounds, ${availableParallelism()} CPUs, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}`);
console.log(`  planLeafRotation   median ${median(tPlan).toFixed(1)} ms`);
console.log(`  applyLeafRotation  median ${median(tApply).toFixed(1)} ms`);
console.log(`  keygen floor       median ${median(tFloor).toFixed(1)} ms`);
console.log(`  ratio apply/floor  ${ratio.toFixed(2)} (target <= 1.2); sum ratio ${(tApply.reduce((a, b) => a + b) / tFloor.reduce((a, b) => a + b)).toFixed(2)}`);
