// Release helpers for scripts/release.mjs and test/release/: what goes into each
// platform's archive, archive/checksum/manifest writers, and a Mach-O signature probe.
// Plain ESM JavaScript (Node 20 and 22).
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex, tarGz, zip } from './archive.mjs';
import * as B from './build-lib.mjs';
import { archiveName, krewLabels, manifestYaml, releaseUri, BIN, SHIM, PLUGIN_NAME } from './krew.mjs';

export const RELEASE_DIR = path.join(B.DIST, 'release');
/** Release binaries are built apart from dist/'s dev build: they report their commit. */
export const RELEASE_BUILD_DIR = path.join(B.DIST, 'release-build');
export const MANIFEST = path.join(B.ROOT, 'krew-manifest.yaml');
export const COMPLETION_DIR = path.join(B.ROOT, 'completion');

/** Where build.mjs writes the binary of target `name`. */
export function builtBinaryPath(name, dist = B.DIST) {
  const t = B.TARGETS[name];
  const host = B.isHostTarget(t) && name === B.hostTargetName();
  return path.join(dist, host ? B.BIN_NAME : `${B.BIN_NAME}-${name}${t.exe}`);
}

/**
 * Files of one platform's archive, flat (krew's `bin` is the file name): the binary
 * (0755), LICENSE, README.md, and the kubectl completion helper (a sh script, or a .cmd
 * on Windows).
 */
export function archiveEntries(name, binaryPath, { root = B.ROOT, binaryData } = {}) {
  const t = B.TARGETS[name];
  const read = (f) => fs.readFileSync(path.join(root, f));
  const entries = [
    { name: `${BIN}${t.exe}`, data: binaryData ?? fs.readFileSync(binaryPath), mode: 0o755 },
    { name: 'LICENSE', data: read('LICENSE'), mode: 0o644 },
    { name: 'README.md', data: read('README.md'), mode: 0o644 },
  ];
  if (t.os === 'win') entries.push({ name: `${SHIM}.cmd`, data: read(`completion/${SHIM}.cmd`), mode: 0o644 });
  else entries.push({ name: SHIM, data: read(`completion/${SHIM}`), mode: 0o755 });
  return entries;
}

/** Writes the archive of target `name` into `outdir`; returns { file, bytes, sha256 }. */
export async function writeArchive(name, entries, { outdir, version, mtime = 0, level = 9 }) {
  const t = B.TARGETS[name];
  const file = path.join(outdir, archiveName(version, t));
  const buf = t.archive === 'zip' ? await zip(entries, { mtime, level }) : await tarGz(entries, { mtime, level });
  fs.mkdirSync(outdir, { recursive: true });
  fs.writeFileSync(file, buf);
  return { file, bytes: buf.length, sha256: sha256Hex(buf) };
}

/** `sha256sum -c` format: "<hex>  <file name>", sorted by name. Files: [{ file, sha256 }] (archives and SBOMs). */
export function checksumsText(archives) {
  return archives.map((a) => `${a.sha256}  ${path.basename(a.file)}`).sort((x, y) => x.slice(66).localeCompare(y.slice(66))).join('\n') + '\n';
}

/** Release owner: --owner, $VCERTS_RELEASE_OWNER, $GITHUB_REPOSITORY_OWNER, package.json repository, else OWNER. */
export function defaultOwner(env = process.env) {
  if (env.VCERTS_RELEASE_OWNER) return env.VCERTS_RELEASE_OWNER;
  if (env.GITHUB_REPOSITORY_OWNER) return env.GITHUB_REPOSITORY_OWNER;
  const repo = B.pkgJson().repository;
  const url = typeof repo === 'string' ? repo : repo?.url;
  const m = /github\.com[/:]([^/]+)\//.exec(url ?? '');
  return m ? m[1] : 'OWNER';
}

/** The krew manifest (YAML text) for archives [{ target, file, sha256 }]. */
export function manifestFor(archives, { version, owner, repo = BIN, uriTemplate }) {
  return manifestYaml({
    version,
    homepage: `https://github.com/${owner}/${repo}`,
    platforms: archives.map((a) => {
      const t = B.TARGETS[a.target];
      return {
        ...krewLabels(t),
        uri: releaseUri({ owner, repo, version, file: path.basename(a.file), template: uriTemplate }),
        sha256: a.sha256,
        bin: `${BIN}${t.exe}`,
      };
    }),
  });
}

/** Files of a release directory that must reproduce: all but release.json (it holds timings). */
export function releaseFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f !== 'release.json' && fs.statSync(path.join(dir, f)).isFile()).sort();
}

/**
 * Compares two release directories byte for byte: { same: [names], differ: [{ file, reason }] }.
 * A file present in one only differs too.
 */
export function compareReleases(a, b) {
  const fa = releaseFiles(a);
  const fb = releaseFiles(b);
  const same = [];
  const differ = [];
  for (const f of [...new Set([...fa, ...fb])].sort()) {
    if (!fa.includes(f) || !fb.includes(f)) { differ.push({ file: f, reason: `only in ${fa.includes(f) ? a : b}` }); continue; }
    const x = fs.readFileSync(path.join(a, f));
    const y = fs.readFileSync(path.join(b, f));
    if (x.equals(y)) { same.push(f); continue; }
    let i = 0;
    while (i < x.length && i < y.length && x[i] === y[i]) i++;
    differ.push({ file: f, reason: `${x.length} vs ${y.length} bytes, first difference at byte ${i}` });
  }
  return { same, differ };
}

/** What the committed krew-manifest.yaml carries instead of sha256 values. */
export const SHA256_PLACEHOLDER = '"<sha256 of the archive: written by npm run release to dist/release/vcluster-certs.yaml>"';

/**
 * The committed krew-manifest.yaml: the manifest of this version with every sha256 left as a
 * placeholder. The archives embed the commit they are built from, so no commit can carry the
 * sha256 of its own archives; the filled manifest is a release artefact (dist/release/).
 */
export function manifestTemplate({ version, owner, repo = BIN, uriTemplate }) {
  const header = [
    '# Template, not an installable manifest: every sha256 is a placeholder.',
    '# `npm run release` regenerates this file for the current version and writes the filled',
    '# manifest (real sha256 of the archives it built) to dist/release/vcluster-certs.yaml,',
    '# which is the file to submit to krew-index or to use with `kubectl krew install --manifest`.',
  ].join('\n');
  const archives = Object.keys(B.TARGETS).map((target) => ({ target, file: archiveName(version, B.TARGETS[target]), sha256: SHA256_PLACEHOLDER }));
  return `${header}\n${manifestFor(archives, { version, owner, repo, uriTemplate })}`;
}

/**
 * Mach-O code signature state of a 64-bit thin binary: 'none' (no LC_CODE_SIGNATURE load
 * command: postject drops Node's signature when it injects the blob, and pkg cannot re-sign
 * on Linux: no codesign/ldid), 'present', or 'not-macho'.
 */
export function machoSignature(buf) {
  if (buf.length < 32 || buf.readUInt32LE(0) !== 0xfeedfacf) return 'not-macho';
  const ncmds = buf.readUInt32LE(16);
  let off = 32;
  for (let i = 0; i < ncmds && off + 8 <= buf.length; i++) {
    const cmd = buf.readUInt32LE(off);
    if (cmd === 0x1d) return 'present'; // LC_CODE_SIGNATURE
    off += buf.readUInt32LE(off + 4);
  }
  return 'none';
}

export { PLUGIN_NAME };
/** Archive timestamps and the build date: same commit -> same archives. */
export const sourceDateEpoch = B.sourceDateEpoch;
