/**
 * pacman dependency strings (`name[op version][: description]`, as alpm_dep_from_string reads
 * them) and when a package satisfies one: by its own name and version, or by a `provides` entry
 * (an unversioned provision satisfies only an unversioned dependency), as libalpm's _alpm_depcmp.
 */
import { satisfies, type DepOp } from './version.js';

export interface Dep {
  name: string;
  op?: DepOp;
  version?: string;
  /** The text after `: ` (optional dependencies). */
  description?: string;
}

/** What a package offers to dependency matching. */
export interface Satisfier {
  name: string;
  version: string;
  provides: readonly Dep[];
}

export function parseDep(text: string): Dep {
  let s = text;
  let description: string | undefined;
  const colon = s.indexOf(': ');
  if (colon >= 0) {
    description = s.slice(colon + 2);
    s = s.slice(0, colon);
  }
  // libalpm looks for '<' first, then '>', then '=' (so `a=b<c` is `a=b` < `c`).
  const lt = s.indexOf('<');
  const gt = s.indexOf('>');
  const at = lt >= 0 ? lt : gt >= 0 ? gt : s.indexOf('=');
  const dep: Dep = { name: at < 0 ? s : s.slice(0, at) };
  if (at >= 0) {
    const op = (s[at] !== '=' && s[at + 1] === '=' ? s.slice(at, at + 2) : s[at]) as DepOp;
    dep.op = op;
    dep.version = s.slice(at + op.length);
  }
  if (description !== undefined) dep.description = description;
  return dep;
}

export function formatDep(d: Dep): string {
  return `${d.name}${d.op !== undefined ? `${d.op}${d.version ?? ''}` : ''}${d.description !== undefined ? `: ${d.description}` : ''}`;
}

/** The package itself, by name (and version if the dependency has one). */
export function satisfiesLiterally(p: Satisfier, d: Dep): boolean {
  return p.name === d.name && (d.op === undefined || satisfies(p.version, d.op, d.version ?? ''));
}

/** One of the package's provisions. */
export function providesDep(p: Satisfier, d: Dep): boolean {
  return p.provides.some((pr) => pr.name === d.name
    && (d.op === undefined || (pr.op === '=' && satisfies(pr.version ?? '', d.op, d.version ?? ''))));
}

export function satisfiesDep(p: Satisfier, d: Dep): boolean {
  return satisfiesLiterally(p, d) || providesDep(p, d);
}
