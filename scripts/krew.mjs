// krew plugin manifest: generation from release archives, and a validator applying the
// rules of krew's `validate-krew-manifest` (run by krew-index CI on every plugin PR):
// structural checks (internal/index/validation), supported <os,arch> pairs, no overlap
// between platform selectors, and an install of every platform (extract, `bin` present and
// executable, a LICENSE file). See ../shared/reference/peers-and-conventions.md §3.
// Plain ESM JavaScript (runs on Node 20 and 22).
import fs from 'node:fs';
import path from 'node:path';
import { extractArchive, sha256Hex } from './archive.mjs';

export const API_VERSION = 'krew.googlecontainertools.github.com/v1alpha2';
export const PLUGIN_NAME = 'vcluster-certs';
export const BIN = 'kubectl-vcluster_certs';
export const SHIM = 'kubectl_complete-vcluster_certs';

/** <os,arch> pairs krew supports (validate-krew-manifest's allPlatforms). */
export const SUPPORTED = [
  ['windows', '386'], ['windows', 'amd64'], ['windows', 'arm64'],
  ['linux', '386'], ['linux', 'amd64'], ['linux', 'arm'], ['linux', 'arm64'], ['linux', 'ppc64le'],
  ['darwin', '386'], ['darwin', 'amd64'], ['darwin', 'arm64'],
];

/** build target (scripts/build-lib.mjs TARGETS) -> krew/Go labels. */
export function krewLabels(t) {
  const os = { linux: 'linux', darwin: 'darwin', win: 'windows' }[t.os];
  const arch = { x64: 'amd64', arm64: 'arm64' }[t.arch];
  if (!os || !arch) throw new Error(`no krew labels for ${t.os}/${t.arch}`);
  return { os, arch };
}

export function archiveName(version, t) {
  const { os, arch } = krewLabels(t);
  return `${BIN}_${version}_${os}_${arch}.${t.archive}`;
}

export const SHORT_DESCRIPTION = 'Check, rotate and restore the certificates of vClusters';

export const DESCRIPTION = `Checks the certificates of vCluster virtual clusters (k8s distro) from
outside: every certificate in the <name>-certs Secret and in /data/pki, with
expiry, residual time and status, for one vCluster or the whole fleet (-A),
as a table, JSON or YAML, with exit codes for scripts and cron jobs.
Rotates leaf certificates and CAs with a backup first, a dry run, a guarded
commit, restart and verification, and rolls back on failure.
Needs only the host cluster's kubeconfig; works on air-gapped hosts.
`;

export function caveats(version) {
  return `Shell completion for "kubectl vcluster-certs <TAB>" (kubectl 1.26 or newer)
needs a helper on PATH; krew installs only the plugin binary, so add it once:

  SHIM="\${KREW_ROOT:-$HOME/.krew}/bin/${SHIM}"
  kubectl vcluster-certs completion kubectl > "$SHIM" && chmod +x "$SHIM"

Completion for the standalone command: kubectl vcluster-certs completion -h

macOS: the binaries are built on Linux and are not code-signed. Apple Silicon
refuses to start unsigned binaries; sign the installed one once (ad hoc):

  cd "\${KREW_ROOT:-$HOME/.krew}/store/${PLUGIN_NAME}/v${version}"
  codesign --sign - ${BIN}
`;
}

/** Release download URL of one archive. Owner/repo are configurable (flag, env). */
export function releaseUri({ owner, repo = BIN, version, file, template }) {
  const t = template ?? 'https://github.com/{owner}/{repo}/releases/download/v{version}/{file}';
  return t.replaceAll('{owner}', owner).replaceAll('{repo}', repo).replaceAll('{version}', version).replaceAll('{file}', file);
}

function block(text, indent) {
  return text.trimEnd().split('\n').map((l) => (l ? indent + l : '')).join('\n');
}

/**
 * The manifest as YAML text. platforms: [{ os, arch, uri, sha256, bin }] in the order given.
 * Hand-written YAML (fixed key order, literal blocks) so the file diffs well release to release.
 */
