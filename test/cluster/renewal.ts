// vCluster's own leaf renewal, in the two places upstream has it:
//  - at every syncer start (pkg/certs/ensure.go EnsureCerts): when any leaf .crt key of `<name>-certs`
//    is missing, empty, unparsable or has <= 90 days left, the leafs and kubeconfigs are re-issued from
//    the existing CAs (CAs and sa.* kept) and written back with SyncSecret (pkg/certs/rotate.go): a
//    merge patch without resourceVersion that sets the certMap keys only, so other keys go;
//  - the periodic watcher (pkg/certs/watcher.go): the same renewal from the Secret, guarded in HA by the
//    Lease vcluster-<name>-cert-rotation (5 min, never renewed, never released, taken over only once
//    expired), then a rollout through the pod-template annotation vcluster.loft.sh/cert-rotation-at,
//    deployed etcd first.
// Every write carries the field manager real vCluster's client has ("vcluster", the User-Agent prefix of
// pkg/constants/user_agent.go), so managedFields tell its writes from anybody else's.
// Re-issuing uses pkigen (openssl + node:crypto), never the product's src/pki.

import { X509Certificate, createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CERT_MAP, SECRET_KEY_TO_FILE } from './certmap.js';
import { generatePki } from './pkigen.js';
import type { KObject, Store } from './store.js';
import { typeByKind } from './resources.js';

export const VCLUSTER_MANAGER = 'vcluster';
export const ROTATION_ANNOTATION = 'vcluster.loft.sh/cert-rotation-at';
/** certhelper.IsCertExpired: days until NotAfter <= 90 */
export const RENEW_WITHIN_DAYS = 90;
const LEASE_SECONDS = 300;

const SECRETS = typeByKind('Secret');
const LEASES = typeByKind('Lease');
const STS = typeByKind('StatefulSet');
const DEPLOY = typeByKind('Deployment');

/** Tag of the syncer image without a leading v; '' when there is none. */
export function versionFromImage(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const colon = noDigest.lastIndexOf(':');
  if (colon <= noDigest.lastIndexOf('/')) return '';
  return noDigest.slice(colon + 1).replace(/^v/, '');
}

function semver(version: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Start-up renewal (reference §0): v0.31.3, v0.32.2+, v0.33.0+. Unknown versions: none. */
export function hasStartupRenewal(version: string): boolean {
  const v = semver(version);
  if (!v) return false;
  const [maj, min, patch] = v;
  if (maj > 0 || min >= 33) return true;
  return (min === 31 && patch >= 3) || (min === 32 && patch >= 2);
}

/** The runtime watcher (reference §0): v0.31.3, v0.32.2+, v0.33.2+, v0.34.0+. */
export function hasCertWatcher(version: string): boolean {
  const v = semver(version);
  if (!v) return false;
  const [maj, min, patch] = v;
  if (maj > 0 || min >= 34) return true;
  return (min === 31 && patch >= 3) || (min === 32 && patch >= 2) || (min === 33 && patch >= 2);
}

const CA_KEYS = new Set(['ca.crt', 'server-ca.crt', 'client-ca.crt', 'front-proxy-ca.crt', 'etcd-ca.crt']);

function expiringSoon(pem: Buffer | undefined, now: number): boolean {
  if (!pem || pem.length === 0) return true;
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return true;
  try {
    return blocks.some((b) => (new X509Certificate(b).validToDate.getTime() - now) / 86_400_000 <= RENEW_WITHIN_DAYS);
  } catch {
    return true;
  }
}

/** certsExpiringSoon (ensure.go): any non-CA certMap .crt missing, unparsable or within 90 days. */
export function leafsNeedRenewal(get: (secretKey: string) => Buffer | undefined, now = Date.now()): boolean {
  for (const key of CERT_MAP.values()) {
    if (!key.endsWith('.crt') || CA_KEYS.has(key)) continue;
    if (expiringSoon(get(key), now)) return true;
  }
  return false;
}

export function secretFiles(secret: KObject): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [key, b64] of Object.entries((secret.data ?? {}) as Record<string, string>)) {
    files.set(SECRET_KEY_TO_FILE.get(key) ?? key, Buffer.from(b64, 'base64'));
  }
  return files;
}

/** Leafs and kubeconfigs re-issued from the CAs and sa.* of `files` (kubeadm regenerates what is missing). */
export async function renewLeafs(files: Map<string, Buffer>, name: string, namespace: string): Promise<Map<string, Buffer>> {
  return generatePki({ name, namespace, caSource: files });
}

/** SyncSecret: a patch with no resourceVersion precondition that leaves exactly the certMap keys. */
export function syncSecret(store: Store, namespace: string, secretName: string, files: Map<string, Buffer>): KObject | undefined {
  const data: Record<string, string> = {};
  for (const [file, key] of CERT_MAP) {
    const content = files.get(file);
    if (content) data[key] = content.toString('base64');
  }
  return store.mutate(SECRETS, namespace, secretName, (s) => {
    s.data = data;
  }, false, { manager: VCLUSTER_MANAGER });
}

