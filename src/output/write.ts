// Writes output a piece at a time, waiting for the reader when the pipe is full, so a fleet's
// report never sits in memory twice (as a string and again as the bytes queued for the pipe).
import type { Writable } from 'node:stream';

export async function writeChunks(out: Writable, chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) {
    if (out.write(chunk)) continue;
    // A reader that went away (EPIPE, closed) ends the wait as well: what follows is dropped.
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      out.on('drain', done).on('error', done).on('close', done);
    });
    if (out.destroyed || out.writableEnded) return;
  }
}
