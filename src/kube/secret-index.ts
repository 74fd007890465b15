// One list of the vCluster Secrets in scope (`<name>-certs` and `vc-config-<name>` both carry
// app=vcluster) instead of two GETs per vCluster: what makes a fleet check cheap.
import type { Kube } from './client.js';
import { apiStatusCode } from './client.js';
import type { V1Secret } from './k8s.js';

/** One chunk of the list. */
export interface SecretPage {
  items: V1Secret[];
  continue?: string;
}

/**
 * The continue token of a list answer, read from its head without parsing the items: kube-apiserver
 * writes kind, apiVersion and metadata before items. null when the head does not look like that
 * (then the caller waits for the whole chunk to be parsed).
 */
export function continueToken(body: Buffer): string | undefined | null {
  const head = body.subarray(0, 4096).toString('latin1');
  const at = head.indexOf('"items":');
  if (at < 0 || head[at - 1] !== ',') return null;
  try {
    const meta = (JSON.parse(`${head.slice(0, at - 1)}}`) as { metadata?: { continue?: unknown } }).metadata;
    if (typeof meta !== 'object' || meta === null) return null;
    return typeof meta.continue === 'string' && meta.continue ? meta.continue : undefined;
  } catch {
    return null;
  }
}

/** Secrets per list request by default (`check --chunk-size`). */
export const CHUNK_SIZE = 100;

export class SecretIndex {
  private constructor(private readonly byKey: Map<string, V1Secret> | null) {}

  /**
   * Lists in chunks (like kubectl's --chunk-size, smaller by default: a vCluster's Secrets are
   * ~70 KiB each; 0 = one request). `readPage` parses a chunk's bytes instead of the default
   * JSON.parse (a fleet check hands them to a worker thread). A continue token that expired (410:
   * the list changed meanwhile) restarts the list once, whole. Without list rights the index is empty and
   * callers fall back to GETs.
   */
  static async load(
    kube: Kube,
    scope: { namespace: string; allNamespaces?: boolean },
    opts: { chunkSize?: number; readPage?: (body: Buffer, what: string) => Promise<SecretPage> } = {},
  ): Promise<SecretIndex> {
    const { readPage } = opts;
    const limit = (opts.chunkSize ?? CHUNK_SIZE) || undefined;
    const labelSelector = 'app=vcluster';
    const where = scope.allNamespaces ? 'in all namespaces' : `in namespace ${scope.namespace}`;
    // As JSON: the Secrets are read for their names and data only (see Kube.listJson).
    const what = `list vCluster secrets ${where}`;
    const request = (chunk?: number, cont?: string) => (o: Kube['opts']) =>
      scope.allNamespaces
        ? kube.core.listSecretForAllNamespaces({ labelSelector, limit: chunk, _continue: cont }, o)
        : kube.core.listNamespacedSecret({ namespace: scope.namespace, labelSelector, limit: chunk, _continue: cont }, o);
    // A chunk read elsewhere (readPage) may name the next one in its first bytes: that one is then
    // asked for while this one is still being read.
    const listPage = async (chunk?: number, cont?: string): Promise<{ next: string | undefined | null; page: Promise<SecretPage> }> => {
      if (!readPage) return { next: null, page: Promise.resolve(await kube.listJson<V1Secret>(what, request(chunk, cont))) };
      const body = await kube.listBody(what, request(chunk, cont));
      const next = continueToken(body); // before readPage, which may hand the bytes over
      return { next, page: readPage(body, what) };
    };
    const byKey = new Map<string, V1Secret>();
    const add = (items: V1Secret[]) => {
      for (const s of items) byKey.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
    };
    try {
      // The next chunk is asked for before this one is added.
      let next: ReturnType<typeof listPage> | undefined = listPage(limit);
      let continued = false;
      while (next) {
        let list: SecretPage;
        let early: string | undefined | null;
        try {
          const got = await next;
          early = got.next;
          if (early !== null) {
            next = early ? listPage(limit, early) : undefined;
            next?.catch(() => {}); // awaited on the next turn of the loop
          }
          list = await got.page;
        } catch (err) {
          if (!continued || apiStatusCode(err) !== 410) throw err;
          // The list changed between chunks: read it whole, at one revision.
          byKey.clear();
          add(await (await listPage()).page.then((p) => p.items));
          break;
        }
        if (early === null) {
          next = list.continue ? listPage(limit, list.continue) : undefined;
          next?.catch(() => {});
        } else if ((list.continue || '') !== (early || '')) {
          throw new Error(`the continue token read ahead (${early}) is not the list's (${list.continue})`);
        }
        continued = true;
        add(list.items);
      }
      return new SecretIndex(byKey);
    } catch (err) {
      if (apiStatusCode(err) === 403) return new SecretIndex(null);
      throw err;
    }
  }

  static empty(): SecretIndex {
    return new SecretIndex(null);
  }

  /** The listed Secret, or undefined when it must be fetched by name (not listed, or no list rights). */
  get(namespace: string, name: string): V1Secret | undefined {
    return this.byKey?.get(`${namespace}/${name}`);
  }
}
