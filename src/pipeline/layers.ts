/**
 * Layer strategies (`layers:` in the spec): how the final tree, after the passes, is cut into
 * layers. Every entry goes into exactly one layer, so the layers applied in order give the tree a
 * single layer would hold. Which layer an entry goes into is decided from the tree alone, through
 * the package database it carries (the distribution's `packageRecords`), so both distributions
 * are cut the same way:
 *
 * - a path a package owns goes into that package's layer (owned by several: the lowest of theirs);
 * - a path of the spec's `files:` goes into the `files:` group naming its entry's dest, else into
 *   the `files: all` group, else into the last layer;
 * - the package database (`isDatabaseFile`), and every path no package owns (what the install
 *   step's script effects made, merged-/usr links no package lists), go into the last layer, so
 *   that a bumped package changes its own layer and the last one only;
 * - files sharing an inode (hard links) go together, into the highest layer among theirs;
 * - a directory goes into the lowest layer that holds it or anything below it, with the final
 *   tree's metadata, and into no other: a layer's parent directories are always in it or below.
 *
 * `auto: N` orders packages by popularity, after Nix's layered images (nixpkgs'
 * `references-by-popularity`): a package's popularity is how many packages of the set have it in
 * their dependency closure (itself included). The N−2 most popular packages (ties by name) get a
 * layer each, every other package shares layer N−1, and the last layer is as above. Popular
 * packages are the libraries many others need; their popularity hardly moves when a package is
 * added, removed or bumped, so their layers keep their digests, while leaves (popularity 1, the
 * packages that change most) share one layer.
 */
import { comparePaths, parentOf, type Entry } from '../archive/entry.js';
import { readEntryBytes } from '../archive/content.js';
import { ReproError } from '../model/errors.js';
import type { Distribution, PackageRecord } from '../sources/distribution.js';
import { resolveRecorded } from '../archive/recorded-path.js';
import type { LayersSpec } from '../spec/schema.js';

/** One layer of a plan: what it holds (in no particular order) and what it is, for the image history. */
export interface PlannedLayer {
  /** `packages: a, b`, `files`, `database and unowned files`. */
  name: string;
  entries: Entry[];
}

/** What a plan needs besides the tree. */
export interface LayerInputs {
  distribution: Pick<Distribution, 'isDatabaseFile' | 'isRecordFile' | 'packageRecords'>;
  /** Paths the spec's `files:` put into the tree → the `dest` of the entry that put each there. */
  specFiles: ReadonlyMap<string, string>;
  /** Names the spec in messages. */
  where: string;
  /**
   * On a base image: the packages of our own part (the database also holds the base's records,
   * merged in, whose files are in the base's layers); only these are cut into layers.
   */
  ownPackages?: ReadonlySet<string>;
}

/** The package records of a tree's database, as the distribution reads them. */
export function treePackages(entries: ReadonlyMap<string, Entry>, d: LayerInputs['distribution']): PackageRecord[] {
  const records = new Map<string, Buffer>();
  for (const e of entries.values()) if (e.type === 'file' && d.isRecordFile(e.path)) records.set(e.path, readEntryBytes(e));
  return d.packageRecords(records);
}

/** Popularity of each package: how many packages of the set have it in their dependency closure. */
export function popularity(packages: ReadonlyArray<Pick<PackageRecord, 'name' | 'dependsOn'>>): Map<string, number> {
  const deps = new Map(packages.map((p) => [p.name, p.dependsOn.filter((d) => d !== p.name)]));
  const count = new Map<string, number>([...deps.keys()].map((n) => [n, 0]));
  for (const root of deps.keys()) {
    const seen = new Set<string>([root]);
    const stack = [root];
    while (stack.length > 0) {
      for (const d of deps.get(stack.pop()!) ?? []) {
        if (!deps.has(d) || seen.has(d)) continue;
        seen.add(d);
        stack.push(d);
      }
    }
    for (const n of seen) count.set(n, count.get(n)! + 1);
  }
  return count;
}

/** Packages most popular first, ties by name in byte order. */
export function byPopularity(packages: ReadonlyArray<Pick<PackageRecord, 'name' | 'dependsOn'>>): string[] {
  const pop = popularity(packages);
  return [...pop.keys()].sort((a, b) => pop.get(b)! - pop.get(a)! || comparePaths(a, b));
}

interface Groups {
  /** Layer names, the last one being the database layer. */
  names: string[];
  /** Package → layer index. */
  packageLayer: Map<string, number>;
  /** Layer of the spec files no `files: [DEST…]` group names. */
  filesLayer: number;
  /** A `files:` entry's dest → its layer. */
  destLayer: Map<string, number>;
}

