// The resource types the simulated API server serves, and the discovery documents built from them
// (legacy /api, /apis, /api/v1, /apis/G/V and the aggregated apidiscovery.k8s.io v2/v2beta1 lists).

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** subresource -> kind served there */
  subresources?: Record<string, { kind: string; verbs: string[]; group?: string; version?: string }>;
  /** field selectors this type supports besides metadata.name / metadata.namespace */
  fields?: string[];
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCE_TYPES: ResourceType[] = [
  {
    group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'],
    subresources: { status: { kind: 'Namespace', verbs: ['get', 'patch', 'update'] } },
    fields: ['status.phase'],
  },
  {
    group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, verbs: CRUD,
    shortNames: ['po'], categories: ['all'],
    subresources: {
      status: { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
      log: { kind: 'Pod', verbs: ['get'] },
      portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
    },
    fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  {
    group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true, verbs: CRUD,
    fields: ['type'],
  },
  {
    group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true,
    verbs: CRUD, shortNames: ['cm'],
  },
  {
    group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', namespaced: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['svc'],
    categories: ['all'], subresources: { status: { kind: 'Service', verbs: ['get', 'patch', 'update'] } },
  },
  {
    group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount',
    namespaced: true, verbs: CRUD, shortNames: ['sa'],
  },
  {
    group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim', namespaced: true, verbs: CRUD, shortNames: ['pvc'],
    subresources: { status: { kind: 'PersistentVolumeClaim', verbs: ['get', 'patch', 'update'] } },
  },
  {
    group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, verbs: CRUD,
    shortNames: ['ev'],
    fields: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type', 'source'],
  },
  {
    group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset',
    namespaced: true, verbs: CRUD, shortNames: ['sts'], categories: ['all'],
    subresources: {
      status: { kind: 'StatefulSet', verbs: ['get', 'patch', 'update'] },
      scale: { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] },
    },
  },
  {
    group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment',
    namespaced: true, verbs: CRUD, shortNames: ['deploy'], categories: ['all'],
    subresources: {
      status: { kind: 'Deployment', verbs: ['get', 'patch', 'update'] },
      scale: { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] },
    },
  },
  {
    group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset',
    namespaced: true, verbs: CRUD, shortNames: ['rs'], categories: ['all'],
    subresources: { status: { kind: 'ReplicaSet', verbs: ['get', 'patch', 'update'] } },
  },
  {
    group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease',
    namespaced: true, verbs: CRUD,
  },
  {
    group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', namespaced: false, verbs: ['create'],
  },
];

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function typeByKind(kind: string): ResourceType {
  const t = RESOURCE_TYPES.find((r) => r.kind === kind);
  if (!t) throw new Error(`unknown kind ${kind}`);
  return t;
}

function groups(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const t of RESOURCE_TYPES) if (t.group) seen.set(t.group, { group: t.group, version: t.version });
  return [...seen.values()];
}

function storageVersionHash(t: ResourceType): string {
  // Any stable 8-byte base64 value works for clients; derive it from the kind.
  return Buffer.from(`${t.group}/${t.kind}`.padEnd(8, '.').slice(0, 8)).toString('base64');
}

/** /api/v1 or /apis/G/V as a metav1.APIResourceList. */
export function apiResourceList(group: string, version: string): object | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: object[] = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      ...(t.categories ? { categories: t.categories } : {}),
      storageVersionHash: storageVersionHash(t),
    });
    for (const [sub, s] of Object.entries(t.subresources ?? {})) {
      resources.push({
        name: `${t.plural}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        ...(s.group ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups().map((g) => {
      const gv = { groupVersion: `${g.group}/${g.version}`, version: g.version };
      return { name: g.group, versions: [gv], preferredVersion: gv };
    }),
  };
}

export function apiGroup(group: string): object | undefined {
  const g = groups().find((x) => x.group === group);
  if (!g) return undefined;
  const gv = { groupVersion: `${g.group}/${g.version}`, version: g.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: g.group, versions: [gv], preferredVersion: gv };
}

/** Aggregated discovery (KEP-3352) for the core group (`/api`) or the named groups (`/apis`). */
export function aggregatedDiscovery(core: boolean, discoveryVersion: 'v2' | 'v2beta1'): object {
  const wanted = core ? [{ group: '', version: 'v1' }] : groups();
  const items = wanted.map((g) => {
    const types = RESOURCE_TYPES.filter((t) => t.group === g.group && t.version === g.version);
    return {
      metadata: { name: g.group, creationTimestamp: null },
      versions: [
        {
          version: g.version,
          freshness: 'Current',
          resources: types.map((t) => ({
            resource: t.plural,
            responseKind: { group: t.group, version: t.version, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: t.verbs,
            ...(t.shortNames ? { shortNames: t.shortNames } : {}),
            ...(t.categories ? { categories: t.categories } : {}),
            ...(t.subresources
              ? {
                  subresources: Object.entries(t.subresources).map(([sub, s]) => ({
                    subresource: sub,
                    responseKind: { group: s.group ?? t.group, version: s.version ?? t.version, kind: s.kind },
                    verbs: s.verbs,
                  })),
                }
              : {}),
          })),
        },
      ],
    };
  });
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${discoveryVersion}`,
    metadata: {},
    items,
  };
}

/**
 * A minimal OpenAPI v3 (discovery document and one spec per group/version): only paths, each PATCH
 * operation tagged with its GVK and the `fieldValidation` parameter. kubectl 1.27+ reads just that to
 * decide it may leave validation to the server, so `kubectl create -f` / `apply -f` work without schemas.
 */
export function openApiV3Discovery(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const t of RESOURCE_TYPES) {
    const gv = t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}` };
  }
  return { paths };
}

export function openApiV3Spec(group: string, version: string): object | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const paths: Record<string, object> = {};
  for (const t of types) {
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const item = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}/{name}` : `${prefix}/${t.plural}/{name}`;
    const collection = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    const params = [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }];
    const op = (id: string) => ({ operationId: `${id}${t.kind}`, 'x-kubernetes-group-version-kind': gvk, parameters: params, responses: {} });
    if (t.verbs.includes('patch')) paths[item] = { patch: op('patch'), put: op('replace') };
    if (t.verbs.includes('create')) paths[collection] = { post: op('create') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (simulated)', version: 'v1.32.4' }, paths, components: { schemas: {} } };
}
