// One list of the vCluster Secrets in scope (`<name>-certs` and `vc-config-<name>` both carry
// app=vcluster) instead of two GETs per vCluster: what makes a fleet check cheap.
import type { Kube } from './client.js';
import { apiStatusCode } from './client.js';
import type { V1Secret } from './k8s.js';

export class SecretIndex {
  private constructor(private readonly byKey: Map<string, V1Secret> | null) {}

  /** Lists once; without list rights the index is empty and callers fall back to GETs. */
  static async load(kube: Kube, scope: { namespace: string; allNamespaces?: boolean }): Promise<SecretIndex> {
    const labelSelector = 'app=vcluster';
    try {
      const list = scope.allNamespaces
        ? await kube.call('list vCluster secrets in all namespaces', () => kube.core.listSecretForAllNamespaces({ labelSelector }, kube.opts))
        : await kube.call(`list vCluster secrets in namespace ${scope.namespace}`, () => kube.core.listNamespacedSecret({ namespace: scope.namespace, labelSelector }, kube.opts));
      return new SecretIndex(new Map(list.items.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s])));
    } catch (err) {
      if (apiStatusCode(err) === 403) return new SecretIndex(null);
      throw err;
    }
  }

  static empty(): SecretIndex {
    return new SecretIndex(null);
  }

  /** Every listed Secret (none without list rights). */
  all(): IterableIterator<V1Secret> {
    return (this.byKey ?? new Map<string, V1Secret>()).values();
  }

  /** The listed Secret, or undefined when it must be fetched by name (not listed, or no list rights). */
  get(namespace: string, name: string): V1Secret | undefined {
    return this.byKey?.get(`${namespace}/${name}`);
  }
}
