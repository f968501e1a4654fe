/**
 * Dependency fields (Depends, Pre-Depends, Provides, Replaces, Conflicts, Breaks): a comma list of
 * alternatives `a | b (>= 1.0) | c:any`, per deb-control(5). Architecture restrictions in
 * brackets and build profiles in angle brackets only occur in source packages and are refused. Pure.
 */
import { ReproError } from '../../model/errors.js';
import type { Relation } from './version.js';

export interface Dep {
  name: string;
  /** `:any` or `:native` qualifier, when present. */
  archQualifier?: string;
  op?: Relation;
  version?: string;
}

/** A list of groups; a group is satisfied by any one of its alternatives. */
export type DepList = Dep[][];

const RE = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?$/;

function parseRelation(alt: string, where: string): Dep {
  const m = RE.exec(alt.trim().replace(/\s+/g, ' '));
  if (!m) throw new ReproError('E_BAD_INPUT', `${where}: cannot parse the relation ${JSON.stringify(alt.trim())}`);
  const d: Dep = { name: m[1]! };
  if (m[2]) d.archQualifier = m[2];
  if (m[3]) {
    // `<` and `>` are the obsolete spellings of `<=` and `>=`.
    d.op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as Relation);
    d.version = m[4]!;
  }
  return d;
}

/**
 * Each relation of a field, in order, as `parseDeps` reads them, without making the list (`first`:
 * the first alternative of its group): a field of millions of relations costs none of them
 * (parseDeps of a 60 MB Depends took 3 GB). Throws as parseDeps does, at the first relation it
 * cannot parse, after visiting the ones before it. With `distinctRuns`, a group written again
 * right after itself is not visited again (for a reader it can tell nothing new).
 */
export function eachDep(value: string | undefined, where: string, visit: (d: Dep, first: boolean) => void, distinctRuns = false): void {
  if (value === undefined || value.trim() === '') return;
  let last: string | undefined;
  for (let start = 0; start <= value.length; ) {
    let comma = value.indexOf(',', start);
    if (comma < 0) comma = value.length;
    const group = value.slice(start, comma).trim();
    start = comma + 1;
    if (group === '' || (distinctRuns && group === last)) continue;
    last = group;
    for (let a = 0; a <= group.length; ) {
      let bar = group.indexOf('|', a);
      if (bar < 0) bar = group.length;
      visit(parseRelation(group.slice(a, bar), where), a === 0);
      a = bar + 1;
    }
  }
}

export function parseDeps(value: string | undefined, where: string): DepList {
  const out: DepList = [];
  eachDep(value, where, (d, first) => {
    if (first) out.push([d]);
    else out[out.length - 1]!.push(d);
  });
  return out;
}

export function formatDep(d: Dep): string {
  return `${d.name}${d.archQualifier ? `:${d.archQualifier}` : ''}${d.op ? ` (${d.op} ${d.version})` : ''}`;
}
