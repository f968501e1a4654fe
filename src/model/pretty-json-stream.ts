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
 * concatenation equal to it (nothing for a value JSON.stringify makes undefined); the outer
 * `depth` levels (default 2: a report's members and the items of its lists) are walked piece by piece.
 */
export function* prettyJsonBlocks(value: unknown, depth = 2): Generator<string> {
  let parts: string[] = [];
  let chars = 0;
  for (const p of pieces(value, 0, depth)) {
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
