// Types for scripts/archive.mjs (used by test/release/*.test.ts).
export interface Entry { name: string; data: Buffer; mode: number }
export interface ReadEntry { name: string; type: string; mode: number; size: number; mtime?: number; data: Buffer }
export function tarBytes(entries: Entry[], opts?: { mtime?: number }): Promise<Buffer>;
export function tarGz(entries: Entry[], opts?: { mtime?: number; level?: number }): Promise<Buffer>;
export function readTar(buf: Buffer): Promise<ReadEntry[]>;
export function crc32(buf: Buffer): number;
export function zip(entries: Entry[], opts?: { mtime?: number; level?: number }): Promise<Buffer>;
export function readZip(buf: Buffer): Promise<ReadEntry[]>;
export function archiveType(buf: Buffer): 'tar.gz' | 'zip' | null;
export function readArchive(buf: Buffer): Promise<ReadEntry[]>;
export function extractArchive(buf: Buffer, dir: string): Promise<string[]>;
export function sha256Hex(buf: Buffer): string;
