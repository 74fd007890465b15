// backups: every PKI backup of one vCluster, wherever it lives: /data/pki.bak/<unix ts> in each
// Ready replica (read-only execs) and the off-pod backup Secrets `<name>-certs-backup-<unix ts>`.
// Each is judged on its own (complete or not, and why) and copies that agree are grouped.
import { CERT_MAP_FILES, ROOT_CA_FILES, LEAF_CERT_FILES, fileForSecretKey } from '../pki/certmap.js';
import { hideProperty } from '../pki/kubeconfig.js';
import { decodeBase64, splitPem } from '../pki/pem.js';
import { rolloverState } from '../pki/rollover.js';
import { PkiModel } from '../pki/model.js';
import { pkiDigest } from '../pki/rotation.js';
import { verifyPki } from '../pki/verify.js';
import type { PkiFiles } from '../pki/types.js';
import type { Kube } from '../kube/client.js';
import { findOneVCluster, isPodReady, requireK8sDistro, type VCluster } from '../kube/discovery.js';
import type { V1Pod, V1Secret } from '../kube/k8s.js';
import { BACKUP_ROOT, listPodBackups, readDirFromPod } from '../kube/pod-files.js';
import { certsSecretName, readPkiFromSecret } from '../kube/pki-source.js';
import { ANNOTATION_PREFIX, BACKUP_LABEL } from '../kube/secrets.js';

export type BackupLocation = { kind: 'secret'; name: string } | { kind: 'pod'; pod: string; dir: string };

export interface BackupCA {
  /** 'ca.crt', 'front-proxy-ca.crt' or 'etcd/ca.crt' */
  file: string;
  /** OpenSSL one-line subject, e.g. '/CN=kubernetes' */
  subject: string;
  /** SHA-256 of the DER, upper-case colon-separated hex */
  sha256: string;
  notAfter: Date;
}

export interface BackupInfo {
  /** unix seconds, as in the directory or Secret name */
  stamp: string;
  createdAt: Date;
  location: BackupLocation;
  /** why it was taken (the Secret's reason annotation); '-' for pod copies, which carry none */
  reason: string;
  /** the backed-up PKI; non-enumerable, so JSON.stringify never shows key material */
  files: PkiFiles;
  /** SHA-256 over the certMap files: equal digests = the same PKI */
  digest: string;
  /** every certMap file present and non-empty, keys match, leafs verify (dates are not judged) */
  complete: boolean;
  problems: string[];
  cas: BackupCA[];
  earliestLeafExpiry?: Date;
  /** the leaf (or kubeconfig) that expires first */
  earliestLeaf?: string;
  /** other locations of the same stamp with the same digest (`describeLocation` strings) */
  sameAs: string[];
}

export interface CollectOptions {
  /** a pod whose backups cannot be read: the listing goes on without it */
  onWarning?: (message: string) => void;
}

/** 'secret NS/NAME' or 'pod POD:/data/pki.bak/TS'. */
export function describeLocation(loc: BackupLocation, namespace: string): string {
  return loc.kind === 'secret' ? `secret ${namespace}/${loc.name}` : `pod ${loc.pod}:${loc.dir}`;
}

/** Judges one backup: completeness (verifyPki without dates), CA identities, earliest leaf expiry. */
export function describeBackup(stamp: string, location: BackupLocation, reason: string, files: PkiFiles, extraProblems: string[] = []): BackupInfo {
  const model = new PkiModel(files);
  const problems = [...extraProblems, ...verifyPki(files)];
  const cas: BackupCA[] = [];
  for (const file of ROOT_CA_FILES) {
    const c = model.first(file);
    if (c) cas.push({ file, subject: c.subject, sha256: c.sha256, notAfter: c.notAfter });
  }
  let earliestLeafExpiry: Date | undefined;
  let earliestLeaf: string | undefined;
  const leafs: Array<[string, Date | undefined]> = [
    ...LEAF_CERT_FILES.map((f): [string, Date | undefined] => [f, model.first(f)?.notAfter]),
    ...[...model.kubeconfigs.values()].map((k): [string, Date | undefined] => [k.path, k.clientCert?.notAfter]),
  ];
  for (const [file, notAfter] of leafs) {
    if (notAfter && (!earliestLeafExpiry || notAfter < earliestLeafExpiry)) {
      earliestLeafExpiry = notAfter;
      earliestLeaf = file;
    }
  }
  const certMapOnly: PkiFiles = new Map(CERT_MAP_FILES.filter((f) => files.has(f)).map((f) => [f, files.get(f)!]));
  const info: BackupInfo = {
    stamp,
    createdAt: new Date(Number(stamp) * 1000),
    location,
    reason: reason || '-',
    files: new Map(),
    digest: pkiDigest(certMapOnly),
    complete: problems.length === 0,
    problems,
    cas,
    ...(earliestLeafExpiry ? { earliestLeafExpiry, earliestLeaf } : {}),
    sameAs: [],
  };
  return hideProperty(info, 'files', files);
}

