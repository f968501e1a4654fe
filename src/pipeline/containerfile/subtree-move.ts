/**
 * Which directories of a set of entries may be moved whole (one rename) instead of entry by entry
 * (a mkdir per directory, a rename per file): on this kind of file system making an inode costs far
 * more than renaming or setting its attributes. A directory qualifies when what the entry-by-entry
 * apply would leave there is exactly what the renamed directory holds once each entry below it has
 * its attributes set (copier.ts `putEntries`, entries found in place):
 * - everything below it in its directory is one of the entries (counted against the directory's
 *   own listing: nothing else, such as a socket a walk leaves out, comes along), and none of them is
 *   a whiteout or left out by the caller (`keep`);
 * - a directory, device or fifo below it (which the apply would make new) has no attribute that
 *   a new one would lack, other than those a move drops (trusted.*, user.overlay.*);
 * - a symlink below it (made new by the apply, and whose attributes nothing else reads) has none.
 * Files keep their inode either way (the apply moves them too); hard links among the entries are
 * already links of the same inodes. Whether the destination exists is the copier's to check.
 */
import { closeSync, constants, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import { droppedXattr, keptXattr } from './copier.js';
import type { FsNode } from './tree.js';

/** O_PATH (Linux): an fd naming a symlink itself, through which its own attributes are read. */
const O_PATH = 0o10000000;

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The attributes a symlink itself has (through /proc/self/fd: the addon follows links), or undefined when they cannot be read. */
function linkXattrs(abs: string, reader: XattrReader): Map<string, Buffer> | 'none' | undefined {
  let fd: number;
  try {
    fd = openSync(abs, O_PATH | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return reader.read(`/proc/self/fd/${fd}`, abs) ?? 'none';
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function freshLike(n: FsNode): boolean {
  return [...(n.xattrs?.keys() ?? [])].every((k) => keptXattr(k) || droppedXattr(k));
}

export interface MovableOptions {
  /** Reads a symlink's own attributes (without it, nothing is moved whole). */
  xattrs: XattrReader | undefined;
  /** Paths the apply leaves out (a subtree filter): a directory with one below it is not moved whole. */
  keep?: ((path: string) => boolean) | undefined;
  /** Whiteouts among the entries (the paths they hide). */
  whiteouts?: readonly string[];
  /** The directory the nodes are in now, when not where they were walked (their `abs`). */
  from?: string;
}

/**
 * The directories among `nodes` (their `path` as the entries name them, `abs` where they are now)
 * that may be moved whole, each by its path.
 */
export function movableDirs(nodes: readonly FsNode[], opts: MovableOptions): Set<string> {
  const out = new Set<string>();
  if (!opts.xattrs || nodes.length === 0) return out;
  const bad = new Set<string>();
  const taint = (path: string): void => {
    for (let p = path; !bad.has(p); p = parentOf(p)) {
      bad.add(p);
      if (p === '') break;
    }
  };
  const children = new Map<string, number>();
  for (const n of nodes) children.set(parentOf(n.path), (children.get(parentOf(n.path)) ?? 0) + 1);
  for (const w of opts.whiteouts ?? []) taint(w);
  for (const n of nodes) {
    const abs = opts.from === undefined ? n.abs : join(opts.from, n.path);
    let ok = opts.keep === undefined || opts.keep(n.path);
    if (ok && (n.kind === 'dir' || n.kind === 'char' || n.kind === 'block' || n.kind === 'fifo')) ok = freshLike(n);
    if (ok && n.kind === 'symlink') ok = linkXattrs(abs, opts.xattrs) === 'none';
    if (ok && n.kind === 'dir') {
      try {
        ok = readdirSync(abs).length === (children.get(n.path) ?? 0);
      } catch {
        ok = false;
      }
    }
    if (!ok) taint(n.path);
  }
  for (const n of nodes) if (n.kind === 'dir' && !bad.has(n.path)) out.add(n.path);
  return out;
}
