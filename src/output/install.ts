// The manifests of `install`: the tool running in the host cluster with read-only rights, as an
// exporter (Deployment + Service, scraped by Prometheus) or as a scheduled check (CronJob).
import type { MetricStyle } from './prometheus.js';

export type InstallMode = 'exporter' | 'cronjob';

export interface InstallOptions {
  mode: InstallMode;
  image: string;
  namespace: string;
  /** per-namespace Roles for these; undefined: one ClusterRole for every namespace */
  watchNamespaces?: string[];
  interval: string;
  schedule: string;
  warnWithin: string;
  style: MetricStyle;
  serviceMonitor: boolean;
  prometheusRule: boolean;
  /** the exporter's result is stale after this long (a few intervals) */
  staleAfterSeconds: number;
}

export const APP = 'vcluster-certs';
export const METRICS_PORT = 9101;

type Manifest = Record<string, unknown>;

const labels = { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/component': '' };

function meta(name: string, namespace: string | undefined, component: string): Manifest {
  return { name, ...(namespace ? { namespace } : {}), labels: { ...labels, 'app.kubernetes.io/component': component } };
}

/** Read-only: what a Secret-only check lists and reads (vCluster workloads, their pods, the certs Secrets). */
export const READ_RULES = [
  { apiGroups: [''], resources: ['secrets', 'pods'], verbs: ['get', 'list'] },
  { apiGroups: ['apps'], resources: ['statefulsets', 'deployments'], verbs: ['get', 'list'] },
];

function rbac(o: InstallOptions): Manifest[] {
  const subject = { kind: 'ServiceAccount', name: APP, namespace: o.namespace };
  if (!o.watchNamespaces) {
    return [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(`${APP}-reader`, undefined, 'rbac'), rules: READ_RULES },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta(`${APP}-reader`, undefined, 'rbac'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${APP}-reader` }, subjects: [subject],
      },
    ];
  }
  return o.watchNamespaces.flatMap((ns) => [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(`${APP}-reader`, ns, 'rbac'), rules: READ_RULES },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(`${APP}-reader`, ns, 'rbac'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${APP}-reader` }, subjects: [subject],
    },
  ]);
}

/** The check reads the Secrets only: no exec rights are granted. */
function checkArgs(o: InstallOptions): string[] {
  return ['--source', 'secret', '--warn-within', o.warnWithin];
}

function container(o: InstallOptions, args: string[]): Manifest {
  return {
    name: APP,
    image: o.image,
    args,
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  };
}

const podSecurity = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } };

function exporter(o: InstallOptions): Manifest[] {
  const component = 'exporter';
  const selector = { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/component': component };
  // A multi-namespace serve checks each namespace on its own, matching the per-namespace Roles.
  const scope = o.watchNamespaces ? ['-n', o.watchNamespaces.join(',')] : ['-A'];
  const args = ['serve', '--listen', `:${METRICS_PORT}`, '--interval', o.interval, '--metric-style', o.style, ...scope, ...checkArgs(o)];
  const c = {
    ...container(o, args),
    ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 30 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 10 },
  };
  const out: Manifest[] = [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(APP, o.namespace, component),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: { serviceAccountName: APP, automountServiceAccountToken: true, securityContext: podSecurity, containers: [c] },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: meta(APP, o.namespace, component),
      spec: { selector, ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }] },
    },
  ];
  if (o.serviceMonitor) {
    out.push({
      apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: meta(APP, o.namespace, component),
      spec: { selector: { matchLabels: selector }, endpoints: [{ port: 'metrics', interval: '1m' }] },
    });
  }
  return out;
}

/** One CronJob, or one per watched namespace: check takes a single namespace. */
function cronjobs(o: InstallOptions): Manifest[] {
  if (!o.watchNamespaces) return [cronjob(o, APP, ['-A'])];
  return o.watchNamespaces.map((ns) => cronjob(o, `${APP}-${ns}`.slice(0, 52).replace(/-+$/, ''), ['-n', ns]));
}

