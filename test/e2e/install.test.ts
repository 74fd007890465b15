// install: the printed manifests read by the real kubectl, applied to the simulated cluster where
// it has the kinds, the alert rules checked and unit-tested by promtool, and the commands the
// Deployment and the CronJob run executed with exactly the rights the manifests grant.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePki, startCluster, type SimCluster } from '../cluster/index.js';
import { BINARY, ROOT, runCli } from './helpers.js';
import { parseExposition, sample } from './prom.js';

const test = suite('install e2e');
let cluster: SimCluster;
let scratch = '';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));

async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-install-'));
  cluster = await startCluster();
  await Promise.all([
    generatePki({ name: 'web', namespace: 'team-a' }).then((pki) => cluster.addVCluster({ name: 'web', namespace: 'team-a', pki })),
    generatePki({ name: 'old', namespace: 'team-b', expiredLeafs: true }).then((pki) => cluster.addVCluster({ name: 'old', namespace: 'team-b', pki, persistence: false })),
    generatePki({ name: 'other', namespace: 'team-c' }).then((pki) => cluster.addVCluster({ name: 'other', namespace: 'team-c', pki })),
  ]);
}

test.after(async () => {
  await cluster?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function run(cmd: string, args: string[], stdin: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { PATH: '/usr/bin:/bin', HOME: scratch, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(stdin);
  });
}

async function manifests(args: string[]): Promise<{ text: string; docs: Doc[] }> {
  const r = await runCli(['install', ...args]);
  assert.is(r.code, 0, r.stderr);
  const parsed = parseAllDocuments(r.stdout);
  for (const d of parsed) assert.equal([...d.errors, ...d.warnings], [], 'clean YAML');
  return { text: r.stdout, docs: parsed.map((d) => d.toJS() as Doc) };
}

const kindsOf = (docs: Doc[]) => docs.map((d) => `${d.kind}/${d.metadata.namespace ? `${d.metadata.namespace}/` : ''}${d.metadata.name}`);

test('exporter: least-privilege ClusterRole, Deployment + Service, ServiceMonitor and PrometheusRule; the real kubectl reads every document', async () => {
  const { text, docs } = await manifests(['--namespace', 'monitoring', '--image', 'registry.example/vcerts:1.2.3', '--service-monitor', '--prometheus-rule']);
  assert.equal(kindsOf(docs), [
    'Namespace/monitoring', 'ServiceAccount/monitoring/vcluster-certs', 'ClusterRole/vcluster-certs-reader', 'ClusterRoleBinding/vcluster-certs-reader',
    'Deployment/monitoring/vcluster-certs', 'Service/monitoring/vcluster-certs', 'ServiceMonitor/monitoring/vcluster-certs', 'PrometheusRule/monitoring/vcluster-certs',
  ]);
  const role = docs.find((d) => d.kind === 'ClusterRole')!;
  const verbs = new Set(role.rules.flatMap((r: Doc) => r.verbs));
  assert.equal([...verbs].sort(), ['get', 'list'], 'read-only');
  assert.equal(role.rules.flatMap((r: Doc) => r.resources).sort(), ['deployments', 'pods', 'secrets', 'statefulsets'], 'no exec, nothing else');
  const dep = docs.find((d) => d.kind === 'Deployment')!;
  const c = dep.spec.template.spec.containers[0];
  assert.is(c.image, 'registry.example/vcerts:1.2.3');
  assert.is(dep.spec.template.spec.serviceAccountName, 'vcluster-certs');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  const svc = docs.find((d) => d.kind === 'Service')!;
  assert.equal(svc.spec.selector, dep.spec.template.metadata.labels);
  assert.equal(docs.find((d) => d.kind === 'ServiceMonitor')!.spec.selector.matchLabels, dep.spec.template.metadata.labels);
  // kubectl maps every kind and reads every document, without a server.
  const local = await run('kubectl', ['annotate', '--local', '-f', '-', '-o', 'name', 'checked=yes'], text, { KUBECONFIG: '/nonexistent' });
  assert.is(local.code, 0, local.stderr);
  assert.is(local.stdout.trim().split('\n').length, 8, local.stdout);
  assert.match(local.stdout, /^clusterrole\.rbac\.authorization\.k8s\.io\/vcluster-certs-reader$/m);
  assert.match(local.stdout, /^prometheusrule\.monitoring\.coreos\.com\/vcluster-certs$/m);
  // The kinds the simulator serves: a client dry run, then applied for real.
  const served = docs.filter((d) => ['Namespace', 'ServiceAccount', 'Deployment', 'Service'].includes(d.kind)).map((d) => `---\n${stringify(d)}`).join('');
  const env = { KUBECONFIG: cluster.kubeconfigPath };
  const dry = await run('kubectl', ['apply', '--dry-run=client', '--validate=false', '-f', '-'], served, env);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /deployment\.apps\/vcluster-certs created \(dry run\)/);
  const applied = await run('kubectl', ['apply', '--validate=false', '-f', '-'], served, env);
  assert.is(applied.code, 0, applied.stderr);
  const got = JSON.parse((await run('kubectl', ['get', 'deployment', 'vcluster-certs', '-n', 'monitoring', '-o', 'json'], '', env)).stdout);
  assert.equal(got.spec.template.spec.containers[0].args, c.args);
});

