// Private internals of dependencies that src/ relies on. Each check says what uses it, so a
// dependency bump that drops one fails here, loudly, instead of a fast path or a connection
// share quietly doing nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import yargs, { type Argv } from 'yargs';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import jsrsasign from 'jsrsasign';
import { specFromBuilderInstance, type CommandSpec } from '../../src/cli/completion.js';
import { checkCommand } from '../../src/cli/check.js';
import { withGlobalFlags } from '../../src/cli/flags.js';
import { generatePki } from '../cluster/pkigen.js';

const test = suite('internals of dependencies');

const has = (obj: unknown, name: string, user: string) =>
  assert.is(typeof (obj as Record<string, unknown>)?.[name], 'function', `${name} is gone: ${user} relies on it`);

test('jsrsasign: the ASN.1 helpers that src/pki/fast/ replaces or calls, and the reader fields it resets', async () => {
  const j = jsrsasign as unknown as Record<string, Record<string, unknown>> & { KJUR: { asn1: { ASN1Util: unknown } } };
  for (const f of ['getVblen', 'hextooidstr']) has(j.ASN1HEX, f, 'src/pki/fast/jsrsasign.ts (replaced)');
  has(j.KJUR.asn1.ASN1Util, 'oidHexToInt', 'src/pki/fast/jsrsasign.ts (replaced)');
  for (const f of ['getChildIdx', 'getV']) has(j.ASN1HEX, f, 'src/pki/fast/san.ts');
  has(jsrsasign, 'hextoip', 'src/pki/fast/san.ts');
  for (const f of ['getTLV', 'getTLVbyListEx']) has(j.ASN1HEX, f, 'src/pki/x509.ts');
  // the fields the shared reader resets (src/pki/fast/shared-reader.ts) and x509.ts reads
  const fresh = new jsrsasign.X509() as unknown as Record<string, unknown>;
  for (const field of ['hex', 'version', 'foffset', 'aExtInfo']) {
    assert.ok(field in fresh, `X509.${field} is gone: src/pki/fast/shared-reader.ts resets it, x509.ts reads hex and aExtInfo`);
  }
  const pem = (await generatePki({ name: 'x', namespace: 'ns' })).get('apiserver.crt')!.toString();
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const js = new jsrsasign.X509() as unknown as Record<string, unknown> & { readCertHex(h: string): void };
  js.readCertHex(der.toString('hex'));
  assert.is(js.hex, der.toString('hex'), 'X509.hex holds the certificate read');
  assert.is(js.version, 3);
  assert.is(js.foffset, 0, 'X509.foffset: 0 for a v3 certificate');
  assert.ok(Array.isArray(js.aExtInfo) && (js.aExtInfo as Array<{ oid?: string; vidx?: number }>).every((e) => typeof e.oid === 'string' && typeof e.vidx === 'number'),
    'X509.aExtInfo: [{ oid, vidx, critical }], read by x509.ts extensionOids');
});

test("client-node: KubeConfig.createDispatcher, the one place src/kube/client.ts shares connections", async () => {
  has(KubeConfig.prototype, 'createDispatcher', 'src/kube/client.ts shareDispatchers');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  let calls = 0;
  const target = kc as unknown as { createDispatcher: (...a: unknown[]) => unknown };
  const original = target.createDispatcher;
  target.createDispatcher = function (this: unknown, ...a: unknown[]) {
    calls++;
    return original.apply(this, a);
  };
  await kc.applySecurityAuthentication(new RequestContext('https://127.0.0.1:1/api', HttpMethod.GET));
  assert.is(calls, 1, 'every request\'s options come through createDispatcher (what shareDispatchers wraps)');
});

test('yargs: the internals completion reads (src/cli/completion/spec.ts)', async () => {
  let spec: { root: CommandSpec } | undefined;
  const probe = {
    command: 'probe',
    describe: false as const,
    builder: (y: Argv) => {
      spec = specFromBuilderInstance(y);
      return y;
    },
    handler: () => undefined,
  };
  const y = withGlobalFlags(yargs(['probe'])).command(checkCommand(async () => undefined)).command(probe);
  has(y, 'getInternalMethods', 'completion (usage and command instances)');
  has(y, 'getOptions', 'completion (flags, aliases, types)');
  const internal = (y as unknown as { getInternalMethods(): Record<string, () => unknown> }).getInternalMethods();
  has(internal, 'getUsageInstance', 'completion (flag descriptions)');
  has(internal, 'getCommandInstance', 'completion (command handlers)');
  has(internal.getUsageInstance!(), 'getDescriptions', 'completion (flag descriptions)');
  has(internal.getCommandInstance!(), 'getCommandHandlers', 'completion (commands)');
  await y.parseAsync();
  assert.ok(spec, 'the probe builder ran');
  const check = spec!.root.commands.find((c) => c.name === 'check');
  assert.ok(check, `check found among ${spec!.root.commands.map((c) => c.name)}: the frozen command state was read`);
  const output = check!.flags.find((f) => f.name === 'output');
  assert.equal(output?.aliases, ['o'], 'aliases read');
  assert.match(output?.describe ?? '', /^Output format: /, 'descriptions read');
  assert.ok(check!.flags.some((f) => f.name === 'all-namespaces' && !f.takesValue), 'boolean flags read');
  assert.equal(check!.positionals, [{ name: 'name', variadic: false }]);
  const ns = spec!.root.flags.find((f) => f.name === 'namespace');
  assert.equal(ns?.aliases, ['n'], 'global flags read from the root instance');
  assert.ok(spec!.root.flags.some((f) => f.name === 'verbose' && f.repeatable), 'count flags read');
});

test.run();
