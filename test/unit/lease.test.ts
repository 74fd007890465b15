// Whose rotation Lease may be taken over: an expired one, or one held by a run of this tool on this
// very boot of this machine whose process is gone. A live holder, or a dead-looking one on another
// boot or host with the same name, is never taken over.
import { hostname } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootId, heldByDeadLocalRun, holderIdentity, rotationLeaseName } from '../../src/kube/lease.js';

const test = suite('rotation lease');
const BOOT = 'a1b2c3d4e5f60718';
const dead = () => false;
const alive = () => true;

test('holder identity carries user, host, boot id and pid', () => {
  const id = holderIdentity();
  assert.match(id, new RegExp(`^kubectl-vcluster-certs/[^@]+@${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([0-9a-f]{16}|noboot)/${process.pid}$`));
  if (bootId()) assert.ok(id.includes(`/${bootId()}/`));
});

test('a dead run on this boot is taken over; a live one is not', () => {
  const holder = `kubectl-vcluster-certs/alice@${hostname()}/${BOOT}/4242`;
  assert.ok(heldByDeadLocalRun(holder, BOOT, dead));
  assert.not.ok(heldByDeadLocalRun(holder, BOOT, alive));
});

test('same host name, other boot (a VM restarted, a container with the same name): not taken over', () => {
  assert.not.ok(heldByDeadLocalRun(`kubectl-vcluster-certs/alice@${hostname()}/ffffffffffffffff/4242`, BOOT, dead));
  assert.not.ok(heldByDeadLocalRun(`kubectl-vcluster-certs/alice@${hostname()}/${BOOT}/4242`, '', dead), 'no boot id here: nothing is proven');
});

test('old holder strings without a boot id, other hosts and other tools are never taken over', () => {
  assert.not.ok(heldByDeadLocalRun(`kubectl-vcluster-certs/alice@${hostname()}/4242`, BOOT, dead));
  assert.not.ok(heldByDeadLocalRun(`kubectl-vcluster-certs/alice@elsewhere/${BOOT}/4242`, BOOT, dead));
  assert.not.ok(heldByDeadLocalRun('vc-0', BOOT, dead), "vCluster's own watcher (holder = pod host name)");
});

test('lease names follow upstream: long names are cut and hashed to 63 characters', () => {
  assert.is(rotationLeaseName('vc'), 'vcluster-vc-cert-rotation');
  const long = rotationLeaseName('x'.repeat(60));
  assert.is(long.length, 63);
  assert.match(long, /^vcluster-x{43}-[0-9a-f]{10}$/);
});

test.run();
