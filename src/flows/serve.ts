// serve: a Prometheus exporter. The check runs on its own interval, never per scrape (a scrape
// must stay cheap however many vClusters there are); a scrape gets the last good result of every
// context and namespace with its age. A failed check is counted and logged, never fatal.
import { createServer, type Server } from 'node:http';
import type { Kube } from '../kube/client.js';
import { renderExporterMetrics, renderPrometheus, type ContextState, type MetricStyle } from '../output/prometheus.js';
import type { VClusterReport } from './check.js';
import { runCheckContexts, type ContextsOptions } from './check-contexts.js';
import { defaultThreads, startInspectPool, type InspectPool } from './inspect-pool.js';
import { collectGarbage } from './heap.js';

export interface ExporterOptions {
  contexts: string[];
  /** namespaces checked one by one (per-namespace RBAC); undefined: the check's own scope */
  namespaces?: string[];
  connect: (context: string) => Promise<Kube>;
  check: ContextsOptions;
  intervalMs: number;
  style: MetricStyle;
  log: (line: string) => void;
}

const NONE: never[] = [];
Object.freeze(NONE);

/**
 * What the metrics read of a report, and nothing else: the exporter keeps a whole fleet's result
 * between checks, and the rows' names, fingerprints and findings are not labels.
 */
export function forMetrics(r: VClusterReport): VClusterReport {
  return {
    ...r,
    warnings: NONE,
    drift: r.drift.length ? r.drift : NONE,
    certificates: r.certificates.map((c) => ({
      filename: c.filename, block: c.block, subject: c.subject, issuer: c.issuer, expiryTime: c.expiryTime, notBefore: c.notBefore,
      status: c.status, daysLeft: c.daysLeft, isCA: c.isCA, keyType: c.keyType, serial: c.serial,
      dnsNames: NONE, ipAddresses: NONE, sha256: '', problems: NONE,
    })),
  };
}

interface Served {
  reports: VClusterReport[];
  at: Date;
}

export class Exporter {
  /** last good result per context and namespace */
  private readonly served = new Map<string, Served>();
  private contextStates: ContextState[] = [];
  private last?: { finishedAt: Date; durationMs: number };
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** one client per context, kept between checks (its connections too); dropped when its check fails */
  private readonly kubes = new Map<string, Promise<Kube>>();
  /** started with the first check, closed by stop() */
  private pool?: Promise<InspectPool>;
  checks = 0;
  errors = 0;

  constructor(private readonly opts: ExporterOptions) {}

  /** Ready once every context has been checked successfully at least once. */
  get ready(): boolean {
    return this.opts.contexts.every((c) => [...this.served.keys()].some((k) => k.startsWith(`${c}\0`)));
  }

  /** One check of every context (and namespace); what succeeds replaces what was served. */
  async runOnce(): Promise<void> {
    const started = Date.now();
    const failed = new Map<string, string>();
    try {
      for (const namespace of this.opts.namespaces ?? [undefined]) {
        this.pool ??= startInspectPool(this.opts.check.threads ?? defaultThreads());
        this.pool.catch(() => {});
        const fleet = await runCheckContexts(this.opts.contexts, (context) => this.kube(context), { ...this.opts.check, namespace }, this.pool);
        for (const c of fleet.contexts) {
          if (c.error !== undefined) {
            failed.set(c.name, c.error);
            // The next check reads the kubeconfig again: fixed credentials or a new address count.
            this.kubes.delete(c.name);
            continue;
          }
          this.served.set(`${c.name}\0${namespace ?? ''}`, { reports: fleet.reports.filter((r) => r.context === c.name).map(forMetrics), at: fleet.finishedAt });
        }
      }
      this.contextStates = this.opts.contexts.map((name) => (failed.has(name) ? { name, error: failed.get(name) } : { name }));
    } catch (err) {
      failed.set('', err instanceof Error ? err.message.split('\n')[0]! : String(err));
    }
    this.checks++;
    if (failed.size) {
      this.errors++;
      for (const [context, error] of failed) this.opts.log(`check failed${context ? ` for context ${context}` : ''}: ${error}; serving the last good result`);
    }
    this.last = { finishedAt: new Date(), durationMs: Date.now() - started };
    this.rendered = undefined;
    // The previous result and this check's lists are garbage: give the memory back before the wait.
    collectGarbage();
  }

  private kube(context: string): Promise<Kube> {
    let k = this.kubes.get(context);
    if (!k) {
      k = this.opts.connect(context);
      this.kubes.set(context, k);
      k.catch(() => this.kubes.delete(context));
    }
    return k;
  }

  /** Checks now, then every interval after the previous check ended (checks never overlap). */
  start(): void {
    const loop = async () => {
      this.running = this.runOnce();
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.opts.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.pool?.then((p) => p.close()).catch(() => {});
  }

  /** The exposition of what is served, made once per check: a scrape only adds the exporter's own families. */
  private rendered?: string;

  metrics(now = new Date()): string {
    const lastSuccess = new Map<string, Date>();
    for (const [key, s] of this.served) {
      const context = key.slice(0, key.indexOf('\0'));
      const prev = lastSuccess.get(context);
      if (!prev || s.at < prev) lastSuccess.set(context, s.at); // the oldest part of what is served
    }
    const served = () => renderPrometheus({
      reports: [...this.served.values()].flatMap((s) => s.reports),
      finishedAt: this.last?.finishedAt ?? now,
      durationMs: this.last?.durationMs ?? 0,
      contexts: this.contextStates.length ? this.contextStates : this.opts.contexts.map((name) => ({ name })),
    }, this.opts.style);
    // Before the first check there is nothing to keep: its time is the scrape's.
    const body = this.last ? (this.rendered ??= served()) : served();
    return body + renderExporterMetrics({ checks: this.checks, errors: this.errors, lastSuccess, now });
  }
}

/** /metrics, /healthz (the process answers) and /readyz (a result is there to serve). */
export function exporterServer(exporter: Exporter): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(exporter.metrics());
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = exporter.ready;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok\n' : 'no check has succeeded yet\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
}
