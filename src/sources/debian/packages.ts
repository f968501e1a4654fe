/**
 * The package universe of one Debian suite: the binary packages of the Packages indexes (one per
 * component), by name and by what they provide. Pure: parsing and lookup only.
 */
import { ReproError } from '../../model/errors.js';
import { parseDeps, type Dep, type DepList } from './depends.js';
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
  readonly depends: DepList;
  readonly preDepends: DepList;
  provides: Dep[];
  readonly conflicts: DepList;
  readonly breaks: DepList;
}

export interface Universe {
  /** Versions of each real package, highest first. */
  byName: Map<string, IndexPackage[]>;
  /** Virtual name → packages that provide it (with the version they provide, if any). */
  providers: Map<string, Array<{ pkg: IndexPackage; version?: string }>>;
}

const PRIORITY_RANK: Record<string, number> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };
export const priorityRank = (p: string): number => PRIORITY_RANK[p] ?? 5;

type Plain = Omit<IndexPackage, 'depends' | 'preDepends' | 'provides' | 'conflicts' | 'breaks'>;

/**
 * Relations are parsed when the resolver first looks at them: most packages of a suite never are.
 * (A function of its own, so that the getters keep only the raw strings alive.)
 */
function indexPackage(plain: Plain, depends?: string, preDepends?: string, provides?: string, conflicts?: string, breaks?: string, w = ''): IndexPackage {
  let d: DepList | undefined;
  let p: DepList | undefined;
  let c: DepList | undefined;
  let b: DepList | undefined;
  return {
    ...plain,
    get depends() { return (d ??= parseDeps(depends, w)); },
    get preDepends() { return (p ??= parseDeps(preDepends, w)); },
    provides: parseDeps(provides, w).flat(),
    get conflicts() { return (c ??= parseDeps(conflicts, w)); },
    get breaks() { return (b ??= parseDeps(breaks, w)); },
  };
}

const WANTED = new Set(['package', 'version', 'architecture', 'filename', 'size', 'sha256', 'source', 'essential',
  'priority', 'depends', 'pre-depends', 'provides', 'conflicts', 'breaks']);

/**
 * Reads a Packages index (tens of MB for a full suite) in one pass over the text, keeping only the
 * fields resolution needs and only the packages of `architecture` or `all`.
 */
export function parsePackages(text: string, component: string, architecture: string, where: string, firstLine = 1): IndexPackage[] {
  const out: IndexPackage[] = [];
  const lineAt = (pos: number): number => {
    let n = firstLine;
    for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) n++;
    return n;
  };
  let pos = 0;
  while (pos < text.length) {
    while (pos < text.length && (text.charCodeAt(pos) === 10 || text.charCodeAt(pos) === 13)) pos++;
    if (pos >= text.length) break;
    let end = text.indexOf('\n\n', pos);
    if (end < 0) end = text.length;
    const f = new Map<string, string>();
    let last: string | undefined;
    for (let i = pos; i < end;) {
      let nl = text.indexOf('\n', i);
      if (nl < 0 || nl > end) nl = end;
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9) {
        if (last !== undefined) f.set(last, `${f.get(last)}\n${text.slice(i, nl)}`);
      } else {
        const colon = text.indexOf(':', i);
        if (colon < 0 || colon > nl) throw new ReproError('E_BAD_INPUT', `${where}:${lineAt(i)}: not a "Field: value" line`);
        const key = text.slice(i, colon).toLowerCase();
        if (WANTED.has(key)) {
          f.set(key, text.slice(colon + 1, nl).trim());
          last = key;
        } else {
          last = undefined;
        }
      }
      i = nl + 1;
    }
    const at = (): string => `${where}:${lineAt(pos)}`;
    pos = end;
    const get = (k: string): string => {
      const v = f.get(k);
      if (v === undefined) throw new ReproError('E_BAD_INPUT', `${at()}: paragraph without ${k}`);
      return v;
    };
    const arch = get('architecture');
    if (arch !== architecture && arch !== 'all') continue;
    const name = get('package');
    const version = get('version');
    const src = f.get('source');
    const m = src ? /^(\S+)(?:\s+\((\S+)\))?$/.exec(src) : null;
    const sha256 = get('sha256');
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ReproError('E_BAD_INPUT', `${at()}: ${name}: SHA256 is not 64 hex digits`);
    const size = Number(get('size'));
    if (!Number.isSafeInteger(size) || size < 0) throw new ReproError('E_BAD_INPUT', `${at()}: ${name}: Size is not a byte count`);
    out.push(indexPackage({
      name, version, architecture: arch, filename: get('filename'), size, sha256,
      source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version,
      essential: f.get('essential') === 'yes',
      priority: f.get('priority') ?? 'optional',
      component,
    }, f.get('depends'), f.get('pre-depends'), f.get('provides'), f.get('conflicts'), f.get('breaks'), `${where}: ${name}`));
  }
  return out;
}

/**
 * Parses a Packages index as it streams in (decompressed), a paragraph-aligned piece at a time, so
 * that the whole text is never in memory at once. Field values are ASCII; the text is read as
 * Latin-1, which keeps one byte per character (descriptions, which may not be, are not read).
 */
export async function parsePackagesStream(source: AsyncIterable<Buffer>, component: string, architecture: string, where: string): Promise<IndexPackage[]> {
  const out: IndexPackage[] = [];
  let carry = '';
  let line = 1;
  const take = (piece: string): void => {
    for (const p of parsePackages(piece, component, architecture, where, line)) out.push(p);
    for (let i = piece.indexOf('\n'); i >= 0; i = piece.indexOf('\n', i + 1)) line++;
  };
  for await (const chunk of source) {
    const text = carry + chunk.toString('latin1');
    const cut = text.lastIndexOf('\n\n');
    if (cut < 0) {
      carry = text;
      continue;
    }
    take(text.slice(0, cut + 2));
    carry = text.slice(cut + 2);
  }
  if (carry.trim() !== '') take(carry);
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
