/**
 * Licenses from a Debian machine-readable copyright file (copyright-format 1.0, "DEP-5"): the
 * first line of every `License:` field, Debian's short names turned into SPDX identifiers
 * (`GPL-2+` → `GPL-2.0-or-later`, `Expat` → `MIT`, …), `or`/`and` into OR/AND by the format's
 * precedence (`and` before `or`, unless after a comma); a name without
 * an SPDX counterpart becomes a `LicenseRef-`. A copyright file in any other form records no
 * license that can be read (the SBOM says NOASSERTION). One that declares more than
 * `MAX_LICENSES` distinct licenses, or a License line longer than `MAX_LICENSE_LINE`, is not read
 * further: NOASSERTION with a note saying why. Pure.
 */
import { LicenseCollector, MAX_LICENSE_LINE, licenseTerm, termItem, type LicenseItem, type LicenseRecords } from '../licenses.js';
import { eachParagraph, field } from './control.js';

const FORMAT = /^https?:\/\/(www\.)?debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/?$/;

/**
 * Debian short names (copyright-format 1.0, "License specification") → SPDX identifiers, keyed in
 * lower case: "License names are case-insensitive" (ibid., "Syntax"), so `expat` and `EXPAT` are
 * `Expat`. A short name that is an SPDX identifier as it stands (`ISC`, `Zlib`, `MPL-2.0`) needs
 * no entry: `licenseTerm` recognises the whole SPDX License List in any case, and SPDX's `+`
 * after any of them (`Apache-2.0+`, "or any later version": it was mapped to `Apache-2.0`).
 */
const SHORT: ReadonlyMap<string, string> = new Map(Object.entries({
  'public-domain': 'LicenseRef-public-domain', Expat: 'MIT', Artistic: 'Artistic-1.0', 'Artistic-1': 'Artistic-1.0', Perl: 'Artistic-1.0-Perl',
  'BSD-2-clause': 'BSD-2-Clause', 'BSD-3-clause': 'BSD-3-Clause', 'BSD-4-clause': 'BSD-4-Clause', 'BSD-1-clause': 'BSD-1-Clause',
  'Apache-2': 'Apache-2.0', 'MPL-2': 'MPL-2.0', 'CC0': 'CC0-1.0', 'PSF-2': 'PSF-2.0',
}).map(([k, v]) => [k.toLowerCase(), v]));

/** `GPL-2`, `GPL-2+`, `LGPL-2.1+`, `GFDL-1.3` and their SPDX forms. */
function gnu(name: string): string | undefined {
  const m = /^(A?GPL|LGPL|GFDL)-(\d)(?:\.(\d))?(\+)?$/i.exec(name);
  if (!m) return undefined;
  const family = m[1]!.toUpperCase();
  const version = `${m[2]}.${m[3] ?? '0'}`;
  return `${family}-${version}-${m[4] ? 'or-later' : 'only'}`;
}

function term(name: string): { expression: string; ref?: { id: string; name: string } } {
  const n = name.trim();
  const mapped = SHORT.get(n.toLowerCase()) ?? gnu(n);
  return licenseTerm(mapped ?? n);
}

/**
 * copyright-format 1.0, "Syntax": "the comma is used to disambiguate the priority of ors and
 * ands: and has the priority over or, unless preceded by a comma" (`A or B and C` is A OR (B AND
 * C), `A or B, and C` is (A OR B) AND C). So four levels, loosest first: `, or`, `, and`, `or`,
 * `and` (matched in any case, as before). The format has no parentheses. Each separator is tried
 * only where a run of white space (or a comma) starts: a long run of spaces costs its length,
 * not its length squared.
 */
const LEVELS: ReadonlyArray<{ op: 'AND' | 'OR'; split: RegExp }> = [
  { op: 'OR', split: /,\s+or\s+/i }, { op: 'AND', split: /,\s+and\s+/i },
  { op: 'OR', split: /(?<!\s)\s+or\s+/i }, { op: 'AND', split: /(?<!\s)\s+and\s+/i },
];

/** A line's expression: a term's expression, or an operator over its operands. */
type Node = string | { op: 'AND' | 'OR'; operands: Node[] };

/** `part` read from `level` down (each level splits on its separator, or passes the part down whole), its references added to `refs`. */
function build(part: string, level: number, refs: Array<[string, string]>): Node | undefined {
  if (level === LEVELS.length) {
    // `with … exception` has no portable SPDX form here: the whole term is kept as one name, as before.
    const name = part.replace(/,$/, '').trim();
    if (name === '') return undefined;
    const t = term(name);
    if (t.ref) refs.push([t.ref.id, t.ref.name]);
    return t.expression;
  }
  const { op, split } = LEVELS[level]!;
  const pieces = part.split(split);
  if (pieces.length === 1) return build(part, level + 1, refs);
  const operands = pieces.map((p) => build(p, level + 1, refs)).filter((n): n is Node => n !== undefined);
  return operands.length === 0 ? undefined : operands.length === 1 ? operands[0] : { op, operands };
}

