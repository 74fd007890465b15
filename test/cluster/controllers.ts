// StatefulSet and Deployment controllers (the parts kube-controller-manager does that a vCluster tool
// notices) and the owner-reference garbage collector. Event-driven: every store change of a workload or
// of a pod it owns schedules one reconcile of that workload.
//
// StatefulSet: pods <name>-0..N-1, PVCs from volumeClaimTemplates, podManagementPolicy OrderedReady or
// Parallel, RollingUpdate (highest ordinal first, one at a time, waiting for health; partition) or
// OnDelete. Deployment: one ReplicaSet per template hash, pods <rs>-<random>, RollingUpdate with
// maxSurge/maxUnavailable (25 % defaults) or Recreate.

import { createHash } from 'node:crypto';
import { KObject, Store, StoreEvent, randomSuffix } from './store.js';
import { RESOURCE_TYPES, typeByKind } from './resources.js';
import { Kubelet, initialPodStatus } from './kubelet.js';
import { clone } from './patch.js';
import { selectorFromLabels } from './selectors.js';

const PODS = typeByKind('Pod');
const STS = typeByKind('StatefulSet');
const DEPLOY = typeByKind('Deployment');
const RS = typeByKind('ReplicaSet');

export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(template ?? {})).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 10; i++) s += alphabet[digest[i] % alphabet.length];
  return s;
}

export function isPodReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

function isTerminating(pod: KObject): boolean {
  return Boolean(pod.metadata.deletionTimestamp);
}

function isHealthy(pod: KObject): boolean {
  return !isTerminating(pod) && pod.status?.phase === 'Running' && isPodReady(pod);
}

function ownedBy(obj: KObject, uid: string | undefined): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid);
}

function ownerRef(owner: KObject): NonNullable<KObject['metadata']['ownerReferences']>[number] {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid as string, controller: true, blockOwnerDeletion: true };
}

/** Resolves "25%" or 1 against a replica count, as intstr.GetScaledValueFromIntOrPercent does. */
function scaled(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(String(value ?? '25%'));
  if (!m) return Number(value) || 0;
  const v = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(v) : Math.floor(v);
}

export class Controllers {
  private readonly queued = new Set<string>();
  private closed = false;
  private readonly onEvent = (ev: StoreEvent) => this.handleEvent(ev);

  constructor(
    private readonly store: Store,
    private readonly kubelet: Kubelet,
  ) {
    store.on('event', this.onEvent);
  }

  close(): void {
    this.closed = true;
    this.store.off('event', this.onEvent);
  }

  private handleEvent(ev: StoreEvent): void {
    if (this.closed) return;
    const obj = ev.object;
    const ns = obj.metadata.namespace as string;
    if (ev.type === 'DELETED') this.collectGarbage(obj.metadata.uid as string);
    if (ev.resource === STS || ev.resource === DEPLOY) {
      if (ev.type !== 'DELETED') this.enqueue(ev.resource.kind, ns, obj.metadata.name);
      return;
    }
    if (ev.resource === PODS || ev.resource === RS) {
      for (const ref of obj.metadata.ownerReferences ?? []) {
        if (ref.kind === 'StatefulSet') this.enqueue('StatefulSet', ns, ref.name);
        if (ref.kind === 'Deployment') this.enqueue('Deployment', ns, ref.name);
        if (ref.kind === 'ReplicaSet') {
          const rs = this.store.peek(RS, ns, ref.name);
          const dep = rs?.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
          if (dep) this.enqueue('Deployment', ns, dep.name);
        }
      }
    }
  }

  private enqueue(kind: string, ns: string, name: string): void {
    const key = `${kind}/${ns}/${name}`;
    if (this.queued.has(key)) return;
    this.queued.add(key);
    setImmediate(() => {
      this.queued.delete(key);
      if (this.closed) return;
      if (kind === 'StatefulSet') this.reconcileStatefulSet(ns, name);
      else this.reconcileDeployment(ns, name);
    });
  }

  /** Background cascading deletion: dependents of a deleted owner go too (pods gracefully). */
  private collectGarbage(ownerUid: string): void {
    for (const t of RESOURCE_TYPES) {
      for (const obj of this.store.list(t)) {
        if (!ownedBy(obj, ownerUid) || obj.metadata.deletionTimestamp) continue;
        if (t === PODS) this.kubelet.deletePod(obj.metadata.namespace as string, obj.metadata.name);
        else this.store.delete(t, obj.metadata.namespace, obj.metadata.name);
      }
    }
  }

