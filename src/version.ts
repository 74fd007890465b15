// Version and build data, replaced at bundle time by build.mjs (define: __VERSION__,
// __BUILD_COMMIT__, __BUILD_TREE__, __BUILD_DATE__). A release build (build.mjs --release) records the git commit and the
// commit's date, never the wall clock, so two builds of one commit stay byte-identical; any
// other build says "dev build". Keep this module free of imports: --version reads it before
// anything else loads.
declare const __VERSION__: string | undefined;
declare const __BUILD_COMMIT__: string | null | undefined;
declare const __BUILD_TREE__: 'clean' | 'dirty' | null | undefined;
declare const __BUILD_DATE__: string | null | undefined;

export const VERSION: string = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export interface BuildInfo {
  version: string;
  /** "release": built by `npm run release` from a git checkout; "dev": any other build. */
  build: 'release' | 'dev';
  gitCommit: string | null;
  /** "dirty": the checkout had changes that are not in gitCommit. */
  gitTreeState: 'clean' | 'dirty' | null;
  /** The commit's date (SOURCE_DATE_EPOCH), RFC 3339 UTC. */
  buildDate: string | null;
  nodeVersion: string;
  platform: string;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386' };

export function buildInfo(): BuildInfo {
  // A release build always has a date; tsx runs and dev builds have none.
  const date = typeof __BUILD_DATE__ === 'string' ? __BUILD_DATE__ : null;
  return {
    version: VERSION,
    build: date ? 'release' : 'dev',
    gitCommit: date && typeof __BUILD_COMMIT__ === 'string' ? __BUILD_COMMIT__ : null,
    gitTreeState: date && typeof __BUILD_TREE__ === 'string' ? __BUILD_TREE__ : null,
    buildDate: date,
    nodeVersion: process.versions.node,
    // kubectl's spelling (linux/amd64), as in the krew manifest and the archive names.
    platform: `${process.platform === 'win32' ? 'windows' : process.platform}/${GO_ARCH[process.arch] ?? process.arch}`,
  };
}

/** The one line `--version` prints. */
export function versionLine(info: BuildInfo = buildInfo()): string {
  if (info.build === 'dev') return `kubectl-vcluster_certs ${info.version} (dev build)`;
  const commit = info.gitCommit ? `commit ${info.gitCommit}${info.gitTreeState === 'dirty' ? ' with uncommitted changes' : ''}` : 'commit unknown';
  return `kubectl-vcluster_certs ${info.version} (${commit}, built ${info.buildDate})`;
}
