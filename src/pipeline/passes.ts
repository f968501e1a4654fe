/**
 * Named normalisation passes over the file tree. Each removes or rewrites one known source of
 * non-determinism and reports what it changed. They take and mutate only the tree given (reading
 * the content it refers to where a pass rewrites a file).
 */
import picomatch from 'picomatch';
import { comparePaths, type Entry } from '../archive/entry.js';
import { ReproError, option } from '../model/errors.js';
import { readEntryBytes } from '../archive/content.js';
import { LOCAL_DESC, withInstallDate } from '../sources/arch/installdate.js';

export interface PassReport {
  name: string;
  changed: number;
  /** Up to 10 paths it changed, in byte order. */
  examples: string[];
  /** Every path (or package) it changed, in the same order (`--verbose` and `--json` show them). */
  paths?: string[];
}

export interface PassContext {
  sourceDateEpoch: number;
  exclude: string[];
  /** xattr names kept by the `xattrs` pass (globs). */
  keepXattrs: string[];
}

export interface Pass {
  name: string;
  description: string;
  run(tree: Map<string, Entry>, ctx: PassContext, changed: (path: string) => void): void;
}

function removeExact(path: string): Pass['run'] {
  return (tree, _ctx, changed) => {
    if (tree.delete(path)) changed(path);
  };
}

function removeSubtree(tree: Map<string, Entry>, root: string, changed: (p: string) => void): void {
  for (const p of [...tree.keys()]) {
    if (p === root || p.startsWith(`${root}/`)) {
      tree.delete(p);
      changed(p);
    }
  }
}

export const PASSES: readonly Pass[] = [
  {
    name: 'exclude',
    description: 'remove paths matching --exclude globs (and everything under them)',
    run(tree, ctx, changed) {
      if (ctx.exclude.length === 0) return;
      const match = picomatch(ctx.exclude, { dot: true });
      for (const p of [...tree.keys()]) if (tree.has(p) && match(p)) removeSubtree(tree, p, changed);
    },
  },
  {
    name: 'ldconfig-aux-cache',
    description: "remove var/cache/ldconfig/aux-cache (ldconfig's cache of file times and inodes)",
    run: removeExact('var/cache/ldconfig/aux-cache'),
  },
  {
    name: 'machine-id',
    description: 'truncate etc/machine-id to empty (systemd fills it in on first boot)',
    run(tree, _ctx, changed) {
      const e = tree.get('etc/machine-id');
      if (!e || e.type !== 'file' || e.size === 0) return;
      const { inode: _i, ...rest } = e;
      tree.set(e.path, { ...rest, size: 0, content: { kind: 'bytes', data: Buffer.alloc(0) } });
      changed(e.path);
    },
  },
  {
    name: 'random-seed',
    description: "remove systemd's and systemd-boot's random seeds (var/lib/systemd/random-seed, efi/loader/random-seed)",
    run(tree, ctx, changed) {
      removeExact('var/lib/systemd/random-seed')(tree, ctx, changed);
      removeExact('efi/loader/random-seed')(tree, ctx, changed);
    },
  },
  {
    name: 'pacman-installdate',
    description: "set %INSTALLDATE% in pacman's local database (var/lib/pacman/local/*/desc) to SOURCE_DATE_EPOCH, as pacman writes it when it honours SOURCE_DATE_EPOCH",
    run(tree, ctx, changed) {
      for (const e of [...tree.values()]) {
        if (e.type !== 'file' || !LOCAL_DESC.test(e.path)) continue;
        const data = withInstallDate(readEntryBytes(e), ctx.sourceDateEpoch);
        if (!data) continue;
        const { inode: _i, ...rest } = e;
        tree.set(e.path, { ...rest, size: data.length, content: { kind: 'bytes', data } });
        changed(e.path);
      }
    },
  },
  {
    name: 'xattrs',
    description: 'keep only portable extended attributes (security.capability and user.*); drop SELinux labels, ACLs and other host-specific ones',
    run(tree, ctx, changed) {
      const keep = picomatch(ctx.keepXattrs);
      for (const e of tree.values()) {
        if (!e.xattrs) continue;
        const kept = new Map([...e.xattrs].filter(([k]) => keep(k)));
        if (kept.size === e.xattrs.size) continue;
        if (kept.size > 0) e.xattrs = kept;
        else delete e.xattrs;
        changed(e.path);
      }
    },
  },
  {
    name: 'clamp-mtime',
    description: 'set every time newer than SOURCE_DATE_EPOCH to SOURCE_DATE_EPOCH (older times are kept)',
    run(tree, ctx, changed) {
      for (const e of tree.values()) {
        if (e.mtime > ctx.sourceDateEpoch) {
          e.mtime = ctx.sourceDateEpoch;
          changed(e.path);
        }
      }
    },
  },
];

export const PASS_NAMES = PASSES.map((p) => p.name);

/** Parses `--normalize`: `all` (default), `none`, or a comma-separated list of pass names. */
export function selectPasses(spec: string | undefined): string[] {
  if (spec === undefined || spec === 'all') return [...PASS_NAMES];
  if (spec === 'none') return [];
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!PASS_NAMES.includes(n)) {
      throw new ReproError('E_USAGE', `${option('normalize')}: unknown pass ${JSON.stringify(n)}; known: ${PASS_NAMES.join(', ')}, or all, none`);
    }
  }
  return names;
}

export function runPasses(tree: Map<string, Entry>, names: string[], ctx: PassContext): PassReport[] {
  const reports: PassReport[] = [];
  for (const pass of PASSES) {
    if (!names.includes(pass.name)) continue;
    const paths: string[] = [];
    pass.run(tree, ctx, (p) => paths.push(p));
    paths.sort(comparePaths);
    reports.push({ name: pass.name, changed: paths.length, examples: paths.slice(0, 10), paths });
  }
  return reports;
}
