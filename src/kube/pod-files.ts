// File operations inside a syncer container. Every command is a fixed script with
// data passed as positional arguments or as a tar stream on stdin, never spliced into sh.
import tar from 'tar-stream';
import { UserError } from '../errors.js';
import type { PkiFiles } from '../pki/types.js';
import type { Kube } from './client.js';
import { execInPod, type ExecResult } from './exec.js';
import { PKI_DIR, SYNCER, untarFiles } from './pki-source.js';

export const BACKUP_ROOT = '/data/pki.bak';
export const STAGING_DIR = '/data/pki.new';
export const OLD_DIR = '/data/pki.old';

/** Copies $1 to $2 through a temporary name, so a backup dir is complete or absent. */
const BACKUP_SCRIPT = 'set -e; if [ -e "$2" ]; then echo "$2 already exists" >&2; exit 1; fi; mkdir -p "$(dirname "$2")"; rm -rf "$2.partial"; cp -a "$1" "$2.partial"; mv "$2.partial" "$2"';
/** Replaces $1 with the tar on stdin, extracted into $1 (which must not be the live dir). */
const STAGE_SCRIPT = 'set -e; rm -rf "$1"; mkdir -p "$1"; tar -C "$1" -xf -';
/** $1 live dir, $2 staged dir, $3 scratch: two renames, so $1 is always a whole PKI. */
const SWAP_SCRIPT = 'set -e; [ -d "$2" ]; rm -rf "$3"; if [ -d "$1" ]; then mv "$1" "$3"; fi; mv "$2" "$1"; rm -rf "$3"';
const REMOVE_SCRIPT = 'rm -rf "$1"';
const LIST_BACKUPS_SCRIPT = '[ -d "$1" ] || exit 0; cd "$1" && for d in *; do [ -d "$d" ] && echo "$d"; done; exit 0';

async function sh(kube: Kube, namespace: string, pod: string, script: string, args: string[], stdin?: Buffer, readOnly = false): Promise<ExecResult> {
  return execInPod(kube, {
    namespace, pod, container: SYNCER, command: ['sh', '-c', script, 'sh', ...args], stdin, readOnly,
    timeoutMs: Math.max(kube.requestTimeoutMs, 60_000),
  });
}

function ensureOk(res: ExecResult, what: string): void {
  if (res.exitCode !== 0) {
    const why = res.stderr.toString('utf8').trim().split('\n')[0] || `exit code ${res.exitCode}`;
    throw new UserError(`${what} failed: ${why}`);
  }
}

/** Keys 0600 and everything else 0644, as kubeadm writes them. */
export function fileMode(path: string): number {
  return /\.(key|conf)$/.test(path) ? 0o600 : 0o644;
}

export async function packFiles(files: PkiFiles): Promise<Buffer> {
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const path of [...files.keys()].sort()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755 });
      }
    }
    pack.entry({ name: path, mode: fileMode(path), mtime: new Date() }, files.get(path)!);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function backupInPod(kube: Kube, namespace: string, pod: string, stamp: string): Promise<string> {
  const dest = `${BACKUP_ROOT}/${stamp}`;
  ensureOk(await sh(kube, namespace, pod, BACKUP_SCRIPT, [PKI_DIR, dest]), `backing up ${PKI_DIR} to ${dest} in pod ${namespace}/${pod}`);
  return dest;
}

export async function readDirFromPod(kube: Kube, namespace: string, pod: string, dir: string): Promise<PkiFiles> {
  const res = await execInPod(kube, { namespace, pod, container: SYNCER, command: ['tar', '-C', dir, '-cf', '-', '.'], readOnly: true, timeoutMs: Math.max(kube.requestTimeoutMs, 60_000) });
  ensureOk(res, `reading ${dir} in pod ${namespace}/${pod}`);
  return untarFiles(res.stdout);
}

export async function stageInPod(kube: Kube, namespace: string, pod: string, files: PkiFiles, dir = STAGING_DIR): Promise<void> {
  ensureOk(await sh(kube, namespace, pod, STAGE_SCRIPT, [dir], await packFiles(files)), `staging the new PKI in ${dir} of pod ${namespace}/${pod}`);
}

export async function swapInPod(kube: Kube, namespace: string, pod: string, staged = STAGING_DIR): Promise<void> {
  ensureOk(await sh(kube, namespace, pod, SWAP_SCRIPT, [PKI_DIR, staged, OLD_DIR]), `swapping ${staged} into ${PKI_DIR} in pod ${namespace}/${pod}`);
}

export async function removeInPod(kube: Kube, namespace: string, pod: string, dir: string): Promise<void> {
  ensureOk(await sh(kube, namespace, pod, REMOVE_SCRIPT, [dir]), `removing ${dir} in pod ${namespace}/${pod}`);
}

export async function listPodBackups(kube: Kube, namespace: string, pod: string): Promise<string[]> {
  const res = await sh(kube, namespace, pod, LIST_BACKUPS_SCRIPT, [BACKUP_ROOT], undefined, true);
  ensureOk(res, `listing ${BACKUP_ROOT} in pod ${namespace}/${pod}`);
  return res.stdout.toString('utf8').split('\n').filter((l) => /^\d+$/.test(l)).sort();
}
