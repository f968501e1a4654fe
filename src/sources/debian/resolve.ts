/**
 * Dependency resolution: the closure of Depends and Pre-Depends over one suite, with version
 * constraints, alternatives and virtual packages. Deterministic by construction: seeds in a fixed
 * order, a FIFO queue, relations in field order, and fixed tie-breaks:
 *  - a relation already satisfied by a selected package (real or through Provides) adds nothing;
 *  - otherwise the first alternative that can be satisfied is taken, as apt does;
 *  - a real package is taken at its highest version that meets the constraint;
 *  - a virtual package with several providers takes the one of highest Priority, then by name.
 * Conflicts and Breaks between selected packages are errors. Pure.
 */
import { ReproError } from '../../model/errors.js';
import { formatDep, type Dep, type DepList } from './depends.js';
import { priorityRank, type IndexPackage, type Universe } from './packages.js';
import { satisfies } from './version.js';

export interface ResolveRequest {
  /** Packages the spec names, in spec order. */
  packages: string[];
  /** Add every `Essential: yes` package. */
  essential: boolean;
  /** Add every package of this priority or a more important one. */
  priority?: 'required' | 'important';
}

interface Selected {
  pkg: IndexPackage;
  /** Who pulled it in: a package name, or a description of the seed. */
  parent: string;
}

const depOk = (p: IndexPackage, d: Dep): boolean => d.op === undefined || satisfies(p.version, d.op, d.version!);

export function resolve(u: Universe, req: ResolveRequest): IndexPackage[] {
  const selected = new Map<string, Selected>();
  const queue: IndexPackage[] = [];

  /** "(named in the spec) → a → b": how `name` came to be selected. */
  const chain = (name: string): string => {
    const out = [name];
    let s = selected.get(name);
    while (s && selected.has(s.parent) && out.length < 50) {
      out.push(s.parent);
      s = selected.get(s.parent);
    }
    if (s) out.push(`(${s.parent})`);
    return out.reverse().join(' → ');
  };

  const add = (pkg: IndexPackage, parent: string): void => {
    if (selected.has(pkg.name)) return;
    selected.set(pkg.name, { pkg, parent });
    queue.push(pkg);
  };

  /** A selected package that satisfies d, directly or through Provides. */
  const satisfiedBySelection = (d: Dep): boolean => {
    const s = selected.get(d.name);
    if (s && depOk(s.pkg, d)) return true;
    return (u.providers.get(d.name) ?? []).some(({ pkg, version }) =>
      selected.get(pkg.name)?.pkg === pkg && (d.op === undefined || (version !== undefined && satisfies(version, d.op, d.version!))));
  };

  /** The package that would satisfy d if selected, or undefined. */
  const candidate = (d: Dep): IndexPackage | undefined => {
    const already = selected.get(d.name);
    const real = (u.byName.get(d.name) ?? []).find((p) => depOk(p, d));
    if (real && (!already || already.pkg === real)) return real;
    const provs = (u.providers.get(d.name) ?? [])
      .filter(({ version }) => d.op === undefined || (version !== undefined && satisfies(version, d.op, d.version!)))
      .map(({ pkg }) => pkg)
      .filter((p) => !selected.has(p.name) || selected.get(p.name)!.pkg === p);
    provs.sort((a, b) => priorityRank(a.priority) - priorityRank(b.priority) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return provs[0];
  };

  const seed = (name: string, why: string): void => {
    const c = candidate({ name });
    if (!c) throw new ReproError('E_UNSATISFIABLE', `package ${JSON.stringify(name)} (${why}) is not in the suite's indexes, and no package provides it`);
    add(c, why);
  };

  for (const name of req.packages) seed(name, 'named in the spec');
  const all = [...u.byName.values()].map((l) => l[0]!).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (req.essential) for (const p of all) if (p.essential) add(p, 'Essential: yes');
  if (req.priority) {
    const max = priorityRank(req.priority);
    for (const p of all) if (priorityRank(p.priority) <= max) add(p, `Priority: ${p.priority}`);
  }

  while (queue.length > 0) {
    const p = queue.shift()!;
    const groups: Array<[string, DepList]> = [['Pre-Depends', p.preDepends], ['Depends', p.depends]];
    for (const [fieldName, list] of groups) {
      for (const group of list) {
        if (group.some(satisfiedBySelection)) continue;
        let chosen: IndexPackage | undefined;
        for (const alt of group) {
          chosen = candidate(alt);
          if (chosen) break;
        }
        if (!chosen) {
          const wanted = group.map(formatDep).join(' | ');
          const have = group.map((d) => {
            const vs = (u.byName.get(d.name) ?? []).map((x) => x.version);
            return vs.length ? `${d.name} has ${vs.join(', ')}` : `${d.name} is not available`;
          }).join('; ');
          throw new ReproError('E_UNSATISFIABLE', `unsatisfiable ${fieldName}: ${wanted}, needed by ${chain(p.name)} (${have})`);
        }
        add(chosen, p.name);
      }
    }
  }

  const result = [...selected.values()].map((s) => s.pkg).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of result) {
    for (const [kind, list] of [['Conflicts', p.conflicts], ['Breaks', p.breaks]] as const) {
      for (const d of list.flat()) {
        const s = selected.get(d.name);
        if (s && s.pkg !== p && depOk(s.pkg, d)) {
          throw new ReproError('E_UNSATISFIABLE', `${p.name} ${p.version} ${kind} ${formatDep(d)}, but ${s.pkg.name} ${s.pkg.version} is selected (needed by ${chain(s.pkg.name)})`);
        }
        if (kind === 'Conflicts' && d.op === undefined) {
          const viaProvides = (u.providers.get(d.name) ?? []).find(({ pkg }) => pkg !== p && selected.get(pkg.name)?.pkg === pkg);
          if (viaProvides) throw new ReproError('E_UNSATISFIABLE', `${p.name} ${p.version} Conflicts ${d.name}, which the selected ${viaProvides.pkg.name} provides`);
        }
      }
    }
  }
  return result;
}
