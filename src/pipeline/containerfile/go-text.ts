/**
 * Go's character classes and string helpers as the Containerfile parser in buildah
 * (openshift/imagebuilder) uses them, so that our parser splits and trims where Go's does.
 * JavaScript's `\s`, `trim()` and `toLowerCase()` differ from Go's (U+FEFF, U+0085, full case
 * mappings), so none of them is used for parsing.
 */

/** Go's `unicode.IsSpace`: Latin-1 spaces and the White_Space property beyond. */
export function isGoSpace(cp: number): boolean {
  if (cp <= 0xff) {
    return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp === 0x85 || cp === 0xa0;
  }
  return cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029
    || cp === 0x202f || cp === 0x205f || cp === 0x3000;
}

/** The `[\t\v\f\r ]` class of imagebuilder's `tokenWhitespace` regexp. */
export function isTokenSpace(cp: number): boolean {
  return cp === 0x20 || cp === 0x09 || cp === 0x0b || cp === 0x0c || cp === 0x0d;
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

/** Go's `unicode.IsLetter`. */
export function isGoLetter(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return LETTER.test(ch);
}

/** Go's `unicode.IsDigit`. */
export function isGoDigit(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return DIGIT.test(ch);
}

/** Go's `strings.TrimLeftFunc(s, unicode.IsSpace)`. */
export function trimLeftGoSpace(s: string): string {
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    if (!isGoSpace(cp)) break;
    i += cp > 0xffff ? 2 : 1;
  }
  return s.slice(i);
}

/** Go's `strings.TrimRightFunc(s, unicode.IsSpace)`. */
export function trimRightGoSpace(s: string): string {
  let end = s.length;
  while (end > 0) {
    // every Go space is in the BMP, so one UTF-16 unit is one character here
    if (!isGoSpace(s.charCodeAt(end - 1))) break;
    end--;
  }
  return s.slice(0, end);
}

/** Go's `strings.TrimSpace`. */
export function trimGoSpace(s: string): string {
  return trimRightGoSpace(trimLeftGoSpace(s));
}

/**
 * Go's `strings.ToLower` for an instruction keyword. Only ASCII letters, U+0130 (which Go's simple
 * case mapping lowers to `i`) and U+212A KELVIN SIGN (to `k`) can lower into an ASCII keyword; any
 * other non-ASCII character keeps the word from naming an instruction, so it is kept as it is.
 */
export function goLowerKeyword(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x41 && c <= 0x5a) out += String.fromCharCode(c + 0x20);
    else if (c === 0x130) out += 'i';
    else if (c === 0x212a) out += 'k';
    else out += ch;
  }
  return out;
}

/**
 * Go's `tokenWhitespace.Split(s, n)` (`[\t\v\f\r ]+`) for n = 2 or n = -1 (all). Empty pieces are
 * kept where Go keeps them (a leading separator gives a leading empty string).
 */
export function splitTokenSpace(s: string, n: 2 | -1): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < s.length) {
    if (isTokenSpace(s.charCodeAt(i))) {
      if (n === 2 && out.length === 1) break;
      let j = i;
      while (j < s.length && isTokenSpace(s.charCodeAt(j))) j++;
      out.push(s.slice(start, i));
      start = j;
      i = j;
      continue;
    }
    i++;
  }
  out.push(s.slice(start));
  return out;
}

/** Go's `path.Clean` (and so `filepath.Clean` on Linux). */
export function goCleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const joined = parts.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Go's `filepath.Join` on Linux: the non-empty elements joined with `/`, then cleaned. */
export function goJoinPath(...elems: string[]): string {
  const nonEmpty = elems.filter((e) => e !== '');
  if (nonEmpty.length === 0) return '';
  return goCleanPath(nonEmpty.join('/'));
}

/** Go's `strconv.Atoi` (int64 on 64-bit platforms): optional sign, decimal digits, in range. */
export function goAtoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n < -(2n ** 63n) || n > 2n ** 63n - 1n) return undefined;
  return Number(n);
}