function cronjob(o: InstallOptions, name: string, scope: string[]): Manifest {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta(name, o.namespace, 'cronjob'),
    spec: {
      schedule: o.schedule,
      // One check at a time: a slow run is never doubled by the next.
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          // Exit 1-3 (attention, broken, could not check) fail the Job: kube-state-metrics' job alerts see it.
          backoffLimit: 0,
          template: {
            metadata: { labels: { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/component': 'cronjob' } },
            spec: {
              serviceAccountName: APP, restartPolicy: 'Never', securityContext: podSecurity,
              containers: [container(o, ['check', ...scope, ...checkArgs(o), '-o', 'json'])],
            },
          },
        },
      },
    },
  };
}

/** The alert rules: 28 and 14 days before expiry (as x509-certificate-exporter's chart), expired, and the checks themselves. */
export function alertGroups(style: MetricStyle, staleAfterSeconds = 3600, days = { warning: 28, critical: 14 }): Manifest[] {
  const notAfter = style === 'x509' ? 'x509_cert_not_after' : 'vcluster_certs_cert_not_after_timestamp_seconds';
  const expired = style === 'x509' ? 'x509_cert_expired' : 'vcluster_certs_cert_expired';
  const where = style === 'x509' ? '{{ $labels.secret_namespace }}/{{ $labels.secret_name }} key {{ $labels.secret_key }}' : '{{ $labels.namespace }}/{{ $labels.vcluster }} file {{ $labels.filename }}';
  const within = (sev: 'warning' | 'critical', d: number, lower?: number) => ({
    alert: sev === 'warning' ? 'VClusterCertificateExpiresSoon' : 'VClusterCertificateExpiresVerySoon',
    expr: `(${notAfter} - time()) < ${d} * 86400${lower !== undefined ? ` and (${notAfter} - time()) >= ${lower} * 86400` : ''}`,
    for: '15m',
    labels: { severity: sev },
    annotations: {
      summary: `A vCluster certificate expires within ${d} days`,
      description: `${where} (CN {{ $labels.subject_CN }}) expires in {{ $value | humanizeDuration }}: run "kubectl vcluster-certs rotate" (or rotate-ca for a CA).`,
    },
  });
  return [{
    name: 'vcluster-certs',
    rules: [
      within('warning', days.warning, days.critical),
      within('critical', days.critical, 0),
      {
        alert: 'VClusterCertificateExpired', expr: `${expired} == 1`, for: '5m', labels: { severity: 'critical' },
        annotations: { summary: 'A vCluster certificate has expired', description: `${where} (CN {{ $labels.subject_CN }}) has expired.` },
      },
      {
        alert: 'VClusterCertificateCheckFailing', expr: 'vcluster_certs_vcluster_check_success == 0', for: '30m', labels: { severity: 'warning' },
        annotations: { summary: 'A vCluster could not be checked', description: 'Run "kubectl vcluster-certs check {{ $labels.vcluster }} -n {{ $labels.namespace }}" to see why.' },
      },
      {
        alert: 'VClusterCertsExporterStale', expr: `max by (context) (vcluster_certs_result_age_seconds) > ${staleAfterSeconds}`, for: '15m', labels: { severity: 'warning' },
        annotations: { summary: 'vcluster-certs serves an old result', description: 'No check of context {{ $labels.context }} has succeeded for {{ $value | humanizeDuration }}; see the exporter\'s log.' },
      },
    ],
  }];
}

export function installManifests(o: InstallOptions): Manifest[] {
  const out: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: { 'app.kubernetes.io/name': APP } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(APP, o.namespace, 'rbac') },
    ...rbac(o),
    ...(o.mode === 'exporter' ? exporter(o) : cronjobs(o)),
  ];
  if (o.prometheusRule) {
    out.push({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: meta(APP, o.namespace, 'alerts'), spec: { groups: alertGroups(o.style, o.staleAfterSeconds) } });
  }
  return out;
}

export async function renderManifests(manifests: Manifest[]): Promise<string> {
  const { stringify } = await import('yaml');
  return manifests.map((m) => stringify(m, { lineWidth: 0, aliasDuplicateObjects: false })).map((doc) => `---\n${doc}`).join('');
}
