// Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for without -o.
// Columns follow the real apiserver's printers for the resources a vCluster tool shows.

import type { KObject } from './store.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description?: string;
}

/** Kubernetes' duration.HumanDuration, shortened to what tables need. */
export function humanAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** The STATUS column of `kubectl get pods` (printPod's reason logic). */
export function podStatusReason(pod: KObject): string {
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  for (const cs of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podRow(pod: KObject): unknown[] {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  const total = (pod.spec?.containers ?? []).length;
  const ready = statuses.filter((s) => s.ready).length;
  const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
  const lastFinished = statuses.map((s) => s.lastState?.terminated?.finishedAt).filter(Boolean).sort().pop();
  const restartText = lastFinished && restarts > 0 ? `${restarts} (${humanAge(lastFinished)} ago)` : String(restarts);
  return [pod.metadata.name, `${ready}/${total}`, podStatusReason(pod), restartText, humanAge(pod.metadata.creationTimestamp),
    pod.status?.podIP ?? '<none>', pod.spec?.nodeName ?? '<none>', '<none>', '<none>'];
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const AGE: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

const PRINTERS: Record<string, { columns: Column[]; row: (o: KObject) => unknown[] }> = {
  Pod: {
    columns: [NAME, { name: 'Ready', type: 'string' }, { name: 'Status', type: 'string' }, { name: 'Restarts', type: 'string' }, AGE,
      { name: 'IP', type: 'string', priority: 1 }, { name: 'Node', type: 'string', priority: 1 },
      { name: 'Nominated Node', type: 'string', priority: 1 }, { name: 'Readiness Gates', type: 'string', priority: 1 }],
    row: podRow,
  },
  StatefulSet: {
    columns: [NAME, { name: 'Ready', type: 'string' }, AGE, { name: 'Containers', type: 'string', priority: 1 }, { name: 'Images', type: 'string', priority: 1 }],
    row: (o) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`, humanAge(o.metadata.creationTimestamp),
      (o.spec?.template?.spec?.containers ?? []).map((c: any) => c.name).join(','), (o.spec?.template?.spec?.containers ?? []).map((c: any) => c.image).join(',')],
  },
  Deployment: {
    columns: [NAME, { name: 'Ready', type: 'string' }, { name: 'Up-to-date', type: 'integer' }, { name: 'Available', type: 'integer' }, AGE],
    row: (o) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, humanAge(o.metadata.creationTimestamp)],
  },
  ReplicaSet: {
    columns: [NAME, { name: 'Desired', type: 'integer' }, { name: 'Current', type: 'integer' }, { name: 'Ready', type: 'integer' }, AGE],
    row: (o) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, humanAge(o.metadata.creationTimestamp)],
  },
  Secret: {
    columns: [NAME, { name: 'Type', type: 'string' }, { name: 'Data', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, humanAge(o.metadata.creationTimestamp)],
  },
  Service: {
    columns: [NAME, { name: 'Type', type: 'string' }, { name: 'Cluster-IP', type: 'string' }, { name: 'External-IP', type: 'string' }, { name: 'Port(s)', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP ?? '<none>', '<none>',
      (o.spec?.ports ?? []).map((p: any) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>', humanAge(o.metadata.creationTimestamp)],
  },
  PersistentVolumeClaim: {
    columns: [NAME, { name: 'Status', type: 'string' }, { name: 'Volume', type: 'string' }, { name: 'Capacity', type: 'string' }, { name: 'Access Modes', type: 'string' }, { name: 'StorageClass', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, o.status?.phase ?? 'Pending', o.spec?.volumeName ?? '', o.status?.capacity?.storage ?? '', (o.status?.accessModes ?? []).map((m: string) => (m === 'ReadWriteOnce' ? 'RWO' : m)).join(','), o.spec?.storageClassName ?? '', humanAge(o.metadata.creationTimestamp)],
  },
  Namespace: {
    columns: [NAME, { name: 'Status', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, o.status?.phase ?? 'Active', humanAge(o.metadata.creationTimestamp)],
  },
  Lease: {
    columns: [NAME, { name: 'Holder', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, o.spec?.holderIdentity ?? '', humanAge(o.metadata.creationTimestamp)],
  },
};

function partialMetadata(o: KObject): object {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(kind: string, objects: KObject[], resourceVersion: string, includeObject: string | null): object {
  const printer = PRINTERS[kind] ?? { columns: [NAME, AGE], row: (o: KObject) => [o.metadata.name, humanAge(o.metadata.creationTimestamp)] };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: printer.columns.map((c) => ({ description: '', priority: 0, format: '', ...c })),
    rows: objects.map((o) => ({
      cells: printer.row(o),
      object: includeObject === 'Object' ? o : includeObject === 'None' ? undefined : partialMetadata(o),
    })),
  };
}
