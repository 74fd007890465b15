// The SBOM a release writes beside each archive (scripts/sbom.mjs): every npm package whose
// code esbuild put into the binary (main bundle and inspect worker), with version and licence,
// nothing else (no devDependencies, no package esbuild dropped), plus the embedded Node.js and
// ICU data. Built here from dist/ (npm test builds it); the release itself is covered by
// reproducible.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as B from '../../scripts/build-lib.mjs';
import * as S from '../../scripts/sbom.mjs';
import { BIN, ROOT, VERSION } from './helpers.js';

const test = suite('release: SBOM');
const BUILD = { version: VERSION, gitCommit: 'b'.repeat(40), gitTreeState: 'clean' as const, buildDate: '2001-02-03T04:05:06Z' };
interface Metafile { inputs: Record<string, unknown>; outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }
let metafiles: Metafile[] = [];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let npmBom: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
let binary: Buffer;

/**
 * name@version of each package esbuild reports, read independently of scripts/sbom.mjs:
 * the package.json of the directory after the last node_modules/ of every input path.
 */
function fromMetafiles(pick: (bytes: number) => boolean): Set<string> {
  const refs = new Set<string>();
  for (const m of metafiles) {
    for (const out of Object.values(m.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
        const abs = path.resolve(ROOT, input.replace(/^[a-z-]+:(?=\/)/, ''));
        const at = abs.lastIndexOf(`${path.sep}node_modules${path.sep}`);
        if (at < 0 || !pick(bytesInOutput)) continue;
        const rest = abs.slice(at + 14).split(path.sep);
        const dir = abs.slice(0, at + 14) + rest.slice(0, rest[0]!.startsWith('@') ? 2 : 1).join(path.sep);
        const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
        refs.add(`${pj.name}@${pj.version}`);
      }
    }
  }
  return refs;
}

test.before(() => {
  metafiles = S.readMetafiles() as unknown as Metafile[];
  npmBom = S.npmSbom();
  binary = fs.readFileSync(BIN);
  doc = S.releaseSbom({ npmBom, bundled: S.bundledPackages(S.readMetafiles()), targetName: B.hostTargetName(), binary, build: BUILD });
});

const libraries = () => new Set<string>(doc.components.filter((c: { type: string }) => c.type === 'library').map((c: { name: string; version: string }) => `${c.name}@${c.version}`));

test('names every package esbuild\'s metafiles report as bundled, with version, licence and purl', () => {
  const want = fromMetafiles((bytes) => bytes > 0);
  assert.ok(want.size > 20, `metafiles list ${want.size} packages`);
  for (const p of ['jsrsasign', 'js-yaml', 'yargs', '@kubernetes/client-node']) assert.ok([...want].some((r) => r.startsWith(`${p}@`)), `${p} bundled`);
  assert.equal([...libraries()].sort(), [...want].sort());
  for (const c of doc.components.filter((x: { type: string }) => x.type === 'library')) {
    assert.ok(c.licenses?.length, `${c.name}: licence`);
    assert.match(c.purl, /^pkg:npm\//);
    assert.ok(c.properties.some((p: { name: string; value: string }) => p.name === 'cdx:npm:package:path' && p.value.startsWith('node_modules/')), c.name);
  }
});

test('nothing that is not bundled: no devDependency outside the bundle, no package esbuild dropped', () => {
  const have = libraries();
  const names = new Set([...have].map((r) => r.slice(0, r.lastIndexOf('@'))));
  const pkg = B.pkgJson();
  const bundledNames = new Set([...fromMetafiles((b) => b > 0)].map((r) => r.slice(0, r.lastIndexOf('@'))));
  const devOnly = Object.keys(pkg.devDependencies as Record<string, string>).filter((d) => !bundledNames.has(d));
  assert.ok(devOnly.includes('esbuild') && devOnly.includes('@yao-pkg/pkg'));
  for (const d of devOnly) assert.not.ok(names.has(d), `devDependency ${d} listed`);
  // npm sbom lists the whole node_modules tree: far more than the bundle.
  assert.ok(npmBom.components.length > have.size + 50, `${npmBom.components.length} in npm sbom, ${have.size} bundled`);
  const dropped = [...fromMetafiles((b) => b === 0)].filter((r) => !fromMetafiles((b) => b > 0).has(r));
  for (const r of dropped) assert.not.ok(have.has(r), `${r}: in the metafile inputs but no byte of it in the output`);
});

test('the embedded Node.js and the trimmed ICU data; the binary\'s own sha256 and build data', () => {
  const t = B.TARGETS[B.hostTargetName()]!;
  const node = doc.components.find((c: { type: string }) => c.type === 'platform');
  assert.is(node.name, 'node');
  assert.is(node.version, t.node);
  assert.is(node.purl, `pkg:npm/${t.npm}@${t.node}`);
  const icu = doc.components.find((c: { type: string }) => c.type === 'data');
  const embedded = S.embeddedIcu(binary)!;
  assert.is(icu.hashes[0].content, embedded.sha256);
  assert.ok(embedded.items < 1000, 'English-only ICU in the dev build');
  assert.ok(icu.properties.some((p: { name: string; value: string }) => p.name === 'vcerts:icu:trimmed' && p.value === 'true'));
  const app = doc.metadata.component;
  assert.is(app.name, 'kubectl-vcluster_certs');
  assert.is(app.version, VERSION);
  assert.is(app.hashes[0].content, createHash('sha256').update(binary).digest('hex'));
  assert.ok(app.properties.some((p: { name: string; value: string }) => p.name === 'vcerts:gitCommit' && p.value === 'b'.repeat(40)));
  assert.is(doc.metadata.timestamp, BUILD.buildDate);
  assert.equal(doc.dependencies[0].ref, app['bom-ref']);
  assert.ok(doc.dependencies[0].dependsOn.includes(node['bom-ref']));
});

test('deterministic: same inputs, same bytes; the serial number follows the content', () => {
  const again = S.releaseSbom({ npmBom: S.npmSbom(), bundled: S.bundledPackages(S.readMetafiles()), targetName: B.hostTargetName(), binary, build: BUILD });
  assert.is(JSON.stringify(again), JSON.stringify(doc));
  assert.match(doc.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const other = S.releaseSbom({ npmBom, bundled: S.bundledPackages(S.readMetafiles()), targetName: B.hostTargetName(), binary, build: { ...BUILD, buildDate: '2001-02-03T04:05:07Z' } });
  assert.is.not(other.serialNumber, doc.serialNumber);
});

test('packageDir: nested, scoped, plugin-namespaced and project paths', () => {
  assert.is(S.packageDir('node_modules/cliui/node_modules/string-width/index.js'), 'node_modules/cliui/node_modules/string-width');
  assert.is(S.packageDir('node_modules/@kubernetes/client-node/dist/api.js'), 'node_modules/@kubernetes/client-node');
  assert.is(S.packageDir(`lazy-string-width:${path.join(ROOT, 'node_modules/string-width/index.js')}`), 'node_modules/string-width');
  assert.is(S.packageDir('src/main.ts'), null);
  assert.is(S.packageDir('stub:bufferutil'), null);
});

test.run();