test('the PrometheusRule: promtool checks it, and its unit test fires at 28 days, not 14', async () => {
  const { docs } = await manifests(['--prometheus-rule']);
  const groups = docs.find((d) => d.kind === 'PrometheusRule')!.spec.groups;
  const rules = join(scratch, 'rules.yaml');
  writeFileSync(rules, stringify({ groups }));
  const check = await run('promtool', ['check', 'rules', rules], '');
  assert.is(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /SUCCESS: 5 rules found/);
  const series = '{namespace="ns",vcluster="vc",filename="apiserver.crt",subject_CN="kube-apiserver"}';
  const labels = { namespace: 'ns', vcluster: 'vc', filename: 'apiserver.crt', subject_CN: 'kube-apiserver' };
  const unit = join(scratch, 'rules.test.yaml');
  // 20 days left at the start: the 28-day warning fires, the 14-day one does not.
  writeFileSync(unit, stringify({
    rule_files: [rules],
    evaluation_interval: '1m',
    tests: [{
      interval: '1m',
      input_series: [{ series: `vcluster_certs_cert_not_after_timestamp_seconds${series}`, values: `${20 * 86400}+0x60` }],
      alert_rule_test: [
        { eval_time: '30m', alertname: 'VClusterCertificateExpiresSoon', exp_alerts: [{ exp_labels: { ...labels, severity: 'warning' }, exp_annotations: {
          summary: 'A vCluster certificate expires within 28 days',
          description: 'ns/vc file apiserver.crt (CN kube-apiserver) expires in 19d 23h 30m 0s: run "kubectl vcluster-certs rotate" (or rotate-ca for a CA).',
        } }] },
        { eval_time: '30m', alertname: 'VClusterCertificateExpiresVerySoon', exp_alerts: [] },
      ],
    }],
  }));
  const t = await run('promtool', ['test', 'rules', unit], '');
  assert.is(t.code, 0, t.stdout + t.stderr);
});

test('the README\'s alert rules are a valid rule file, the same alerts install writes', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /### Alert rules[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'an alert rule block under "### Alert rules"');
  const file = join(scratch, 'readme-rules.yaml');
  writeFileSync(file, block);
  const check = await run('promtool', ['check', 'rules', file], '');
  assert.is(check.code, 0, check.stdout + check.stderr);
  const { docs } = await manifests(['--prometheus-rule']);
  const written = docs.find((d) => d.kind === 'PrometheusRule')!.spec.groups[0].rules;
  for (const r of parseYaml(block).groups[0].rules) {
    const same = written.find((w: Doc) => w.alert === r.alert);
    assert.ok(same, r.alert);
    assert.is(same.expr, r.expr, r.alert);
  }
});

