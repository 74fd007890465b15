// Pure pieces of the simulated API server: label/field selectors and the three patch types.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { jsonPatch, mergePatch, strategicMerge } from './patch.js';
import { ApiError } from './status.js';

const selectors = suite('label and field selectors');

selectors('every label operator', () => {
  const labels = { app: 'vcluster', release: 'a', tier: 'cp' };
  const yes = ['app=vcluster', 'app==vcluster', 'app!=other', 'missing!=x', 'release in (a,b)', 'release notin (b, c)', 'missing notin (a)',
    'app', '!missing', 'app=vcluster,release=a', 'release in (a),!missing,tier'];
  const no = ['app=other', 'app!=vcluster', 'release in (b,c)', 'release notin (a)', 'missing', '!app', 'missing in (a)', 'app=vcluster,release=b'];
  for (const s of yes) assert.ok(matchesLabels(parseLabelSelector(s), labels), s);
  for (const s of no) assert.not.ok(matchesLabels(parseLabelSelector(s), labels), s);
  assert.ok(matchesLabels(parseLabelSelector(''), undefined));
});

selectors('invalid selectors are 400 Bad Request; an empty value is valid', () => {
  for (const bad of ['a b c', 'app=x y', '=x', 'app in (a b)']) {
    assert.throws(() => parseLabelSelector(bad), (e: ApiError) => e instanceof ApiError && e.code === 400, bad);
  }
  assert.ok(matchesLabels(parseLabelSelector('app='), { app: '' }));
  assert.throws(() => parseFieldSelector('spec.bogus=1', ['metadata.name']), (e: ApiError) => e.code === 400);
});

selectors('field selectors read nested fields, = and !=', () => {
  const pod = { metadata: { name: 'vc-0', namespace: 'ns' }, status: { phase: 'Running' } };
  const allowed = ['metadata.name', 'metadata.namespace', 'status.phase'];
  assert.ok(matchesFields(parseFieldSelector('metadata.name=vc-0,status.phase!=Pending', allowed), pod));
  assert.not.ok(matchesFields(parseFieldSelector('status.phase==Pending', allowed), pod));
});

selectors.run();

const patches = suite('merge, JSON and strategic merge patch');

patches('JSON merge patch: null deletes, objects merge, lists replace', () => {
  const target = { a: 1, b: { c: 2, d: 3 }, l: [1, 2] };
  assert.equal(mergePatch(target, { a: null, b: { c: 5 }, l: [3] }), { b: { c: 5, d: 3 }, l: [3] });
  assert.equal(target, { a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, 'target untouched');
});

patches('JSON patch: add, replace, remove, move, copy, test; failures are errors', () => {
  const doc = { data: { a: 'x' }, list: [1, 2] };
  const out = jsonPatch(doc, [
    { op: 'add', path: '/data/b', value: 'y' },
    { op: 'replace', path: '/data/a', value: 'z' },
    { op: 'add', path: '/list/-', value: 3 },
    { op: 'remove', path: '/list/0' },
    { op: 'copy', from: '/data/a', path: '/data/c' },
    { op: 'move', from: '/data/b', path: '/moved' },
    { op: 'test', path: '/data/c', value: 'z' },
    { op: 'add', path: '/with~1slash', value: 1 },
  ]);
  assert.equal(out, { data: { a: 'z', c: 'z' }, list: [2, 3], moved: 'y', 'with/slash': 1 });
  assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/data/missing' }]), (e: ApiError) => e.code === 422);
  assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/data/a', value: 'nope' }]), (e: ApiError) => e.code === 422);
  assert.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/data/missing', value: 1 }]), (e: ApiError) => e.code === 422);
});

patches('strategic merge: containers/env merge by name, $patch directives, plain lists replace', () => {
  const target = {
    spec: {
      containers: [
        { name: 'syncer', image: 'a:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
        { name: 'side', image: 's:1' },
      ],
      args: ['x', 'y'],
    },
    metadata: { finalizers: ['f1'] },
  };
  const out = strategicMerge(target, {
    spec: {
      containers: [{ name: 'syncer', image: 'a:2', env: [{ name: 'B', $patch: 'delete' }, { name: 'C', value: '3' }] }, { name: 'side', $patch: 'delete' }],
      args: ['z'],
    },
    metadata: { finalizers: ['f2'] },
  });
  assert.equal(out, {
    spec: { containers: [{ name: 'syncer', image: 'a:2', env: [{ name: 'A', value: '1' }, { name: 'C', value: '3' }] }], args: ['z'] },
    metadata: { finalizers: ['f1', 'f2'] },
  });
  assert.equal(strategicMerge({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } }), { a: { d: 3 } });
  assert.equal(strategicMerge({ a: 1, b: 2 }, { a: null }), { b: 2 });
});

patches.run();
