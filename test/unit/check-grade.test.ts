// check's grade comes from typed fields of the report, never from the text of its warnings.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../../src/errors.js';
import { EXIT_OF, grade, type VClusterReport } from '../../src/flows/check.js';
import type { CertRow, CertStatus } from '../../src/pki/types.js';

const test = suite('flows/check grade');

const row = (status: CertStatus) => ({ filename: 'x.crt', status }) as CertRow;
const report = (o: Partial<VClusterReport>) => ({ certificates: [row('OK')], drift: [], ...o });

test('an error first, then broken rows, then anything needing attention', () => {
  assert.is(grade(report({})), 'OK');
  assert.is(grade(report({ certificates: [row('OK'), row('EXPIRING')] })), 'ATTENTION');
  assert.is(grade(report({ drift: [{ file: 'a.crt', kind: 'differs', pod: 'vc-1' }] })), 'ATTENTION');
  assert.is(grade(report({ unfinished: { command: 'rotate', state: 'committed', stamp: '0', committedAt: new Date(0) } })), 'ATTENTION');
  for (const s of ['EXPIRED', 'NOT YET VALID', 'INVALID'] as const) {
    assert.is(grade(report({ certificates: [row('EXPIRING'), row(s)], unfinished: { command: 'rotate', state: 'committed', stamp: '0', committedAt: new Date(0) } })), 'BROKEN', s);
  }
  assert.is(grade(report({ rollover: { since: '2026-01-01T00:00:00.000Z', until: '2027-01-01T00:00:00.000Z', oldCA: '/CN=kubernetes' } })), 'ATTENTION', 'an open CA rollover window');
  assert.is(grade(report({ error: 'secret not found', certificates: [row('EXPIRED')] })), 'ERROR');
});

test('warnings are text for people: the words of an interrupted change grade nothing by themselves', () => {
  const warnings = ['a rotate committed at 1970-01-01T00:00:00.000Z did not finish (interrupted?): run it again', 'exec is forbidden'];
  assert.is(grade({ ...report({}), warnings } as VClusterReport), 'OK');
});

test('exit codes: ATTENTION 1, BROKEN 2, ERROR 3 (the same number as could-not-run)', () => {
  assert.equal(EXIT_OF, { OK: 0, ATTENTION: 1, BROKEN: 2, ERROR: 3 });
  assert.is(EXIT.ATTENTION, EXIT.EXPIRING, 'the old name stays an alias');
  assert.is(EXIT.CANNOT_RUN, EXIT.USAGE, 'the old name stays an alias');
});

test.run();
