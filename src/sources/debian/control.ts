/**
 * deb822 control data (Packages, Release, a package's control file, dpkg's status): paragraphs
 * separated by blank lines, `Field: value` with continuation lines that start with a space or tab.
 * Field order and exact values are kept, since the dpkg database reproduces them. Pure.
 *
 * The text is scanned in place (`indexOf`, offsets), never split into lines: a value is a slice
 * of the text (its continuation lines included, when they are written one after the other with LF
 * ends), so an input of ten million short lines costs its paragraphs, not ten million strings
 * (a 30 MB copyright file of one-character continuation lines took 850 MB).
 */
import { ReproError } from '../../model/errors.js';

export interface Paragraph {
  /** Fields in file order; names as written. */
  fields: Array<[string, string]>;
  /** 1-based line of the paragraph's first field, for messages. */
  line: number;
}

/** String.prototype.trim's white space (WhiteSpace and LineTerminator). */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * Calls `visit` with each paragraph in file order, as soon as it ends; `visit` returning false
 * stops the scan (nothing after is read, nor checked). With `wanted` (lower-case field names),
 * only those fields are kept in the paragraphs (the others are checked, not kept: a paragraph of
 * two million fields costs nothing then). Throws as `parseParagraphs` does.
 */
export function eachParagraph(text: string, where: string, visit: (p: Paragraph) => boolean | void, wanted?: ReadonlySet<string>): void {
  let cur: Paragraph | undefined;
  // The field being read: its name, its first line's value (trimmed: [headStart, headEnd)), the
  // offset of the LF that ends its first line, and its continuation lines [contStart, contEnd)
  // (from the LF before the first to the end of the last, without its CR); `clean` when comment
  // lines or CRs lie in between and must be taken out.
  let name: string | undefined;
  let headStart = 0;
  let headEnd = 0;
  let headLf = -1;
  let contStart = -1;
  let contEnd = -1;
  let clean = false;
  let keep = true;
  const close = (): void => {
    if (name === undefined) return;
    if (!keep) {
      name = undefined;
      return;
    }
    let value: string;
    if (contStart < 0) value = text.slice(headStart, headEnd);
    else {
      // The first line ends at its LF (no trailing space or CR) and nothing needs taking out: one slice.
      if (!clean && headEnd === headLf && contStart === headLf) value = text.slice(headStart, contEnd);
      else {
        let rest = text.slice(contStart, contEnd);
        if (clean) rest = rest.replace(/\n#[^\n]*/g, '').replace(/\r(?=\n)/g, '');
        value = text.slice(headStart, headEnd) + rest;
      }
    }
    cur!.fields.push([name, value]);
    name = undefined;
  };
  const end = (): boolean => {
    close();
    const p = cur;
    cur = undefined;
    return p === undefined || visit(p) !== false;
  };
  let n = 0;
  for (let start = 0; start <= text.length; ) {
    n++;
    let lf = text.indexOf('\n', start);
    if (lf < 0) lf = text.length;
    const next = lf + 1;
    const e = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf; // without its CR
    const first = start < e ? text.charCodeAt(start) : -1;
    let blank = true;
    for (let i = start; i < e; i++) {
      if (!isSpace(text.charCodeAt(i))) {
        blank = false;
        break;
      }
    }
    if (blank) {
      if (!end()) return;
    } else if (first === 35 /* # */) {
      if (contStart >= 0) clean = true;
    } else if (first === 32 || first === 9) {
      if (name === undefined) throw new ReproError('E_BAD_INPUT', `${where}:${n}: continuation line outside a field`);
      if (contStart < 0) contStart = start - 1;
      else if (contEnd !== start - 1) clean = true; // a CR or a comment line in between
      contEnd = e;
    } else {
      const colon = text.indexOf(':', start);
      if (colon <= start || colon >= e) throw new ReproError('E_BAD_INPUT', `${where}:${n}: not a "Field: value" line`);
      close();
      if (!cur) cur = { fields: [], line: n };
      name = text.slice(start, colon);
      keep = wanted === undefined || wanted.has(name.toLowerCase());
      headStart = colon + 1;
      headEnd = e;
      while (headStart < headEnd && isSpace(text.charCodeAt(headStart))) headStart++;
      while (headEnd > headStart && isSpace(text.charCodeAt(headEnd - 1))) headEnd--;
      headLf = lf;
      contStart = -1;
      contEnd = -1;
      clean = false;
    }
    start = next;
  }
  end();
}

export function parseParagraphs(text: string, where: string): Paragraph[] {
  const out: Paragraph[] = [];
  eachParagraph(text, where, (p) => {
    out.push(p);
  });
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
