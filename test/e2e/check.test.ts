// `check` end to end: the built binary against the simulated host cluster, graded by
// openssl and by the simulator's own state, never by the code that produced the rows.
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/index.js';
import { BINARY, DAY, freePort, execFileP, opensslFacts, ROOT, runCli, type CliResult } from './helpers.js';

const test = suite('check e2e');
let cluster: SimCluster;
let env: Record<string, string>;
let scratch = '';
const pkis = new Map<string, Map<string, Buffer>>();

async function addVC(name: string, namespace: string, pki: Map<string, Buffer>, extra: Record<string, unknown> = {}) {
  pkis.set(`${namespace}/${name}`, pki);
  await cluster.addVCluster({ name, namespace, pki, ...extra });
}

function json(r: CliResult) {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr}`);
  }
}

function assertOneLineError(r: CliResult, code: number, re: RegExp) {
  assert.is(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, re);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
}

async function kubectl(args: string[]) {
  return execFileP('kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } });
}

// uvu hides errors thrown in hooks: print them, so a broken setup is visible.
test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));

async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-e2e-'));
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  const now = Date.now();
  await Promise.all([
    generatePki({ name: 'ok', namespace: 'ns-ok' }).then((p) => addVC('ok', 'ns-ok', p)),
    generatePki({ name: 'soon', namespace: 'ns-soon', now: new Date(now - 345 * DAY) }).then((p) => addVC('soon', 'ns-soon', p)),
    generatePki({ name: 'expired', namespace: 'ns-expired', expiredLeafs: true }).then((p) => addVC('expired', 'ns-expired', p, { persistence: false })),
    generatePki({ name: 'future', namespace: 'ns-future', notYetValid: ['apiserver.crt'] }).then((p) => addVC('future', 'ns-future', p, { kind: 'Deployment' })),
    generatePki({ name: 'corrupt', namespace: 'ns-corrupt', corrupt: ['front-proxy-client.crt'] }).then((p) => addVC('corrupt', 'ns-corrupt', p)),
    generatePki({ name: 'mismatch', namespace: 'ns-mismatch' }).then((p) => {
      p.set('apiserver.key', p.get('front-proxy-client.key')!);
      return addVC('mismatch', 'ns-mismatch', p);
    }),
    generatePki({ name: 'drifty', namespace: 'ns-drift' }).then((p) => addVC('drifty', 'ns-drift', p)),
    generatePki({ name: 'dup', namespace: 'ns-dup-a' }).then((p) => addVC('dup', 'ns-dup-a', p)),
    generatePki({ name: 'dup', namespace: 'ns-dup-b' }).then((p) => addVC('dup', 'ns-dup-b', p)),
    generatePki({ name: 'legacy', namespace: 'ns-k3s' }).then((p) => addVC('legacy', 'ns-k3s', p, { distro: 'k3s' })),
    generatePki({ name: 'sleepy', namespace: 'ns-paused' }).then((p) => addVC('sleepy', 'ns-paused', p, { paused: true })),
    generatePki({ name: 'nosecret', namespace: 'ns-nosecret' }).then((p) => addVC('nosecret', 'ns-nosecret', p)),
    generatePki({ name: 'empty', namespace: 'ns-empty' }).then((p) => addVC('empty', 'ns-empty', p)),
  ]);
  for (const [ns, name] of [['ns-ok', 'ok'], ['ns-soon', 'soon'], ['ns-drift', 'drifty'], ['ns-nosecret', 'nosecret'], ['ns-empty', 'empty']]) {
    await cluster.waitReady(ns!, name!);
  }
  // Broken after start, as an admin's mistake would leave them.
  await kubectl(['delete', 'secret', 'nosecret-certs', '-n', 'ns-nosecret']);
  await kubectl(['patch', 'secret', 'empty-certs', '-n', 'ns-empty', '--type', 'merge', '-p', '{"data":{"apiserver.crt":""}}']);
}

test.after(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('a healthy vCluster: every row agrees with openssl, exit 0, one exec', async () => {
  const r = await runCli(['check', 'ok', '-n', 'ns-ok', '-o', 'json', '-v'], env);
  assert.is(r.code, 0, r.stderr);
  const doc = json(r);
  assert.is(doc.vclusters.length, 1);
  const vc = doc.vclusters[0];
  assert.is(vc.result, 'OK');
  assert.match(vc.source, /secret ns-ok\/ok-certs \+ \/data\/pki in pod ok-0/);
  assert.equal(vc.drift, []);
  const pki = pkis.get('ns-ok/ok')!;
  const expectedFiles = [...pki.keys()].filter((f) => f.endsWith('.crt') || f.endsWith('.conf')).sort();
  assert.equal([...new Set(vc.certificates.map((c: { filename: string }) => c.filename))].sort(), expectedFiles);
  for (const row of vc.certificates) {
    let pem: string;
    if (row.filename.endsWith('.conf')) {
      const kc = parseYaml(pki.get(row.filename)!.toString());
      pem = Buffer.from(kc.users[0].user['client-certificate-data'], 'base64').toString();
    } else {
      pem = pki.get(row.filename)!.toString();
    }
    const facts = await opensslFacts(pem);
    assert.is(row.subject, facts.subjectCN, `${row.filename} subject`);
    assert.is(row.issuer, facts.issuerCN, `${row.filename} issuer`);
    assert.is(new Date(row.expiryTime).getTime(), facts.notAfter.getTime(), `${row.filename} notAfter`);
    assert.is(row.status, 'OK', `${row.filename}: ${row.problems}`);
  }
  assert.match(r.stderr, /api requests: \d+, execs: 1\b/);
});

test('the table keeps upstream columns, time format and relative paths', async () => {
  const r = await runCli(['check', 'ok', '-n', 'ns-ok'], env);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^ {2}FILENAME +\| SUBJECT +\| ISSUER +\| EXPIRES ON +\| STATUS$/m);
  assert.match(r.stdout, /^ {2}etcd\/ca\.crt +\| etcd-ca +\| etcd-ca +\| [A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC \| OK$/m);
  const wide = await runCli(['check', 'ok', '-n', 'ns-ok', '-o', 'wide'], env);
  assert.match(wide.stdout, /DAYS LEFT \| KEY +\| SANS +\| SERIAL/);
  assert.match(wide.stdout, /apiserver\.crt .*\| 36[45] +\| RSA-2048 \| kubernetes,kubernetes\.default,kubernetes\.default\.svc,\+4 /);
  const yaml = parseYaml((await runCli(['check', 'ok', '-n', 'ns-ok', '-o', 'yaml'], env)).stdout);
  assert.is(yaml.vclusters[0].certificates.length, json(await runCli(['check', 'ok', '-n', 'ns-ok', '-o', 'json'], env)).vclusters[0].certificates.length);
});

test('expiring within --warn-within → EXPIRING, exit 1; a shorter window → exit 0', async () => {
  const r = await runCli(['check', 'soon', '-n', 'ns-soon', '-o', 'json'], env);
  assert.is(r.code, 1, r.stderr);
  const rows = json(r).vclusters[0].certificates;
  const leafs = rows.filter((c: { isCA: boolean }) => !c.isCA);
  assert.ok(leafs.length >= 10);
  for (const c of leafs) {
    assert.is(c.status, 'EXPIRING', c.filename);
    assert.ok(c.daysLeft >= 19 && c.daysLeft <= 20, `${c.filename} ${c.daysLeft}`);
  }
  assert.is((await runCli(['check', 'soon', '-n', 'ns-soon', '--warn-within', '7d'], env)).code, 0);
});

test('expired leafs: the pod crash-loops, the Secret is still read, EXPIRED, exit 2', async () => {
  const r = await runCli(['check', 'expired', '-n', 'ns-expired', '-o', 'json'], env);
  assert.is(r.code, 2, r.stderr);
  const vc = json(r).vclusters[0];
  assert.match(vc.source, /^secret ns-expired\/expired-certs$/);
  assert.ok(vc.warnings.some((w: string) => /no Ready pod/.test(w)));
  const pki = pkis.get('ns-expired/expired')!;
  for (const row of vc.certificates.filter((c: { filename: string }) => c.filename.endsWith('.crt'))) {
    const facts = await opensslFacts(pki.get(row.filename)!.toString());
    const expired = facts.notAfter.getTime() < Date.now();
    assert.is(row.status === 'EXPIRED', expired, `${row.filename} ${row.status}`);
    assert.is(new Date(row.expiryTime).getTime(), facts.notAfter.getTime());
  }
});

test('not yet valid and key mismatch → exit 2 with the reason', async () => {
  const f = await runCli(['check', 'future', '-n', 'ns-future', '-o', 'json', '--source', 'secret'], env);
  assert.is(f.code, 2);
  const row = json(f).vclusters[0].certificates.find((c: { filename: string }) => c.filename === 'apiserver.crt');
  assert.is(row.status, 'NOT YET VALID');
  const m = await runCli(['check', 'mismatch', '-n', 'ns-mismatch'], env);
  assert.is(m.code, 2);
  assert.match(m.stdout, /apiserver\.crt .*\| INVALID/);
  assert.match(m.stdout, /! apiserver\.crt: .*key/i);
});

test('drift between the Secret and /data/pki is reported; odd file names stay data', async () => {
  const root = cluster.podRoot('ns-drift', 'drifty-0');
  const pki = join(root, 'data', 'pki');
  const apiserver = readFileSync(join(pki, 'apiserver.crt'));
  writeFileSync(join(pki, 'apiserver.crt'), Buffer.concat([apiserver, Buffer.from('\n')]));
  writeFileSync(join(pki, '$(touch PWNED).crt'), 'x');
  writeFileSync(join(pki, 'with space\nand newline.crt'), 'y');
  const r = await runCli(['check', 'drifty', '-n', 'ns-drift', '-o', 'json'], env);
  assert.is(r.code, 1, r.stderr);
  const drift = json(r).vclusters[0].drift;
  assert.equal(drift, [
    { file: '$(touch PWNED).crt', kind: 'only-on-disk', pod: 'drifty-0' },
    { file: 'apiserver.crt', kind: 'differs', pod: 'drifty-0' },
    { file: 'with space\nand newline.crt', kind: 'only-on-disk', pod: 'drifty-0' },
  ]);
  for (const dir of [pki, join(root, 'data'), root, ROOT, process.cwd()]) assert.not.ok(existsSync(join(dir, 'PWNED')), `nothing ran in ${dir}`);
  const text = await runCli(['check', 'drifty', '-n', 'ns-drift'], env);
  assert.match(text.stdout, /~ drift: apiserver\.crt differs between the Secret and \/data\/pki \(pod drifty-0\)/);
});

test('names from the cluster reach the terminal escaped: a newline or an escape sequence in a file name', async () => {
  const pki = join(cluster.podRoot('ns-drift', 'drifty-0'), 'data', 'pki');
  const evil = 'title\x1b]0;pwned\x07\x1b[2J.crt';
  writeFileSync(join(pki, evil), 'z');
  try {
    for (const wide of [[], ['-o', 'wide']]) {
      const r = await runCli(['check', 'drifty', '-n', 'ns-drift', ...wide], env);
      assert.is(r.code, 1, r.stderr);
      assert.not.match(r.stdout + r.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'no control character reaches the terminal but line ends');
      assert.ok(r.stdout.includes('~ drift: with space\\nand newline.crt is in /data/pki but not in the Secret (pod drifty-0)'), r.stdout);
      assert.ok(r.stdout.includes('~ drift: title\\x1b]0;pwned\\x07\\x1b[2J.crt is in /data/pki'), r.stdout);
    }
    // JSON keeps the name as it is (JSON escapes it itself)
    const drift = json(await runCli(['check', 'drifty', '-n', 'ns-drift', '-o', 'json'], env)).vclusters[0].drift;
    assert.ok(drift.some((d: { file: string }) => d.file === evil));
  } finally {
    rmSync(join(pki, evil));
  }
});

test('HA: --source auto reads /data/pki of every Ready replica and reports drift per replica', async () => {
  await addVC('ha', 'ns-ha', await generatePki({ name: 'ha', namespace: 'ns-ha' }), { replicas: 3 });
  await cluster.waitReady('ns-ha', 'ha');
  const clean = await runCli(['check', 'ha', '-n', 'ns-ha', '-o', 'json', '-v'], env);
  assert.is(clean.code, 0, clean.stderr);
  assert.match(clean.stderr, /execs: 3\b/, 'one exec per replica');
  assert.match(json(clean).vclusters[0].source, /\/data\/pki in pods ha-0, ha-1, ha-2$/);
  const pki = join(cluster.podRoot('ns-ha', 'ha-1'), 'data', 'pki');
  writeFileSync(join(pki, 'front-proxy-client.crt'), Buffer.concat([readFileSync(join(pki, 'front-proxy-client.crt')), Buffer.from('\n')]));
  const r = await runCli(['check', 'ha', '-n', 'ns-ha', '-o', 'json'], env);
  assert.is(r.code, 1, r.stderr);
  const vc = json(r).vclusters[0];
  assert.is(vc.result, 'ATTENTION');
  assert.equal(vc.drift, [{ file: 'front-proxy-client.crt', kind: 'differs', pod: 'ha-1' }]);
  const text = await runCli(['check', 'ha', '-n', 'ns-ha'], env);
  assert.match(text.stdout, /~ drift: front-proxy-client\.crt differs between the Secret and \/data\/pki \(pod ha-1\)/);
  // a fleet check with --source both does the same for every vCluster
  const both = json(await runCli(['check', '-n', 'ns-ha', '--source', 'both', '-o', 'json'], env));
  assert.equal(both.vclusters[0].drift, vc.drift);
  // the Secret alone knows nothing of the disks
  assert.is((await runCli(['check', 'ha', '-n', 'ns-ha', '--source', 'secret'], env)).code, 0);
});

test('fleet: -A checks every vCluster, -l narrows, the exit code is the worst', async () => {
  const r = await runCli(['check', '-A', '-o', 'json'], env);
  const doc = json(r);
  const names = doc.vclusters.map((v: { namespace: string; name: string }) => `${v.namespace}/${v.name}`);
  for (const n of ['ns-ok/ok', 'ns-soon/soon', 'ns-expired/expired', 'ns-dup-a/dup', 'ns-dup-b/dup', 'ns-k3s/legacy']) assert.ok(names.includes(n), n);
  assert.is(r.code, 3, 'some vClusters cannot be checked (k3s, paused, no secret)');
  const byName = Object.fromEntries(doc.vclusters.map((v: { namespace: string; result: string }) => [v.namespace, v.result]));
  assert.is(byName['ns-ok'], 'OK');
  assert.is(byName['ns-soon'], 'ATTENTION');
  assert.is(byName['ns-expired'], 'BROKEN');
  assert.is(byName['ns-k3s'], 'ERROR');
  // A fleet check lists the Secrets once and execs nowhere; --source both compares every disk.
  const counted = await runCli(['check', '-A', '-o', 'json', '-v'], env);
  const [, requests, execs] = /api requests: (\d+), execs: (\d+)/.exec(counted.stderr) ?? [];
  assert.is(execs, '0', 'no exec in a fleet check by default');
  assert.ok(Number(requests) <= 6, `a handful of list calls for the whole fleet, got ${requests}`);
  assert.is(byName['ns-drift'], 'OK', 'drift is not looked for by default in a fleet check');
  // Worker threads (started from source text inside the single binary) change nothing but speed.
  const strip = (d: { vclusters: Array<{ certificates: Array<Record<string, unknown>> }> }) =>
    JSON.stringify(d.vclusters.map((v) => ({ ...v, certificates: v.certificates.map(({ daysLeft: _, ...c }) => c) })));
  const threaded = await runCli(['check', '-A', '-o', 'json', '-v'], { ...env, VCERTS_THREADS: '2' });
  const inline = await runCli(['check', '-A', '-o', 'json', '-v'], { ...env, VCERTS_THREADS: '0' });
  const [, threads, offloaded] = /inspect threads: (\d+) \((\d+) of \d+ vClusters\)/.exec(threaded.stderr) ?? [];
  assert.is(threads, '2', threaded.stderr);
  assert.ok(Number(offloaded) > 0, `the workers inspected some PKIs: ${threaded.stderr}`);
  assert.not.match(inline.stderr, /inspect threads/);
  assert.is(threaded.code, inline.code);
  assert.is(strip(json(threaded)), strip(json(inline)));
  // The Secrets are listed in chunks (inspection starts on the first); the result does not depend on them.
  const secretLists = (from: number) => cluster.requests.slice(from).filter((q) => q.verb === 'list' && q.resource === 'secrets');
  let from = cluster.requests.length;
  const oneByOne = await runCli(['check', '-A', '-o', 'json', '--chunk-size', '1'], env);
  const chunks = secretLists(from).length;
  assert.ok(chunks > 6, `one list request per Secret: ${chunks}`);
  // A connection per concurrent request at most (four lists, then up to --concurrency GETs), not
  // one per request: sequential chunks reuse one.
  const connections = new Set(cluster.requests.slice(from).map((q) => q.connection));
  assert.ok(connections.size <= 8 && connections.size * 3 < chunks, `${chunks + 3} requests over ${connections.size} connections`);
  assert.is(strip(json(oneByOne)), strip(json(inline)));
  from = cluster.requests.length;
  const whole = await runCli(['check', '-A', '-o', 'json', '--chunk-size', '0'], env);
  assert.is(secretLists(from).length, 1);
  assert.is(strip(json(whole)), strip(json(inline)));
  // A Secret written between chunks expires the continue token (410): the list is read again, whole.
  const expire = cluster.faults.add({ verb: 'list', resource: 'secrets', queryParam: 'continue', status: 410 });
  from = cluster.requests.length;
  const restarted = await runCli(['check', '-A', '-o', 'json', '--chunk-size', '2'], env);
  assert.is(expire.hits, 1);
  assert.equal(secretLists(from).map((q) => q.code), [200, 410, 200]);
  assert.is(restarted.code, inline.code);
  assert.is(strip(json(restarted)), strip(json(inline)));
  const both = json(await runCli(['check', '-A', '--source', 'both', '-o', 'json'], env));
  const drifty = both.vclusters.find((v: { namespace: string }) => v.namespace === 'ns-drift');
  assert.is(drifty.result, 'ATTENTION');
  assert.ok(drifty.drift.some((d: { file: string }) => d.file === 'apiserver.crt'));
  const some = await runCli(['check', '-A', '-l', 'release in (ok,soon)', '-o', 'json'], env);
  assert.is(some.code, 1);
  assert.is(json(some).vclusters.length, 2);
  const text = await runCli(['check', '-A'], env);
  assert.match(text.stdout, /vCluster ok \(namespace ns-ok, v0\.30\.0, Running\)/);
  assert.match(text.stderr, /error: ns-k3s\/legacy: .*k3s distro/);
});

test('no exec rights: --source auto falls back to the Secret, --source pod says what is missing', async () => {
  const viewer = await cluster.addUser('viewer', { allow: [{ verbs: ['get', 'list'], resources: ['secrets', 'statefulsets', 'deployments', 'pods'] }] });
  const auto = await runCli(['check', 'ok', '-n', 'ns-ok', '-o', 'json'], { KUBECONFIG: viewer });
  assert.is(auto.code, 0, auto.stderr);
  const vc = json(auto).vclusters[0];
  assert.match(vc.source, /^secret /);
  assert.ok(vc.warnings.some((w: string) => /pods\/exec/.test(w)), vc.warnings.join());
  const pod = await runCli(['check', 'ok', '-n', 'ns-ok', '--source', 'pod'], { KUBECONFIG: viewer });
  assert.is(pod.code, 3);
  assert.match(pod.stderr, /you need "create" on pods\/exec in namespace ns-ok \(or use --source secret\)/);
});

test('a dropped exec is retried once; dropped twice is a clear error', async () => {
  const once = cluster.faults.add({ exec: true, commandIncludes: 'tar', dropAfterBytes: 512, times: 1 });
  const r1 = await runCli(['check', 'ok', '-n', 'ns-ok', '--source', 'pod', '-o', 'json'], env);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(json(r1).vclusters[0].certificates.length, 15);
  void once;
  cluster.faults.add({ exec: true, commandIncludes: 'tar', dropAfterBytes: 512, times: 2 });
  const r2 = await runCli(['check', 'ok', '-n', 'ns-ok', '--source', 'pod'], env);
  assert.is(r2.code, 3);
  assert.match(r2.stderr, /dropped before "tar" finished/);
});

test('bad input: one line, what to do, exit 3, no stack trace (which -v shows)', async () => {
  const closedPort = await freePort();
  const unreachable = join(scratch, 'unreachable.yaml');
  writeFileSync(unreachable, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/server: .*/, `server: https://127.0.0.1:${closedPort}`));
  const wrongCA = join(scratch, 'wrong-ca.yaml');
  const otherCA = pkis.get('ns-ok/ok')!.get('ca.crt')!.toString('base64');
  writeFileSync(wrongCA, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/certificate-authority-data: .*/, `certificate-authority-data: ${otherCA}`));
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['check', 'ok'], { HOME: join(scratch, 'nohome') }, /no kubeconfig found/],
    [['check', 'ok', '--context', 'nope'], env, /context "nope" not found/],
    [['check', 'ok', '-n', 'ns-ok', '--kubeconfig', unreachable], {}, new RegExp(`connection to the API server https://127\\.0\\.0\\.1:${closedPort} refused`)],
    [['check', 'ok', '-n', 'ns-ok', '--kubeconfig', wrongCA], {}, /TLS to the host API server .* failed/],
    [['check', 'nope', '-n', 'ns-ok'], env, /vCluster "nope" not found in namespace ns-ok; pass -n NAMESPACE, or -A/],
    [['check', 'Bad_Name', '-n', 'ns-ok'], env, /"Bad_Name" is not a valid vCluster name/],
    [['check', 'dup', '-A'], env, /exists in several namespaces \(ns-dup-a, ns-dup-b\); pick one with -n/],
    [['check', 'sleepy', '-n', 'ns-paused'], env, /is paused: resume it .* or read only its Secret with --source secret/],
    [['check', 'legacy', '-n', 'ns-k3s'], env, /uses the k3s distro, which is not supported/],
    [['check', 'nosecret', '-n', 'ns-nosecret'], env, /secret ns-nosecret\/nosecret-certs not found/],
    [['check', 'empty', '-n', 'ns-empty'], env, /has empty values for apiserver\.crt/],
    [['check', 'corrupt', '-n', 'ns-corrupt', '--source', 'secret'], env, /front-proxy-client\.crt .* cannot be read as a PEM certificate/],
    [['check', 'ok', '-n', 'ns-ok', '-o', 'xml'], env, /unknown -o\/--output value "xml": use one of table, wide, json, yaml/],
    [['check', 'ok', '-n', 'ns-ok', '--warn-within', 'soon'], env, /invalid --warn-within "soon": use a duration like 30d/],
    [['check', 'ok', '-n', 'ns-ok', '--frobnicate'], env, /Unknown argument: frobnicate/],
    [['check', 'ok', '-n', 'ns-ok', '--chunk-size', '-5'], env, /--chunk-size takes a whole number \(0 or more\), not -5/],
    [['check', 'ok', '-n', 'ns-ok', '--chunk-size', 'many'], env, /--chunk-size takes a whole number \(0 or more\)$/m],
  ];
  for (const [args, e, re] of cases) {
    const r = await runCli(args, e);
    if (args.includes('-A') || /empty|corrupt/.test(args[1]!)) {
      // These print what could be read, then the error line.
      assert.is(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.not.match(r.stderr, /\n\s+at /);
    } else {
      assertOneLineError(r, 3, re);
    }
  }
  const verbose = await runCli(['check', 'nope', '-n', 'ns-ok', '-v'], env);
  assert.is(verbose.code, 3);
  assert.match(verbose.stderr, /\n\s+at /, '-v shows the stack');
});

