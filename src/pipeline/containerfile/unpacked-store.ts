/**
 * Unpacked base images, kept between runs (as podman keeps them in its store): a FROM image's
 * layers applied once to a tree in `<cache>/unpacked/<key>/tree`, which later stages mount as the
 * read-only lower layer of an overlay (fs/overlay.ts) instead of writing the base's files again.
 *
 * The key is the sha256 of this store's format, the tool's version and the image's chain of
 * diff_ids (its config's rootfs.diff_ids, which its digest covers). A tree is put by applying the
 * layers to a temporary name beside it and renaming it into place, and only when every layer's
 * tar hashed to its diff_id: two runs filling one key both succeed (the second keeps the first's),
 * a killed run leaves a temporary name a later run removes. `layers.json` records each layer's
 * diff_id and tar size (what a stage's layer list needs without reading the tar again), and
 * `walk.json` the tree's walk as it was put (tree.ts `walkTree`: every node but where it is, a hard
 * link's inode number without its device), which the first step of a stage on the tree takes as
 * the walk before instead of walking the whole tree (upper-walk.ts `adoptWalk`, which checks it
 * against the mount); a tree whose walk an overlay would not show as it is (`showsAsLower`) has none.
 *
 * The store is trusted as podman's store is: whoever can write it can change what a rebuild
 * starts from. It grows by one tree per base image and tool version; removing the directory is
 * always safe (between runs).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedImage } from '../../image/read.js';
import { tempNameFor } from '../../fs/atomic.js';
import { releasePartial, removeStaleTempsOnce } from '../../fs/scratch.js';
import { ReproError, ioError } from '../../model/errors.js';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import { applyLayers, type AppliedLayer } from './stage.js';
import { walkTree, type FsNode, type NodeKind } from './tree.js';
import { showsAsLower } from './upper-walk.js';

const FORMAT = 'repro-image unpacked base 2';

export interface UnpackedBase {
  /** The applied tree (read-only: an overlay's lower layer). */
  tree: string;
  /** Each layer's diff_id and tar size, in order. */
  layers: AppliedLayer[];
  /**
   * Whether an overlay with the tree as its lower layer shows the tree as it is: its walk was
   * kept, which it is only when nothing in it is what an overlay reads as its own (a character
   * device 0/0 is a whiteout there, trusted.overlay.* attributes make directories opaque…).
   * Otherwise the tree is not mounted: the base is applied into the stage's directory.
   */
  showsAsLower: boolean;
  /**
   * The tree's walk as put, with each node where it is seen through a mount at `root` (a hard
   * link's inode key with device 0: the mount's is not known here); undefined when the store has
   * none or cannot read it.
   */
  walk(root: string): FsNode[] | undefined;
}

/** One node of `walk.json`. */
type StoredNode = [path: string, kind: NodeKind, mode: number, uid: number, gid: number, size: number, mtimeSec: number, mtimeNsec: number,
  devmajor: number, devminor: number, linkTarget: string | null, xattrs: Array<[string, string]> | null, ino: string | null];

const KINDS: ReadonlySet<string> = new Set(['file', 'dir', 'symlink', 'char', 'block', 'fifo']);

