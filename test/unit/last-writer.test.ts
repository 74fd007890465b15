// Who wrote the Secret last, from managedFields: the newest entry, and on a tie within the same
// second anyone but this tool (it asks only after its own write was refused or overtaken).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeWriter, FIELD_MANAGER, lastWriter } from '../../src/kube/change-port.js';
import type { V1Secret } from '../../src/kube/k8s.js';

const test = suite('lastWriter');
const secret = (entries: Array<[string, string]>) => ({ metadata: { managedFields: entries.map(([manager, time]) => ({ manager, time: new Date(time), operation: 'Update' })) } }) as unknown as V1Secret;

test('the newest entry wins', () => {
  assert.is(lastWriter(secret([['vcluster', '2026-12-04T10:00:00Z'], [FIELD_MANAGER, '2026-12-04T10:00:05Z']])), FIELD_MANAGER);
  assert.is(lastWriter(secret([[FIELD_MANAGER, '2026-12-04T10:00:00Z'], ['vcluster', '2026-12-04T10:00:05Z']])), 'vcluster');
});

test('a tie in the same second goes to the other writer', () => {
  assert.is(lastWriter(secret([[FIELD_MANAGER, '2026-12-04T10:00:00Z'], ['vcluster', '2026-12-04T10:00:00Z']])), 'vcluster');
  assert.is(lastWriter(secret([['vcluster', '2026-12-04T10:00:00Z'], [FIELD_MANAGER, '2026-12-04T10:00:00Z']])), 'vcluster');
});

test('no managedFields: unknown, said in words', () => {
  assert.is(lastWriter({ metadata: {} } as V1Secret), undefined);
  assert.match(describeWriter(undefined), /someone else \(vCluster's own renewal, or another admin\)/);
  assert.match(describeWriter('vcluster'), /vCluster's own certificate renewal/);
  assert.match(describeWriter('kubectl-edit'), /someone else \(field manager "kubectl-edit"\)/);
});

test.run();
