// The host objects the vCluster Helm chart creates (reference §1): the control-plane StatefulSet or
// Deployment, Services, ServiceAccount, the `vc-config-<name>` secret, optionally the deployed etcd
// StatefulSet, and the `<name>-certs` secret when a PKI is given.

import { createHash } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import type { KObject } from './store.js';
import { filesToSecretData } from './certmap.js';

export interface VClusterOptions {
  name: string;
  namespace: string;
  kind?: 'StatefulSet' | 'Deployment';
  replicas?: number;
  /** PVC `data` (StatefulSet volumeClaimTemplates) instead of an emptyDir; default true for a StatefulSet */
  persistence?: boolean;
  /** chart / syncer version, default 0.30.0 */
  version?: string;
  /** full syncer image, overrides ghcr.io/loft-sh/vcluster-pro:<version> */
  image?: string;
  /** initial PKI (files relative to /data/pki); becomes the `<name>-certs` secret */
  pki?: Map<string, Buffer>;
  /** false: put `pki` only onto each replica's PVC (/data/pki), no secret (the syncer creates it) */
  createSecret?: boolean;
  deployedEtcd?: boolean;
  /** members of the deployed etcd StatefulSet (default 1) */
  etcdReplicas?: number;
  /** update strategy of the deployed etcd StatefulSet (default RollingUpdate, as the chart leaves it) */
  etcdUpdateStrategy?: 'RollingUpdate' | 'OnDelete';
  /** start-up renewal on/off regardless of the version (default: the version decides, reference §0) */
  startupRenewal?: boolean;
  /** run vCluster's periodic cert watcher with this period, for versions that have it (default: off) */
  certWatchIntervalMs?: number;
  /** false: a syncer that does not rewrite the vc-<name> kubeconfig Secret on start (default: it does) */
  writeKubeconfigSecret?: boolean;
  distro?: 'k8s' | 'k3s' | 'k0s';
  /** paused as `vcluster pause` leaves it: replicas 0 + loft.sh/paused annotations */
  paused?: boolean;
  updateStrategy?: 'RollingUpdate' | 'OnDelete';
  podManagementPolicy?: 'Parallel' | 'OrderedReady';
}

export interface ChartObjects {
  workload: KObject;
  objects: KObject[];
}

function chartLabels(name: string, version: string): Record<string, string> {
  return { app: 'vcluster', chart: `vcluster-${version}`, release: name, heritage: 'Helm' };
}

function helmAnnotations(name: string, ns: string): Record<string, string> {
  return { 'meta.helm.sh/release-name': name, 'meta.helm.sh/release-namespace': ns };
}

/** The helm values of `vc-config-<name>` (config.yaml), as far as a certificate tool reads them. */
function configYaml(o: Required<Pick<VClusterOptions, 'name' | 'replicas' | 'distro' | 'deployedEtcd' | 'persistence' | 'etcdReplicas'>>): string {
  return toYaml({
    controlPlane: {
      distro: { k8s: { enabled: o.distro === 'k8s' }, k3s: { enabled: o.distro === 'k3s' }, k0s: { enabled: o.distro === 'k0s' } },
      backingStore: o.deployedEtcd
        ? { etcd: { deploy: { enabled: true, statefulSet: { highAvailability: { replicas: o.etcdReplicas } } } } }
        : { database: { embedded: { enabled: true } } },
      statefulSet: {
        highAvailability: { replicas: o.replicas },
        persistence: { volumeClaim: { enabled: o.persistence ? 'auto' : false } },
      },
    },
    networking: { advanced: { clusterDomain: 'cluster.local' } },
  });
}

