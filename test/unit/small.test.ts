import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration } from '../../src/cli/duration.js';
import { invokedName } from '../../src/cli/index.js';
import { isOlderThanCertsCommands, podStatus, validateName, versionFromImage } from '../../src/kube/discovery.js';
import { formatExpiry } from '../../src/output/check.js';
import { renderTable } from '../../src/output/table.js';

const test = suite('small pieces');

test('durations: Go style plus d/w/y, errors on junk', () => {
  assert.is(parseDuration('30d', 'x'), 30 * 86_400_000);
  assert.is(parseDuration('1h30m', 'x'), 5_400_000);
  assert.is(parseDuration('8760h', 'x'), 365 * 86_400_000);
  assert.is(parseDuration('0', 'x'), 0);
  for (const bad of ['', '30', 'd', '3 days', '-1d', '1h-']) assert.throws(() => parseDuration(bad, '--warn-within'), /invalid --warn-within/);
});

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

test('upstream time format and table look', () => {
  assert.is(formatExpiry('2026-07-14T19:24:05Z'), 'Jul 14, 2026 19:24 UTC');
  const t = renderTable(['A', 'BB'], [['xyz', '1']], { color: false });
  assert.is(t, '  A   | BB\n  ----+---\n  xyz | 1\n');
});

test('usage name follows how we were invoked', () => {
  assert.is(invokedName('/usr/local/bin/kubectl-vcluster_certs'), 'kubectl vcluster-certs');
  assert.is(invokedName('/home/me/bin/vcerts'), 'vcerts');
  assert.is(invokedName('C:\\bin\\kubectl-vcluster_certs.exe'.replace(/\\/g, '/')), 'kubectl vcluster-certs');
});

test.run();
