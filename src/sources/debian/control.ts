/**
 * deb822 control data (Packages, Release, a package's control file, dpkg's status): paragraphs
 * separated by blank lines, `Field: value` with continuation lines that start with a space or tab.
 * Field order and exact values are kept, since the dpkg database reproduces them. Pure.
 */
import { ReproError } from '../../model/errors.js';

export interface Paragraph {
  /** Fields in file order; names as written. */
  fields: Array<[string, string]>;
  /** 1-based line of the paragraph's first field, for messages. */
  line: number;
}

export function parseParagraphs(text: string, where: string): Paragraph[] {
  const out: Paragraph[] = [];
  let cur: Paragraph | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      cur = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = cur?.fields.at(-1);
      if (!last) throw new ReproError('E_BAD_INPUT', `${where}:${n + 1}: continuation line outside a field`);
      last[1] += `\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ReproError('E_BAD_INPUT', `${where}:${n + 1}: not a "Field: value" line`);
    if (!cur) {
      cur = { fields: [], line: n + 1 };
      out.push(cur);
    }
    cur.fields.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return out;
}

/** A field's value (field names are case-insensitive), or undefined. */
export function field(p: Paragraph, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of p.fields) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Renders a paragraph as deb822 text; a value that starts with a newline has no first line. */
export function formatParagraph(fields: Array<[string, string]>): string {
  return fields.map(([k, v]) => (v.startsWith('\n') ? `${k}:${v}\n` : `${k}: ${v}\n`)).join('');
}
