/**
 * Stage roots on an overlay: a FROM image stage (or a stage made from one) starts as an overlay
 * whose lower layer is the base image's unpacked tree from the store (unpacked-store.ts), so its
 * files are not written again; what the stage's steps change lands in the overlay's upper
 * directory. Everything else — RUN under runc, the walks and the naive diff, ADD and COPY — sees
 * the mount as the plain directory it stands for (docs/podman-compat.md, "What a rebuild writes").
 *
 * Files are moved out of a stage on its last read (build.ts `materialise`). A rename out of the
 * mount would cross file systems, so the overlay is unmounted first and the files are moved from
 * its upper directory (on the scratch directory's file system); the few that the upper directory
 * does not hold whole — a name of a hard-linked file written through another name, a file below a
 * renamed directory — are copied aside while the mount is still there.
 */
import { chmodSync, copyFileSync, lstatSync, mkdirSync, renameSync, rmSync, rmdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { mountOverlay } from '../../fs/overlay.js';
import { unmountSync } from '../../fs/mounts.js';
import { ReproError, ioError } from '../../model/errors.js';

export interface OverlayRoot {
  /** The mount point (the stage's root). */
  root: string;
  /** The read-only lower tree. */
  tree: string;
  upper: string;
  work: string;
  mounted: boolean;
}

/** Where the overlay mounted at a stage root keeps its upper and work directories. */
function overlayDirs(root: string): { upper: string; work: string } {
  return { upper: `${root}.upper`, work: `${root}.work` };
}

/**
 * An overlay over `tree` at `root` (made here, 0755 root:root, as a root written by applying
 * layers is, unless `rootAttrs` says otherwise: what the mount's root shows); undefined when no
 * overlay can be made (then `root` is an empty directory).
 */
export function mountOnTree(root: string, tree: string, rootAttrs = { mode: 0o755, uid: 0, gid: 0 }): OverlayRoot | undefined {
  try {
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
  } catch (e) {
    throw ioError(e, `cannot make the stage directory ${root}`);
  }
  const o: OverlayRoot = { root, tree, ...overlayDirs(root), mounted: false };
  if (!mountOverlay(root, { lower: [tree], upper: o.upper, work: o.work }, rootAttrs)) return undefined;
  o.mounted = true;
  return o;
}

/**
 * A stage root that is a plain directory, put on an overlay over itself: the directory is renamed
 * to `ROOT.lower` and becomes the read-only lower tree of an overlay mounted at `root`, whose
 * root shows the old root's mode and owner. What a later step writes then lands in the upper
 * directory, and the walk after it states again only that (upper-walk.ts `adoptWalk`). Undefined,
 * with the directory back where it was, when no overlay can be mounted there.
 */
export function overlayOverItself(root: string): OverlayRoot | undefined {
  const lower = `${root}.lower`;
  const { upper, work } = overlayDirs(root);
  // What a mount of this root that failed left (mountOverlay makes them before it tries).
  const removeLeftovers = (): void => {
    rmSync(upper, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  };
  const cannot = (e: unknown): Error => ioError(e, `cannot put the stage directory ${root} on an overlay`);
  let st: Stats;
  try {
    st = lstatSync(root);
    removeLeftovers();
    renameSync(root, lower);
  } catch (e) {
    throw cannot(e);
  }
  const o = mountOnTree(root, lower, { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  if (o) return o;
  try {
    rmdirSync(root);
    renameSync(lower, root);
    removeLeftovers();
  } catch (e) {
    throw cannot(e);
  }
  return undefined;
}

/**
 * Unmounts `o` so that the files at `paths` (relative to the root) can be moved out; returns
 * where each one's content is then: in the upper directory, or (when the upper directory does not
 * hold that name as a file) a copy made in `aside` before the unmount.
 */
export function releaseForMove(o: OverlayRoot, paths: Iterable<string>, aside: string): Map<string, string> {
  const from = new Map<string, string>();
  let n = 0;
  for (const p of paths) {
    const up = join(o.upper, p);
    let inUpper = false;
    try {
      inUpper = lstatSync(up).isFile();
    } catch { /* not in the upper directory */ }
    if (inUpper) {
      from.set(p, up);
      continue;
    }
    if (n === 0) mkdirSync(aside, { recursive: true });
    const copy = join(aside, String(n++));
    try {
      copyFileSync(join(o.root, p), copy);
    } catch (e) {
      throw ioError(e, `cannot copy ${p} out of the stage directory ${o.root}`);
    }
    from.set(p, copy);
  }
  // Moving out of an upper directory that is still mounted would be undefined behaviour.
  if (!unmountSync(o.root)) throw new ReproError('E_IO', `cannot unmount the stage directory ${o.root}`);
  o.mounted = false;
  return from;
}
