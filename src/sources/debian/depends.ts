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

export function parseDeps(value: string | undefined, where: string): DepList {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((group) => group.trim()).filter((g) => g !== '').map((group) =>
    group.split('|').map((alt) => {
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
    }));
}

export function formatDep(d: Dep): string {
  return `${d.name}${d.archQualifier ? `:${d.archQualifier}` : ''}${d.op ? ` (${d.op} ${d.version})` : ''}`;
}
