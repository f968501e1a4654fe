/**
 * The exec form's JSON, read as imagebuilder reads it: `json.NewDecoder(r).Decode(&[]interface{})`.
 * That decodes the FIRST JSON value and ignores whatever follows it (`CMD ["a"] junk` is exec form
 * `["a"]`), follows RFC 8259 strictly (no single quotes, no trailing commas, no raw control
 * characters in strings), refuses nesting deeper than 10000, turns an escaped lone surrogate into
 * U+FFFD, and reports a number that does not fit a float64 as an error (after reading the whole
 * value). Written as an iterative scanner: no recursion, linear time.
 */

export type GoJsonArrayResult =
  | { readonly ok: true; readonly values: readonly unknown[] }
  | { readonly ok: false };

const MAX_DEPTH = 10000;

class Fail extends Error {}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Decodes the JSON array at the start of `s` (after JSON white space), or reports failure. */
export function decodeFirstJsonArray(s: string): GoJsonArrayResult {
  let i = 0;
  let typeError = false;

  const skipWs = (): void => {
    while (i < s.length && isWs(s.charCodeAt(i))) i++;
  };

  const hex4 = (at: number): number => {
    const h = s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new Fail();
    return parseInt(h, 16);
  };

  const readString = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= s.length) throw new Fail();
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) throw new Fail();
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(start, i);
      const e = s[i + 1];
      switch (e) {
        case '"': out += '"'; i += 2; break;
        case '\\': out += '\\'; i += 2; break;
        case '/': out += '/'; i += 2; break;
        case 'b': out += '\b'; i += 2; break;
        case 'f': out += '\f'; i += 2; break;
        case 'n': out += '\n'; i += 2; break;
        case 'r': out += '\r'; i += 2; break;
        case 't': out += '\t'; i += 2; break;
        case 'u': {
          const u = hex4(i + 2);
          i += 6;
          if (u >= 0xd800 && u <= 0xdbff && s[i] === '\\' && s[i + 1] === 'u') {
            // Go pairs a high surrogate only with an immediately following low one.
            let lo = -1;
            try { lo = hex4(i + 2); } catch { lo = -1; }
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              out += String.fromCharCode(u, lo);
              i += 6;
              break;
            }
          }
          out += u >= 0xd800 && u <= 0xdfff ? '\ufffd' : String.fromCharCode(u);
          break;
        }
        default:
          throw new Fail();
      }
      start = i;
    }
  };

  const readNumber = (): number => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(s.slice(i, i + 4096));
    if (!m || m[0].length === 0 || m[0] === '-') throw new Fail();
    // A number running past 4096 characters is legal JSON but no Containerfile needs it.
    if (m[0].length === 4096) throw new Fail();
    i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) typeError = true; // Go: UnmarshalTypeError, reported after the value
    return n;
  };

  const readLiteral = (): unknown => {
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (s.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    throw new Fail();
  };

  try {
    skipWs();
    if (s[i] !== '[') return { ok: false };
    // Containers under construction; the top one receives each finished value.
    type Frame = { kind: 'array'; items: unknown[] } | { kind: 'object'; obj: Record<string, unknown>; key: string | null };
    const stack: Frame[] = [];
    let result: unknown[] | undefined;

    const push = (value: unknown): void => {
      const top = stack[stack.length - 1]!;
      if (top.kind === 'array') top.items.push(value);
      else { top.obj[top.key!] = value; top.key = null; }
    };

    // Parse values with an explicit stack. `expectValue` is true where a value must come next.
    i++;
    stack.push({ kind: 'array', items: [] });
    let expectValue = true;
    let first = true;
    while (stack.length > 0) {
      skipWs();
      const top = stack[stack.length - 1]!;
      const c = s[i];
      if (c === undefined) throw new Fail();
      if (expectValue) {
        if (first && ((top.kind === 'array' && c === ']') || (top.kind === 'object' && c === '}'))) {
          // empty container: fall through to the close handling below
        } else {
          if (top.kind === 'object' && top.key === null) {
            if (c !== '"') throw new Fail();
            top.key = readString();
            skipWs();
            if (s[i] !== ':') throw new Fail();
            i++;
            skipWs();
          }
          const v = s[i];
          if (v === '[' || v === '{') {
            if (stack.length >= MAX_DEPTH) throw new Fail();
            i++;
            stack.push(v === '[' ? { kind: 'array', items: [] } : { kind: 'object', obj: {}, key: null });
            first = true;
            continue;
          }
          if (v === '"') push(readString());
          else if (v === '-' || (v !== undefined && v >= '0' && v <= '9')) push(readNumber());
          else push(readLiteral());
          expectValue = false;
          first = false;
          continue;
        }
      }
      // After a value (or in an empty container): a separator or the close.
      const close = top.kind === 'array' ? ']' : '}';
      if (c === ',' && !first) {
        i++;
        expectValue = true;
        continue;
      }
      if (c !== close) throw new Fail();
      i++;
      stack.pop();
      const done = top.kind === 'array' ? top.items : top.obj;
      if (stack.length === 0) result = done as unknown[];
      else push(done);
      expectValue = false;
      first = false;
    }
    if (typeError || result === undefined) return { ok: false };
    return { ok: true, values: result };
  } catch (e) {
    if (e instanceof Fail) return { ok: false };
    throw e;
  }
}
