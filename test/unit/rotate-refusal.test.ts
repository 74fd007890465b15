// The pure core refuses with typed RotationRefusals; the rotate flow turns them into the one-line
// user error with exit 3 it always gave, word for word.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../src/errors.js';
import { caRotationSpec, leafRotationSpec } from '../../src/flows/rotate.js';
import { planLeafRotation, RotationRefusal } from '../../src/pki/rotation.js';
import type { PkiFiles } from '../../src/pki/types.js';
import { generatePki } from '../cluster/pkigen.js';

const test = suite('flows/rotate refusals');
const DAY = 86_400_000;
let pki: PkiFiles;

test.before(async () => {
  pki = await generatePki({ name: 'r', namespace: 'ns', reuseKeys: true });
});

async function refusedAs(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, UserError);
    assert.is((e as UserError).exitCode, 3);
    assert.instance((e as UserError).cause, RotationRefusal);
    return e as UserError;
  }
  throw new Error('not refused');
}

test('a short validity: the same message from the core and from the command', async () => {
  const now = new Date();
  let core: RotationRefusal | undefined;
  try {
    planLeafRotation(pki, { now, validityMs: 30 * DAY });
  } catch (e) {
    core = e as RotationRefusal;
  }
  assert.instance(core, RotationRefusal);
  assert.is(core!.kind, 'validity');
  const leaf = await refusedAs(leafRotationSpec({ now, validityMs: 30 * DAY, force: false }).compute(pki));
  assert.is(leaf.message, core!.message);
  const ca = await refusedAs(caRotationSpec({ now, validityMs: 365 * DAY, caValidityMs: 30 * DAY, force: false }).compute(pki));
  assert.match(ca.message, /^CA validity 30d is 90 days or less/);
});

test('a PKI that cannot be rotated (a CA without its key) is refused the same way', async () => {
  const noKey = new Map(pki);
  noKey.delete('etcd/ca.key');
  const e = await refusedAs(leafRotationSpec({ now: new Date(), validityMs: 365 * DAY, force: false }).compute(noKey));
  assert.match(e.message, /^cannot plan the leaf rotation: .*CA etcd\/ca\.crt has no private key etcd\/ca\.key/);
  assert.is((e.cause as RotationRefusal).kind, 'unplannable');
});

test.run();
