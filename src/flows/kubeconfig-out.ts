// Writes a fresh admin kubeconfig for the vCluster after a CA change: the only place a
// private key is ever written locally, and only when the user asks with --kubeconfig-out.
import { closeSync, existsSync, linkSync, openSync, renameSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { UserError } from '../errors.js';
import type { PkiFiles } from '../pki/types.js';

export const LOCAL_SERVER = 'https://localhost:8443';

/** admin.conf with names of its own and a server reachable through a port-forward. */
export function adminKubeconfigFor(files: PkiFiles, vcName: string, namespace: string, server = LOCAL_SERVER): string {
  const admin = files.get('admin.conf');
  if (!admin) throw new UserError('the new PKI has no admin.conf to write a kubeconfig from');
  const doc = parseDocument(admin.toString('utf8'));
  const name = `vcluster_${vcName}_${namespace}`;
  doc.setIn(['clusters', 0, 'name'], name);
  doc.setIn(['clusters', 0, 'cluster', 'server'], server);
  doc.setIn(['users', 0, 'name'], name);
  doc.setIn(['contexts', 0, 'name'], name);
  doc.setIn(['contexts', 0, 'context', 'cluster'], name);
  doc.setIn(['contexts', 0, 'context', 'user'], name);
  doc.set('current-context', name);
  return doc.toString();
}

/**
 * Creates `path` with mode 0600 from the start (never world-readable, even briefly). An existing
 * file is replaced only with `overwrite`; otherwise the final step is a link, which fails rather
 * than replace a file that appeared meanwhile.
 */
export function writePrivateFile(path: string, content: string, overwrite = false): void {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (overwrite) renameSync(tmp, path);
    else {
      linkSync(tmp, path);
      rmSync(tmp, { force: true });
    }
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${path}: ${(err as Error).message.split('\n')[0]}`, 4, err);
  }
}

/** Proves `path` can be created before anything is changed; an existing file needs `overwrite`. */
export function assertWritable(path: string, overwrite = false): void {
  if (!overwrite && existsSync(path)) {
    throw new UserError(`${path} exists (--kubeconfig-out): pass --overwrite to replace it, or pick another path (nothing was changed)`, 3);
  }
  const probe = `${path}.probe-${process.pid}`;
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    rmSync(probe, { force: true });
  } catch (err) {
    throw new UserError(`cannot write ${path} (--kubeconfig-out): ${(err as Error).message.split('\n')[0].replace(/, open .*$/, '')}; pick a writable path (nothing was changed)`, 3, err);
  }
}
