import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isOlderThanCertsCommands, podStatus, validateName, versionFromImage } from '../../src/kube/discovery.js';

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

test.run();
