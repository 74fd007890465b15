// Types for scripts/icu-trim.mjs (used by test/build/*.test.ts).
export interface DataHeader { headerSize: number; format: string; formatVersion: number[]; dataVersion: number[] }
export interface Item { name: string; data: Buffer }
export interface Package { start: number; length: number; header: Buffer; prefix: string; items: Item[] }
export interface TrimResult {
  trimmed: boolean; skipped?: string; before?: number; after?: number; itemsBefore?: number; itemsAfter?: number; indexes?: string[];
}
export type Keep = (name: string) => boolean;

export const TRIM_ID: string;
export const KEEP_LOCALES: string[];
export const DROP_TREES: string[];
export const KEEP_CONVERTERS: string[];

export function readDataHeader(buf: Buffer, at?: number): DataHeader | null;
export function resItemLength(data: Buffer): number | null;
export function rootTable(data: Buffer): Array<{ key: string; keyRaw: number; value: number }>;
export function tableKeys(data: Buffer, name: string): string[];
export function filterLocaleIndex(data: Buffer, keep: (locale: string) => boolean): Buffer;
export function parsePackage(buf: Buffer, start?: number): Package;
export function writePackage(header: Buffer, items: Item[]): Buffer;
export function findPackages(buf: Buffer): number[];
export function keepEnglish(name: string): boolean;
export function trimPackage(pkg: Package, keep?: Keep): { items: Item[]; dropped: number; indexes: string[] };
export function trimIcuInBinary(buf: Buffer, keep?: Keep): TrimResult;
export function trimIcuFile(src: string, dest: string, opts?: { keep?: Keep; warn?: (s: string) => void }): TrimResult;