export function manifestYaml({ version, homepage, platforms, shortDescription = SHORT_DESCRIPTION, description = DESCRIPTION, caveatsText = caveats(version) }) {
  const lines = [
    `apiVersion: ${API_VERSION}`,
    'kind: Plugin',
    'metadata:',
    `  name: ${PLUGIN_NAME}`,
    'spec:',
    `  version: v${version}`,
    `  homepage: ${homepage}`,
    `  shortDescription: ${shortDescription}`,
    '  description: |',
    block(description, '    '),
    '  caveats: |',
    block(caveatsText, '    '),
    '  platforms:',
  ];
  for (const p of platforms) {
    lines.push(
      '  - selector:',
      '      matchLabels:',
      `        os: ${p.os}`,
      `        arch: ${p.arch}`,
      `    uri: ${p.uri}`,
      `    sha256: ${p.sha256}`,
      `    bin: ${p.bin}`,
    );
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------
const WINDOWS_RESERVED = ['CON', 'PRN', 'AUX', 'NUL', ...Array.from({ length: 9 }, (_, i) => `COM${i + 1}`), ...Array.from({ length: 9 }, (_, i) => `LPT${i + 1}`)];

/** krew: "v" prefix, then k8s.io/apimachinery ParseSemantic (exactly 3 numeric parts, no leading zeros). */
export function isKrewSemver(v) {
  if (typeof v !== 'string' || !v.startsWith('v')) return false;
  const m = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/.exec(v);
  return !!m;
}

/** metav1.LabelSelector semantics on the labels {os, arch}. */
export function selectorMatches(sel, labels) {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== String(v)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = (e.values ?? []).map(String);
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[e.key])) return false; break;
      case 'NotIn': if (has && values.includes(labels[e.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false; // invalid operator: LabelSelectorAsSelector fails, nothing matches
    }
  }
  return true;
}

function selectorError(sel) {
  if (sel === undefined || sel === null) return 'nil selector is not supported';
  const ml = sel.matchLabels;
  const me = sel.matchExpressions;
  if ((ml === undefined || ml === null) && (!Array.isArray(me) || me.length === 0)) return 'empty selector is not supported';
  const keys = [...Object.keys(ml ?? {}), ...(me ?? []).map((e) => e?.key)];
  for (const k of keys) if (k !== 'os' && k !== 'arch') return `key "${k}" not supported`;
  if (ml !== undefined && ml !== null && Object.keys(ml).length === 0) return '`matchLabels` specified but empty';
  if (me !== undefined && me !== null && me.length === 0) return '`matchExpressions` specified but empty';
  return null;
}

function lineLengthOk(s, max) {
  return String(s ?? '').split('\n').every((l) => l.length <= max || !l.trim().includes(' '));
}

/**
 * Structural validation of a parsed manifest, as validate-krew-manifest does before the
 * install step. `fileName`: the manifest's file name (plugins/<name>.yaml) when known.
 * Returns { errors: string[], warnings: string[] }; errors empty = valid.
 */
export function validateManifest(m, { fileName } = {}) {
  const errors = [];
  const warnings = [];
  const err = (s) => errors.push(s);
  if (!m || typeof m !== 'object') return { errors: ['manifest is not a YAML mapping'], warnings };
  if (m.apiVersion !== API_VERSION) err(`apiVersion is "${m.apiVersion}", must be "${API_VERSION}"`);
  if (m.kind !== 'Plugin') err(`kind is "${m.kind}", must be "Plugin"`);
  const name = m.metadata?.name;
  if (typeof name !== 'string' || !/^[\w-]+$/.test(name) || WINDOWS_RESERVED.some((r) => r.toLowerCase() === name.toLowerCase())) err(`plugin name "${name}" is not allowed, must match ^[\\w-]+$ and not be a Windows reserved name`);
  if (fileName !== undefined) {
    if (path.extname(fileName) !== '.yaml') err(`manifest file extension must be ".yaml", not "${path.extname(fileName)}"`);
    const stem = path.basename(fileName, '.yaml');
    if (stem !== name) err(`plugin should be named "${stem}" (the file name), not "${name}"`);
  }
  const spec = m.spec ?? {};
  const sd = spec.shortDescription;
  if (typeof sd !== 'string' || sd === '') err('should have a short description');
  else if (/[\r\n]/.test(sd)) err('should not have line breaks in short description');
  const platforms = Array.isArray(spec.platforms) ? spec.platforms : [];
  if (platforms.length === 0) err('should have a platform specified');
  if (!spec.version) err('should have a version specified');
  else if (!isKrewSemver(spec.version)) err(`failed to parse plugin version "${spec.version}" (semver with a "v" prefix)`);
  platforms.forEach((p, i) => {
    const at = `spec.platforms[${i}]`;
    if (!p?.uri) err(`${at}: \`uri\` has to be set`);
    else if (!/\.(tar\.gz|tgz|zip)$/.test(String(p.uri).split('?')[0])) warnings.push(`${at}: uri does not end in .tar.gz or .zip`);
    if (!p?.sha256) err(`${at}: \`sha256\` sum has to be set`);
    else if (!/^[a-f0-9]{64}$/.test(String(p.sha256))) err(`${at}: \`sha256\` value ${p.sha256} is not valid, must match pattern ^[a-f0-9]{64}$`);
    if (!p?.bin) err(`${at}: \`bin\` has to be set`);
    if (p?.files !== undefined && p?.files !== null) {
      if (!Array.isArray(p.files) || p.files.length === 0) err(`${at}: \`files\` has to be unspecified or non-empty`);
      else for (const f of p.files) if (!f?.from || !f?.to) err(`${at}: \`files\` entries need \`from\` and \`to\``);
    }
    const se = selectorError(p?.selector);
    if (se) err(`${at}: invalid platform selector: ${se}`);
    else if (!SUPPORTED.some(([os, arch]) => selectorMatches(p.selector, { os, arch }))) err(`${at}: selector doesn't match any supported platform`);
    else {
      const os = SUPPORTED.find(([o, a]) => selectorMatches(p.selector, { os: o, arch: a }))[0];
      if (os === 'windows' && p?.bin && !String(p.bin).toLowerCase().endsWith('.exe')) err(`${at}: windows entrypoint "${p.bin}" must be an .exe`);
    }
  });
  for (const [os, arch] of SUPPORTED) {
    const hits = platforms.map((p, i) => (selectorError(p?.selector) === null && selectorMatches(p.selector, { os, arch }) ? i : -1)).filter((i) => i >= 0);
    if (hits.length > 1) err(`multiple spec.platforms (at indexes ${hits.join(', ')}) have overlapping selectors that select os=${os}/arch=${arch}`);
  }
  if (!lineLengthOk(spec.description, 80)) warnings.push('line length in `description` exceeds 80 characters');
  if (!lineLengthOk(sd, 70)) warnings.push('line length in `shortDescription` exceeds 70 characters');
  if (!lineLengthOk(spec.caveats, 80)) warnings.push('line length in `caveats` exceeds 80 characters');
  return { errors, warnings };
}

export const LICENSE_NAMES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'COPYING'];