  private newPod(owner: KObject, name: string, labels: Record<string, string>, extraSpec: Record<string, unknown>): KObject {
    const template = owner.spec.template ?? {};
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), ...labels },
        ...(template.metadata?.annotations ? { annotations: clone(template.metadata.annotations) } : {}),
        ownerReferences: [ownerRef(owner)],
      },
      spec: {
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        serviceAccountName: 'default',
        ...clone(template.spec ?? {}),
        nodeName: 'sim-node',
        ...extraSpec,
      },
    };
    pod.spec.serviceAccount = pod.spec.serviceAccountName;
    pod.status = initialPodStatus(pod);
    return pod;
  }

  // --- StatefulSet ---------------------------------------------------------------------------------

  private reconcileStatefulSet(ns: string, name: string): void {
    const sts = this.store.peek(STS, ns, name);
    if (!sts) return;
    const replicas: number = sts.spec.replicas ?? 1;
    const updateRevision = `${name}-${templateHash(sts.spec.template)}`;
    const monotonic = (sts.spec.podManagementPolicy ?? 'OrderedReady') !== 'Parallel';
    const byOrdinal = new Map<number, KObject>();
    for (const p of this.store.list(PODS, ns)) {
      if (!ownedBy(p, sts.metadata.uid)) continue;
      const m = new RegExp(`^${name.replace(/[.]/g, '\\.')}-(\\d+)$`).exec(p.metadata.name);
      if (m) byOrdinal.set(Number(m[1]), p);
    }
    // Create missing pods (OrderedReady: one at a time, predecessors Running and Ready).
    for (let i = 0; i < replicas; i++) {
      const p = byOrdinal.get(i);
      if (!p) {
        byOrdinal.set(i, this.createStatefulPod(sts, i, updateRevision));
        if (monotonic) break;
      } else if (monotonic && !isHealthy(p)) {
        break;
      }
    }
    // Scale down from the highest ordinal.
    const condemned = [...byOrdinal.keys()].filter((o) => o >= replicas).sort((a, b) => b - a);
    for (const o of condemned) {
      const p = byOrdinal.get(o) as KObject;
      if (!isTerminating(p)) this.kubelet.deletePod(ns, p.metadata.name);
      if (monotonic) break;
    }
    // Rolling update: delete the highest outdated pod; wait for each updated pod to be healthy.
    const strategy = sts.spec.updateStrategy?.type ?? 'RollingUpdate';
    if (strategy === 'RollingUpdate' && condemned.length === 0) {
      const partition: number = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      for (let target = replicas - 1; target >= partition; target--) {
        const p = byOrdinal.get(target);
        if (!p) break;
        if (p.metadata.labels?.['controller-revision-hash'] !== updateRevision && !isTerminating(p)) {
          this.kubelet.deletePod(ns, p.metadata.name);
          break;
        }
        if (!isHealthy(p)) break;
      }
    }
    this.writeStatefulSetStatus(sts, updateRevision);
  }

  private createStatefulPod(sts: KObject, ordinal: number, revision: string): KObject {
    const ns = sts.metadata.namespace as string;
    const name = `${sts.metadata.name}-${ordinal}`;
    const claimVolumes = (sts.spec.volumeClaimTemplates ?? []).map((t: KObject) => {
      const claim = `${t.metadata.name}-${sts.metadata.name}-${ordinal}`;
      this.kubelet.ensurePvc(ns, claim, t, sts.spec.selector?.matchLabels ?? {});
      return { name: t.metadata.name, persistentVolumeClaim: { claimName: claim } };
    });
    const templateVolumes = (sts.spec.template?.spec?.volumes ?? []).filter(
      (v: { name: string }) => !claimVolumes.some((c: { name: string }) => c.name === v.name),
    );
    const pod = this.newPod(
      sts,
      name,
      {
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': name,
        'apps.kubernetes.io/pod-index': String(ordinal),
      },
      { hostname: name, subdomain: sts.spec.serviceName, volumes: [...templateVolumes, ...claimVolumes] },
    );
    return this.store.create(PODS, pod);
  }

  private writeStatefulSetStatus(sts: KObject, updateRevision: string): void {
    const pods = this.store.list(PODS, sts.metadata.namespace).filter((p) => ownedBy(p, sts.metadata.uid));
    const replicas: number = sts.spec.replicas ?? 1;
    const updated = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === updateRevision && !isTerminating(p));
    const ready = pods.filter((p) => isPodReady(p) && !isTerminating(p)).length;
    let currentRevision: string = sts.status?.currentRevision ?? updateRevision;
    if (updated.length === replicas && pods.length === replicas) currentRevision = updateRevision;
    const status = {
      observedGeneration: sts.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision).length,
      updatedReplicas: updated.length,
      currentRevision,
      updateRevision,
      collisionCount: 0,
      availableReplicas: ready,
    };
    this.store.mutate(STS, sts.metadata.namespace, sts.metadata.name, (o) => {
      o.status = status;
    }, true);
  }

  // --- Deployment ----------------------------------------------------------------------------------

  private reconcileDeployment(ns: string, name: string): void {
    const dep = this.store.peek(DEPLOY, ns, name);
    if (!dep) return;
    const replicas: number = dep.spec.replicas ?? 1;
    const hash = templateHash(dep.spec.template);
    const newRsName = `${name}-${hash}`;
    let newRs = this.store.peek(RS, ns, newRsName);
    if (!newRs) {
      const labels = { ...(dep.spec.template?.metadata?.labels ?? {}), 'pod-template-hash': hash };
      newRs = this.store.create(RS, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: newRsName, namespace: ns, labels, ownerReferences: [ownerRef(dep)] },
        spec: {
          replicas: 0,
          selector: { matchLabels: { ...(dep.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
          template: { ...clone(dep.spec.template), metadata: { ...clone(dep.spec.template?.metadata ?? {}), labels } },
        },
        status: { replicas: 0 },
      });
    }
    const allRs = this.store.list(RS, ns).filter((r) => ownedBy(r, dep.metadata.uid));
    const podsOf = (rs: KObject) => this.store.list(PODS, ns).filter((p) => ownedBy(p, rs.metadata.uid));
    const newPods = podsOf(newRs).filter((p) => !isTerminating(p));
    const oldPods = allRs.filter((r) => r.metadata.name !== newRsName).flatMap(podsOf);
    const oldActive = oldPods.filter((p) => !isTerminating(p));
    const createPod = () => {
      const pod = this.newPod(newRs as KObject, `${newRsName}-${randomSuffix(5)}`, { 'pod-template-hash': hash }, {});
      newPods.push(this.store.create(PODS, pod));
    };

    if ((dep.spec.strategy?.type ?? 'RollingUpdate') === 'Recreate') {
      for (const p of oldActive) this.kubelet.deletePod(ns, p.metadata.name);
      if (oldPods.length === 0) while (newPods.length < replicas) createPod();
    } else {
      let maxSurge = scaled(dep.spec.strategy?.rollingUpdate?.maxSurge, replicas, true);
      const maxUnavailable = scaled(dep.spec.strategy?.rollingUpdate?.maxUnavailable, replicas, false);
      if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1;
      let room = replicas + maxSurge - (newPods.length + oldActive.length);
      while (newPods.length < replicas && room-- > 0) createPod();
      // Unhealthy old pods go first; then old pods while enough Ready pods remain.
      const minAvailable = replicas - maxUnavailable;
      let readyCount = [...newPods, ...oldActive].filter(isPodReady).length;
      const ordered = [...oldActive].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)));
      for (const p of ordered) {
        if (!isPodReady(p)) {
          this.kubelet.deletePod(ns, p.metadata.name);
        } else if (readyCount - 1 >= minAvailable || replicas === 0) {
          this.kubelet.deletePod(ns, p.metadata.name);
          readyCount--;
        }
      }
    }
    // Scale down the new ReplicaSet when it has too many pods (not-ready ones first).
    const surplus = newPods.length - replicas;
    if (surplus > 0) {
      const victims = [...newPods].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b))).slice(0, surplus);
      for (const p of victims) this.kubelet.deletePod(ns, p.metadata.name);
    }
    this.writeDeploymentStatus(dep, allRs, newRsName);
  }

  private writeDeploymentStatus(dep: KObject, allRs: KObject[], newRsName: string): void {
    const ns = dep.metadata.namespace as string;
    let total = 0;
    let ready = 0;
    let updated = 0;
    for (const rs of allRs) {
      const pods = this.store.list(PODS, ns).filter((p) => ownedBy(p, rs.metadata.uid) && !isTerminating(p));
      const r = pods.filter(isPodReady).length;
      total += pods.length;
      ready += r;
      if (rs.metadata.name === newRsName) updated = pods.length;
      const isNew = rs.metadata.name === newRsName;
      this.store.mutate(RS, ns, rs.metadata.name, (o) => {
        o.spec.replicas = isNew ? (dep.spec.replicas ?? 1) : pods.length;
      });
      this.store.mutate(RS, ns, rs.metadata.name, (o) => {
        o.status = { replicas: pods.length, fullyLabeledReplicas: pods.length, readyReplicas: r, availableReplicas: r, observedGeneration: o.metadata.generation };
      }, true);
    }
    const replicas: number = dep.spec.replicas ?? 1;
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const available = ready >= replicas - scaled(dep.spec.strategy?.rollingUpdate?.maxUnavailable, replicas, false);
    this.store.mutate(DEPLOY, ns, dep.metadata.name, (o) => {
      const prev: any[] = o.status?.conditions ?? [];
      const cond = (type: string, ok: boolean, reason: string, message: string) => {
        const old = prev.find((c) => c.type === type);
        const status = ok ? 'True' : 'False';
        const same = old && old.status === status && old.reason === reason;
        return { type, status, lastUpdateTime: same ? old.lastUpdateTime : t, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : t, reason, message };
      };
      o.status = {
        observedGeneration: o.metadata.generation,
        replicas: total,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: ready,
        ...(total - ready > 0 ? { unavailableReplicas: total - ready } : {}),
        conditions: [
          cond('Available', available, available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
          cond('Progressing', true, updated === replicas && ready === total ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', `ReplicaSet "${newRsName}" is progressing.`),
        ],
      };
      if (o.status.readyReplicas === 0) delete o.status.readyReplicas;
      if (o.status.availableReplicas === 0) delete o.status.availableReplicas;
    }, true);
  }

  /** Selector string of a workload (for the Scale subresource). */
  static selectorString(obj: KObject): string {
    return selectorFromLabels(obj.spec?.selector?.matchLabels ?? {});
  }
}
