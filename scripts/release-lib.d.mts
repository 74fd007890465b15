// Types for scripts/release-lib.mjs (used by test/release/*.test.ts).
import type { Entry } from './archive.mjs';
export const RELEASE_DIR: string;
export const RELEASE_BUILD_DIR: string;
export const MANIFEST: string;
export const COMPLETION_DIR: string;
export const PLUGIN_NAME: string;
export function builtBinaryPath(name: string, dist?: string): string;
export function archiveEntries(name: string, binaryPath: string, opts?: { root?: string; binaryData?: Buffer }): Entry[];
export function writeArchive(name: string, entries: Entry[], opts: { outdir: string; version: string; mtime?: number; level?: number }): Promise<{ file: string; bytes: number; sha256: string }>;
export function checksumsText(archives: Array<{ file: string; sha256: string }>): string;
export function defaultOwner(env?: Record<string, string | undefined>): string;
export function manifestFor(archives: Array<{ target: string; file: string; sha256: string }>, o: { version: string; owner: string; repo?: string; uriTemplate?: string }): string;
export const sourceDateEpoch: (env?: Record<string, string | undefined>, cwd?: string) => number;
export function releaseFiles(dir: string): string[];
export function compareReleases(a: string, b: string): { same: string[]; differ: Array<{ file: string; reason: string }> };
export const SHA256_PLACEHOLDER: string;
export function manifestTemplate(o: { version: string; owner: string; repo?: string; uriTemplate?: string }): string;
export function machoSignature(buf: Buffer): 'none' | 'present' | 'not-macho';
