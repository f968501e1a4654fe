/**
 * Debian version comparison, exactly as dpkg does it (lib/dpkg/version.c): epoch numerically,
 * then upstream version and Debian revision with `verrevcmp`, where `~` sorts before everything,
 * even the end of the string, letters sort before other characters, and digit runs compare as
 * numbers.
 */
import { ReproError } from '../../model/errors.js';

export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseVersion(v: string): DebVersion {
  const s = v.trim();
  const colon = s.indexOf(':');
  let epoch = 0;
  let rest = s;
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^\d+$/.test(e)) throw new ReproError('E_BAD_INPUT', `version ${JSON.stringify(v)}: epoch is not a number`);
    epoch = Number(e);
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream === '') throw new ReproError('E_BAD_INPUT', `version ${JSON.stringify(v)}: empty upstream version`);
  if (dash >= 0 && revision === '') throw new ReproError('E_BAD_INPUT', `version ${JSON.stringify(v)}: revision is empty`);
  return { epoch, upstream, revision };
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** dpkg's order(): digits 0, letters their code, `~` -1, end 0, others code + 256. */
function order(c: number | undefined): number {
  if (c === undefined) return 0;
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1;
  return c + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const A = (k: number): number | undefined => (k < a.length ? a.charCodeAt(k) : undefined);
  const B = (k: number): number | undefined => (k < b.length ? b.charCodeAt(k) : undefined);
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(A(i)!)) || (j < b.length && !isDigit(B(j)!))) {
      const ac = order(A(i));
      const bc = order(B(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (A(i) === 0x30) i++;
    while (B(j) === 0x30) j++;
    while (i < a.length && j < b.length && isDigit(A(i)!) && isDigit(B(j)!)) {
      if (!firstDiff) firstDiff = A(i)! - B(j)!;
      i++;
      j++;
    }
    if (i < a.length && isDigit(A(i)!)) return 1;
    if (j < b.length && isDigit(B(j)!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive, as dpkg --compare-versions orders a and b. */
export function compareVersions(a: string | DebVersion, b: string | DebVersion): number {
  const x = typeof a === 'string' ? parseVersion(a) : a;
  const y = typeof b === 'string' ? parseVersion(b) : b;
  if (x.epoch !== y.epoch) return x.epoch > y.epoch ? 1 : -1;
  const u = verrevcmp(x.upstream, y.upstream);
  if (u !== 0) return u;
  return verrevcmp(x.revision, y.revision);
}

export type Relation = '<<' | '<=' | '=' | '>=' | '>>';

/** True when `version` satisfies `op constraint` (dpkg semantics). */
export function satisfies(version: string, op: Relation, constraint: string): boolean {
  const c = compareVersions(version, constraint);
  switch (op) {
    case '<<': return c < 0;
    case '<=': return c <= 0;
    case '=': return c === 0;
    case '>=': return c >= 0;
    case '>>': return c > 0;
  }
}
