// Types for scripts/sbom.mjs (used by test/release/*.test.ts).
import type { Metafile } from './build-lib.mjs';
export interface BundledPackage { name: string; version: string; dir: string }
export interface BuildData { version: string; gitCommit: string | null; gitTreeState: 'clean' | 'dirty' | null; buildDate: string }
export function packageDir(input: string, root?: string): string | null;
export function bundledPackages(metafiles: Metafile[], root?: string): BundledPackage[];
export function npmSbom(root?: string): any; // eslint-disable-line @typescript-eslint/no-explicit-any
export function embeddedIcu(binary: Buffer): { prefix: string; items: number; bytes: number; sha256: string } | null;
export function releaseSbom(o: { npmBom: any; bundled: BundledPackage[]; targetName: string; binary: Buffer; build: BuildData; icuSetting?: 'en' | 'full' }): any; // eslint-disable-line @typescript-eslint/no-explicit-any
export function sbomName(archiveFile: string): string;
export function readMetafiles(dist?: string): Metafile[];
