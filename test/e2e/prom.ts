// Judges Prometheus text exposition with tools that are not ours: the npm parser
// parse-prometheus-text-format (prom2json's output shape) and Prometheus' own `promtool check metrics`.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

export interface PromSample {
  labels: Record<string, string>;
  value: string;
}

export interface PromFamily {
  name: string;
  help: string;
  type: string;
  metrics: PromSample[];
}

const parser = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

/** Families by name, as the parser read them (it throws on a line it cannot read). */
export function parseExposition(text: string): Map<string, PromFamily> {
  return new Map(parser(text).map((f) => [f.name, f]));
}

/** `promtool check metrics` on `text`: problems it printed (lint and parse errors), empty when clean. */
export function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', (e) => reject(new Error(`promtool is missing (Debian package prometheus; .ci/run installs it): ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}

/** The one sample of `family` whose labels include `match`. */
export function sample(families: Map<string, PromFamily>, family: string, match: Record<string, string>): PromSample | undefined {
  return families.get(family)?.metrics.find((m) => Object.entries(match).every(([k, v]) => m.labels[k] === v));
}
