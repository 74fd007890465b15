// Asks the API server what the caller may do (SelfSubjectAccessReview), so a
// rotation stops before it starts instead of half-way through for lack of RBAC.
import type { Kube } from './client.js';

export interface Permission {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  name?: string;
}

export function describePermission(p: Permission): string {
  const res = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
  return `${p.verb} ${p.group ? `${res}.${p.group}` : res}`;
}

/** Returns the permissions the caller lacks in `namespace` (empty when all are allowed). */
export async function missingPermissions(kube: Kube, namespace: string, wanted: Permission[]): Promise<Permission[]> {
  const answers = await Promise.all(wanted.map((p) =>
    kube.call(`ask the API server whether you may ${describePermission(p)}`, () =>
      kube.authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace, verb: p.verb, resource: p.resource, subresource: p.subresource, group: p.group ?? '', name: p.name } },
        },
      }, kube.opts))));
  return wanted.filter((_, i) => !answers[i]?.status?.allowed);
}
