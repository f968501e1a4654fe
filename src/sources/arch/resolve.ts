/**
 * What `pacman -S TARGETS --noconfirm` installs into an empty root, decided the way libalpm decides
 * it, so that a lock and a pacstrap of the same names agree:
 *
 * - a target is a package of that name in the first repository that has one, else the first
 *   provider (repositories in order, names in byte order within one), else every member of the
 *   group of that name;
 * - dependencies are resolved depth first (libalpm's _alpm_resolvedeps): a dependency already met by
 *   a package on the list, else by a target, else by a repository package of that name, else by the
 *   first provider;
 * - the result is put in installation order by libalpm's _alpm_sortbydeps (dependencies first, the
 *   list order kept otherwise), and checked for conflicts between its packages.
 *
 * Pure: the same databases and targets always give the same list.
 */
import { ReproError } from '../../model/errors.js';
import { formatDep, parseDep, providesDep, satisfiesDep, satisfiesLiterally, type Dep } from './depends.js';
import type { SyncPackage } from './syncdb.js';

export interface Repository {
  name: string;
  /** Sorted by name, as libalpm keeps them. */
  packages: SyncPackage[];
}

export interface Resolved {
  pkg: SyncPackage;
  reason: 'explicit' | 'dependency';
}

/** Keys a list by every name its members answer to (their own and what they provide), order kept. */
function byProvidedName<T extends { name: string; provides: readonly Dep[] }>(list: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const p of list) {
    for (const n of new Set([p.name, ...p.provides.map((d) => d.name)])) m.set(n, [...(m.get(n) ?? []), p]);
  }
  return m;
}

class Universe {
  private readonly byName: Array<Map<string, SyncPackage>>;
  private readonly providers: Array<Map<string, SyncPackage[]>>;

  constructor(readonly repos: Repository[]) {
    this.byName = repos.map((r) => {
      const m = new Map<string, SyncPackage>();
      for (const p of r.packages) {
        if (m.has(p.name)) throw new ReproError('E_BAD_INPUT', `repository ${r.name}: package ${p.name} is listed twice (${m.get(p.name)!.version} and ${p.version})`);
        m.set(p.name, p);
      }
      return m;
    });
    this.providers = repos.map((r) => byProvidedName(r.packages));
  }

  /** libalpm's resolvedep: a literal match in the first repository that has one, else the first provider. */
  find(dep: Dep, excluding: ReadonlySet<string>): SyncPackage | undefined {
    for (const m of this.byName) {
      const p = m.get(dep.name);
      if (p && satisfiesLiterally(p, dep) && !excluding.has(p.name)) return p;
    }
    for (const m of this.providers) {
      for (const p of m.get(dep.name) ?? []) {
        if (p.name !== dep.name && providesDep(p, dep) && !excluding.has(p.name)) return p;
      }
    }
    return undefined;
  }

  group(name: string): SyncPackage[] {
    const out: SyncPackage[] = [];
    for (const r of this.repos) {
      for (const p of r.packages) if (p.groups.includes(name) && !out.some((q) => q.name === p.name)) out.push(p);
    }
    return out;
  }
}

function firstSatisfier(list: readonly SyncPackage[], dep: Dep): SyncPackage | undefined {
  return list.find((p) => satisfiesDep(p, dep));
}

/** The targets in command-line order, as pacman -S adds them (a group adds all its members). */
function targetsOf(u: Universe, names: string[]): SyncPackage[] {
  const out: SyncPackage[] = [];
  for (const name of names) {
    const pkg = u.find(parseDep(name), new Set());
    const found = pkg ? [pkg] : u.group(name);
    if (found.length === 0) throw new ReproError('E_UNSATISFIABLE', `target not found: ${name} (no package, provider or group of that name in ${u.repos.map((r) => r.name).join(', ')})`);
    for (const p of found) {
      const dup = out.find((q) => q.name === p.name);
      if (dup && dup !== p) throw new ReproError('E_UNSATISFIABLE', `targets name two packages called ${p.name} (${dup.repository}/${dup.version} and ${p.repository}/${p.version})`);
      if (!dup) out.push(p);
    }
  }
  return out;
}

function resolveDeps(u: Universe, targets: SyncPackage[]): SyncPackage[] {
  const list: SyncPackage[] = [];
  const names = new Set<string>();
  const visit = (pkg: SyncPackage, chain: string[]): void => {
    if (names.has(pkg.name)) return;
    list.push(pkg);
    names.add(pkg.name);
    for (const dep of pkg.depends) {
      // A dependency the package meets itself is not missing (libalpm's checkdeps).
      if (satisfiesDep(pkg, dep) || firstSatisfier(list, dep)) continue;
      const spkg = firstSatisfier(targets, dep) ?? u.find(dep, names);
      if (!spkg) {
        const needed = [pkg.name, ...chain].join(' ← ');
        throw new ReproError('E_UNSATISFIABLE', `cannot resolve "${formatDep(dep)}", a dependency of "${pkg.name}" (${needed} ← named in the spec); no package or provider of it in ${u.repos.map((r) => r.name).join(', ')}`);
      }
      visit(spkg, [pkg.name, ...chain]);
    }
  };
  for (const t of targets) visit(t, []);
  return list;
}

/** libalpm's _alpm_sortbydeps (not reversed): depth-first over "depends on", list order otherwise. */
export function sortByDeps<T extends { name: string; version: string; depends: readonly Dep[]; provides: readonly Dep[] }>(list: T[]): T[] {
  const index = byProvidedName(list);
  const position = new Map(list.map((p, i) => [p, i]));
  // The packages each one depends on, in list order (libalpm's dep_graph_init).
  const children = (pi: T): T[] => [...new Set(pi.depends.flatMap((d) => (index.get(d.name) ?? []).filter((pj) => satisfiesDep(pj, d))))]
    .sort((a, b) => position.get(a)! - position.get(b)!);
  const visited = new Set<T>();
  const out: T[] = [];
  const visit = (v: T): void => {
    visited.add(v);
    for (const c of children(v)) if (!visited.has(c)) visit(c);
    out.push(v);
  };
  for (const v of list) if (!visited.has(v)) visit(v);
  return out;
}

/** libalpm's inner conflict check: a package whose conflicts name another package of the set. */
function checkConflicts(list: SyncPackage[]): void {
  for (const a of list) {
    for (const c of a.conflicts) {
      const b = list.find((p) => p !== a && p.name !== a.name && satisfiesDep(p, c));
      if (b) throw new ReproError('E_UNSATISFIABLE', `${a.name} ${a.version} and ${b.name} ${b.version} are in conflict (${a.name} conflicts with "${formatDep(c)}"); remove one of them from the spec`);
    }
  }
}

export function resolve(repos: Repository[], names: string[]): Resolved[] {
  const u = new Universe(repos);
  const targets = targetsOf(u, names);
  const list = sortByDeps(resolveDeps(u, targets));
  checkConflicts(list);
  const explicit = new Set(targets);
  return list.map((pkg) => ({ pkg, reason: explicit.has(pkg) ? 'explicit' : 'dependency' }));
}
