/**
 * pacman's version order (libalpm's alpm_pkg_vercmp): `[epoch:]pkgver[-pkgrel]`, the epoch
 * defaulting to 0, each part compared with rpmvercmp, and the release compared only when both
 * versions have one. Cross-checked against pacman's `vercmp` program in the tests.
 */

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

/** rpmvercmp as libalpm has it: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let one = 0;
  let two = 0;
  let p1 = 0;
  let p2 = 0;
  while (one < a.length && two < b.length) {
    while (one < a.length && !isAlnum(a[one])) one++;
    while (two < b.length && !isAlnum(b[two])) two++;
    if (!(one < a.length && two < b.length)) break;
    // Separators of different lengths decide.
    if (one - p1 !== two - p2) return one - p1 < two - p2 ? -1 : 1;
    p1 = one;
    p2 = two;
    const isnum = isDigit(a[p1]);
    const inSegment = isnum ? isDigit : isAlpha;
    while (p1 < a.length && inSegment(a[p1])) p1++;
    while (p2 < b.length && inSegment(b[p2])) p2++;
    // A numeric segment is newer than an alpha one.
    if (two === p2) return isnum ? 1 : -1;
    let s1 = a.slice(one, p1);
    let s2 = b.slice(two, p2);
    if (isnum) {
      s1 = s1.replace(/^0+/, '');
      s2 = s2.replace(/^0+/, '');
      if (s1.length !== s2.length) return s1.length > s2.length ? 1 : -1;
    }
    if (s1 !== s2) return s1 < s2 ? -1 : 1;
    one = p1;
    two = p2;
  }
  if (one >= a.length && two >= b.length) return 0;
  // A remaining alpha string never beats an empty one.
  if ((one >= a.length && !isAlpha(b[two])) || isAlpha(a[one])) return -1;
  return 1;
}

/** Splits `[epoch:]version[-release]` as libalpm's parseEVR does. */
export function parseEvr(evr: string): { epoch: string; version: string; release: string | undefined } {
  let s = 0;
  while (s < evr.length && isDigit(evr[s])) s++;
  let epoch = '0';
  let rest = evr;
  if (evr[s] === ':') {
    epoch = evr.slice(0, s) || '0';
    rest = evr.slice(s + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash < 0 ? { epoch, version: rest, release: undefined } : { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/** alpm_pkg_vercmp: negative, zero or positive as `a` is older than, equal to or newer than `b`. */
export function vercmp(a: string, b: string): number {
  if (a === b) return 0;
  const x = parseEvr(a);
  const y = parseEvr(b);
  let r = rpmvercmp(x.epoch, y.epoch);
  if (r === 0) {
    r = rpmvercmp(x.version, y.version);
    if (r === 0 && x.release !== undefined && y.release !== undefined) r = rpmvercmp(x.release, y.release);
  }
  return r;
}

export type DepOp = '<' | '<=' | '=' | '>=' | '>';

/** Whether `version` satisfies `op want`, as libalpm's dep_vercmp decides. */
export function satisfies(version: string, op: DepOp, want: string): boolean {
  const c = vercmp(version, want);
  switch (op) {
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '=': return c === 0;
    case '>=': return c >= 0;
    case '>': return c > 0;
  }
}
