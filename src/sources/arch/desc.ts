/**
 * pacman's database text format, shared by the sync databases (`NAME-VER/desc`, `depends`) and the
 * local one (`var/lib/pacman/local/NAME-VER/desc`, `files`): a `%KEY%` line, its values one a line,
 * an empty line. Parsing keeps the order of keys; formatting writes what it is given in that order.
 */
import { ReproError } from '../../model/errors.js';

export type DescFields = Map<string, string[]>;

/**
 * Which keys a reader wants: `first` keeps the first value only (as libalpm reads %DESC%, %URL%…:
 * the lines after it are skipped), `all` every value, `each` hands every value to the reader's
 * `visit` as it is read and keeps none (the key is then in the result, with no values); a key
 * not named is skipped whole.
 */
export type DescKeys = ReadonlyMap<string, 'first' | 'all' | 'each'>;

/**
 * The text is scanned in place (`indexOf`, offsets), never split into lines: a value is a slice
 * of it, made only for a value that is kept or visited. With `keys`, only those keys are kept, so
 * a 60 MB %DESC% of short lines costs no array of millions of strings (it cost 1.4 GB); a key read
 * `each` (a %DEPENDS% of 30 million lines) costs nothing but what `visit` keeps.
 */
export function parseDesc(text: string, where: string, keys?: DescKeys, visit?: (key: string, value: string) => void): DescFields {
  const out: DescFields = new Map();
  let n = 0;
  // The current line is [s, e): without its LF, and without the CR before it.
  let start = 0;
  let s = 0;
  let e = 0;
  const next = (): boolean => {
    if (start > text.length) return false;
    n++;
    let lf = text.indexOf('\n', start);
    if (lf < 0) lf = text.length;
    s = start;
    e = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
    start = lf + 1;
    return true;
  };
  while (next()) {
    if (s === e) continue;
    const line = text.slice(s, e);
    const m = /^%([A-Z0-9_]+)%$/.exec(line);
    if (!m) throw new ReproError('E_BAD_INPUT', `${where}: line ${n}: expected a %KEY% line, found ${JSON.stringify(line.slice(0, 60))}`);
    const key = m[1]!;
    // A key stated twice (old databases split desc and depends) adds to the first (in place: a
    // key stated many times costs its values once, not once per statement).
    const wanted = keys === undefined ? 'all' : keys.get(key);
    let values = out.get(key);
    if (!values && wanted !== undefined) out.set(key, (values = []));
    while (next() && s !== e) {
      if (wanted === 'all' || (wanted === 'first' && values!.length === 0)) values!.push(text.slice(s, e));
      else if (wanted === 'each') visit?.(key, text.slice(s, e));
    }
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
