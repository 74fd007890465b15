// Types for scripts/krew.mjs (used by test/release/*.test.ts).
import type { Target } from './build-lib.mjs';
export interface Selector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> | null;
}
export interface Platform {
  selector?: Selector | null;
  uri?: string;
  sha256?: string;
  bin?: string;
  files?: Array<{ from: string; to: string }> | null;
  os?: string;
  arch?: string;
}
export const API_VERSION: string;
export const PLUGIN_NAME: string;
export const BIN: string;
export const SHIM: string;
export const SUPPORTED: Array<[string, string]>;
export const SHORT_DESCRIPTION: string;
export const DESCRIPTION: string;
export const LICENSE_NAMES: string[];
export function krewLabels(t: Target): { os: string; arch: string };
export function archiveName(version: string, t: Target): string;
export function caveats(version: string): string;
export function releaseUri(o: { owner: string; repo?: string; version: string; file: string; template?: string }): string;
export function manifestYaml(o: {
  version: string; homepage: string; platforms: Array<{ os: string; arch: string; uri: string; sha256: string; bin: string }>;
  shortDescription?: string; description?: string; caveatsText?: string;
}): string;
export function isKrewSemver(v: unknown): boolean;
export function selectorMatches(sel: Selector | null | undefined, labels: Record<string, string>): boolean;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed YAML document
export function validateManifest(m: any, opts?: { fileName?: string }): { errors: string[]; warnings: string[] };
export function installPlatform(platform: Platform, archive: Buffer, dir: string): Promise<{ binPath: string; files: string[] }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed YAML document
export function platformsOf(m: any): Platform[];
