// node_exporter's textfile collector reads every *.prom file of a directory at each scrape: a
// file must appear whole or not at all, so it is written beside its final name and renamed.
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';

/** Writes `text` to `path` atomically (temp file in the same directory, fsync, rename), mode 0644. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  // A leading dot and no .prom suffix: the collector skips the file while it is being written.
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let written = false;
  try {
    const fh = await open(temp, 'wx', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(temp, 0o644); // the umask may have taken bits away
    await rename(temp, path);
    written = true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot write ${path}${code ? ` (${code})` : ''}: the previous file, if any, is unchanged; check that the directory exists and is writable`, 3, err);
  } finally {
    if (!written) await rm(temp, { force: true }).catch(() => {});
  }
}
