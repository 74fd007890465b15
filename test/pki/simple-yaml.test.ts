// src/pki/fast/simple-yaml.ts reads the kubeconfig layout without js-yaml. Whatever it accepts it must
// read exactly as js-yaml's load(text, { json: true }) does; everything else it must hand back.
// Checked on real kubeconfig layouts and on thousands of generated documents, many of them broken.

import { load } from 'js-yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSimpleYaml } from '../../src/pki/fast/simple-yaml.js';
import { parseKubeconfig } from '../../src/pki/kubeconfig.js';
import { buildKubeconfig, generatePki } from '../cluster/index.js';

const test = suite('pki/simple-yaml');

function jsYaml(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: load(text, { json: true }) };
  } catch {
    return { ok: false };
  }
}

/** readSimpleYaml either declines or agrees with js-yaml; returns whether it accepted. */
function agrees(text: string, label: string): boolean {
  const fast = readSimpleYaml(text);
  if (fast === undefined) return false;
  const js = jsYaml(text);
  assert.ok(js.ok, `${label}: accepted a document js-yaml rejects:\n${text}`);
  // JSON text, not dequal: dequal reads a `constructor` key as the object's class
  assert.is(JSON.stringify(fast), JSON.stringify((js as { value: unknown }).value), `${label}:\n${text}`);
  return true;
}

const B64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