/** Decodes one backup Secret; a value that is not base64 becomes a problem, not an abort. */
function secretFiles(secret: V1Secret): { files: PkiFiles; problems: string[] } {
  const files: PkiFiles = new Map();
  const problems: string[] = [];
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    const bytes = decodeBase64(value);
    if (!bytes) {
      problems.push(`secret key "${key}" is not valid base64`);
      continue;
    }
    files.set(fileForSecretKey(key), bytes);
  }
  return { files, problems };
}

async function secretBackups(kube: Kube, vc: Pick<VCluster, 'name' | 'namespace'>): Promise<BackupInfo[]> {
  const list = await kube.call(`list backup secrets in ${vc.namespace}`, () =>
    kube.core.listNamespacedSecret({ namespace: vc.namespace, labelSelector: `${BACKUP_LABEL}=${vc.name}` }, kube.opts));
  const prefix = `${certsSecretName(vc.name)}-backup-`;
  const out: BackupInfo[] = [];
  for (const s of list.items) {
    const name = s.metadata?.name ?? '';
    const stamp = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (!/^\d+$/.test(stamp)) continue;
    const { files, problems } = secretFiles(s);
    const reason = s.metadata?.annotations?.[`${ANNOTATION_PREFIX}reason`] ?? '';
    out.push(describeBackup(stamp, { kind: 'secret', name }, reason, files, problems));
  }
  return out;
}

/** Splits a tar of /data/pki.bak ('<ts>/ca.crt', ...) into one PkiFiles per listed stamp. */
function splitByStamp(all: PkiFiles, stamps: string[]): Map<string, PkiFiles> {
  const byStamp = new Map<string, PkiFiles>(stamps.map((s) => [s, new Map()]));
  for (const [path, data] of all) {
    const slash = path.indexOf('/');
    const target = slash > 0 ? byStamp.get(path.slice(0, slash)) : undefined;
    if (target) target.set(path.slice(slash + 1), data);
  }
  return byStamp;
}

/** One pod's backups: list the stamps, then read them all with one tar (per stamp if that fails). */
async function podBackups(kube: Kube, namespace: string, pod: string, warn: (m: string) => void): Promise<BackupInfo[]> {
  const stamps = await listPodBackups(kube, namespace, pod);
  if (stamps.length === 0) return [];
  let byStamp: Map<string, PkiFiles>;
  try {
    byStamp = splitByStamp(await readDirFromPod(kube, namespace, pod, BACKUP_ROOT), stamps);
  } catch {
    byStamp = new Map();
    for (const stamp of stamps) {
      try {
        byStamp.set(stamp, await readDirFromPod(kube, namespace, pod, `${BACKUP_ROOT}/${stamp}`));
      } catch (err) {
        warn(err instanceof Error ? err.message : String(err));
      }
    }
  }
  return [...byStamp].map(([stamp, files]) =>
    describeBackup(stamp, { kind: 'pod', pod, dir: `${BACKUP_ROOT}/${stamp}` }, '-', files));
}

const podName = (p: V1Pod) => p.metadata?.name ?? '';

