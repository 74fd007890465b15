// A PKI's files packed into one buffer, to hand them to a worker thread with a single transfer.
// Pure, no I/O.

import type { PkiFiles } from './types.js';

export interface PackedFiles {
  names: string[];
  /** end offset of each file in `bytes` */
  ends: number[];
  bytes: Uint8Array;
}

/** A fresh buffer (never Buffer's shared pool, which a transfer would detach). */
export function packFiles(files: PkiFiles): PackedFiles {
  const names = [...files.keys()];
  const bytes = new Uint8Array(names.reduce((n, k) => n + files.get(k)!.length, 0));
  const ends: number[] = [];
  let at = 0;
  for (const k of names) {
    bytes.set(files.get(k)!, at);
    at += files.get(k)!.length;
    ends.push(at);
  }
  return { names, ends, bytes };
}

export function unpackFiles(p: PackedFiles): PkiFiles {
  const files: PkiFiles = new Map();
  let start = 0;
  p.names.forEach((name, i) => {
    const end = p.ends[i]!;
    files.set(name, Buffer.from(p.bytes.buffer, p.bytes.byteOffset + start, end - start));
    start = end;
  });
  return files;
}
