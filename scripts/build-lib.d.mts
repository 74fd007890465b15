// Types for scripts/build-lib.mjs (used by test/build/*.test.ts).
export interface Target {
  os: 'linux' | 'darwin' | 'win';
  arch: 'x64' | 'arm64';
  pkgPlatform: 'linux' | 'macos' | 'win';
  npm: string;
  bin: string;
  exe: string;
  node: string;
  archive: 'tar.gz' | 'zip';
}
export interface Metafile {
  inputs: Record<string, { bytes: number; imports: { path: string; kind: string; external?: boolean }[] }>;
  outputs: Record<string, { entryPoint?: string; bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}
export interface LazyRule { args: string[]; forbid: string[] }
export interface ProbeResult { args: string[]; loaded: string[] | null; forbidden: string[]; status: number | null; stderr: string }

export const ROOT: string;
export const DIST: string;
export const CACHE: string;
export const BIN_NAME: string;
export const LOCAL_NODE: string;
export const TARGETS: Record<string, Target>;
export const HEAVY: string[];
export const LAZY_RULES: LazyRule[];

export function pkgJson(): { version: string; [k: string]: unknown };
export function hostTargetName(): string;
export function isHostTarget(t: Target): boolean;
export function pkgTargetString(t: Target): string;
export function node22(): string;
export function packageOf(file: string): string | null;
export function bundleInspectWorker(opts?: { minify?: boolean; metafileOut?: string | null }): Promise<string>;
export const metafilePath: (outfile: string) => string;
export const workerMetafilePath: (outfile: string) => string;
export const BUILD_INFO_FILE: string;
export interface ReleaseBuildInfo { gitCommit: string | null; gitTreeState: 'clean' | 'dirty' | null; buildDate: string }
export function sourceDateEpoch(env?: Record<string, string | undefined>, cwd?: string): number;
export function releaseBuildInfo(env?: Record<string, string | undefined>, cwd?: string): ReleaseBuildInfo;
export function bundle(opts?: {
  entry?: string; outfile?: string; probe?: boolean; minify?: boolean; lazyStringWidth?: boolean; version?: string; buildInfo?: ReleaseBuildInfo | null;
  topHelp?: string | null; inspectWorker?: boolean;
}): Promise<{ outfile: string; bytes: number; metafile: Metafile; warnings: { text: string }[] }>;
export function staticallyReached(metafile: Metafile, pkgs?: string[]): string[];
export function sizeByPackage(metafile: Metafile): [string, number][];
export function probeLazy(opts?: { entry?: string; rules?: LazyRule[] }): Promise<ProbeResult[]>;
export function baseNodeBinary(t: Target, opts?: { log?: (s: string) => void }): string;
export type IcuSetting = 'en' | 'full';
export interface IcuTrimResult {
  trimmed: boolean; skipped?: string; before?: number; after?: number; itemsBefore?: number; itemsAfter?: number; indexes?: string[];
}
export function seedPkgCache(t: Target, base: string, opts?: { home?: string; strip?: boolean; icu?: IcuSetting; log?: (s: string) => void; warn?: (s: string) => void }): string;
export function icuTrimResult(bin: string): IcuTrimResult | null;
export function preparePkgCache(t: Target, opts?: { home?: string; strip?: boolean; icu?: IcuSetting; log?: (s: string) => void; warn?: (s: string) => void }): { base: string; seeded: string; icu: IcuTrimResult | null };
export const CODE_CACHE_SEED: number;
export const CODE_CACHE_REJECTED: RegExp;
export function runPkg(opts: {
  input: string; output: string; target: Target; codeCache?: boolean; home?: string; log?: (s: string) => void;
}): { codeCache: boolean; via: string; log: string };
export function runWithoutNode(binary: string, args?: string[]): { status: number | null; stdout: string; stderr: string; isolated: boolean };
export function fileSizes(file: string): { bytes: number; gzip: number };
export function sha256(file: string): string;
export function mb(n: number): string;