/** translate.SafeConcatName("vcluster", name, "cert-rotation"). */
export function rotationLeaseName(vcName: string): string {
  const full = `vcluster-${vcName}-cert-rotation`;
  if (full.length <= 63) return full;
  const digest = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${full.slice(0, 52)}-${digest}`.replaceAll('.-', '-');
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** tryAcquireRotationLease: create, or take over an expired Lease; false while another holds it. */
export function tryAcquireRotationLease(store: Store, namespace: string, vcName: string, holder: string, now = Date.now()): boolean {
  const name = rotationLeaseName(vcName);
  const spec = { holderIdentity: holder, leaseDurationSeconds: LEASE_SECONDS, acquireTime: microTime(now), renewTime: microTime(now) };
  const existing = store.peek(LEASES, namespace, name);
  if (!existing) {
    store.create(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec }, { manager: VCLUSTER_MANAGER });
    return true;
  }
  const renew = existing.spec?.renewTime;
  const seconds = existing.spec?.leaseDurationSeconds;
  if (renew && seconds !== undefined && now < new Date(renew).getTime() + seconds * 1000) return false;
  store.mutate(LEASES, namespace, name, (l) => {
    l.spec = { ...(l.spec ?? {}), ...spec };
  }, false, { manager: VCLUSTER_MANAGER });
  return true;
}

function templatePatch(store: Store, type: typeof STS, namespace: string, name: string, value: string): boolean {
  return !!store.mutate(type, namespace, name, (o) => {
    o.spec.template.metadata ??= {};
    o.spec.template.metadata.annotations = { ...(o.spec.template.metadata.annotations ?? {}), [ROTATION_ANNOTATION]: value };
  }, false, { manager: VCLUSTER_MANAGER });
}

/** finishPendingRollout: deployed etcd first (NotFound ignored), then the control plane. */
export function rolloutAfterRotation(store: Store, namespace: string, vcName: string, deployedEtcd: boolean, at = new Date()): void {
  const value = at.toISOString();
  if (deployedEtcd) templatePatch(store, STS, namespace, `${vcName}-etcd`, value);
  if (!templatePatch(store, STS, namespace, vcName, value)) templatePatch(store, DEPLOY, namespace, vcName, value);
}

/** What the chart's config.yaml says about HA and deployed etcd (vc-config-<name>). */
export function chartConfig(store: Store, namespace: string, vcName: string): { replicas: number; deployedEtcd: boolean } {
  const secret = store.peek(SECRETS, namespace, `vc-config-${vcName}`);
  const raw = secret?.data?.['config.yaml'];
  let cfg: any = {};
  try {
    cfg = raw ? parseYaml(Buffer.from(raw, 'base64').toString('utf8')) ?? {} : {};
  } catch { /* defaults */ }
  return {
    replicas: Number(cfg?.controlPlane?.statefulSet?.highAvailability?.replicas ?? 1),
    deployedEtcd: cfg?.controlPlane?.backingStore?.etcd?.deploy?.enabled === true,
  };
}

async function readPkiDir(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let entries;
  try {
    entries = await readdir(join(dir, prefix), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await readPkiDir(dir, rel)) out.set(k, v);
    else if (e.isFile()) out.set(rel, await readFile(join(dir, rel)));
  }
  return out;
}

export interface WatcherTarget {
  store: Store;
  namespace: string;
  vcName: string;
  /** the pod's hostname, the Lease holder */
  podName: string;
  /** host path of the pod's /data */
  dataDir: string;
  intervalMs: number;
  log(line: string): void;
}

/**
 * The periodic check of one syncer (pkg/certs/watcher.go runCertWatcher), without jitter. Off unless a
 * test turns it on, so it never races the tests that do not want it.
 */
export class CertWatcher {
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** resolved after each finished check: for tests */
  checks = 0;

  constructor(private readonly t: WatcherTarget) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.t.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.busy || !this.timer) return;
    this.busy = true;
    try {
      await this.check();
    } catch (e) {
      this.t.log(`error rotating certificates: ${(e as Error).message}`);
    } finally {
      this.checks++;
      this.busy = false;
    }
  }

  async check(): Promise<void> {
    const { store, namespace, vcName } = this.t;
    const pki = join(this.t.dataDir, 'pki');
    // diskCertsExpiringSoon: the watcher looks at /data/pki, not the Secret.
    const disk = await readPkiDir(pki);
    const onDisk = (key: string) => disk.get(SECRET_KEY_TO_FILE.get(key) ?? key);
    if (!leafsNeedRenewal(onDisk)) return;
    const cfg = chartConfig(store, namespace, vcName);
    if (cfg.replicas > 1 && !tryAcquireRotationLease(store, namespace, vcName, this.t.podName)) {
      this.t.log('another replica is handling cert rotation, skipping');
      return;
    }
    // rotateLeafCerts: back up /data/pki, renew from the Secret in a temp tree, SyncSecret (the commit).
    await cp(pki, join(this.t.dataDir, 'pki.bak', String(Math.floor(Date.now() / 1000))), { recursive: true });
    const secretName = `${vcName}-certs`;
    const secret = store.peek(SECRETS, namespace, secretName);
    if (!secret) throw new Error(`get cert secret: secrets "${secretName}" not found`);
    const renewed = await renewLeafs(secretFiles(secret), vcName, namespace);
    syncSecret(store, namespace, secretName, renewed);
    this.t.log('leaf certificates are expiring soon, rotated them and triggered a rollout');
    rolloutAfterRotation(store, namespace, vcName, cfg.deployedEtcd);
  }
}

/** Writes `files` into a PKI directory (mode 0666 like downloadCertsFromSecret). */
export async function writePki(dir: string, files: Map<string, Buffer>): Promise<void> {
  for (const [file, content] of files) {
    const target = join(dir, file);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content, { mode: 0o666 });
  }
}

/** removeFiles(excludeSAFiles, excludeCAFiles): every file but sa.*, ca.*, *-ca.*. */
export async function removeLeafFiles(dir: string): Promise<void> {
  for (const rel of (await readPkiDir(dir)).keys()) {
    const base = rel.split('/').pop() as string;
    if (base === 'sa.key' || base === 'sa.pub' || base === 'ca.crt' || base === 'ca.key' || base.endsWith('-ca.crt') || base.endsWith('-ca.key')) continue;
    await rm(join(dir, rel), { force: true });
  }
}

export { readPkiDir };
