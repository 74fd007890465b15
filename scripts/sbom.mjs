// CycloneDX 1.5 SBOM of one release binary: the npm packages esbuild put into it (with
// version, licence, purl and registry integrity, as `npm sbom` reports them), the embedded
// Node.js runtime and its ICU data (trimmed to English unless --full-icu).
//
// `npm sbom` (npm >= 10) describes node_modules; the bundle holds only part of it, so its
// components are filtered to the packages whose code is in esbuild's metafiles (main bundle
// and inspect worker). It runs without --omit dev: npm's omit also drops production packages
// that a devDependency uses too (b4a, debug, ws here); the metafile filter removes dev-only
// packages instead. Serial number and timestamp are derived from the content and the commit's
// date, so the file reproduces like the archives.
// Plain ESM JavaScript (Node 20 and 22).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as B from './build-lib.mjs';
import { findPackages, parsePackage } from './icu-trim.mjs';

/** "node_modules/a/node_modules/@s/b" for a metafile input path inside a package, else null. */
export function packageDir(input, root = B.ROOT) {
  // Plugin namespaces prefix the path ("lazy-string-width:/abs/..."); stubs have no package.
  const file = input.replace(/^[\w-]+:(?=\/|[A-Za-z]:)/, '');
  const rel = path.isAbsolute(file) ? path.relative(root, file) : file;
  const parts = rel.split(/[\\/]/);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0 || i + 1 >= parts.length) return null;
  return parts.slice(0, parts[i + 1].startsWith('@') ? i + 3 : i + 2).join('/');
}

/**
 * Packages whose code is in the output of the given esbuild metafiles (inputs that contribute
 * bytes; a package esbuild drops entirely is not embedded): [{ name, version, dir }], sorted,
 * one entry per name@version.
 */
