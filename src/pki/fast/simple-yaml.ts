// The YAML layout kubeconfig writers use (client-go's clientcmd, kubeadm, vCluster), read without
// js-yaml. Pure, no I/O.
//
// Replaces: js-yaml's load for the three kubeconfigs of every vCluster. js-yaml walks them
//   character by character, and in a fresh process (worker threads included) that code is not
//   optimized yet. This reader accepts only a small, exactly specified subset (below), line by
//   line with one regular expression, and gives what js-yaml's load(text, { json: true }) gives.
// Fallback: it returns undefined for anything outside the subset, which then goes to js-yaml
//   (kubeconfig.ts); everything goes there when the fast paths are off (switch.ts).
// Oracle test: test/pki/simple-yaml.test.ts (generated documents, compared with js-yaml).
//
// The subset:
//   - lines end in \n; empty lines are skipped; no tabs, no comments, no '---';
//   - every line is `KEY:` or `KEY: VALUE`, optionally after `- ` (a sequence item that is a
//     mapping), indented with spaces; KEY is a letter, then letters, digits, '_' or '-';
//   - VALUE is `{}`, `[]` or a plain string: a letter, then letters, digits and + / = . _ @ : -,
//     not ending in ':' and not one of the words the YAML core schema reads as a boolean or null;
//   - `KEY:` alone holds a more indented mapping, a sequence (its `- ` at the key's indent or
//     deeper), or nothing (null).

type Mapping = Record<string, unknown>;

interface Line {
  /** column of the `- ` (dash lines) or of the key */
  indent: number;
  dash: boolean;
  /** column of the key */
  col: number;
  key: string;
  value: string | undefined;
}

// One pass per line checks the value's characters too (the base64 lines are 2 KB long).
const LINE_RE = /^( *)(- )?([A-Za-z][A-Za-z0-9_-]*):(?: ([A-Za-z][A-Za-z0-9+/=._@:-]*|\{\}|\[\]))?$/;
/** Plain scalars starting with a letter that the core schema does not read as strings. */
const NOT_STRINGS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL']);

class Unsupported extends Error {}

/** A value LINE_RE let through: `{}`, `[]`, or a plain string (its characters already checked). */
function valueOf(v: string): unknown {
  if (v === '{}') return {};
  if (v === '[]') return [];
  if (v.endsWith(':') || (v.length <= 5 && NOT_STRINGS.has(v))) throw new Unsupported();
  return v;
}

function readLines(text: string): Line[] | undefined {
  if (text.includes('\r') || text.includes('\t')) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const m = LINE_RE.exec(raw);
    if (!m) return undefined;
    const indent = m[1]!.length;
    const dash = m[2] !== undefined;
    lines.push({ indent, dash, col: dash ? indent + 2 : indent, key: m[3]!, value: m[4] });
  }
  return lines;
}

class Reader {
  i = 0;
  constructor(private readonly lines: Line[]) {}

  /** The mapping whose keys are at column `col`; `item`: it is a sequence item, begun by a dash line. */
  mapping(col: number, item: boolean): Mapping {
    const out: Mapping = {};
    for (let first = true; this.i < this.lines.length; first = false) {
      const l = this.lines[this.i]!;
      if (l.col < col) break;
      if (l.col > col) throw new Unsupported();
      if (l.dash !== (item && first)) {
        if (l.dash && !first) break; // the next item of the sequence this mapping is in
        throw new Unsupported();
      }
      this.i++;
      out[l.key] = l.value !== undefined ? valueOf(l.value) : this.nested(col);
    }
    return out;
  }

  /** What a `KEY:` at column `col` holds. */
  private nested(col: number): unknown {
    const next = this.lines[this.i];
    if (next && next.dash && next.indent >= col) return this.sequence(next.indent);
    if (next && !next.dash && next.col > col) return this.mapping(next.col, false);
    return null;
  }

  private sequence(indent: number): Mapping[] {
    const out: Mapping[] = [];
    for (let l = this.lines[this.i]; l && l.dash && l.indent === indent; l = this.lines[this.i]) {
      out.push(this.mapping(indent + 2, true));
    }
    return out;
  }
}

/** The document as js-yaml's load(text, { json: true }) reads it, or undefined when it is not in the subset. */
export function readSimpleYaml(text: string): Mapping | undefined {
  const lines = readLines(text);
  if (!lines || lines.length === 0) return undefined;
  const r = new Reader(lines);
  try {
    const doc = r.mapping(0, false);
    return r.i === lines.length ? doc : undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