/** The operands of `node` under `op`: a nested operator of the same kind merged (`A and B, and C` is A AND B AND C). */
function flat(node: Node, op: 'AND' | 'OR'): Node[] {
  return typeof node !== 'string' && node.op === op ? node.operands.flatMap((n) => flat(n, op)) : [node];
}

/**
 * `node` as an item, written as Debian's lines have been: the operands of each operator each once
 * and sorted, an OR under an AND in parentheses, and no other.
 */
function write(node: Node): LicenseItem {
  if (typeof node === 'string') return termItem(node);
  const operands = new Map<string, LicenseItem>();
  for (const n of flat(node, node.op)) {
    const w = write(n);
    operands.set(node.op === 'AND' && w.or ? `(${w.expression})` : w.expression, w);
  }
  if (operands.size === 1) return [...operands.values()][0]!;
  const texts = [...operands.keys()].sort();
  return { expression: texts.join(` ${node.op} `), or: node.op === 'OR', terms: [...operands.values()].flatMap((w) => w.terms) };
}

/** One `License:` first line as the package's items: each operand of an outermost `and` one item (as before), else the line one item. */
function parseLine(line: string, refs: Array<[string, string]>): LicenseItem[] {
  const root = build(line, 0, refs);
  if (root === undefined) return [];
  return typeof root !== 'string' && root.op === 'AND' ? flat(root, 'AND').map(write) : [write(root)];
}

/**
 * `parseLine` remembered per line (it is pure): an image's copyright files repeat a few lines
 * (`GPL-2+`, `Artistic or GPL-1+`) hundreds of times. At most `LINES_KEPT` lines are kept, each
 * at most `LINE_KEPT_LENGTH` characters: the cache outlives the image, and a hostile image's
 * long distinct lines (50 of 2 MB: 2 GB of parsed terms) were kept for the life of the process.
 */
const parsedLines = new Map<string, { items: readonly LicenseItem[]; refs: ReadonlyArray<[string, string]> }>();
const LINES_KEPT = 10_000;
const LINE_KEPT_LENGTH = 256;

function parseLineOnce(line: string, refs: Array<[string, string]>): readonly LicenseItem[] {
  if (line.length > LINE_KEPT_LENGTH) return parseLine(line, refs);
  let hit = parsedLines.get(line);
  if (!hit) {
    const own: Array<[string, string]> = [];
    hit = { items: parseLine(line, own), refs: own };
    if (parsedLines.size < LINES_KEPT) parsedLines.set(line, hit);
  }
  for (const pair of hit.refs) refs.push(pair);
  return hit.items;
}

/** The fields read (the others are checked as deb822, not kept). */
const COPYRIGHT_FIELDS: ReadonlySet<string> = new Set(['format', 'files', 'license']);

/**
 * The licenses a copyright file declares (an expression and its references), or why it gives
 * none though machine-readable (`note`), or undefined when it is not machine-readable. The file
 * is scanned paragraph by paragraph, none kept: its memory is its licenses.
 */
export function copyrightLicenses(text: string, where: string): LicenseRecords | undefined {
  // No `Format:` line, no machine-readable header: most files are free-form text, told apart
  // here without a parse that fails (an error made, and thrown, per file).
  if (!/^format:/im.test(text)) return undefined;
  const licenses = new LicenseCollector(where);
  let readable: boolean | undefined; // the header paragraph's verdict
  try {
    eachParagraph(text, where, (p) => {
      if (readable === undefined) {
        const format = field(p, 'Format');
        readable = format !== undefined && FORMAT.test(format.trim());
        return readable;
      }
      if (field(p, 'Files') === undefined) return true; // stand-alone License paragraphs only hold texts
      const license = field(p, 'License');
      if (license === undefined) return true;
      // The first line only (not a split of the whole license text that follows it).
      const nl = license.indexOf('\n');
      const first = (nl < 0 ? license : license.slice(0, nl)).trim();
      if (first === '') return true;
      if (first.length > MAX_LICENSE_LINE) return licenses.refuse(`line ${p.line}: a License line of ${first.length} characters, more than ${MAX_LICENSE_LINE}`);
      // Every (id, name) pair of the line, not one name per id: two names of one id are the collector's to see.
      const refs: Array<[string, string]> = [];
      // One by one: a line of a thousand `and`s is a thousand items, past what a spread may pass.
      for (const item of parseLineOnce(first, refs)) if (!licenses.add(item)) return false;
      licenses.use(refs);
      return true;
    }, COPYRIGHT_FIELDS);
  } catch {
    return undefined; // free-form text
  }
  if (readable !== true) return undefined;
  const out = licenses.result();
  return out.expression === undefined && out.note === undefined ? undefined : out;
}