/**
 * Installs one platform the way krew does, into `dir`: verifies the archive's sha256
 * against the manifest, extracts it (applying `files` moves when given), then checks that
 * `bin` exists (an .exe on Windows, executable elsewhere) and that a license file was
 * extracted (validate-krew-manifest's extra rule). Throws with the reason; returns
 * { binPath, files }.
 */
export async function installPlatform(platform, archiveBuf, dir) {
  const sum = sha256Hex(archiveBuf);
  if (sum !== platform.sha256) throw new Error(`sha256 mismatch: manifest says ${platform.sha256}, archive is ${sum}`);
  const staging = path.join(dir, '.extract');
  fs.mkdirSync(staging, { recursive: true });
  let files = await extractArchive(archiveBuf, staging);
  const install = path.join(dir, 'install');
  fs.mkdirSync(install, { recursive: true });
  // No `files`: krew moves everything extracted. With `files`: each `from` glob (matched
  // against the extracted paths) is moved into the directory `to`.
  const ops = platform.files ?? [{ from: '*', to: '.' }];
  const moved = [];
  for (const op of ops) {
    const re = new RegExp('^' + String(op.from).split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');
    for (const f of files.filter((x) => re.test(x))) {
      const dest = path.join(install, op.to, op.from.includes('/') ? path.posix.basename(f) : f);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(path.join(staging, f), dest);
      moved.push(path.relative(install, dest).split(path.sep).join('/'));
    }
    files = files.filter((x) => !re.test(x));
  }
  fs.rmSync(staging, { recursive: true, force: true });
  const binPath = path.join(install, ...String(platform.bin).split('/'));
  if (!fs.existsSync(binPath)) throw new Error(`bin "${platform.bin}" does not exist in the extracted archive (has: ${moved.join(', ')})`);
  const isWindows = platform.os === 'windows';
  if (isWindows) {
    if (!binPath.toLowerCase().endsWith('.exe')) throw new Error(`windows bin "${platform.bin}" is not an .exe`);
  } else if ((fs.statSync(binPath).mode & 0o111) === 0) {
    throw new Error(`bin "${platform.bin}" is not executable (mode ${(fs.statSync(binPath).mode & 0o777).toString(8)})`);
  }
  if (!LICENSE_NAMES.some((n) => moved.includes(n))) throw new Error(`no license file (${LICENSE_NAMES.join(', ')}) in the archive`);
  return { binPath, files: moved };
}

/** Platform entries of a parsed manifest with os/arch resolved from the selector. */
export function platformsOf(m) {
  return (m?.spec?.platforms ?? []).map((p) => {
    const hit = SUPPORTED.find(([os, arch]) => selectorMatches(p.selector, { os, arch }));
    return { ...p, os: hit?.[0], arch: hit?.[1] };
  });
}
