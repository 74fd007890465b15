// After a change, verification judges the vc-<name> kubeconfig Secret vCluster rewrites on start: a
// warning (never a failure) when it is missing or holds credentials the changed vCluster refuses.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runChange, type ChangeOptions } from '../../src/flows/change.js';
import { caRotationSpec } from '../../src/flows/rotate.js';
import { kubeconfigSecretWarnings } from '../../src/flows/verify-kubeconfig-secret.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/index.js';
import { FakeCluster } from './fake-port.js';

const test = suite('verify: the vc-<name> kubeconfig Secret');
const DAY = 86_400_000;
const vc = { name: 'vc', namespace: 'ns' };
let OLD: PkiFiles;
const data = (files: PkiFiles) => ({ config: files.get('admin.conf')!.toString('base64') });

test.before(async () => {
  OLD = await generatePki({ name: 'vc', namespace: 'ns', now: new Date(Date.now() - 3_600_000) });
});

const options = (): ChangeOptions => ({
  dryRun: false, yes: true, allow: { notRunning: false, drift: false, incomplete: false }, noRollback: false, timeoutMs: 1000, progress: () => undefined,
});
const spec = () => caRotationSpec({ now: new Date(), validityMs: 365 * DAY, caValidityMs: 3650 * DAY, force: false });
const vcWarnings = (w: string[]) => w.filter((x) => x.includes('secret ns/vc-vc'));

test('judged against the PKI: its own admin.conf is accepted; missing, unreadable or another CA\'s is a warning', async () => {
  const now = new Date();
  assert.equal(kubeconfigSecretWarnings(data(OLD), OLD, vc, now), []);
  assert.match(kubeconfigSecretWarnings(undefined, OLD, vc, now).join(), /^secret ns\/vc-vc was not found after the change: vCluster rewrites it when its syncer starts/);
  assert.match(kubeconfigSecretWarnings({ token: '' }, OLD, vc, now).join(), /has no "config" key/);
  assert.match(kubeconfigSecretWarnings({ config: Buffer.from('[').toString('base64') }, OLD, vc, now).join(), /holds no readable kubeconfig/);
  const other = await generatePki({ name: 'vc', namespace: 'ns', reuseKeys: true });
  const w = kubeconfigSecretWarnings(data(other), OLD, vc, now);
  assert.is(w.length, 1, w.join('\n'));
  assert.match(w[0]!, /^secret ns\/vc-vc \(context "[^"]+"\) is not accepted by the vCluster after the change: .*kubeconfig check vc -n ns/);
});

test('rotate-ca through the fake port: a syncer that rewrites vc-<name> gives no warning, one that does not gives one, and the change is done', async () => {
  for (const rewrites of [true, false]) {
    const c = new FakeCluster(OLD, 2);
    c.kubeconfigSecret = data(OLD);
    c.rewritesKubeconfig = rewrites;
    const { report } = await runChange(c.port(), spec(), options());
    assert.is(report.result, 'done', `rewrites=${rewrites}`);
    assert.is(report.state, 'all-new');
    const w = vcWarnings(report.warnings);
    if (rewrites) {
      assert.equal(w, []);
      assert.ok(c.kubeconfigSecret!.config === c.secret.files.get('admin.conf')!.toString('base64'), 'rewritten from the new admin.conf');
    } else {
      assert.is(w.length, 1, report.warnings.join('\n'));
      assert.match(w[0]!, /is not accepted by the vCluster after the change/);
    }
  }
});

test('a failed read of vc-<name> is a warning too, not a failed change', async () => {
  const c = new FakeCluster(OLD, 1);
  c.faults.push({ call: 'readKubeconfigSecret', kind: 'error' });
  const { report } = await runChange(c.port(), spec(), options());
  assert.is(report.result, 'done');
  assert.match(vcWarnings(report.warnings).join(), /could not be read to check its kubeconfig: injected failure/);
});

test.run();
