// Fault injection for tests, and the request log. Rules are one-shot by default (`times: 1`); pass
// `times: Infinity` for a rule that holds until removed. podNeverReady rules hold until removed.

export interface ApiFault {
  /** get | list | watch | create | update | patch | delete | deletecollection; any when omitted */
  verb?: string;
  /** plural resource ('secrets'); any when omitted */
  resource?: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  /** matches when the request's query has this parameter (e.g. 'continue': a list's later chunks) */
  queryParam?: string;
  /** HTTP status code of the injected Status error */
  status: number;
  message?: string;
  times?: number;
}

export interface ExecFault {
  exec: true;
  namespace?: string;
  pod?: string;
  /** matches when the joined command line contains this text */
  commandIncludes?: string;
  /** close the WebSocket abruptly after this many stdout+stderr bytes went to the client (0 = at once) */
  dropAfterBytes?: number;
  /** close the WebSocket abruptly after this many stdin bytes arrived from the client */
  dropAfterStdinBytes?: number;
  times?: number;
}

export interface PortForwardFault {
  portForward: true;
  namespace?: string;
  pod?: string;
  /** close the WebSocket abruptly after this many bytes went to the client (0 = at once) */
  dropAfterBytes?: number;
  times?: number;
}

export interface PodNeverReadyFault {
  /** `name` is a pod name or the name of the workload (release) whose pods never turn Ready */
  podNeverReady: { namespace: string; name: string };
}

/**
 * A pod that keeps serving what it (or, for a new pod, its vCluster) served before on `port` when it
 * starts: a kube-apiserver (6443) or syncer proxy (8443) that did not pick up the new PKI.
 */
export interface StaleServingFault {
  /** `name` is a pod name or the vCluster (release) name */
  staleServing: { namespace: string; name: string; port: 6443 | 8443 };
}

export type FaultRule = ApiFault | ExecFault | PortForwardFault | PodNeverReadyFault | StaleServingFault;

export interface FaultHandle {
  rule: FaultRule;
  /** how many times the rule fired */
  readonly hits: number;
  remove(): void;
}

interface Entry {
  rule: FaultRule;
  remaining: number;
  hits: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user: string;
  /** HTTP status of the answer (101 for an upgraded exec/port-forward) */
  code: number;
  /** for exec: the command */
  command?: string[];
  time: number;
  /** which TLS connection carried it: requests with the same number shared one connection */
  connection: number;
}

export class Faults {
  private entries: Entry[] = [];

  add(rule: FaultRule): FaultHandle {
    const times = 'podNeverReady' in rule || 'staleServing' in rule ? Infinity : (rule.times ?? 1);
    const entry: Entry = { rule, remaining: times, hits: 0 };
    this.entries.push(entry);
    return {
      rule,
      get hits() {
        return entry.hits;
      },
      remove: () => {
        this.entries = this.entries.filter((e) => e !== entry);
      },
    };
  }

  clear(): void {
    this.entries = [];
  }

  get active(): FaultRule[] {
    return this.entries.map((e) => e.rule);
  }

  private take<T extends FaultRule>(match: (r: FaultRule) => r is T, pred: (r: T) => boolean): T | undefined {
    for (const e of this.entries) {
      if (e.remaining <= 0 || !match(e.rule) || !pred(e.rule)) continue;
      e.remaining--;
      e.hits++;
      if (e.remaining <= 0) this.entries = this.entries.filter((x) => x !== e);
      return e.rule;
    }
    return undefined;
  }

  takeApiFault(a: { verb: string; resource?: string; subresource?: string; name?: string; namespace?: string; query?: URLSearchParams }): ApiFault | undefined {
    return this.take(
      (r): r is ApiFault => 'status' in r,
      (r) =>
        (r.verb === undefined || r.verb === a.verb) &&
        (r.resource === undefined || r.resource === a.resource) &&
        (r.subresource === undefined || r.subresource === a.subresource) &&
        (r.name === undefined || r.name === a.name) &&
        (r.namespace === undefined || r.namespace === a.namespace) &&
        (r.queryParam === undefined || a.query?.has(r.queryParam) === true),
    );
  }

  takeExecFault(namespace: string, pod: string, command: string[]): ExecFault | undefined {
    const line = command.join(' ');
    return this.take(
      (r): r is ExecFault => 'exec' in r,
      (r) =>
        (r.namespace === undefined || r.namespace === namespace) &&
        (r.pod === undefined || r.pod === pod) &&
        (r.commandIncludes === undefined || line.includes(r.commandIncludes)),
    );
  }

  takePortForwardFault(namespace: string, pod: string): PortForwardFault | undefined {
    return this.take(
      (r): r is PortForwardFault => 'portForward' in r,
      (r) => (r.namespace === undefined || r.namespace === namespace) && (r.pod === undefined || r.pod === pod),
    );
  }

  /** True while a staleServing rule names this pod (or its vCluster) and port. Not consumed. */
  staleServing(namespace: string, pod: string, workload: string | undefined, port: number): boolean {
    return this.entries.some((e) => {
      if (!('staleServing' in e.rule)) return false;
      const t = e.rule.staleServing;
      if (t.namespace === namespace && t.port === port && (t.name === pod || t.name === workload)) {
        e.hits++;
        return true;
      }
      return false;
    });
  }

  /** True while a podNeverReady rule names this pod or its workload. Not consumed. */
  podNeverReady(namespace: string, pod: string, workload: string | undefined): boolean {
    return this.entries.some((e) => {
      if (!('podNeverReady' in e.rule)) return false;
      const t = e.rule.podNeverReady;
      return t.namespace === namespace && (t.name === pod || t.name === workload);
    });
  }
}