function encodeWalk(nodes: readonly FsNode[]): string {
  const rows = nodes.map((n): StoredNode => [n.path, n.kind, n.mode, n.uid, n.gid, n.size, n.mtimeSec, n.mtimeNsec, n.devmajor, n.devminor,
    n.linkTarget ?? null, n.xattrs ? [...n.xattrs].map(([k, v]) => [k, v.toString('base64')]) : null,
    n.inode === undefined ? null : n.inode.slice(n.inode.indexOf(':') + 1)]);
  return `${JSON.stringify(rows)}\n`;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** `walk.json` read back, or undefined where it is not one this store writes. */
function decodeWalk(text: string, root: string): FsNode[] | undefined {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(rows)) return undefined;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const out: FsNode[] = [];
  for (const r of rows as unknown[]) {
    if (!Array.isArray(r) || r.length !== 13) return undefined;
    const [path, kind, mode, uid, gid, size, mtimeSec, mtimeNsec, devmajor, devminor, linkTarget, xattrs, ino] = r as unknown[];
    if (typeof path !== 'string' || path === '' || typeof kind !== 'string' || !KINDS.has(kind)
      || ![mode, uid, gid, size, mtimeSec, mtimeNsec, devmajor, devminor].every(isInt)
      || (linkTarget !== null && typeof linkTarget !== 'string') || (ino !== null && (typeof ino !== 'string' || !/^\d+$/.test(ino)))
      || (xattrs !== null && (!Array.isArray(xattrs) || !xattrs.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string')))) {
      return undefined;
    }
    const n: FsNode = {
      path, abs: prefix + path, kind: kind as NodeKind, mode: mode as number, uid: uid as number, gid: gid as number, size: size as number,
      mtimeSec: mtimeSec as number, mtimeNsec: mtimeNsec as number, devmajor: devmajor as number, devminor: devminor as number,
    };
    if (linkTarget !== null) n.linkTarget = linkTarget as string;
    if (xattrs !== null) n.xattrs = new Map((xattrs as Array<[string, string]>).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    if (ino !== null) n.inode = `0:${ino as string}`;
    out.push(n);
  }
  return out;
}

/** The stored walk of the tree in `dir` (read when asked). */
function storedWalk(dir: string): (root: string) => FsNode[] | undefined {
  return (root) => {
    let text: string;
    try {
      text = readFileSync(join(dir, 'walk.json'), 'utf8');
    } catch {
      return undefined;
    }
    return decodeWalk(text, root);
  };
}

/** The store key of an image's layers: format, tool version and the diff_ids in order. */
export function unpackedKey(diffIds: readonly string[], version: string): string {
  return createHash('sha256').update(`${FORMAT}\n${version}\n${diffIds.join('\n')}\n`).digest('hex');
}

function readRecord(dir: string, diffIds: readonly string[]): AppliedLayer[] | undefined {
  let layers: unknown;
  try {
    layers = JSON.parse(readFileSync(join(dir, 'layers.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(layers) || layers.length !== diffIds.length) return undefined;
  const ok = layers.every((l: unknown, i) => typeof l === 'object' && l !== null
    && (l as AppliedLayer).diffId === diffIds[i] && Number.isSafeInteger((l as AppliedLayer).size) && (l as AppliedLayer).size >= 0);
  return ok ? (layers as AppliedLayer[]).map((l) => ({ diffId: l.diffId, size: l.size })) : undefined;
}

/**
 * Puts `tmp` at `final`, where something that is not a tree of this store is (a record written by
 * hand, or a tree half removed): that is set aside under a temporary name first, then removed.
 */
async function replace(final: string, tmp: string): Promise<void> {
  const aside = tempNameFor(final);
  try {
    await rename(final, aside);
    await rename(tmp, final);
  } catch (e) {
    throw ioError(e, `cannot put ${final} in the store of unpacked images`);
  } finally {
    await rm(aside, { recursive: true, force: true });
    releasePartial(aside);
  }
}

export class UnpackedStore {
  /** `dir`: the cache directory (the store is its `unpacked/`); `version`: the tool's version (part of the key). */
  constructor(readonly dir: string, readonly version: string) {}

  /** Where the image's tree is kept: the store (`parent`) and the tree's own directory (`final`). */
  private place(image: ResolvedImage): { diffIds: string[]; parent: string; final: string } {
    const diffIds = image.config.value.rootfs.diff_ids;
    const parent = join(this.dir, 'unpacked');
    return { diffIds, parent, final: join(parent, unpackedKey(diffIds, this.version)) };
  }

  /**
   * The image's unpacked tree where the store has it already (nothing of it is written), else
   * undefined. What killed runs left half-filled in the store is removed first (once per process).
   */
  async find(image: ResolvedImage): Promise<UnpackedBase | undefined> {
    const { diffIds, parent, final } = this.place(image);
    if (existsSync(parent)) await removeStaleTempsOnce(parent);
    const found = readRecord(final, diffIds);
    return found && { tree: join(final, 'tree'), layers: found, showsAsLower: existsSync(join(final, 'walk.json')), walk: storedWalk(final) };
  }

  /**
   * The image's unpacked tree: from the store, or applied now and kept. `xattrs`: what the walk
   * kept with a new tree reads attributes with (without it, no walk is kept).
   */
  async get(image: ResolvedImage, where: string, xattrs?: XattrReader): Promise<UnpackedBase> {
    const found = await this.find(image);
    if (found) return found;
    const { diffIds, parent, final } = this.place(image);
    try {
      mkdirSync(parent, { recursive: true });
    } catch (e) {
      throw ioError(e, `cannot create the store of unpacked images ${parent}`);
    }
    await removeStaleTempsOnce(parent);
    // Nothing at `final` is removed before ours is complete: another run may have put it since
    // the look above, and be using it as an overlay's lower layer.
    const tmp = tempNameFor(final);
    try {
      const applied = await applyLayers(join(tmp, 'tree'), image.layers, where);
      const layers = applied.map((a, i) => {
        if (a!.diffId !== diffIds[i]) {
          throw new ReproError('E_DIGEST_MISMATCH', `${where}: layer ${i + 1} is ${a!.diffId} uncompressed, but the config's rootfs.diff_ids[${i}] is ${diffIds[i]}`);
        }
        return a!;
      });
      // The walk first: layers.json is what makes a tree one of the store's.
      let walk: FsNode[] | undefined;
      try {
        walk = xattrs && walkTree(join(tmp, 'tree'), xattrs);
      } catch {
        walk = undefined; // (a name that is not UTF-8: the stage's own walk will say so)
      }
      if (walk && showsAsLower(walk)) writeFileSync(join(tmp, 'walk.json'), encodeWalk(walk));
      writeFileSync(join(tmp, 'layers.json'), `${JSON.stringify(layers)}\n`);
      try {
        await rename(tmp, final);
      } catch {
        // Another run put it meanwhile: theirs is as good (and may be in use).
        if (!readRecord(final, diffIds)) await replace(final, tmp);
      }
      return { tree: join(final, 'tree'), layers, showsAsLower: existsSync(join(final, 'walk.json')), walk: storedWalk(final) };
    } finally {
      await rm(tmp, { recursive: true, force: true });
      releasePartial(tmp);
    }
  }
}