export function chartObjects(opts: VClusterOptions): ChartObjects {
  const { name, namespace: ns } = opts;
  const kind = opts.kind ?? 'StatefulSet';
  const version = opts.version ?? '0.30.0';
  const replicas = opts.replicas ?? 1;
  const persistence = opts.persistence ?? kind === 'StatefulSet';
  const distro = opts.distro ?? 'k8s';
  const deployedEtcd = opts.deployedEtcd ?? false;
  if (kind === 'Deployment' && persistence) {
    throw new Error('the vCluster chart uses a Deployment only without persistence: pass persistence: false or kind StatefulSet');
  }
  const labels = chartLabels(name, version);
  const config = configYaml({ name, replicas, distro, deployedEtcd, persistence, etcdReplicas: opts.etcdReplicas ?? 1 });
  const configHash = createHash('sha256').update(config).digest('hex');
  const selector = { matchLabels: { app: 'vcluster', release: name } };
  const image = opts.image ?? `ghcr.io/loft-sh/vcluster-pro:${version}`;
  const volumes = persistence ? [] : [{ name: 'data', emptyDir: {} }];
  const template = {
    metadata: { labels: { app: 'vcluster', release: name }, annotations: { vClusterConfigHash: configHash } },
    spec: {
      terminationGracePeriodSeconds: 10,
      serviceAccountName: `vc-${name}`,
      containers: [
        {
          name: 'syncer',
          image,
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'https', containerPort: 8443, protocol: 'TCP' }],
          env: [
            { name: 'VCLUSTER_NAME', value: name },
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
          ],
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'vcluster-config', mountPath: '/var/lib/vcluster' },
          ],
        },
      ],
      volumes: [...volumes, { name: 'vcluster-config', secret: { secretName: `vc-config-${name}`, defaultMode: 420 } }],
    },
  };
  const pausedAnnotations: Record<string, string> = opts.paused
    ? { 'loft.sh/paused': 'true', 'loft.sh/paused-replicas': String(replicas), 'loft.sh/paused-date': new Date().toISOString() }
    : {};
  const meta = { name, namespace: ns, labels, annotations: { ...helmAnnotations(name, ns), ...pausedAnnotations } };
  const workload: KObject =
    kind === 'StatefulSet'
      ? {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: meta,
          spec: {
            replicas: opts.paused ? 0 : replicas,
            selector,
            serviceName: `${name}-headless`,
            podManagementPolicy: opts.podManagementPolicy ?? 'Parallel',
            updateStrategy: opts.updateStrategy === 'OnDelete' ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
            revisionHistoryLimit: 10,
            template,
            ...(persistence
              ? {
                  volumeClaimTemplates: [
                    {
                      apiVersion: 'v1',
                      kind: 'PersistentVolumeClaim',
                      metadata: { name: 'data' },
                      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } }, volumeMode: 'Filesystem' },
                    },
                  ],
                }
              : {}),
          },
        }
      : {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: meta,
          spec: {
            replicas: opts.paused ? 0 : replicas,
            selector,
            strategy: opts.updateStrategy === 'OnDelete'
              ? { type: 'Recreate' }
              : { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
            revisionHistoryLimit: 10,
            template,
          },
        };

  const objects: KObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: `vc-${name}`, namespace: ns, labels, annotations: helmAnnotations(name, ns) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `vc-config-${name}`, namespace: ns, labels, annotations: helmAnnotations(name, ns) },
      type: 'Opaque',
      data: { 'config.yaml': Buffer.from(config).toString('base64') },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels: { ...labels, 'vcluster.loft.sh/service': 'true' }, annotations: helmAnnotations(name, ns) },
      spec: {
        type: 'ClusterIP',
        ports: [
          { name: 'https', port: 443, targetPort: 8443, nodePort: undefined, protocol: 'TCP' },
          { name: 'kubelet', port: 10250, targetPort: 8443, protocol: 'TCP' },
        ],
        selector: { app: 'vcluster', release: name },
      },
    },
  ];
  if (kind === 'StatefulSet') {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${name}-headless`, namespace: ns, labels, annotations: helmAnnotations(name, ns) },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }],
        selector: { app: 'vcluster', release: name },
      },
    });
  }
  if (deployedEtcd) objects.push(...etcdObjects(name, ns, version, opts.etcdReplicas ?? 1, opts.etcdUpdateStrategy ?? 'RollingUpdate'));
  objects.push(workload);
  return { workload, objects };
}

function etcdObjects(name: string, ns: string, version: string, replicas: number, strategy: 'RollingUpdate' | 'OnDelete'): KObject[] {
  const labels = { app: 'vcluster-etcd', chart: `vcluster-${version}`, release: name, heritage: 'Helm' };
  const selector = { matchLabels: { app: 'vcluster-etcd', release: name } };
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${name}-etcd-headless`, namespace: ns, labels },
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'etcd', port: 2379, targetPort: 2379, protocol: 'TCP' }, { name: 'peer', port: 2380, targetPort: 2380, protocol: 'TCP' }], selector: selector.matchLabels },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: `${name}-etcd`, namespace: ns, labels, annotations: helmAnnotations(name, ns) },
      spec: {
        replicas,
        selector,
        serviceName: `${name}-etcd-headless`,
        podManagementPolicy: 'Parallel',
        updateStrategy: strategy === 'OnDelete' ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
        template: {
          metadata: { labels: { app: 'vcluster-etcd', release: name } },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'etcd',
                image: 'registry.k8s.io/etcd:3.5.21-0',
                command: ['etcd', '--cert-file=/run/config/pki/etcd-server.crt', '--key-file=/run/config/pki/etcd-server.key',
                  '--trusted-ca-file=/run/config/pki/etcd-ca.crt', '--peer-cert-file=/run/config/pki/etcd-peer.crt',
                  '--peer-key-file=/run/config/pki/etcd-peer.key', '--peer-trusted-ca-file=/run/config/pki/etcd-ca.crt'],
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }, { name: 'certs', mountPath: '/run/config/pki', readOnly: true }],
              },
            ],
            volumes: [{ name: 'certs', secret: { secretName: `${name}-certs`, defaultMode: 420 } }],
          },
        },
        volumeClaimTemplates: [
          { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } },
        ],
      },
    },
  ];
}

/** The `<name>-certs` secret as the syncer writes it (labels, Opaque, owner = Service `<name>`). */
export function certsSecret(name: string, ns: string, pki: Map<string, Buffer>, serviceUid?: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${name}-certs`,
      namespace: ns,
      labels: { app: 'vcluster', 'vcluster-name': name },
      ...(serviceUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: serviceUid }] } : {}),
    },
    type: 'Opaque',
    data: filesToSecretData(pki),
  };
}
