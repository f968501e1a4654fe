/**
 * The walk of a stage root that is an overlay (overlay-root.ts), after a step, from the walk
 * before it: only what the overlay's upper directory holds can have changed since the mount (the
 * lower tree is read-only), so only those paths are stated again — through the mount, never in the
 * upper directory, whose attributes are not the merged view's — and every other entry is the one
 * the walk before gave. The result is exactly `walkTree(root, xattrs)`'s (same nodes, same order).
 *
 * The upper directory is read only where the walk before is merged with it (directories it holds
 * that were directories in the walk before, not opaque, not renamed). What it says
 * (Documentation/filesystems/overlayfs.rst):
 * - a whiteout (a character device 0/0): the path and everything below it are gone;
 * - an opaque directory (trusted.overlay.opaque "y"; the kernel makes every directory created in a
 *   merged one so): what is below it is only the upper directory's, and a renamed one
 *   (trusted.overlay.redirect) shows another lower directory's files: both are walked whole
 *   through the mount, and so is a directory that was not one in the walk before;
 * - a path that was in the upper directory at the walk before (every path below a directory walked
 *   whole counts as such) and is no longer there (a file made by an earlier step and removed): gone
 *   (asked of the mount: a full walk if it is still there).
 * Where it is not sure, it walks the whole root instead (`walkTree`): the walk before is not one of
 * this mount (the first step); the index directory holds a copied-up lower hard link (written,
 * chmod-ed, linked, renamed or removed through one name, the mount shows its other names changed
 * though the upper directory holds no entry for them; such an entry stays, so every later walk of
 * the mount is a full one); a hard-linked upper file with an origin; an attribute trusted.overlay.*
 * it does not know; a name that is not UTF-8 (the full walk then refuses it with its one-line
 * error).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { comparePaths } from '../../model/byte-order.js';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import type { OverlayRoot } from './overlay-root.js';
import { sortedNames, statNode, walkBelow, walkTree, type FsNode } from './tree.js';

/** What the upper directory holds at a name of one of its directories. */
export interface UpperChild {
  name: string;
  kind: 'whiteout' | 'dir' | 'other';
}

/** What the merge reads in the upper directory (paths relative to it, '' its root). */
export interface UpperReads {
  /** The names of a directory of the upper directory, in byte order. */
  list(rel: string): UpperChild[];
  /** Whether a directory of it is opaque or renamed (redirected). */
  flags(rel: string): { opaque: boolean; redirect: boolean };
}

/** What the merge reads through the mount. */
export interface MountReads {
  /** `statNode` of a path through the mount. */
  stat(path: string): FsNode | undefined;
  /** `walkBelow` of a directory through the mount. */
  walkBelow(path: string, out: FsNode[]): void;
}

/** Thrown where only a full walk can answer. */
export class NeedFullWalk extends Error {}

/** The overlay's own attributes a directory of the upper directory may carry. */
const DIR_XATTRS = new Set(['trusted.overlay.opaque', 'trusted.overlay.redirect', 'trusted.overlay.origin', 'trusted.overlay.impure', 'trusted.overlay.uuid']);

const utf8 = new TextDecoder('utf-8', { fatal: true });


/**
 * Throws NeedFullWalk when the index directory of `o` holds a copied-up lower hard link. With
 * index=on the kernel keeps its temporary files there too (names starting with '#', among them
 * the whiteout it links every whiteout to); any other name is a lower hard link copied up.
 */
