/**
 * Go's `path.Match`, byte for byte (imagebuilder matches `${VAR#pattern}`, `${VAR%pattern}` and
 * `${VAR/pattern/replacement}` with it). Works on UTF-8 bytes as Go does: `*` and `?` never match
 * `/`, `[...]` classes with ranges and `^` negation, `\` escapes. Returns `'bad'` where Go returns
 * `ErrBadPattern` (imagebuilder treats that as "no match").
 */

type MatchResult = boolean | 'bad';

/** Go's `utf8.DecodeRune` for bytes cut from valid UTF-8 (an invalid start or a cut sequence is (U+FFFD, 1)). */
function decodeRune(b: Uint8Array, at: number): { r: number; n: number } {
  if (at >= b.length) return { r: 0xfffd, n: 0 };
  const c = b[at]!;
  if (c < 0x80) return { r: c, n: 1 };
  const need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
  if (need < 0 || at + need >= b.length) return { r: 0xfffd, n: 1 };
  let r = c & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const cc = b[at + k]!;
    if ((cc & 0xc0) !== 0x80) return { r: 0xfffd, n: 1 };
    r = (r << 6) | (cc & 0x3f);
  }
  return { r, n: need + 1 };
}

function scanChunk(p: Uint8Array): { star: boolean; chunk: Uint8Array; rest: Uint8Array } {
  let star = false;
  let s = 0;
  while (s < p.length && p[s] === 0x2a) {
    s++;
    star = true;
  }
  const pattern = p.subarray(s);
  let inrange = false;
  let i = 0;
  scan: for (i = 0; i < pattern.length; i++) {
    switch (pattern[i]) {
      case 0x5c: if (i + 1 < pattern.length) i++; break;
      case 0x5b: inrange = true; break;
      case 0x5d: inrange = false; break;
      case 0x2a: if (!inrange) break scan; break;
      default: break;
    }
  }
  return { star, chunk: pattern.subarray(0, i), rest: pattern.subarray(i) };
}

function getEsc(chunk: Uint8Array): { r: number; rest: Uint8Array } | 'bad' {
  if (chunk.length === 0 || chunk[0] === 0x2d || chunk[0] === 0x5d) return 'bad';
  let c = chunk;
  if (c[0] === 0x5c) {
    c = c.subarray(1);
    if (c.length === 0) return 'bad';
  }
  const { r, n } = decodeRune(c, 0);
  if (r === 0xfffd && n === 1) return 'bad';
  const rest = c.subarray(n);
  if (rest.length === 0) return 'bad';
  return { r, rest };
}

function matchChunk(chunkIn: Uint8Array, sIn: Uint8Array): { rest: Uint8Array } | false | 'bad' {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    switch (chunk[0]) {
      case 0x5b: { // '['
        let r = 0;
        if (!failed) {
          const d = decodeRune(s, 0);
          r = d.r;
          s = s.subarray(d.n);
        }
        chunk = chunk.subarray(1);
        let negated = false;
        if (chunk.length > 0 && chunk[0] === 0x5e) {
          negated = true;
          chunk = chunk.subarray(1);
        }
        let match = false;
        let nrange = 0;
        for (;;) {
          if (chunk.length > 0 && chunk[0] === 0x5d && nrange > 0) {
            chunk = chunk.subarray(1);
            break;
          }
          const lo = getEsc(chunk);
          if (lo === 'bad') return 'bad';
          chunk = lo.rest;
          let hi = lo.r;
          if (chunk[0] === 0x2d) {
            const h = getEsc(chunk.subarray(1));
            if (h === 'bad') return 'bad';
            chunk = h.rest;
            hi = h.r;
          }
          if (lo.r <= r && r <= hi) match = true;
          nrange++;
        }
        if (match === negated) failed = true;
        break;
      }
      case 0x3f: // '?'
        if (!failed) {
          if (s[0] === 0x2f) failed = true;
          s = s.subarray(decodeRune(s, 0).n);
        }
        chunk = chunk.subarray(1);
        break;
      case 0x5c: // '\\'
        chunk = chunk.subarray(1);
        if (chunk.length === 0) return 'bad';
        if (!failed) {
          if (chunk[0] !== s[0]) failed = true;
          s = s.subarray(1);
        }
        chunk = chunk.subarray(1);
        break;
      default:
        if (!failed) {
          if (chunk[0] !== s[0]) failed = true;
          s = s.subarray(1);
        }
        chunk = chunk.subarray(1);
    }
  }
  if (failed) return false;
  return { rest: s };
}

/** Go's `path.Match(pattern, name)` on UTF-8 bytes. */
export function goPathMatch(patternIn: Uint8Array, nameIn: Uint8Array): MatchResult {
  let pattern = patternIn;
  let name = nameIn;
  outer: while (pattern.length > 0) {
    const sc = scanChunk(pattern);
    const { star, chunk } = sc;
    pattern = sc.rest;
    if (star && chunk.length === 0) return name.indexOf(0x2f) < 0;
    const t = matchChunk(chunk, name);
    if (t !== false && t !== 'bad' && (t.rest.length === 0 || pattern.length > 0)) {
      name = t.rest;
      continue;
    }
    if (t === 'bad') return 'bad';
    if (star) {
      for (let i = 0; i < name.length && name[i] !== 0x2f; i++) {
        const t2 = matchChunk(chunk, name.subarray(i + 1));
        if (t2 !== false && t2 !== 'bad') {
          if (pattern.length === 0 && t2.rest.length > 0) continue;
          name = t2.rest;
          continue outer;
        }
        if (t2 === 'bad') return 'bad';
      }
    }
    // Before failing, Go checks that the rest of the pattern is well formed.
    while (pattern.length > 0) {
      const sc2 = scanChunk(pattern);
      pattern = sc2.rest;
      if (matchChunk(sc2.chunk, new Uint8Array(0)) === 'bad') return 'bad';
    }
    return false;
  }
  return name.length === 0;
}
