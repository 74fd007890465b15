// The Lease vCluster's own renewal watcher takes before it rotates
// (vcluster-<name>-cert-rotation); holding it keeps the two from rotating at once.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { UserError } from '../errors.js';
import type { Kube } from './client.js';
import { apiStatusCode } from './client.js';
import { V1MicroTime, type V1Lease } from './k8s.js';

export const LEASE_SECONDS = 60;

export function rotationLeaseName(vcName: string): string {
  const name = `vcluster-${vcName}-cert-rotation`;
  if (name.length <= 63) return name;
  return `${name.slice(0, 52)}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

/** This boot of this machine (Linux); '' where there is none, and then no run is ever proven dead. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 16);
  } catch {
    return '';
  }
}

export function holderIdentity(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch { /* no passwd entry, e.g. in a container */ }
  return `kubectl-vcluster-certs/${user}@${hostname()}/${bootId() || 'noboot'}/${process.pid}`;
}

/**
 * A run of this tool on this very boot of this machine whose pid is gone cannot renew: take over.
 * The host name alone proves nothing (containers and VMs share names, pids are reused across
 * boots), so without a matching boot id only an expired Lease is taken over.
 */
export function heldByDeadLocalRun(holder: string, boot = bootId(), alive = pidAlive): boolean {
  const m = /^kubectl-vcluster-certs\/[^@]*@(.+)\/([0-9a-f]{16})\/(\d+)$/.exec(holder);
  if (!m || !boot || m[1] !== hostname() || m[2] !== boot) return false;
  return !alive(Number(m[3]));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function leaseExpired(lease: V1Lease, now: number): boolean {
  const spec = lease.spec;
  if (!spec?.holderIdentity) return true;
  const renewed = spec.renewTime ?? spec.acquireTime;
  if (!renewed) return true;
  return new Date(renewed).getTime() + (spec.leaseDurationSeconds ?? 0) * 1000 < now;
}

export interface HeldLease {
  name: string;
  release(): Promise<void>;
}

/** Takes the rotation Lease, renewing it in the background until released. */
export async function acquireRotationLease(kube: Kube, namespace: string, vcName: string, holder = holderIdentity()): Promise<HeldLease> {
  const name = rotationLeaseName(vcName);
  const api = kube.coordination;
  // MicroTime serialises with 6 fractional digits, which the API server's parser demands.
  const nowIso = () => new V1MicroTime();
  const existing = await kube.call(`read lease ${namespace}/${name}`, () => api.readNamespacedLease({ name, namespace }, kube.opts), 'null');
  const spec = { holderIdentity: holder, leaseDurationSeconds: LEASE_SECONDS, acquireTime: nowIso(), renewTime: nowIso() };
  let current: V1Lease;
  if (!existing) {
    current = await kube.call(`create lease ${namespace}/${name}`, () => api.createNamespacedLease({
      namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, labels: { app: 'vcluster-certs' } }, spec },
    }, kube.opts)).catch((err) => {
      if (err instanceof UserError && apiStatusCode(err.cause) === 409) throw busy(namespace, vcName, 'someone else');
      throw err;
    });
  } else {
    if (existing.spec?.holderIdentity && existing.spec.holderIdentity !== holder && !leaseExpired(existing, Date.now()) && !heldByDeadLocalRun(existing.spec.holderIdentity)) {
      throw busy(namespace, vcName, existing.spec.holderIdentity, existing);
    }
    current = await kube.call(`take lease ${namespace}/${name}`, () => api.replaceNamespacedLease({
      name, namespace, body: { ...existing, spec: { ...existing.spec, ...spec, leaseTransitions: (existing.spec?.leaseTransitions ?? 0) + 1 } },
    }, kube.opts)).catch((err) => {
      if (err instanceof UserError && apiStatusCode(err.cause) === 409) throw busy(namespace, vcName, 'someone else');
      throw err;
    });
  }

  let released = false;
  const renew = async () => {
    if (released) return;
    try {
      current = await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: { ...current.spec, renewTime: nowIso() } } }, kube.opts);
    } catch {
      // A missed renewal only shortens our claim; the flow's own guards (resourceVersion) still hold.
    }
  };
  const timer = setInterval(() => void renew(), (LEASE_SECONDS * 1000) / 3);
  timer.unref();
  return {
    name,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        await api.deleteNamespacedLease({ name, namespace, body: { preconditions: { resourceVersion: current.metadata?.resourceVersion } } }, kube.opts);
      } catch {
        // Someone else holds it now, or it is gone: either way it is not ours to delete.
      }
    },
  };
}

function busy(namespace: string, vcName: string, holder: string, lease?: V1Lease): UserError {
  const until = lease?.spec?.renewTime && lease.spec.leaseDurationSeconds
    ? ` until ${new Date(new Date(lease.spec.renewTime).getTime() + lease.spec.leaseDurationSeconds * 1000).toISOString()}`
    : '';
  return new UserError(`another certificate rotation of vCluster ${namespace}/${vcName} is in progress (lease ${rotationLeaseName(vcName)} held by ${holder}${until}); wait for it and run again`);
}
