/**
 * pacman's database text format, shared by the sync databases (`NAME-VER/desc`, `depends`) and the
 * local one (`var/lib/pacman/local/NAME-VER/desc`, `files`): a `%KEY%` line, its values one a line,
 * an empty line. Parsing keeps the order of keys; formatting writes what it is given in that order.
 */
import { ReproError } from '../../model/errors.js';

export type DescFields = Map<string, string[]>;

/**
 * Which keys a reader wants: `first` keeps the first value only (as libalpm reads %DESC%, %URL%…:
 * the lines after it are skipped), `all` every value; a key not named is skipped whole.
 */
export type DescKeys = ReadonlyMap<string, 'first' | 'all'>;

/**
 * The text is scanned in place (`indexOf`), never split into lines: a value is a slice of it.
 * With `keys`, only those keys are kept, so a 60 MB %DESC% of short lines costs no array of
 * millions of strings (it cost 1.4 GB).
 */
export function parseDesc(text: string, where: string, keys?: DescKeys): DescFields {
  const out: DescFields = new Map();
  let n = 0;
  let start = 0;
  /** The next line without its CR (`line`), or undefined at the end of the text. */
  let line: string | undefined;
  const next = (): string | undefined => {
    if (start > text.length) return (line = undefined);
    n++;
    let lf = text.indexOf('\n', start);
    if (lf < 0) lf = text.length;
    const e = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
    line = text.slice(start, e);
    start = lf + 1;
    return line;
  };
  while (next() !== undefined) {
    if (line === '') continue;
    const m = /^%([A-Z0-9_]+)%$/.exec(line!);
    if (!m) throw new ReproError('E_BAD_INPUT', `${where}: line ${n}: expected a %KEY% line, found ${JSON.stringify(line!.slice(0, 60))}`);
    const key = m[1]!;
    // A key stated twice (old databases split desc and depends) adds to the first (in place: a
    // key stated many times costs its values once, not once per statement).
    const wanted = keys === undefined ? 'all' : keys.get(key);
    let values = out.get(key);
    if (!values && wanted !== undefined) out.set(key, (values = []));
    while (next() !== undefined && line !== '') if (wanted === 'all' || (wanted === 'first' && values!.length === 0)) values!.push(line!);
  }
  return out;
}

/** One value of a key, or undefined when the key is missing (an empty value is ''). */
export function descValue(d: DescFields, key: string): string | undefined {
  const v = d.get(key);
  return v === undefined ? undefined : (v[0] ?? '');
}

/** `%KEY%\nvalue…\n\n` for each section, in the order given. */
export function formatDesc(sections: Array<[string, string[]]>): string {
  return sections.map(([k, v]) => `%${k}%\n${v.map((x) => `${x}\n`).join('')}\n`).join('');
}
