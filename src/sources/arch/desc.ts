/**
 * pacman's database text format, shared by the sync databases (`NAME-VER/desc`, `depends`) and the
 * local one (`var/lib/pacman/local/NAME-VER/desc`, `files`): a `%KEY%` line, its values one a line,
 * an empty line. Parsing keeps the order of keys; formatting writes what it is given in that order.
 */
import { ReproError } from '../../model/errors.js';

export type DescFields = Map<string, string[]>;

export function parseDesc(text: string, where: string): DescFields {
  const out: DescFields = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') continue;
    const m = /^%([A-Z0-9_]+)%$/.exec(line);
    if (!m) throw new ReproError('E_BAD_INPUT', `${where}: line ${i + 1}: expected a %KEY% line, found ${JSON.stringify(line.slice(0, 60))}`);
    const values: string[] = [];
    while (i + 1 < lines.length && lines[i + 1]!.replace(/\r$/, '') !== '') values.push(lines[++i]!.replace(/\r$/, ''));
    const key = m[1]!;
    // A key stated twice (old databases split desc and depends) adds to the first (in place: a
    // key stated many times costs its values once, not once per statement).
    const had = out.get(key);
    if (had) for (const v of values) had.push(v);
    else out.set(key, values);
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
