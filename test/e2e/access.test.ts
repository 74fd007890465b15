// Cluster access the way kubectl does it: exec credential plugins, the in-cluster service
// account, and a request timeout against a server that accepts but never answers.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type SimCluster } from '../cluster/index.js';
import { generatePki } from '../cluster/index.js';
import { BINARY, execFileP, runCli } from './helpers.js';

const test = suite('cluster access');
let cluster: SimCluster;
let scratch = '';
let token = '';

test.before(() => setup().catch((e) => { console.error('setup failed:', e); throw e; }));
async function setup() {
  scratch = mkdtempSync(join(tmpdir(), 'vcerts-access-'));
  cluster = await startCluster();
  await cluster.addVCluster({ name: 'acc', namespace: 'ns-acc', pki: await generatePki({ name: 'acc', namespace: 'ns-acc' }) });
  await cluster.waitReady('ns-acc', 'acc');
  const kc = parseYaml(readFileSync(await cluster.addUser('reader', { allow: [{ verbs: ['get', 'list'], resources: ['secrets', 'statefulsets', 'deployments', 'pods'] }], namespace: 'ns-acc' }), 'utf8'));
  token = kc.users[0].user.token;
  assert.ok(token, 'the simulator hands out bearer tokens');
}
test.after(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function serverOf(): { server: string; caData: string } {
  const kc = parseYaml(readFileSync(cluster.kubeconfigPath, 'utf8'));
  return { server: kc.clusters[0].cluster.server, caData: kc.clusters[0].cluster['certificate-authority-data'] };
}

test('an exec credential plugin supplies the token (client.authentication.k8s.io/v1)', async () => {
  const plugin = join(scratch, 'cred-plugin.sh');
  const marker = join(scratch, 'plugin-ran');
  writeFileSync(plugin, `#!/bin/sh\ntouch "${marker}"\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$VCERTS_TEST_TOKEN"\n`);
  chmodSync(plugin, 0o755);
  const { server, caData } = serverOf();
  const kubeconfig = join(scratch, 'exec.yaml');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: x',
    'clusters:', '- name: sim', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${caData}`,
    'users:', '- name: via-plugin', '  user:', '    exec:', '      apiVersion: client.authentication.k8s.io/v1', `      command: ${plugin}`,
    '      interactiveMode: Never', '      env:', '      - name: VCERTS_TEST_TOKEN', `        value: ${token}`,
    'contexts:', '- name: x', '  context:', '    cluster: sim', '    user: via-plugin', '    namespace: ns-acc', '',
  ].join('\n'));
  const r = await runCli(['check', 'acc', '--source', 'secret', '-o', 'json'], { KUBECONFIG: kubeconfig });
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).vclusters[0].namespace, 'ns-acc', 'namespace from the context');
  assert.ok(readFileSync(marker) !== undefined, 'the plugin ran');
});

test('in a pod: the service account token, CA and namespace files are used', async () => {
  const sa = join(scratch, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), token);
  writeFileSync(join(sa, 'ca.crt'), cluster.caCert);
  writeFileSync(join(sa, 'namespace'), 'ns-acc');
  const url = new URL(serverOf().server);
  const home = join(scratch, 'emptyhome');
  mkdirSync(home);
  const script = 'set -e; d=/var/run/secrets/kubernetes.io/serviceaccount; mkdir -p "$d"; mount --bind "$1" "$d"; shift; exec "$@"';
  const { stdout } = await execFileP('unshare', ['-m', 'sh', '-c', script, 'sh', sa, BINARY, 'check', 'acc', '--source', 'secret', '-o', 'json'], {
    env: { PATH: '/usr/bin:/bin', HOME: home, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
  });
  const vc = JSON.parse(stdout).vclusters[0];
  assert.is(vc.namespace, 'ns-acc');
  assert.is(vc.result, 'OK');
});

test('--request-timeout bounds a server that accepts and never answers', async () => {
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => { sockets.push(s); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const kubeconfig = join(scratch, 'silent.yaml');
  writeFileSync(kubeconfig, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/server: .*/, `server: https://127.0.0.1:${port}`));
  try {
    const started = Date.now();
    const r = await runCli(['check', 'acc', '-n', 'ns-acc', '--request-timeout', '2s'], { KUBECONFIG: kubeconfig });
    const took = Date.now() - started;
    assert.is(r.code, 3);
    assert.match(r.stderr, /^error: cannot list [A-Za-z ]+ in namespace ns-acc: the API server https:\/\/127\.0\.0\.1:\d+ did not answer within 2s; check the network or raise --request-timeout\n$/);
    assert.ok(took < 15_000, `gave up in ${took} ms`);
    const bad = await runCli(['check', 'acc', '--request-timeout', 'soon'], { KUBECONFIG: kubeconfig });
    assert.is(bad.code, 3);
    assert.match(bad.stderr, /invalid --request-timeout "soon"/);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test.run();