test('the kubeconfigs kubeadm, clientcmd and vCluster write are read here, as js-yaml reads them', async () => {
  const pki = await generatePki({ name: 'sy', namespace: 'ns', reuseKeys: true });
  for (const f of ['admin.conf', 'controller-manager.conf', 'scheduler.conf']) {
    assert.ok(agrees(pki.get(f)!.toString(), f), `${f} taken by the fast path`);
  }
  const kc = buildKubeconfig({ user: 'u', caPem: 'A', certPem: 'B', keyPem: 'C', server: 'https://vc.team-a.svc:443', cluster: 'my-vcluster' });
  assert.ok(agrees(kc, 'buildKubeconfig'));
  // clientcmd (client-go) layout with the extensions-free fields vCluster's `connect` writes
  const clientGo = [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${B64}`,
    '    server: https://localhost:8443',
    '  name: vcluster_vc_team-a_kind-kind',
    'contexts:',
    '- context:',
    '    cluster: vcluster_vc_team-a_kind-kind',
    '    namespace: default',
    '    user: vcluster_vc_team-a_kind-kind',
    '  name: vcluster_vc_team-a_kind-kind',
    'current-context: vcluster_vc_team-a_kind-kind',
    'kind: Config',
    'preferences: {}',
    'users:',
    '- name: vcluster_vc_team-a_kind-kind',
    '  user:',
    `    client-certificate-data: ${B64}`,
    `    client-key-data: ${B64}`,
    '',
  ].join('\n');
  assert.ok(agrees(clientGo, 'client-go layout'));
  // indented sequences (js-yaml's and PyYAML's style) too
  assert.ok(agrees(clientGo.replace(/^(- |  )/gm, (m) => (m === '- ' ? '  - ' : '    ')), 'indented sequences'));
});

test('parseKubeconfig gives the same result through either reader', async () => {
  const pki = await generatePki({ name: 'sy2', namespace: 'ns', reuseKeys: true });
  const text = pki.get('admin.conf')!.toString();
  const fast = parseKubeconfig(text);
  // a comment line sends the same document to js-yaml
  const slow = parseKubeconfig(`# via js-yaml\n${text}`);
  assert.equal(fast, slow);
  assert.equal(fast.users[0]!.clientKeyData, slow.users[0]!.clientKeyData, 'the hidden key data too');
  assert.ok(fast.users[0]!.clientKeyData!.length > 100);
});

test('what it must decline', () => {
  const cases: Record<string, string> = {
    comment: 'a: b\n# c\n',
    'trailing comment': 'a: b # c\n',
    'document marker': '---\na: b\n',
    tab: 'a:\n\tb: c\n',
    crlf: 'a: b\r\n',
    'double-quoted': 'a: "b"\n',
    'single-quoted': "a: 'b'\n",
    number: 'a: 1\n',
    'leading digit': 'a: 1abc\n',
    boolean: 'a: true\n',
    'boolean (title case)': 'a: False\n',
    null: 'a: null\n',
    tilde: 'a: ~\n',
    anchor: 'a: &x b\n',
    alias: 'a: *x\n',
    tag: 'a: !!str b\n',
    'block scalar': 'a: |\n  b\n',
    'flow mapping': 'a: {b: c}\n',
    'flow sequence': 'a: [b]\n',
    'scalar sequence item': 'a:\n- b\n',
    'space in value': 'a: b c\n',
    'trailing space': 'a: b \n',
    'value ending in a colon': 'a: b:\n',
    'key without space': 'a:b\n',
    'quoted key': '"a": b\n',
    'over-indented': 'a: b\n  c: d\n',
    'dash after a value': 'a: b\n- c: d\n',
    'top-level sequence': '- a: b\n',
    'blank line of spaces': 'a: b\n  \nc: d\n',
    'multi-line plain scalar': 'a: b\n  c\n',
    'proto key': '__proto__: x\n',
    empty: '',
    'only newlines': '\n\n',
  };
  for (const [label, text] of Object.entries(cases)) assert.is(readSimpleYaml(text), undefined, label);
});

test('every plain word it keeps as a string is a string to js-yaml', () => {
  const words = [
    'yes', 'no', 'on', 'off', 'y', 'n', 'Yes', 'NO', 'On', 'OFF', 'nan', 'NaN', 'inf', 'Infinity', 'e1', 'x1e3',
    'v1', 'Config', 'true1', 'nullx', 'TRUE_', 'https://127.0.0.1:6443', 'kubernetes-admin@kubernetes', 'a:b', 'a=', B64,
    'system:kube-controller-manager', 'Z', 'a.b.c', 'a/b+c', 'x-', 'x_', 'x.', 'x@', 'x::y',
  ];
  for (const w of words) {
    const text = `k: ${w}\n`;
    assert.ok(agrees(text, w), `${w} read here`);
    assert.is((readSimpleYaml(text) as { k: unknown }).k, w);
  }
});

test('thousands of generated documents: declined, or read exactly as js-yaml reads them', () => {
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const KEYS = ['a', 'b', 'name', 'cluster', 'user', 'client-key-data', 'x_1', 'A9', 'server', 'constructor', 'toString'];
  const GOOD = ['v1', 'Config', 'https://h:6443', 'u@c', B64, 'yes', 'a#b', '{}', '[]'];
  const BAD = ['true', 'null', '1', '~', 'a b', '"q"', 'x:', 'x: y', '{a: b}', 'é', '-x', 'a #b'];
  const word = () => (rand(20) === 0 ? pick(BAD) : pick(GOOD));

  function mapping(indent: number, depth: number, firstPrefix = ''): string[] {
    const lines: string[] = [];
    const n = 1 + rand(3);
    for (let k = 0; k < n; k++) {
      const pad = k === 0 && firstPrefix ? firstPrefix : ' '.repeat(indent);
      const key = pick(KEYS);
      const kind = depth > 2 ? 0 : rand(5);
      if (kind <= 1) lines.push(`${pad}${key}: ${word()}`);
      else if (kind === 2) lines.push(`${pad}${key}:`); // null, unless what follows is deeper
      else if (kind === 3) {
        lines.push(`${pad}${key}:`);
        lines.push(...mapping(indent + pick([2, 4]), depth + 1));
      } else {
        lines.push(`${pad}${key}:`);
        const dashIndent = indent + pick([0, 2]);
        const items = 1 + rand(2);
        for (let it = 0; it < items; it++) lines.push(...mapping(dashIndent + 2, depth + 1, `${' '.repeat(dashIndent)}- `));
      }
    }
    return lines;
  }

  function breakIt(lines: string[]): string[] {
    const out = [...lines];
    const i = rand(out.length);
    switch (rand(7)) {
      case 0: out[i] = ` ${out[i]}`; break; // one space off
      case 1: out[i] = out[i]!.replace(/^ {2}/, ''); break;
      case 2: out.splice(i, 0, '# comment'); break;
      case 3: out[i] = `${out[i]} `; break;
      case 4: out.splice(i, 0, ''); break; // a blank line: harmless
      case 5: out[i] = out[i]!.replace('- ', '  '); break;
      default: out[i] = out[i]!.replace(/^( *)/, '$1- '); break;
    }
    return out;
  }

  let accepted = 0;
  let total = 0;
  for (let d = 0; d < 4000; d++) {
    let lines = mapping(0, 0);
    if (d % 3 === 0) lines = breakIt(lines);
    const text = `${lines.join('\n')}\n`;
    total++;
    if (agrees(text, `document ${d}`)) accepted++;
  }
  // the generator really exercises the reader, and also makes it decline
  assert.ok(accepted > total * 0.3 && accepted < total * 0.9, `accepted ${accepted} of ${total}`);
});

test.run();
