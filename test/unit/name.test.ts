import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { invokedName } from '../../src/cli/index.js';

const test = suite('cli/name');

test('usage name follows how we were invoked', () => {
  assert.is(invokedName('/usr/local/bin/kubectl-vcluster_certs'), 'kubectl vcluster-certs');
  assert.is(invokedName('/home/me/bin/vcerts'), 'vcerts');
  assert.is(invokedName('C:\\bin\\kubectl-vcluster_certs.exe'.replace(/\\/g, '/')), 'kubectl vcluster-certs');
});

test.run();
