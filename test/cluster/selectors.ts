// Label and field selectors as the apiserver parses them (k8s.io/apimachinery/pkg/labels, pkg/fields).

import { badRequest } from './status.js';

type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type Labels = Record<string, string> | undefined;

/** Splits on commas that are not inside `( ... )`. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}" in selector "${selector}"`);
  }
  return value;
}

export function parseLabelSelector(selector: string | null | undefined): LabelRequirement[] {
  if (!selector) return [];
  return splitTopLevel(selector).map((part) => {
    let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (m) {
      const values = m[3].split(',').map((v) => checkValue(v.trim(), selector));
      return { key: checkKey(m[1], selector), op: m[2] as LabelOp, values };
    }
    m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(part);
    if (m) {
      const op: LabelOp = m[2] === '!=' ? '!=' : m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : '=';
      return { key: checkKey(m[1], selector), op, values: [checkValue(m[3].trim(), selector)] };
    }
    m = /^!\s*(\S+)$/.exec(part);
    if (m) return { key: checkKey(m[1], selector), op: '!exists', values: [] };
    if (/^\S+$/.test(part)) return { key: checkKey(part, selector), op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: found '${part}', expected: identifier in selector "${selector}"`);
  });
}

export function matchesLabels(reqs: LabelRequirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
      case 'gt':
        return has && Number(v) > Number(r.values[0]);
      case 'lt':
        return has && Number(v) < Number(r.values[0]);
    }
  });
}

/** Label map -> selector string, `a=b,c=d`. */
export function selectorFromLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

export function parseFieldSelector(selector: string | null | undefined, allowed: readonly string[]): FieldRequirement[] {
  if (!selector) return [];
  return splitTopLevel(selector).map((part) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1].trim();
    if (!allowed.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return { field, negate: m[2] === '!=', value: m[3].trim() };
  });
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export function matchesFields(reqs: FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => {
    const raw = getPath(obj, r.field);
    const v = raw === undefined || raw === null ? '' : String(raw);
    return r.negate ? v !== r.value : v === r.value;
  });
}