/** A simulator user holding exactly the rules of the printed Role(s) or ClusterRole. */
async function userOf(docs: Doc[], name: string): Promise<string> {
  const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
  const allow = roles.flatMap((r) => r.rules.map((rule: Doc) => ({ ...rule, ...(r.kind === 'Role' ? { namespaces: [r.metadata.namespace] } : {}) })));
  return cluster.addUser(name, { allow });
}

test('the Deployment\'s command, with only the ClusterRole\'s rights, serves every namespace', async () => {
  const { docs } = await manifests([]);
  const args: string[] = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].args;
  const kubeconfig = await userOf(docs, 'exporter-sa');
  const listen = args.indexOf('--listen');
  const argv = [...args.slice(0, listen), '--listen', '127.0.0.1:0', ...args.slice(listen + 2)];
  const child = spawn(BINARY, argv, { env: { PATH: '/usr/bin:/bin', HOME: scratch, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(log);
        if (m) { clearInterval(timer); resolve(Number(m[1])); }
      }, 50);
      child.on('close', (code) => { clearInterval(timer); reject(new Error(`exited ${code}: ${log}`)); });
    });
    let body = '';
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      body = await res.text();
      if (/^vcluster_certs_checks_total [1-9]/m.test(body)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const fams = parseExposition(body);
    assert.is(sample(fams, 'vcluster_certs_check_errors_total', {})!.value, '0', log);
    for (const vc of ['web', 'old', 'other']) assert.is(sample(fams, 'vcluster_certs_vcluster_check_success', { vcluster: vc })!.value, '1', `${vc}: ${log}`);
  } finally {
    child.kill('SIGTERM');
  }
});

test('the CronJobs: concurrencyPolicy Forbid; each one\'s command, with only the per-namespace Roles, checks its namespace', async () => {
  const { docs } = await manifests(['--mode', 'cronjob', '--watch-namespaces', 'team-a,team-b']);
  assert.equal(kindsOf(docs), [
    'Namespace/vcluster-certs', 'ServiceAccount/vcluster-certs/vcluster-certs',
    'Role/team-a/vcluster-certs-reader', 'RoleBinding/team-a/vcluster-certs-reader', 'Role/team-b/vcluster-certs-reader', 'RoleBinding/team-b/vcluster-certs-reader',
    'CronJob/vcluster-certs/vcluster-certs-team-a', 'CronJob/vcluster-certs/vcluster-certs-team-b',
  ]);
  const kubeconfig = await userOf(docs, 'cron-sa');
  const results: Record<string, number> = {};
  for (const cron of docs.filter((d) => d.kind === 'CronJob')) {
    assert.is(cron.spec.concurrencyPolicy, 'Forbid');
    const args: string[] = cron.spec.jobTemplate.spec.template.spec.containers[0].args;
    assert.is(args[0], 'check');
    const r = await runCli(args, { KUBECONFIG: kubeconfig });
    const doc = JSON.parse(r.stdout);
    results[doc.vclusters[0].namespace] = r.code;
  }
  assert.equal(results, { 'team-a': 0, 'team-b': 2 }, 'the Job fails when a certificate has expired');
  const outside = await runCli(['check', '-n', 'team-c', '--source', 'secret'], { KUBECONFIG: kubeconfig });
  assert.is(outside.code, 3, 'no rights outside the watched namespaces');
  assert.match(outside.stderr, /forbidden/);
  const all = await manifests(['--mode', 'cronjob']);
  assert.equal(all.docs.find((d) => d.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec.containers[0].args.slice(0, 2), ['check', '-A']);
});

test('bad flags are one-line errors', async () => {
  for (const [args, re] of [
    [['--mode', 'daemon'], /unknown --mode value "daemon": use one of exporter, cronjob/],
    [['--namespace', 'Bad_NS'], /"Bad_NS" is not a namespace name/],
    [['--mode', 'cronjob', '--service-monitor'], /--service-monitor scrapes the exporter/],
    [['--schedule', 'often'], /--schedule "often" is not a cron schedule/],
  ] as const) {
    const r = await runCli(['install', ...args]);
    assert.is(r.code, 3);
    assert.match(r.stderr, new RegExp(`^error: ${re.source}`));
  }
});

test.run();
