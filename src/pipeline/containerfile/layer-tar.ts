/**
 * A layer's tar stream as containers/storage writes it and buildah's filter rewrites it (docs/
 * podman-compat-facts.md §2): for the first layer of a FROM-scratch stage, the whole tree in
 * WalkDir order; for any other, the naive diff's changes in path order, deletions as `.wh.`
 * whiteouts. Headers carry the times on disk; `goLayerStream` writes them as storage's Go writer
 * and buildah's clamping filter do. Only the attributes a layer keeps are written; the first name
 * of a hard-linked inode carries the data, later ones point to it. A whiteout's time is the
 * commit's wall clock in podman, clamped to SOURCE_DATE_EPOCH; here it is SOURCE_DATE_EPOCH itself
 * (the same bytes whenever the epoch is in the past, and never the wall clock).
 */
import type { GoHeader, GoTarStreamEntry } from '../../archive/go-tar.js';
import { goLayerStream } from '../../archive/go-tar-layer.js';
import type { Change } from './changes.js';
import { join } from 'node:path';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import { keptXattr, type PutEntry } from './copier.js';
import { movableDirs } from './subtree-move.js';
import { fileBody, type FsNode } from './tree.js';

export type LayerItem = { node: FsNode } | { whiteout: string };

/** The items of a layer made from changes. */
export function changeItems(changes: readonly Change[]): LayerItem[] {
  return changes.map((c) => (c.kind === 'delete' ? { whiteout: c.path } : { node: c.node }));
}

function whiteoutName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`;
}

/**
 * A layer's items as its tar has them: a whiteout, or a node with only the attributes a layer
 * keeps and, for a later name of a hard-linked inode, the first name it links to (the first
 * carries the data).
 */
type TarItem = { whiteout: string } | { node: FsNode; xattrs: Map<string, Buffer>; linkTo?: string };

function* tarItems(items: Iterable<LayerItem>): Generator<TarItem> {
  const firstName = new Map<string, string>();
  for (const item of items) {
    if ('whiteout' in item) {
      yield item;
      continue;
    }
    const n = item.node;
    const xattrs = new Map([...(n.xattrs ?? [])].filter(([k]) => keptXattr(k)));
    if (n.kind === 'file' && n.inode !== undefined) {
      const first = firstName.get(n.inode);
      if (first !== undefined) {
        yield { node: n, xattrs, linkTo: first };
        continue;
      }
      firstName.set(n.inode, n.path);
    }
    yield { node: n, xattrs };
  }
}

/** The Go headers of a layer's items, each with the node whose content follows it (regular files that carry data). */
export function* layerHeaders(items: Iterable<LayerItem>, sourceDateEpoch: number): Generator<{ header: GoHeader; file?: FsNode }> {
  for (const t of tarItems(items)) {
    if ('whiteout' in t) {
      yield { header: { name: whiteoutName(t.whiteout), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: sourceDateEpoch, linkname: '', devmajor: 0, devminor: 0 } };
      continue;
    }
    const n = t.node;
    const header: GoHeader = {
      name: n.kind === 'dir' ? `${n.path}/` : n.path,
      type: n.kind,
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      size: 0,
      mtime: n.mtimeSec,
      linkname: n.linkTarget ?? '',
      devmajor: n.devmajor,
      devminor: n.devminor,
      ...(t.xattrs.size > 0 ? { xattrs: t.xattrs } : {}),
    };
    if (t.linkTo !== undefined) yield { header: { ...header, type: 'hardlink', linkname: t.linkTo } };
    else if (n.kind === 'file') yield { header: { ...header, size: n.size }, file: n };
    else yield { header };
  }
}

/** The Go headers and bodies of a layer's items. */
export function* layerEntries(items: Iterable<LayerItem>, sourceDateEpoch: number): Generator<GoTarStreamEntry> {
  for (const { header, file } of layerHeaders(items, sourceDateEpoch)) yield file ? { header, body: fileBody(file.abs, file.size) } : { header };
}

/** The layer's tar bytes. */
export function layerTar(items: Iterable<LayerItem>, sourceDateEpoch: number, where: string): AsyncIterable<Buffer> {
  return goLayerStream(layerEntries(items, sourceDateEpoch), { sourceDateEpoch }, where);
}

/** How a live layer's files are applied: moved out of their directory (the last reader of a stage read once). */
export interface LiveApply {
  /**
   * The directory the layer's files are in (the stage's live directory; default: where they were
   * walked, each node's `abs`).
   */
  from?: string | undefined;
  /** Move the files (and whole directories, where `movableDirs` lets) instead of copying them. */
  move?: boolean;
  /** Paths the apply leaves out (a subtree filter): no directory with such a path below it moves whole. */
  keep?: ((path: string) => boolean) | undefined;
  /** Reads a symlink's own attributes (without it, no directory moves whole). */
  xattrs?: XattrReader | undefined;
}

/**
 * What applying the layer tar of `items` writes, entry by entry, without the tar: the headers'
 * metadata as `layerEntries` and `goLayerStream` give it (times clamped to SOURCE_DATE_EPOCH and
 * cut to whole seconds, only the attributes a layer keeps, later names of an inode as hard links
 * to the first), file content copied from the live file. Valid while the files are as they were
 * at the commit: a stage's last layer, whose directory nothing changes any more. With `move`,
 * files are moved out of the live directory (the last reader of a stage that is read once), each
 * dropping the attributes a file made from the tar would not have, and a directory that is new
 * in the layer with all below it (subtree-move.ts) may be moved whole.
 */
export function* itemEntries(items: readonly LayerItem[], sourceDateEpoch: number, live: boolean | LiveApply = false): Generator<PutEntry> {
  const opts: LiveApply = typeof live === 'boolean' ? { move: live } : live;
  const move = opts.move === true;
  const at = (n: FsNode): string => (opts.from === undefined ? n.abs : join(opts.from, n.path));
  let whole = new Set<string>();
  if (move && opts.xattrs) {
    const nodes: FsNode[] = [];
    const whiteouts: string[] = [];
    for (const i of items) {
      if ('whiteout' in i) whiteouts.push(i.whiteout);
      else nodes.push(i.node);
    }
    whole = movableDirs(nodes, { xattrs: opts.xattrs, keep: opts.keep, whiteouts, ...(opts.from !== undefined ? { from: opts.from } : {}) });
  }
  for (const t of tarItems(items)) {
    if ('whiteout' in t) {
      yield { path: whiteoutName(t.whiteout), kind: 'file', mode: 0, uid: 0, gid: 0, mtime: sourceDateEpoch };
      continue;
    }
    const n = t.node;
    const e: PutEntry = {
      path: n.path, kind: n.kind, mode: n.mode, uid: n.uid, gid: n.gid, mtime: Math.min(n.mtimeSec, sourceDateEpoch),
      ...(t.xattrs.size > 0 ? { xattrs: t.xattrs } : {}),
    };
    if (move && n.kind === 'dir' && whole.has(n.path)) e.moveFrom = at(n);
    if (n.kind === 'symlink') e.linkname = n.linkTarget ?? '';
    if (n.kind === 'char' || n.kind === 'block') Object.assign(e, { devmajor: n.devmajor, devminor: n.devminor });
    if (t.linkTo !== undefined) yield { ...e, kind: 'hardlink', linkname: t.linkTo };
    else if (n.kind === 'file') yield { ...e, copyFrom: at(n), ...(move ? { move } : {}) };
    else yield e;
  }
}