export function bundledPackages(metafiles, root = B.ROOT) {
  const dirs = new Set();
  for (const meta of metafiles) {
    for (const out of Object.values(meta.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
        const dir = bytesInOutput > 0 ? packageDir(input, root) : null;
        if (dir) dirs.add(dir);
      }
    }
  }
  const byRef = new Map();
  for (const dir of [...dirs].sort()) {
    const pj = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const ref = `${pj.name}@${pj.version}`;
    if (!byRef.has(ref)) byRef.set(ref, { name: pj.name, version: pj.version, dir });
  }
  return [...byRef.values()].sort((a, b) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`));
}

/** `npm sbom --sbom-format cyclonedx` of the project's node_modules (parsed). */
export function npmSbom(root = B.ROOT) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`npm sbom failed (exit ${r.status}; npm >= 10 has it): ${(r.stderr || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout);
}

/** The ICU common data package inside `binary` (a Buffer): { prefix, items, bytes, sha256 }, or null. */
export function embeddedIcu(binary) {
  const at = findPackages(binary);
  if (at.length !== 1) return null;
  const p = parsePackage(binary, at[0]);
  return { prefix: p.prefix, items: p.items.length, bytes: p.length, sha256: createHash('sha256').update(binary.subarray(p.start, p.start + p.length)).digest('hex') };
}

const prop = (name, value) => ({ name, value: String(value) });

/** urn:uuid (RFC 4122 variant, version 5 style) from a digest of `text`. */
function uuidFrom(text) {
  const h = createHash('sha256').update(text).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * The SBOM (an object) of the binary of target `targetName`.
 * npmBom: npmSbom()'s output; bundled: bundledPackages(); binary: the binary's bytes;
 * build: { version, gitCommit, gitTreeState, buildDate } (build.mjs's build-info.json); icuSetting: 'en' | 'full'.
 */
export function releaseSbom({ npmBom, bundled, targetName, binary, build, icuSetting = 'en' }) {
  const t = B.TARGETS[targetName];
  const byRef = new Map(npmBom.components.map((c) => [c['bom-ref'], c]));
  const components = bundled.map((p) => {
    const ref = `${p.name}@${p.version}`;
    const c = byRef.get(ref);
    if (!c) throw new Error(`npm sbom does not list ${ref} (bundled from ${p.dir}); run npm ci`);
    return {
      'bom-ref': ref,
      type: 'library',
      name: c.name,
      version: c.version,
      ...(c.author ? { author: c.author } : {}),
      ...(c.description ? { description: c.description } : {}),
      ...(c.licenses?.length ? { licenses: c.licenses } : {}),
      purl: c.purl,
      ...(c.hashes?.length ? { hashes: c.hashes } : {}),
      ...(c.externalReferences?.length ? { externalReferences: c.externalReferences } : {}),
      properties: [prop('cdx:npm:package:path', p.dir)],
    };
  });

  const icu = embeddedIcu(binary);
  const nodeRef = `node@${t.node}`;
  components.push({
    'bom-ref': nodeRef,
    type: 'platform',
    name: 'node',
    version: t.node,
    description: `Node.js runtime the binary is built on: the official ${t.os}-${t.arch} build from the npm package ${t.npm}@${t.node}, with the application injected as a single-executable blob`,
    licenses: [{ license: { id: 'MIT' } }],
    purl: `pkg:npm/${t.npm}@${t.node}`,
    externalReferences: [{ type: 'website', url: 'https://nodejs.org/' }, { type: 'vcs', url: 'https://github.com/nodejs/node' }],
    properties: [prop('vcerts:target', targetName)],
  });
  if (icu) {
    const trimmed = icuSetting === 'en' && icu.items < 1000;
    components.push({
      'bom-ref': `icu-data@${icu.prefix}`,
      type: 'data',
      name: 'icu-data',
      version: icu.prefix.replace(/^icudt(\d+).*/, '$1'),
      description: `ICU common data package ${icu.prefix} inside the Node.js runtime (Unicode and locale data behind Intl)${trimmed ? ', trimmed at build time to English (scripts/icu-trim.mjs)' : ', every locale'}: ${icu.items} items, ${icu.bytes} bytes`,
      licenses: [{ license: { id: 'Unicode-3.0' } }],
      hashes: [{ alg: 'SHA-256', content: icu.sha256 }],
      externalReferences: [{ type: 'website', url: 'https://icu.unicode.org/' }],
      properties: [prop('vcerts:icu:trimmed', trimmed), prop('vcerts:icu:items', icu.items), prop('vcerts:icu:bytes', icu.bytes)],
    });
  }

  const rootRef = `${B.BIN_NAME}@${build.version}`;
  const bundledRefs = new Set(bundled.map((p) => `${p.name}@${p.version}`));
  const deps = (npmBom.dependencies ?? [])
    .filter((d) => bundledRefs.has(d.ref))
    .map((d) => ({ ref: d.ref, dependsOn: (d.dependsOn ?? []).filter((r) => bundledRefs.has(r)).sort() }))
    .sort((a, b) => a.ref.localeCompare(b.ref));
  const npmRoot = (npmBom.dependencies ?? []).find((d) => d.ref === npmBom.metadata?.component?.['bom-ref']);
  deps.unshift({ ref: rootRef, dependsOn: [...(npmRoot?.dependsOn ?? []).filter((r) => bundledRefs.has(r)), nodeRef].sort() });
  if (icu) deps.push({ ref: nodeRef, dependsOn: [`icu-data@${icu.prefix}`] });

  const doc = {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: '',
    version: 1,
    metadata: {
      timestamp: build.buildDate,
      lifecycles: [{ phase: 'build' }],
      tools: [...(npmBom.metadata?.tools ?? []), { vendor: B.BIN_NAME, name: 'scripts/sbom.mjs', version: build.version }],
      component: {
        'bom-ref': rootRef,
        type: 'application',
        name: B.BIN_NAME,
        version: build.version,
        description: B.pkgJson().description,
        licenses: [{ license: { id: B.pkgJson().license } }],
        purl: `pkg:generic/${B.BIN_NAME}@${build.version}`,
        hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(binary).digest('hex') }],
        properties: [
          prop('vcerts:target', targetName),
          prop('vcerts:gitCommit', build.gitCommit ?? 'unknown'),
          prop('vcerts:gitTreeState', build.gitTreeState ?? 'unknown'),
          prop('vcerts:buildDate', build.buildDate),
        ],
      },
    },
    components,
    dependencies: deps,
  };
  doc.serialNumber = uuidFrom(JSON.stringify(doc));
  return doc;
}

/** File name of the SBOM that goes with an archive: "<archive without extension>.cdx.json". */
export function sbomName(archiveFile) {
  return path.basename(archiveFile).replace(/\.(tar\.gz|zip)$/, '') + '.cdx.json';
}

/** Both metafiles build.mjs writes beside the bundle in `dist`. */
export function readMetafiles(dist = B.DIST) {
  const bundle = path.join(dist, 'bundle.cjs');
  return [B.metafilePath(bundle), B.workerMetafilePath(bundle)].map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
}