function groupsOf(strategy: Exclude<LayersSpec, 'single'>, packages: readonly PackageRecord[], where: string): Groups {
  const names: string[] = [];
  const packageLayer = new Map<string, number>();
  const installed = new Set(packages.map((p) => p.name));
  if (!Array.isArray(strategy)) {
    const order = byPopularity(packages);
    const alone = order.slice(0, strategy.auto - 2);
    for (const name of alone) {
      packageLayer.set(name, names.length);
      names.push(`packages: ${name}`);
    }
    const shared = order.slice(alone.length).sort(comparePaths);
    if (shared.length > 0) {
      for (const name of shared) packageLayer.set(name, names.length);
      names.push(`packages: ${shared.join(', ')}`);
    }
    names.push('database and unowned files');
    return { names, packageLayer, filesLayer: names.length - 1, destLayer: new Map() };
  }
  let rest: number | undefined;
  let filesLayer: number | undefined;
  const destLayer = new Map<string, number>();
  strategy.forEach((g, i) => {
    if ('files' in g && g.files === 'all') {
      filesLayer = i;
      names.push('files');
    } else if ('files' in g) {
      for (const dest of g.files) destLayer.set(dest, i);
      names.push(`files: ${[...g.files].sort(comparePaths).join(', ')}`);
    } else if (g.packages === 'rest') {
      rest = i;
      names.push('packages: rest');
    } else {
      g.packages.forEach((name, j) => {
        if (!installed.has(name)) throw new ReproError('E_SPEC', `${where}: layers[${i}].packages[${j}]: ${name} is not among the packages the image installs`);
        packageLayer.set(name, i);
      });
      names.push(`packages: ${[...g.packages].sort(comparePaths).join(', ')}`);
    }
  });
  names.push('database and unowned files');
  const last = names.length - 1;
  const restNames: string[] = [];
  for (const p of [...packages].sort((a, b) => comparePaths(a.name, b.name))) {
    if (packageLayer.has(p.name)) continue;
    packageLayer.set(p.name, rest ?? last);
    restNames.push(p.name);
  }
  if (rest !== undefined) names[rest] = `packages: rest (${restNames.join(', ')})`;
  return { names, packageLayer, filesLayer: filesLayer ?? last, destLayer };
}

/** Cuts a tree into the layers of a strategy other than `single`. */
export function planLayers(entries: ReadonlyMap<string, Entry>, strategy: Exclude<LayersSpec, 'single'>, inputs: LayerInputs): PlannedLayer[] {
  const { distribution: d, ownPackages } = inputs;
  const all = treePackages(entries, d);
  const packages = ownPackages ? all.filter((p) => ownPackages.has(p.name)) : all;
  const { names, packageLayer, filesLayer, destLayer } = groupsOf(strategy, packages, inputs.where);
  const last = names.length - 1;
  const specLayer = (path: string): number | undefined => {
    const dest = inputs.specFiles.get(path);
    return dest === undefined ? undefined : destLayer.get(dest) ?? filesLayer;
  };

  // Owned paths: the lowest layer of their owners.
  const lookup = { linkOf: (p: string): string | undefined => { const e = entries.get(p); return e?.type === 'symlink' ? e.linkname : undefined; } };
  const owned = new Map<string, number>();
  for (const p of packages) {
    const layer = packageLayer.get(p.name)!;
    for (const f of p.files) {
      const path = resolveRecorded(lookup, f.path);
      if (path === undefined || path === '' || !entries.has(path)) continue;
      const prev = owned.get(path);
      if (prev === undefined || layer < prev) owned.set(path, layer);
    }
  }

  const layerOf = new Map<string, number>();
  const paths = [...entries.keys()].sort(comparePaths);
  for (const path of paths) {
    const e = entries.get(path)!;
    if (e.type === 'dir') continue;
    const layer = specLayer(path) ?? (d.isDatabaseFile(path) ? last : owned.get(path) ?? last);
    layerOf.set(path, layer);
  }
  // Hard links (files sharing an inode) stay together, in the highest layer among theirs.
  const inodeLayer = new Map<string, number>();
  for (const path of paths) {
    const e = entries.get(path)!;
    if (e.type === 'file' && e.inode !== undefined) inodeLayer.set(e.inode, Math.max(inodeLayer.get(e.inode) ?? 0, layerOf.get(path)!));
  }
  for (const path of paths) {
    const e = entries.get(path)!;
    if (e.type === 'file' && e.inode !== undefined) layerOf.set(path, inodeLayer.get(e.inode)!);
  }
  // A hard link spelled out as one (not as a shared inode) goes no lower than its target, once
  // every target is settled: the target's final layer (after the shared-inode step above, and
  // through a chain of such links, whatever order their names sort in).
  const settled = new Map<string, number>();
  const linkLayer = (path: string, seen: Set<string>): number => {
    const done = settled.get(path);
    if (done !== undefined) return done;
    const e = entries.get(path);
    const own = layerOf.get(path) ?? 0;
    if (e?.type !== 'hardlink' || e.linkname === undefined || seen.has(path)) return own;
    seen.add(path);
    const layer = Math.max(own, linkLayer(e.linkname, seen));
    settled.set(path, layer);
    return layer;
  };
  for (const path of paths) if (entries.get(path)!.type === 'hardlink') layerOf.set(path, linkLayer(path, new Set()));
  // Directories: the lowest layer that holds them or anything below them, deepest first, so that
  // a directory is settled after everything below it.
  const needed = new Map<string, number>();
  const need = (path: string, layer: number): void => {
    const parent = parentOf(path);
    if (parent !== '' && layer < (needed.get(parent) ?? Infinity)) needed.set(parent, layer);
  };
  for (const [path, layer] of layerOf) need(path, layer);
  for (const path of [...paths].reverse()) {
    if (entries.get(path)!.type !== 'dir') continue;
    const own = specLayer(path) ?? owned.get(path);
    const layer = Math.min(own ?? last, needed.get(path) ?? last);
    layerOf.set(path, layer);
    need(path, layer);
  }
  const out: PlannedLayer[] = names.map((name) => ({ name, entries: [] }));
  for (const path of paths) out[layerOf.get(path)!]!.entries.push(entries.get(path)!);
  return out;
}
