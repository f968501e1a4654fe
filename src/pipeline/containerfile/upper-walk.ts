/**
 * The walk of a stage root that is an overlay (overlay-root.ts), after a step, from the walk
 * before it: only what the overlay's upper directory holds can have changed since the mount (the
 * lower tree is read-only), so only those paths are stated again — through the mount, never in the
 * upper directory, whose attributes are not the merged view's — and every other entry is the one
 * the walk before gave. The result is exactly `walkTree(root, xattrs)`'s (same nodes, same order).
 *
 * What the upper directory says (Documentation/filesystems/overlayfs.rst):
 * - a whiteout (a character device 0/0): the path and everything below it are gone;
 * - an opaque directory (trusted.overlay.opaque "y"): what is below it is only the upper
 *   directory's, and a renamed one (trusted.overlay.redirect) shows another lower directory's
 *   files: both are walked whole through the mount;
 * - a directory that is not in the walk before (new, or a file before): walked whole too;
 * - a path that was in the upper directory at the walk before and is no longer there (a file made
 *   by an earlier step and removed): gone.
 * Where it is not sure, it walks the whole root instead (`walkTree`): the walk before is not one of
 * this mount (the first step); the index directory holds a copied-up lower hard link (written,
 * chmod-ed, renamed or removed through one name, the mount shows its other names changed though
 * the upper directory holds no entry for them); a hard-linked upper file with an origin; an
 * attribute trusted.overlay.* it does not know; a name that is not UTF-8 (the full walk then
 * refuses it with its one-line error).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import type { OverlayRoot } from './overlay-root.js';
import { statNode, walkBelow, walkTree, type FsNode } from './tree.js';

/** What the upper directory holds at a path. */
export type UpperNode =
  | { kind: 'whiteout' }
  | { kind: 'other' }
  | UpperDir;

export interface UpperDir {
  kind: 'dir';
  opaque: boolean;
  redirect: boolean;
  /** In byte order of the names. */
  children: { name: string; node: UpperNode }[];
}

/** Thrown by the merge where only a full walk can answer. */
export class NeedFullWalk extends Error {}

/** The overlay's own attributes a directory of the upper directory may carry, and what they mean here. */
const DIR_XATTRS = new Set(['trusted.overlay.opaque', 'trusted.overlay.redirect', 'trusted.overlay.origin', 'trusted.overlay.impure', 'trusted.overlay.uuid']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Byte order of two UTF-8 names (JS string order differs only past U+D7FF). */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
  }
  return a.length - b.length;
}

/**
 * The upper directory of `o` as a tree, with every path it holds (whiteouts too) in `paths`; or
 * why it cannot be read for a merge (then the caller walks the whole root).
 */
