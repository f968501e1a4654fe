/**
 * The bytes Go's `encoding/json` `json.Marshal` writes, for values described in JavaScript.
 *
 * buildah and containers/image write image configs and manifests with `json.Marshal` (compact, no
 * indentation; buildah never calls `MarshalIndent` for them), so reproducing a podman-built image
 * means reproducing these bytes. Go's rules, from `encoding/json/encode.go` (Go >= 1.22):
 *
 * - **Structs** keep their field order: a plain object is written in JavaScript insertion order
 *   (give the keys in the Go struct's field order). A property whose value is `undefined` is left
 *   out, which is how a caller says `omitempty` (or an unexported field).
 * - **Maps** are sorted by key: wrap a record with {@link goMap} and its keys are written in byte
 *   order of their UTF-8 encoding (Go sorts map keys with `strings.Compare`), not in UTF-16 order.
 * - **nil vs empty**: `null` is written as `null` (a nil slice, map or pointer); `[]` and `{}` are
 *   empty non-nil values. The caller chooses by the value it passes, as the Go program would.
 * - **Strings**: `\"` and `\\`; `\b`, `\f`, `\n`, `\r`, `\t` (Go 1.22 changed `\b` and `\f` from
 *   `\u0008`/`\u000c`; pass `{ go121Escapes: true }` for binaries built with an older Go); every
 *   other byte below 0x20 as `\u00xx` with lower-case hex; `<`, `>`, `&` as `\u003c`, `\u003e`,
 *   `\u0026` (Marshal always escapes HTML); U+2028 and U+2029 as `\u2028`, `\u2029`; DEL (0x7f) and
 *   all other characters as their raw UTF-8 bytes. A lone UTF-16 surrogate (which no Go string
 *   can hold: it would be invalid UTF-8 there) is written as `\ufffd`, as Go writes each invalid byte.
 * - **Numbers**: a JavaScript `number` must be a safe integer and is written in decimal, as Go
 *   writes an `int`/`int64`/`uint64` (`-0` is written `0`). A `bigint` is an int64 or uint64 and
 *   must fit one of them. A float64 is written only when wrapped with {@link goFloat64}: Go's
 *   `floatEncoder` (`strconv` shortest round-trip digits, `'f'` format unless |x| < 1e-6 or
 *   |x| >= 1e21, then `'e'` with a two-digit minimum exponent trimmed to one digit, `-0` as `-0`)
 *   writes the same digits as ECMAScript's Number-to-String for every finite double, apart from
 *   the sign of zero; NaN and ±Inf are refused, as `json.Marshal` refuses them.
 * - **Booleans** `true`/`false`.
 *
 * Nothing else is accepted (no Date, Map, Buffer, function, symbol): those have no single Go
 * meaning, and a silent guess would be a wrong byte.
 */

const GO_MAP = Symbol('go-json map');
const GO_FLOAT = Symbol('go-json float64');

/** A Go map: its keys are written sorted by their UTF-8 bytes. */
export interface GoMap<V = unknown> {
  readonly [GO_MAP]: true;
  readonly entries: Readonly<Record<string, V>>;
}

/** A Go float64 value. */
export interface GoFloat64 {
  readonly [GO_FLOAT]: true;
  readonly value: number;
}

/** Marks `record` as a Go map (`map[string]T`), whose keys Marshal sorts. */
export function goMap<V>(record: Readonly<Record<string, V>>): GoMap<V> {
  return { [GO_MAP]: true, entries: record };
}

/** Marks `value` as a Go float64. */
export function goFloat64(value: number): GoFloat64 {
  return { [GO_FLOAT]: true, value };
}

export interface GoJsonOptions {
  /** Escape backspace and form feed as `\u0008`/`\u000c`, as Go before 1.22 did. */
  go121Escapes?: boolean;
}

const HEX = '0123456789abcdef';

/** Go's `appendString` with HTML escaping on, over a JavaScript string (UTF-16). */
export function goJsonString(s: string, options: GoJsonOptions = {}): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      switch (c) {
        case 0x0a: rep = '\\n'; break;
        case 0x0d: rep = '\\r'; break;
        case 0x09: rep = '\\t'; break;
        case 0x08: rep = options.go121Escapes ? '\\u0008' : '\\b'; break;
        case 0x0c: rep = options.go121Escapes ? '\\u000c' : '\\f'; break;
        default: rep = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
      }
    } else if (c === 0x22) {
      rep = '\\"';
    } else if (c === 0x5c) {
      rep = '\\\\';
    } else if (c === 0x3c || c === 0x3e || c === 0x26) {
      rep = `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    } else if (c === 0x2028 || c === 0x2029) {
      rep = `\\u202${HEX[c & 0xf]}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: written as its UTF-8 bytes
        continue;
      }
      rep = '\\ufffd';
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function encodeFloat64(f: number, path: string): string {
  if (!Number.isFinite(f)) throw new TypeError(`go-json: ${path}: unsupported value: ${f}`);
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // ECMAScript's Number::toString picks the shortest round-tripping digits and switches to
  // exponent form outside [1e-6, 1e21) with a minimal exponent, exactly as Go's floatEncoder.
  return String(f);
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function encode(value: unknown, options: GoJsonOptions, path: string, depth: number): string {
  if (depth > 1000) throw new TypeError(`go-json: ${path}: nested more than 1000 levels`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return goJsonString(value, options);
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`go-json: ${path}: ${value} is not a safe integer (wrap a float64 with goFloat64, a 64-bit integer in a bigint)`);
      }
      return value === 0 ? '0' : String(value);
    case 'bigint':
      if (value < INT64_MIN || value > UINT64_MAX) throw new TypeError(`go-json: ${path}: ${value} fits neither int64 nor uint64`);
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => {
          if (v === undefined) throw new TypeError(`go-json: ${path}[${i}]: undefined has no Go value`);
          return encode(v, options, `${path}[${i}]`, depth + 1);
        }).join(',')}]`;
      }
      if (GO_FLOAT in value) return encodeFloat64((value as GoFloat64).value, path);
      if (GO_MAP in value) {
        const entries = (value as GoMap).entries;
        const keys = Object.keys(entries).sort(byUtf8);
        return `{${keys.map((k) => {
          const v = entries[k];
          if (v === undefined) throw new TypeError(`go-json: ${path}[${JSON.stringify(k)}]: undefined has no Go value`);
          return `${goJsonString(k, options)}:${encode(v, options, `${path}[${JSON.stringify(k)}]`, depth + 1)}`;
        }).join(',')}}`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`go-json: ${path}: a ${proto?.constructor?.name ?? 'non-plain object'} has no single Go encoding`);
      }
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(obj)) {
        const v = obj[k];
        if (v === undefined) continue;
        parts.push(`${goJsonString(k, options)}:${encode(v, options, `${path}.${k}`, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`go-json: ${path}: a ${typeof value} has no Go encoding`);
  }
}

/** The text `json.Marshal` would produce for `value` (see the module comment for the mapping). */
export function goJson(value: unknown, options: GoJsonOptions = {}): string {
  return encode(value, options, '$', 0);
}

/** {@link goJson} as UTF-8 bytes (lone surrogates never reach the bytes: they are `\ufffd` escapes). */
export function goJsonBytes(value: unknown, options: GoJsonOptions = {}): Buffer {
  return Buffer.from(goJson(value, options), 'utf8');
}