test('the real kubectl finds the plugin on PATH, and the binary runs with no node at all', async () => {
  const realKubectl = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.32', '/usr/bin/kubectl'].find((k) => existsSync(k))!;
  const dir = join(ROOT, 'dist');
  const { stdout } = await execFileP(realKubectl, ['vcluster-certs', 'check', 'ok', '-n', 'ns-ok', '-o', 'json'], {
    env: { PATH: `${dir}:/usr/bin:/bin`, KUBECONFIG: cluster.kubeconfigPath, HOME: scratch },
  });
  assert.is(JSON.parse(stdout).vclusters[0].result, 'OK');
  const script = 'for n in /usr/bin/node /usr/local/bin/node; do [ -e "$n" ] && mount --bind /dev/null "$n"; done; '
    + 'if command -v node >/dev/null && node -e 0 2>/dev/null; then echo "node still reachable"; exit 99; fi; exec "$0" check ok -n ns-ok -o json';
  const noNode = await execFileP('unshare', ['-m', 'sh', '-c', script, BINARY], {
    env: { PATH: '/usr/bin:/bin', KUBECONFIG: cluster.kubeconfigPath, HOME: scratch },
  });
  assert.is(JSON.parse(noNode.stdout).vclusters[0].result, 'OK');
});

test('a vc-config that is not YAML: k8s assumed with a warning, per config; other configs keep their own distro', async () => {
  const original = (await kubectl(['get', 'secret', 'vc-config-ok', '-n', 'ns-ok', '-o', 'jsonpath={.data.config\\.yaml}'])).stdout;
  assert.ok(original.length > 10);
  const broken = Buffer.from('controlPlane: [unclosed\n').toString('base64');
  await kubectl(['patch', 'secret', 'vc-config-ok', '-n', 'ns-ok', '--type', 'merge', '-p', JSON.stringify({ data: { 'config.yaml': broken } })]);
  try {
    const r = await runCli(['check', '-A', '--source', 'secret', '-o', 'json'], env);
    const byName = Object.fromEntries(json(r).vclusters.map((v: { namespace: string; name: string }) => [`${v.namespace}/${v.name}`, v]));
    assert.ok(byName['ns-ok/ok'].warnings.some((w: string) => w.includes('vc-config-ok holds no readable config.yaml; assuming the k8s distro')));
    assert.is(byName['ns-ok/ok'].result, 'OK');
    for (const other of ['ns-soon/soon', 'ns-drift/drifty']) {
      assert.not.ok(byName[other].warnings.some((w: string) => w.includes('readable config.yaml')), other);
    }
    assert.is(byName['ns-k3s/legacy'].result, 'ERROR');
    assert.match(byName['ns-k3s/legacy'].error, /k3s distro/);
  } finally {
    await kubectl(['patch', 'secret', 'vc-config-ok', '-n', 'ns-ok', '--type', 'merge', '-p', JSON.stringify({ data: { 'config.yaml': original } })]);
  }
});

test.run();