export function readUpper(o: OverlayRoot, xattrs: XattrReader): { tree: UpperDir; paths: Set<string> } | { fallback: string } {
  // With index=on the kernel keeps its temporary files (names starting with '#', among them the
  // whiteout it links every whiteout to) in the index directory; any other name there is a
  // copied-up lower hard link.
  let index: string[] = [];
  try {
    index = readdirSync(join(o.work, 'index'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { fallback: `cannot list the overlay's index directory (${(e as Error).message})` };
  }
  const linked = index.find((n) => !n.startsWith('#'));
  if (linked !== undefined) return { fallback: `a lower hard link was copied up (index entry ${linked})` };
  const paths = new Set<string>();
  const readDir = (abs: string, rel: string): UpperDir | string => {
    let attrs: Map<string, Buffer> | undefined;
    try {
      attrs = xattrs.read(abs, abs);
    } catch (e) {
      return `cannot read the attributes of ${abs} (${(e as Error).message})`;
    }
    const dir: UpperDir = { kind: 'dir', opaque: false, redirect: false, children: [] };
    for (const [k, v] of attrs ?? []) {
      if (!k.startsWith('trusted.overlay.')) continue;
      if (!DIR_XATTRS.has(k)) return `${abs}: ${k}`;
      if (k === 'trusted.overlay.redirect') dir.redirect = true;
      if (k === 'trusted.overlay.opaque') {
        if (v.toString('latin1') !== 'y') return `${abs}: ${k}=${v.toString('latin1')}`;
        dir.opaque = true;
      }
    }
    let raw: Buffer[];
    try {
      raw = readdirSync(abs, { encoding: 'buffer' });
    } catch (e) {
      return `cannot list ${abs} (${(e as Error).message})`;
    }
    raw.sort(Buffer.compare);
    for (const b of raw) {
      let name: string;
      try {
        name = utf8.decode(b);
      } catch {
        return `${abs}: a name that is not UTF-8`;
      }
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      paths.add(childRel);
      let st;
      try {
        st = lstatSync(childAbs);
      } catch (e) {
        return `cannot stat ${childAbs} (${(e as Error).message})`;
      }
      let node: UpperNode;
      if (st.isDirectory()) {
        const d = readDir(childAbs, childRel);
        if (typeof d === 'string') return d;
        node = d;
      } else if (st.isCharacterDevice() && st.rdev === 0) {
        node = { kind: 'whiteout' };
      } else {
        if (st.nlink > 1) {
          // A hard link made in the upper directory is fine (each name is there); one copied up
          // from the lower tree may have names that are not.
          let a: Map<string, Buffer> | undefined;
          try {
            a = st.isSymbolicLink() ? undefined : xattrs.read(childAbs, childAbs);
          } catch (e) {
            return `cannot read the attributes of ${childAbs} (${(e as Error).message})`;
          }
          if (a && [...a.keys()].some((k) => k.startsWith('trusted.overlay.'))) return `${childAbs}: a hard-linked file copied up`;
        }
        node = { kind: 'other' };
      }
      dir.children.push({ name, node });
    }
    return dir;
  };
  const tree = readDir(o.upper, '');
  if (typeof tree === 'string') return { fallback: tree };
  if (tree.opaque || tree.redirect) return { fallback: 'the upper root is opaque or redirected' };
  return { tree, paths };
}

/** What the merge reads through the mount. */
export interface MountReads {
  /** `statNode` of a path through the mount. */
  stat(path: string): FsNode | undefined;
  /** `walkBelow` of a directory through the mount. */
  walkBelow(path: string, out: FsNode[]): void;
}

/**
 * The walk after: `before` (a walk of the same mount, when the upper directory held `beforeUpper`)
 * where the upper directory (`upper`) holds nothing, the mount where it does. Throws NeedFullWalk
 * where the two do not agree.
 */
export function mergeWalk(before: readonly FsNode[], beforeUpper: ReadonlySet<string>, upper: UpperDir, io: MountReads): FsNode[] {
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
  const emitDir = (rel: string, from: number, to: number, up: UpperDir): void => {
    let b = from;
    let k = 0;
    const kids = up.children;
    while (b < to || k < kids.length) {
      const bPath = b < to ? before[b]!.path : undefined;
      const kid = kids[k];
      const c = bPath === undefined ? 1 : kid === undefined ? -1 : compareNames(bPath.slice(bPath.lastIndexOf('/') + 1), kid.name);
      if (c < 0) {
        // Not in the upper directory: from the lower tree as before, or gone from the upper one.
        if (beforeUpper.has(bPath!)) {
          if (io.stat(bPath!) !== undefined) throw new NeedFullWalk(`${bPath} left the upper directory but is still there`);
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
      const u = kid!.node;
      if (u.kind === 'whiteout') continue;
      const node = io.stat(path);
      if (node === undefined) {
        if (u.kind === 'dir') throw new NeedFullWalk(`${path}: a directory in the upper directory, nothing in the mount`);
        continue; // a socket: not walked
      }
      out.push(node);
      if ((node.kind === 'dir') !== (u.kind === 'dir')) throw new NeedFullWalk(`${path}: a directory in one of the mount and the upper directory only`);
      if (u.kind !== 'dir') continue;
      if (u.opaque || u.redirect || was < 0 || before[was]!.kind !== 'dir') io.walkBelow(path, out);
      else emitDir(path, was + 1, end[was]!, u);
    }
  };
  emitDir('', 0, n, upper);
  return out;
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
  const up = readUpper(overlay, xattrs);
  const full = (why: string): { nodes: FsNode[]; fullWalk: string } => {
    const nodes = walkTree(root, xattrs);
    if ('tree' in up) records.set(nodes, { overlay, upper: up.paths });
    return { nodes, fullWalk: why };
  };
  if ('fallback' in up) return full(up.fallback);
  const record = before && records.get(before);
  if (!record || record.overlay !== overlay) return full(before ? 'the walk before is not one of this mount' : 'no walk before');
  let nodes: FsNode[];
  try {
    nodes = mergeWalk(before!, record.upper, up.tree, {
      stat: (path) => statNode(root, path, xattrs),
      walkBelow: (path, out) => walkBelow(root, path, xattrs, out),
    });
  } catch (e) {
    if (e instanceof NeedFullWalk) return full(e.message);
    throw e;
  }
  records.set(nodes, { overlay, upper: up.paths });
  return { nodes };
}

/**
 * Exactly what `walkTree(root, xattrs)` gives, for a stage root mounted as `overlay`, reading
 * through the mount only what its upper directory holds when `before` is this function's walk of
 * the same mount (else, as for the first walk, the whole root).
 */
export function walkAfter(root: string, overlay: OverlayRoot, before: readonly FsNode[] | undefined, xattrs: XattrReader | undefined): FsNode[] {
  return walkAfterExplained(root, overlay, before, xattrs).nodes;
}