export function checkIndex(o: OverlayRoot): void {
  let index: string[] = [];
  try {
    index = readdirSync(join(o.work, 'index'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new NeedFullWalk(`cannot list the overlay's index directory (${(e as Error).message})`);
  }
  const linked = index.find((n) => !n.startsWith('#'));
  if (linked !== undefined) throw new NeedFullWalk(`a lower hard link was copied up (index entry ${linked})`);
}

/** The upper directory of `o` read as the merge asks (each failure a NeedFullWalk). */
export function upperReads(o: OverlayRoot, xattrs: XattrReader): UpperReads {
  const abs = (rel: string): string => rel === '' ? o.upper : join(o.upper, rel);
  const attrs = (a: string): Map<string, Buffer> | undefined => {
    try {
      return xattrs.read(a, a);
    } catch (e) {
      throw new NeedFullWalk(`cannot read the attributes of ${a} (${(e as Error).message})`);
    }
  };
  return {
    list(rel) {
      const dir = abs(rel);
      let raw: Buffer[];
      try {
        raw = readdirSync(dir, { encoding: 'buffer' });
      } catch (e) {
        throw new NeedFullWalk(`cannot list ${dir} (${(e as Error).message})`);
      }
      raw.sort(Buffer.compare);
      return raw.map((b): UpperChild => {
        let name: string;
        try {
          name = utf8.decode(b);
        } catch {
          throw new NeedFullWalk(`${dir}: a name that is not UTF-8`);
        }
        const a = join(dir, name);
        let st;
        try {
          st = lstatSync(a);
        } catch (e) {
          throw new NeedFullWalk(`cannot stat ${a} (${(e as Error).message})`);
        }
        if (st.isDirectory()) return { name, kind: 'dir' };
        if (st.isCharacterDevice() && st.rdev === 0) return { name, kind: 'whiteout' };
        // A hard link made in the upper directory has each name there; one copied up from the
        // lower tree (it has an origin) may have names that are not.
        if (st.nlink > 1 && !st.isSymbolicLink() && [...attrs(a)?.keys() ?? []].some((k) => k.startsWith('trusted.overlay.'))) {
          throw new NeedFullWalk(`${a}: a hard-linked file copied up from the lower tree`);
        }
        return { name, kind: 'other' };
      });
    },
    flags(rel) {
      const f = { opaque: false, redirect: false };
      const a = abs(rel);
      for (const [k, v] of attrs(a) ?? []) {
        if (!k.startsWith('trusted.overlay.')) continue;
        if (!DIR_XATTRS.has(k)) throw new NeedFullWalk(`${a}: ${k}`);
        if (k === 'trusted.overlay.redirect') f.redirect = true;
        if (k === 'trusted.overlay.opaque') {
          if (v.toString('latin1') !== 'y') throw new NeedFullWalk(`${a}: ${k}=${v.toString('latin1')}`);
          f.opaque = true;
        }
      }
      return f;
    },
  };
}

/**
 * The walk after: `before` (a walk of the same mount, `beforeUpper` the paths it took from the
 * upper directory) where the upper directory holds nothing, the mount where it does; with the
 * paths taken from the upper directory this time (every path below a directory walked whole
 * through the mount counted among them: a later walk then asks the mount about it again). Throws
 * NeedFullWalk where the two do not agree.
 */
export function mergeWalk(before: readonly FsNode[], beforeUpper: ReadonlySet<string>, upper: UpperReads, mount: MountReads): { nodes: FsNode[]; upper: Set<string> } {
  const n = before.length;
  // Each entry's subtree is before[i] .. before[end[i] - 1] (a walk is in preorder).
  const end = new Int32Array(n);
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = before[i]!.path;
    while (stack.length > 0) {
      const t = stack[stack.length - 1]!;
      if (p.startsWith(before[t]!.path) && p.charCodeAt(before[t]!.path.length) === 0x2f) break;
      end[t] = i;
      stack.pop();
    }
    stack.push(i);
  }
  for (const t of stack) end[t] = n;
  const out: FsNode[] = [];
  const upperNow = new Set<string>();
  const whole = (path: string): void => {
    const from = out.length;
    mount.walkBelow(path, out);
    for (let j = from; j < out.length; j++) upperNow.add(out[j]!.path);
  };
  const emitDir = (rel: string, from: number, to: number): void => {
    const kids = upper.list(rel);
    let b = from;
    let k = 0;
    while (b < to || k < kids.length) {
      const bPath = b < to ? before[b]!.path : undefined;
      const kid = kids[k];
      const c = bPath === undefined ? 1 : kid === undefined ? -1 : comparePaths(bPath.slice(bPath.lastIndexOf('/') + 1), kid.name);
      if (c < 0) {
        // Not in the upper directory: from the lower tree as before, or gone from the upper one.
        if (beforeUpper.has(bPath!)) {
          if (mount.stat(bPath!) !== undefined) throw new NeedFullWalk(`${bPath} left the upper directory but is still there`);
        } else {
          for (let j = b; j < end[b]!; j++) out.push(before[j]!);
        }
        b = end[b]!;
        continue;
      }
      const path = rel === '' ? kid!.name : `${rel}/${kid!.name}`;
      const was = c === 0 ? b : -1;
      if (c === 0) b = end[b]!;
      k++;
      upperNow.add(path);
      if (kid!.kind === 'whiteout') continue;
      const node = mount.stat(path);
      if (node === undefined) {
        if (kid!.kind === 'dir') throw new NeedFullWalk(`${path}: a directory in the upper directory, nothing in the mount`);
        continue; // a socket: not walked
      }
      out.push(node);
      if ((node.kind === 'dir') !== (kid!.kind === 'dir')) throw new NeedFullWalk(`${path}: a directory in one of the mount and the upper directory only`);
      if (kid!.kind !== 'dir') continue;
      // New here (nothing of the lower tree below it), opaque or renamed: the mount's alone.
      if (was < 0 || before[was]!.kind !== 'dir') whole(path);
      else {
        const f = upper.flags(path);
        if (f.opaque || f.redirect) whole(path);
        else emitDir(path, was + 1, end[was]!);
      }
    }
  };
  const root = upper.flags('');
  if (root.opaque || root.redirect) throw new NeedFullWalk('the upper root is opaque or redirected');
  emitDir('', 0, n);
  return { nodes: out, upper: upperNow };
}

interface WalkRecord {
  overlay: OverlayRoot;
  /** The paths the upper directory held (whiteouts too). */
  upper: Set<string>;
}

/** The walks made here, with what they need to be the walk before of the next. */
const records = new WeakMap<readonly FsNode[], WalkRecord>();

/** `walkAfter`, saying why it walked the whole root (undefined when it did not). */
export function walkAfterExplained(root: string, overlay: OverlayRoot, before: readonly FsNode[] | undefined, xattrs: XattrReader | undefined): { nodes: FsNode[]; fullWalk?: string } {
  if (!overlay.mounted || overlay.root !== root) return { nodes: walkTree(root, xattrs), fullWalk: 'not this overlay, or not mounted' };
  if (!xattrs) return { nodes: walkTree(root, xattrs), fullWalk: 'no attribute reader' };
  // A full walk's record: every path the upper directory holds then (a later walk asks the mount
  // about each one that it no longer holds).
  const full = (why: string, record: boolean): { nodes: FsNode[]; fullWalk: string } => {
    const nodes = walkTree(root, xattrs);
    if (record) {
      const upper = new Set<string>();
      const visit = (rel: string): void => {
        for (const name of sortedNames(rel === '' ? overlay.upper : join(overlay.upper, rel))) {
          const path = rel === '' ? name : `${rel}/${name}`;
          upper.add(path);
          if (lstatSync(join(overlay.upper, path)).isDirectory()) visit(path);
        }
      };
      try {
        visit('');
      } catch {
        return { nodes, fullWalk: why }; // (a name that is not UTF-8 in the upper directory only: a whiteout)
      }
      records.set(nodes, { overlay, upper });
    }
    return { nodes, fullWalk: why };
  };
  try {
    checkIndex(overlay);
  } catch (e) {
    // Once there, an index entry stays: no record, every later walk is a full one too.
    if (e instanceof NeedFullWalk) return full(e.message, false);
    throw e;
  }
  const record = before && records.get(before);
  if (!record || record.overlay !== overlay) return full(before ? 'the walk before is not one of this mount' : 'no walk before', true);
  try {
    const r = mergeWalk(before!, record.upper, upperReads(overlay, xattrs), {
      stat: (path) => statNode(root, path, xattrs),
      walkBelow: (path, out) => walkBelow(root, path, xattrs, out),
    });
    records.set(r.nodes, { overlay, upper: r.upper });
    return { nodes: r.nodes };
  } catch (e) {
    if (e instanceof NeedFullWalk) return full(e.message, true);
    throw e;
  }
}

/**
 * Whether a walk of a plain directory is what a walk through an overlay with that directory as its
 * only lower tree would show: nothing in it that the overlay reads as its own instead of showing
 * it — a character device 0/0 (a whiteout), an attribute trusted.overlay.* or user.overlay.*
 * (opaque and renamed directories, origins, whiteouts made as attributes), which the mount hides.
 * (Symbolic links' attributes are never read, by the walk or by the overlay.)
 */
export function showsAsLower(nodes: readonly FsNode[]): boolean {
  return !nodes.some((n) => (n.kind === 'char' && n.devmajor === 0 && n.devminor === 0)
    || [...n.xattrs?.keys() ?? []].some((k) => k.startsWith('trusted.overlay.') || k.startsWith('user.overlay.')));
}

/** The fields of a walk's node that a stat through the mount gives again (not the attributes, not the inode key). */
function sameStat(n: FsNode, m: FsNode | undefined): boolean {
  return m !== undefined && m.kind === n.kind && m.mode === n.mode && m.uid === n.uid && m.gid === n.gid && m.size === n.size
    && m.mtimeSec === n.mtimeSec && m.mtimeNsec === n.mtimeNsec && m.devmajor === n.devmajor && m.devminor === n.devminor && m.linkTarget === n.linkTarget;
}

/**
 * `nodes`, a walk of the tree that `overlay` has just been mounted over (its only lower tree, the
 * upper directory still empty: overlay-root.ts `overlayOverItself`, or a base image's tree from the
 * store, whose walk it kept), for which `showsAsLower` holds and whose `abs` are under the mount,
 * as the walk of the mount `walkAfter` takes for the walk before: the same nodes, each hard link's
 * inode key the one the mount gives (the device and inode number an overlay shows depend on
 * whether its layers share a file system, and on xino: each hard-linked file is stated through
 * the mount, and the keys must pair one to one). Checked through the mount where it is cheap:
 * every top-level node's metadata too; where one differs (a store's tree changed by hand, copied
 * elsewhere), undefined (the walk after is then a full one).
 */
export function adoptWalk(nodes: readonly FsNode[], overlay: OverlayRoot): FsNode[] | undefined {
  if (!overlay.mounted || overlay.root === overlay.tree) return undefined;
  const mountKey = new Map<string, string>();
  const walkKey = new Map<string, string>();
  const out: FsNode[] = [];
  try {
    for (const n of nodes) if (!n.path.includes('/') && !sameStat(n, statNode(overlay.root, n.path, undefined))) return undefined;
    for (const n of nodes) {
      if (n.inode === undefined) {
        out.push(n);
        continue;
      }
      let key = mountKey.get(n.inode);
      const st = lstatSync(n.abs, { bigint: true, throwIfNoEntry: false });
      if (!st || !st.isFile()) return undefined;
      const seen = `${st.dev}:${st.ino}`;
      if (key === undefined) {
        if (walkKey.has(seen)) return undefined;
        mountKey.set(n.inode, (key = seen));
        walkKey.set(seen, n.inode);
      } else if (key !== seen) return undefined;
      out.push({ ...n, inode: key });
    }
  } catch {
    return undefined;
  }
  records.set(out, { overlay, upper: new Set() });
  return out;
}

/**
 * Exactly what `walkTree(root, xattrs)` gives, for a stage root mounted as `overlay`, reading
 * through the mount only what its upper directory holds when `before` is this function's walk of
 * the same mount (else, as for the first walk, the whole root).
 */
export function walkAfter(root: string, overlay: OverlayRoot, before: readonly FsNode[] | undefined, xattrs: XattrReader | undefined): FsNode[] {
  return walkAfterExplained(root, overlay, before, xattrs).nodes;
}
