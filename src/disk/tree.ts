/**
 * The tree one file system holds, made from build entries: the entries under the partition's
 * `contents` path, re-rooted there, without what other partitions hold (their mount points stay as
 * empty directories), hard links grouped into one node with several names, directory children
 * sorted by the bytes of their names, and nodes numbered in the byte order of their first path
 * (the root is node 0). The file system writers all start from this.
 */
import { comparePaths, parentOf, type Entry, type EntryType } from '../archive/entry.js';
import { ReproError } from '../model/errors.js';
import { esc } from './fs-reader.js';

export type NodeType = Exclude<EntryType, 'hardlink'>;

export interface FsNode {
  /** Node number in path order; 0 is the root. */
  id: number;
  /** The first path (in byte order) of this node, relative to the file system root; '' for the root. */
  path: string;
  type: NodeType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  content?: Entry['content'];
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
  /** Names (directory entries) that refer to this node. */
  names: number;
  /** For directories: children in byte order of their names. */
  children?: DirEntry[];
  /** For directories: the parent directory (the root's is itself). */
  parent?: FsNode;
}

export interface DirEntry {
  name: string;
  nameBytes: Buffer;
  node: FsNode;
}

export interface FsTree {
  root: FsNode;
  /** Every node, in id order (root first). */
  nodes: FsNode[];
  /** Directory entries in all (not counting `.` and `..`). */
  links: number;
}

export interface TreeOptions {
  /** The entry path whose subtree this file system holds ('' = the whole tree). */
  contents: string;
  /** Entry paths (below `contents`) whose content other partitions hold: kept as empty directories. */
  mountPoints?: string[];
  /** Metadata of the root when `contents` is '' (or its directory has no entry). */
  rootDefaults: { mode: number; uid: number; gid: number; mtime: number };
  /** Names the partition in messages. */
  where: string;
}

const NAME_MAX = 255;

function under(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

function strictlyUnder(path: string, dir: string): boolean {
  return dir === '' ? path !== '' : path.startsWith(`${dir}/`);
}

/** Builds the tree of one file system from the build's entries (any order). */
export function buildFsTree(entries: Iterable<Entry>, opts: TreeOptions): FsTree {
  const prefix = opts.contents;
  const mounts = (opts.mountPoints ?? []).filter((m) => strictlyUnder(m, prefix));
  const rel = (p: string): string => (prefix === '' ? p : p === prefix ? '' : p.slice(prefix.length + 1));
  const selected: Entry[] = [];
  let rootEntry: Entry | undefined;
  for (const e of entries) {
    if (!under(e.path, prefix)) continue;
    if (mounts.some((m) => strictlyUnder(e.path, m))) continue;
    if (e.path === prefix) {
      if (e.type !== 'dir') throw new ReproError('E_SPEC', `${opts.where}: contents /${prefix} is a ${e.type}, not a directory`);
      rootEntry = e;
      continue;
    }
    if (e.type === 'hardlink') throw new ReproError('E_BAD_INPUT', `${opts.where}: ${esc(e.path)}: unresolved hard link entry`);
    selected.push(e);
  }
  if (prefix !== '' && !rootEntry && selected.length === 0) {
    throw new ReproError('E_SPEC', `${opts.where}: contents /${prefix} is not in the image`);
  }
  selected.sort((a, b) => comparePaths(a.path, b.path));
  const d = opts.rootDefaults;
  const root: FsNode = {
    id: 0, path: '', type: 'dir', mode: rootEntry?.mode ?? d.mode, uid: rootEntry?.uid ?? d.uid, gid: rootEntry?.gid ?? d.gid,
    mtime: rootEntry?.mtime ?? d.mtime, size: 0, names: 1, children: [],
  };
  root.parent = root;
  if (rootEntry?.xattrs && rootEntry.xattrs.size > 0) root.xattrs = rootEntry.xattrs;
  const nodes: FsNode[] = [root];
  const dirs = new Map<string, FsNode>([['', root]]);
  const byInode = new Map<string, FsNode>();
  let links = 0;
  for (const e of selected) {
    const path = rel(e.path);
    const parentPath = parentOf(path);
    const parent = dirs.get(parentPath);
    if (!parent) throw new ReproError('E_BAD_INPUT', `${opts.where}: ${esc(e.path)}: its parent directory is not in the tree`);
    const name = parentPath === '' ? path : path.slice(parentPath.length + 1);
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > NAME_MAX) throw new ReproError('E_UNSUPPORTED', `${opts.where}: ${esc(e.path)}: a name of ${nameBytes.length} bytes (the most is ${NAME_MAX})`);
    let node = e.type === 'file' && e.inode !== undefined ? byInode.get(e.inode) : undefined;
    if (node) {
      node.names++;
    } else {
      node = {
        id: nodes.length, path, type: e.type as NodeType, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime,
        size: e.type === 'file' ? e.size : 0, names: 1,
      };
      if (e.content) node.content = e.content;
      if (e.linkname !== undefined) node.linkname = e.linkname;
      if (e.type === 'char' || e.type === 'block') {
        node.devmajor = e.devmajor ?? 0;
        node.devminor = e.devminor ?? 0;
      }
      if (e.xattrs && e.xattrs.size > 0) node.xattrs = e.xattrs;
      if (e.type === 'dir') {
        node.children = [];
        node.parent = parent;
        dirs.set(path, node);
      }
      if (e.type === 'file' && e.inode !== undefined) byInode.set(e.inode, node);
      nodes.push(node);
    }
    parent.children!.push({ name, nameBytes, node });
    links++;
  }
  for (const n of nodes) n.children?.sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));
  return { root, nodes, links };
}

/** Every (path, node) pair of a tree, depth first with children in name byte order (hard links once per name). */
export function* walkTree(tree: FsTree): Generator<{ path: string; node: FsNode }> {
  function* walk(dir: FsNode, path: string): Generator<{ path: string; node: FsNode }> {
    for (const c of dir.children ?? []) {
      const p = path === '' ? c.name : `${path}/${c.name}`;
      yield { path: p, node: c.node };
      if (c.node.type === 'dir') yield* walk(c.node, p);
    }
  }
  yield { path: '', node: tree.root };
  yield* walk(tree.root, '');
}
