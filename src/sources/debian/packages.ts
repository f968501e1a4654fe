/**
 * The package universe of one Debian suite: the binary packages of the Packages indexes (one per
 * component), by name and by what they provide. Pure: parsing and lookup only.
 */
import { parseDeps, type Dep, type DepList } from './depends.js';
import { field, parseParagraphs } from './control.js';
import { compareVersions } from './version.js';

export interface IndexPackage {
  name: string;
  version: string;
  architecture: string;
  filename: string;
  size: number;
  sha256: string;
  /** Source package name and version (the binary's own when the index names none). */
  source: string;
  sourceVersion: string;
  essential: boolean;
  priority: string;
  component: string;
  depends: DepList;
  preDepends: DepList;
  provides: Dep[];
  conflicts: DepList;
  breaks: DepList;
}

export interface Universe {
  /** Versions of each real package, highest first. */
  byName: Map<string, IndexPackage[]>;
  /** Virtual name → packages that provide it (with the version they provide, if any). */
  providers: Map<string, Array<{ pkg: IndexPackage; version?: string }>>;
}

const PRIORITY_RANK: Record<string, number> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };
export const priorityRank = (p: string): number => PRIORITY_RANK[p] ?? 5;

export function parsePackages(text: string, component: string, architecture: string, where: string): IndexPackage[] {
  const out: IndexPackage[] = [];
  for (const p of parseParagraphs(text, where)) {
    const at = `${where}:${p.line}`;
    const get = (k: string): string => {
      const v = field(p, k);
      if (v === undefined) throw new Error(`${at}: paragraph without ${k}`);
      return v;
    };
    const arch = get('Architecture');
    if (arch !== architecture && arch !== 'all') continue;
    const name = get('Package');
    const version = get('Version');
    const src = field(p, 'Source');
    const m = src ? /^(\S+)(?:\s+\((\S+)\))?$/.exec(src) : null;
    const sha256 = get('SHA256');
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`${at}: ${name}: SHA256 is not 64 hex digits`);
    const size = Number(get('Size'));
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`${at}: ${name}: Size is not a byte count`);
    const w = `${at}: ${name}`;
    out.push({
      name, version, architecture: arch, filename: get('Filename'), size, sha256,
      source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version,
      essential: field(p, 'Essential') === 'yes',
      priority: field(p, 'Priority') ?? 'optional',
      component,
      depends: parseDeps(field(p, 'Depends'), w),
      preDepends: parseDeps(field(p, 'Pre-Depends'), w),
      provides: parseDeps(field(p, 'Provides'), w).flat(),
      conflicts: parseDeps(field(p, 'Conflicts'), w),
      breaks: parseDeps(field(p, 'Breaks'), w),
    });
  }
  return out;
}

export function makeUniverse(packages: Iterable<IndexPackage>): Universe {
  const byName = new Map<string, IndexPackage[]>();
  const providers = new Map<string, Array<{ pkg: IndexPackage; version?: string }>>();
  for (const p of packages) {
    const list = byName.get(p.name) ?? [];
    // The same name and version in two components: the first component listed wins.
    if (!list.some((q) => compareVersions(q.version, p.version) === 0)) list.push(p);
    byName.set(p.name, list);
    for (const d of p.provides) {
      const prov = providers.get(d.name) ?? [];
      prov.push(d.version === undefined ? { pkg: p } : { pkg: p, version: d.version });
      providers.set(d.name, prov);
    }
  }
  for (const list of byName.values()) list.sort((a, b) => compareVersions(b.version, a.version));
  return { byName, providers };
}
