/**
 * `JSON.stringify(value, null, 2)` in pieces: the same characters, made and handed over a block
 * at a time, for reports too big to hold as one string beside their data (an audit's `--json` of
 * 300,000 packages is 86 MB; of 900,000 entries, 283 MB). The outer `depth` levels of plain
 * objects and arrays are walked here, one member or item at a time; anything below them (and any
 * other value: a `toJSON`, a boxed primitive) is `JSON.stringify`'d whole and indented to its
 * place, which is exact because a JSON text has no line break but between its tokens. Pure.
 */

/** Blocks of about this many characters. */
const BLOCK = 1 << 16;
/** Items of a list not walked, stringified together. */
const BATCH = 256;

const isPlain = (v: unknown): v is Record<string, unknown> | unknown[] => {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
};

/** What JSON.stringify leaves out of an object and writes as `null` in an array. */
const skipped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

const pads: string[] = [];
const pad = (level: number): string => (pads[level] ??= ' '.repeat(2 * level));

function* pieces(v: unknown, level: number, depth: number): Generator<string> {
  if (level < depth && isPlain(v)) {
    if (Array.isArray(v)) {
      if (v.length === 0) {
        yield '[]';
        return;
      }
      yield '[';
      if (level + 1 >= depth) {
        // Items not walked: a batch at a time, nested in `level` arrays so that JSON.stringify
        // indents them to their place; the wrappers' brackets are cut off (a slice, not a copy).
        for (let i = 0; i < v.length; i += BATCH) {
          let wrapped: unknown = v.slice(i, i + BATCH);
          let head = 0;
          let tail = 0;
          for (let k = level; k > 0; k--) wrapped = [wrapped];
          for (let k = 0; k <= level; k++) {
            head += pad(k).length + 2;
            tail += pad(k).length + 2;
          }
          const text = JSON.stringify(wrapped, null, 2);
          yield i === 0 ? '\n' : ',\n';
          yield text.slice(head, text.length - tail);
        }
        yield `\n${pad(level)}]`;
        return;
      }
      for (let i = 0; i < v.length; i++) {
        yield `${i === 0 ? '\n' : ',\n'}${pad(level + 1)}`;
        const item: unknown = v[i];
        if (skipped(item)) yield 'null';
        else yield* pieces(item, level + 1, depth);
      }
      yield `\n${pad(level)}]`;
      return;
    }
    let first = true;
    for (const key of Object.keys(v)) {
      const member = v[key];
      if (skipped(member)) continue;
      yield `${first ? '{\n' : ',\n'}${pad(level + 1)}${JSON.stringify(key)}: `;
      first = false;
      yield* pieces(member, level + 1, depth);
    }
    yield first ? '{}' : `\n${pad(level)}}`;
    return;
  }
  const s = JSON.stringify(v, null, 2) as string | undefined;
  if (s === undefined) return;
  yield level === 0 || !s.includes('\n') ? s : s.replaceAll('\n', `\n${pad(level)}`);
}

/**
 * The text of `JSON.stringify(value, null, 2)` as blocks of about 64 Ki characters, their
 * concatenation equal to it (nothing for a value JSON.stringify makes undefined; a list's items
 * not walked go 256 at a time, so a block may be bigger); the outer
 * `depth` levels (default 2: a report's members and the items of its lists) are walked piece by piece.
 */
export function* prettyJsonBlocks(value: unknown, depth = 2): Generator<string> {
  let parts: string[] = [];
  let chars = 0;
  for (const p of pieces(value, 0, depth)) {
    if (p.length >= BLOCK) {
      // A piece as big as a block goes as it is, after what came before it.
      if (parts.length > 0) yield parts.join('');
      parts = [];
      chars = 0;
      yield p;
      continue;
    }
    parts.push(p);
    chars += p.length;
    if (chars >= BLOCK) {
      yield parts.join('');
      parts = [];
      chars = 0;
    }
  }
  if (parts.length > 0) yield parts.join('');
}