/** Links copies of the same stamp and content, so users (and restore) can see which agree. */
function linkCopies(backups: BackupInfo[], namespace: string): void {
  const groups = new Map<string, BackupInfo[]>();
  for (const b of backups) {
    const key = `${b.stamp}/${b.digest}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  for (const group of groups.values()) {
    for (const b of group) {
      b.sameAs = group.filter((o) => o !== b).map((o) => describeLocation(o.location, namespace));
    }
  }
}

/** Newest first; at the same stamp the Secret (which survives pods) first, then pods by name. */
export function compareBackups(a: BackupInfo, b: BackupInfo): number {
  const where = (x: BackupInfo) => (x.location.kind === 'secret' ? `0${x.location.name}` : `1${x.location.pod}`);
  return Number(b.stamp) - Number(a.stamp) || where(a).localeCompare(where(b), 'en', { numeric: true });
}

/**
 * Every backup of `vc`: the backup Secrets, and /data/pki.bak/<ts> of every Ready pod. A pod that
 * cannot be read is reported through `onWarning` and skipped; failing to list the Secrets throws.
 * Never writes anything.
 */
export async function collectBackups(kube: Kube, vc: VCluster, opts: CollectOptions = {}): Promise<BackupInfo[]> {
  const warn = opts.onWarning ?? (() => undefined);
  const ready = vc.pods.filter(isPodReady);
  const [secrets, ...perPod] = await Promise.all([
    secretBackups(kube, vc),
    ...ready.map((p) => podBackups(kube, vc.namespace, podName(p), warn).catch((err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      warn(`the backups in pod ${podName(p)} could not be read, listed without them: ${why}`);
      return [] as BackupInfo[];
    })),
  ]);
  const all = [...secrets, ...perPod.flat()];
  linkCopies(all, vc.namespace);
  return all.sort(compareBackups);
}

const firstCert = (data: Buffer | undefined) => (data ? splitPem(data).find((b) => b.label === 'CERTIFICATE')?.der : undefined);

/**
 * What `rotate-ca --abort` goes back to: the newest complete backup holding the window's old CA (first
 * certificate of ca.crt) and no window of its own; at the same stamp the Secret before pod copies.
 */
export function abortTarget(backups: BackupInfo[], oldCADer: Buffer): BackupInfo | undefined {
  return backups
    .filter((b) => b.complete && firstCert(b.files.get('ca.crt'))?.equals(oldCADer) && !rolloverState(b.files))
    .sort((a, b) => Number(b.stamp) - Number(a.stamp) || (a.location.kind === 'secret' ? -1 : 1))[0];
}

/** An open CA rollover window, and the backup its abort would restore. */
export interface RolloverWindow {
  since: Date;
  /** the window closes by itself (the cross-signed CA expires) */
  until: Date;
  /** subject of the old CA an abort returns to */
  oldCA: string;
  abortTarget?: BackupInfo;
}

export interface BackupListing {
  vcluster: { name: string; namespace: string; persistent: boolean; status: string };
  /** present while a CA rollover window is open */
  rollover?: RolloverWindow;
  /** pods whose /data/pki.bak was searched */
  podsSearched: string[];
  backups: BackupInfo[];
  warnings: string[];
}

/** The `backups` command: find the vCluster, collect, and say what could not be searched. */
export async function runBackups(kube: Kube, opts: { name: string; namespace: string }): Promise<BackupListing> {
  const vc = await findOneVCluster(kube, opts);
  requireK8sDistro(vc);
  const warnings = [...vc.warnings];
  const [backups, window] = await Promise.all([
    collectBackups(kube, vc, { onWarning: (m) => warnings.push(m) }),
    readPkiFromSecret(kube, vc).then((s) => rolloverState(s.files)).catch((err: unknown) => {
      warnings.push(`secret ${vc.namespace}/${certsSecretName(vc.name)} could not be read to see whether a CA rollover is open: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }),
  ]);
  let rollover: RolloverWindow | undefined;
  if (window) {
    const target = abortTarget(backups, window.oldCA.der);
    rollover = { since: window.since, until: window.until, oldCA: window.oldCA.subject, ...(target ? { abortTarget: target } : {}) };
    if (!target) warnings.push(`a CA rollover is open, but no complete backup holds its old CA (${window.oldCA.subject}): "rotate-ca --abort" has nothing to go back to`);
  }
  const ready = vc.pods.filter(isPodReady).map(podName);
  const notReady = vc.pods.map(podName).filter((p) => !ready.includes(p));
  if (ready.length === 0) {
    warnings.push(`no Ready pod (status ${vc.status}): only the off-pod backup Secrets were searched, not ${BACKUP_ROOT}`);
  } else if (notReady.length) {
    warnings.push(`pod${notReady.length > 1 ? 's' : ''} ${notReady.join(', ')} not Ready: ${BACKUP_ROOT} there was not searched`);
  }
  if (!vc.persistent && backups.some((b) => b.location.kind === 'pod')) {
    warnings.push(`/data is an emptyDir: the copies in ${BACKUP_ROOT} are lost when a pod is replaced; the backup Secrets are what survives`);
  }
  return {
    vcluster: { name: vc.name, namespace: vc.namespace, persistent: vc.persistent, status: vc.status },
    podsSearched: ready,
    backups,
    warnings,
    ...(rollover ? { rollover } : {}),
  };
}
