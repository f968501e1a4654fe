/**
 * The entries a COPY or ADD of a file or directory (not an archive) writes: each node of the
 * source's walk as a copier entry relative to the destination, with `--chown` and `--chmod`
 * applied, the later names of a hard-linked inode as links to the first, and — when the source is
 * a scratch copy nothing reads again (`move`) — files moved instead of copied, and directories
 * moved whole where subtree-move.ts allows.
 */
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import type { PutEntry } from './copier.js';
import { movableDirs } from './subtree-move.js';
import { statNode, walkTree, type FsNode } from './tree.js';
import type { CopyFields } from './types.js';

export interface TreeEntriesOptions {
  /** Move the files (and whole directories) instead of copying them. */
  move?: boolean;
  /** The source directory's walk, where it is known already. */
  walked?: FsNode[] | undefined;
  /**
   * (with move) The walk is of a plain directory (not through an overlay, which hides attributes
   * of its own) and nothing changed it since: an inode found in place is as walked (`seen`).
   */
  plain?: boolean;
  /** Reads the attributes (without it, none are read, and nothing moves whole). */
  xattrs: XattrReader | undefined;
}

/** The entries from the file or directory `src` (relative to the destination: `destRel` below it). */
export function* treeEntries(src: string, destRel: string, fields: CopyFields, chown: { uid: number; gid: number } | undefined, opts: TreeEntriesOptions): Generator<PutEntry> {
  const st = statSync(src);
  const move = opts.move === true;
  const chmod = fields.chmod !== undefined ? parseInt(fields.chmod, 8) & 0o7777 : undefined;
  const meta = (n: FsNode): Pick<PutEntry, 'mode' | 'uid' | 'gid' | 'mtime'> => ({
    mode: chmod ?? n.mode, uid: chown?.uid ?? n.uid, gid: chown?.gid ?? n.gid, mtime: n.mtimeSec + n.mtimeNsec / 1e9,
  });
  const reader = opts.xattrs;
  if (!st.isDirectory()) {
    const node = statNode(dirname(src), basename(src), reader)!;
    yield { path: destRel, kind: 'file', ...meta(node), ...(node.xattrs ? { xattrs: node.xattrs } : {}), copyFrom: src, ...(move ? { move } : {}) };
    return;
  }
  const first = new Map<string, string>();
  const nodes = opts.walked ?? walkTree(src, reader);
  // A directory of a scratch copy nothing reads again moves whole where nothing is in its way.
  const whole = move ? movableDirs(nodes, { xattrs: reader }) : new Set<string>();
  for (const n of nodes) {
    const path = destRel === '' ? n.path : `${destRel}/${n.path}`;
    const x: Pick<PutEntry, 'xattrs' | 'moveFrom'> = n.xattrs ? { xattrs: n.xattrs } : {};
    if (move && whole.has(n.path)) x.moveFrom = n.abs;
    if (n.kind === 'file' && n.inode !== undefined) {
      const f = first.get(n.inode);
      if (f !== undefined) {
        yield { path, kind: 'hardlink', ...meta(n), linkname: f };
        continue;
      }
      first.set(n.inode, path);
    }
    const e: PutEntry = { path, kind: n.kind, ...meta(n), ...x };
    if (move && opts.plain) e.seen = n;
    if (n.kind === 'symlink') e.linkname = n.linkTarget!;
    if (n.kind === 'char' || n.kind === 'block') Object.assign(e, { devmajor: n.devmajor, devminor: n.devminor });
    if (n.kind === 'file') {
      e.copyFrom = n.abs;
      if (move) e.move = true;
    }
    yield e;
  }
}
