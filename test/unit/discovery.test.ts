import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findVClusters, isOlderThanCertsCommands, podStatus, validateName, versionFromImage } from '../../src/kube/discovery.js';
import type { Kube } from '../../src/kube/client.js';

const test = suite('kube/discovery');

test('image tag → version, tolerant of registry ports and digests', () => {
  assert.is(versionFromImage('ghcr.io/loft-sh/vcluster-pro:0.30.0'), '0.30.0');
  assert.is(versionFromImage('ghcr.io/loft-sh/vcluster-pro:v0.26.1'), '0.26.1');
  assert.is(versionFromImage('registry.local:5000/loft-sh/vcluster-pro:0.31.0'), '0.31.0');
  assert.is(versionFromImage('registry.local:5000/loft-sh/vcluster-pro'), '');
  assert.is(versionFromImage('ghcr.io/loft-sh/vcluster-pro:0.30.0@sha256:abcd'), '0.30.0');
  assert.ok(isOlderThanCertsCommands('0.26.1'));
  assert.not.ok(isOlderThanCertsCommands('0.27.0-alpha.9'));
  assert.not.ok(isOlderThanCertsCommands('1.0.0'));
  assert.not.ok(isOlderThanCertsCommands('latest'));
});

test('names must be RFC 1123 labels', () => {
  validateName('my-vc');
  for (const bad of ['My', 'a_b', '-a', 'a'.repeat(64), '$(touch x)']) assert.throws(() => validateName(bad), /not a valid vCluster name/);
});

test('pod status like kubectl', () => {
  assert.is(podStatus({ status: { phase: 'Running' } }), 'Running');
  assert.is(podStatus({ status: { phase: 'Running', containerStatuses: [{ name: 'syncer', image: '', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }), 'CrashLoopBackOff');
  assert.is(podStatus({ metadata: { deletionTimestamp: new Date() }, status: { phase: 'Running' } }), 'Terminating');
});

test('when both workload lists fail, the StatefulSets error is the one reported, whichever failed first', async () => {
  for (const stsDelay of [0, 30]) {
    const asked: string[] = [];
    const kube = {
      listJson(what: string) {
        asked.push(what);
        const sts = what.startsWith('list StatefulSets');
        return new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: forbidden`)), sts ? stsDelay : 30 - stsDelay));
      },
    } as unknown as Kube;
    const err = await findVClusters(kube, { allNamespaces: true, namespace: 'default' }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'rejects');
    assert.is(err!.message, 'list StatefulSets in all namespaces: forbidden', `StatefulSets answered after ${stsDelay} ms`);
    assert.ok(asked.some((w) => w.startsWith('list Deployments')), 'both lists were asked for');
  }
});

test.run();
