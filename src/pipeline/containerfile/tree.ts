/**
 * A stage's root file system as podman sees it when it commits a layer: every path with the
 * metadata containers/storage compares and writes (nanosecond mtimes, the inode for hard links,
 * the extended attributes), in the order Go's `filepath.WalkDir` visits them (depth first, each
 * directory's names in byte order, a directory before its contents).
 */
import { createReadStream, lstatSync, readFileSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join, relative } from 'node:path';
import { ReproError, ioError } from '../../model/errors.js';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import { comparePaths } from '../../model/byte-order.js';

export type NodeKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface FsNode {
  /** Relative to the root, no leading or trailing `/`. */
  path: string;
  abs: string;
  kind: NodeKind;
  /** Permission and set-id/sticky bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only. */
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  devmajor: number;
  devminor: number;
  linkTarget?: string;
  /** Every attribute the file has (symlinks: none read). */
  xattrs?: Map<string, Buffer>;
  /** `dev:ino`, for hard links (regular files with more than one name). */
  inode?: string;
}

const S_IFMT = 0o170000n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function kindOf(st: BigIntStats): NodeKind | 'socket' {
  switch (st.mode & S_IFMT) {
    case 0o100000n: return 'file';
    case 0o040000n: return 'dir';
    case 0o120000n: return 'symlink';
    case 0o020000n: return 'char';
    case 0o060000n: return 'block';
    case 0o010000n: return 'fifo';
    case 0o140000n: return 'socket';
    default: throw new ReproError('E_UNSUPPORTED', `unknown file type ${(st.mode & S_IFMT).toString(8)}`);
  }
}

/** Linux's encoding of device numbers (glibc's gnu_dev_major/minor). */
function devNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  return {
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/** One path's metadata, or undefined when nothing is there. */
export function statNode(root: string, path: string, xattrs: XattrReader | undefined): FsNode | undefined {
  return statAt(path === '' ? root : join(root, path), path, xattrs);
}

/**
 * What `lstat` says of the node at `path` (`abs`): everything a walk gives but a symlink's target
 * and the attributes (undefined for a socket, which a walk leaves out).
 */
export function nodeOfStat(st: BigIntStats, path: string, abs: string): FsNode | undefined {
  const kind = kindOf(st);
  if (kind === 'socket') return undefined;
  const node: FsNode = {
    path, abs, kind, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
    size: kind === 'file' ? Number(st.size) : 0,
    mtimeSec: Number(st.mtimeNs / 1_000_000_000n), mtimeNsec: Number(st.mtimeNs % 1_000_000_000n),
    devmajor: 0, devminor: 0,
  };
  if (st.mtimeNs < 0n && node.mtimeNsec !== 0) {
    node.mtimeSec -= 1;
    node.mtimeNsec += 1_000_000_000;
  }
  if (kind === 'char' || kind === 'block') Object.assign(node, devNumbers(st.rdev));
  if (kind === 'file' && st.nlink > 1n) node.inode = `${st.dev}:${st.ino}`;
  return node;
}

/** `statNode` of the path `path` whose absolute name is `abs`. */
function statAt(abs: string, path: string, xattrs: XattrReader | undefined): FsNode | undefined {
  let st: BigIntStats;
  try {
    st = lstatSync(abs, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, `cannot stat ${abs}`);
  }
  const node = nodeOfStat(st, path, abs);
  if (!node) return undefined;
  if (node.kind === 'symlink') {
    const target = readlinkSync(abs, { encoding: 'buffer' });
    try {
      node.linkTarget = utf8.decode(target);
    } catch {
      throw new ReproError('E_BAD_INPUT', `${abs}: a symlink whose target is not valid UTF-8 (${target.toString('hex')})`);
    }
  } else if (xattrs) {
    const x = xattrs.read(abs, abs);
    if (x) node.xattrs = x;
  }
  return node;
}

/**
 * The order of a walk (Go's WalkDir): a directory before what is below it, the names of each
 * directory in byte order — the byte order of the paths with `/` before every other byte.
 */
export function compareWalkOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca === 0x2f) return -1;
    if (cb === 0x2f) return 1;
    return comparePaths(a.slice(i), b.slice(i));
  }
  return a.length - b.length;
}

/** The names of a directory in byte order (what Go's os.ReadDir gives). */
export function sortedNames(abs: string): string[] {
  let raw: Buffer[];
  try {
    raw = readdirSync(abs, { encoding: 'buffer' });
  } catch (e) {
    throw ioError(e, `cannot list ${abs}`);
  }
  raw.sort(Buffer.compare);
  return raw.map((b) => {
    try {
      return utf8.decode(b);
    } catch {
      throw new ReproError('E_BAD_INPUT', `${abs}: holds a name that is not valid UTF-8 (${b.toString('hex')})`);
    }
  });
}

/** Every path below `root` (the root itself left out), in WalkDir order. */
export function walkTree(root: string, xattrs: XattrReader | undefined): FsNode[] {
  const out: FsNode[] = [];
  walkBelow(root, '', xattrs, out);
  return out;
}

/** What `walkTree` gives below the directory `rel` of `root` (itself left out), appended to `out`. */
export function walkBelow(root: string, rel: string, xattrs: XattrReader | undefined, out: FsNode[]): void {
  // Names are joined by hand below the root, normalised once (join's normalisation of every path
  // was a fifth of a walk's time): a name from readdir is never empty, `.`, `..` or has a `/`.
  const prefix = join(root, '/');
  const visit = (rel: string, dirAbs: string): void => {
    for (const name of sortedNames(dirAbs)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = prefix + path;
      const node = statAt(abs, path, xattrs);
      if (!node) continue;
      out.push(node);
      if (node.kind === 'dir') visit(path, abs);
    }
  };
  visit(rel, rel === '' ? root : prefix + rel);
}

/**
 * The walk of the directory `dir` (as `walkTree(dir)` gives it) taken from the walk of `root`, a
 * directory at or above it, or undefined when `dir` is not a directory in that walk.
 */
export function walkOfDir(walk: readonly FsNode[], root: string, dir: string): FsNode[] | undefined {
  const rel = relative(root, dir);
  if (rel === '') return [...walk];
  if (rel.startsWith('..') || walk.find((n) => n.path === rel)?.kind !== 'dir') return undefined;
  const prefix = `${rel}/`;
  const out: FsNode[] = [];
  for (const n of walk) if (n.path.startsWith(prefix)) out.push({ ...n, path: n.path.slice(prefix.length), abs: `${dir}/${n.path.slice(prefix.length)}` });
  return out;
}

/** Files up to this size are read in one call (no stream: most of a root file system's files). */
const READ_AT_ONCE = 1 << 20;

/** A regular file's content as a tar entry's body: read at once when small, else streamed. */
export function fileBody(abs: string, size: number): () => Iterable<Buffer> | AsyncIterable<Buffer> {
  if (size > READ_AT_ONCE) return () => createReadStream(abs, { highWaterMark: READ_AT_ONCE }) as AsyncIterable<Buffer>;
  return () => {
    try {
      return [readFileSync(abs)];
    } catch (e) {
      throw ioError(e, `cannot read ${abs}`);
    }
  };
}
