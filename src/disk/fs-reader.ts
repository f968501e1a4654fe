/**
 * What the file system readers (ext4, erofs, vfat) give: the file system's identity and summary,
 * and its entries walked from the root, depth first, each directory's children in byte order of
 * their names, so that two file systems can be compared side by side in bounded memory. Content
 * is read on demand, in chunks, holes as zeros.
 */
import { ReproError } from '../model/errors.js';
import type { NodeType } from './tree.js';

export type FsType = 'ext4' | 'erofs' | 'vfat';

export interface FsEntry {
  /** Relative to the file system root; '' for the root. */
  path: string;
  type: NodeType | 'socket';
  /** Permission and special bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  mtimeNs: number;
  size: number;
  nlink: number;
  /** The inode's identity in this file system (inode number, nid, first cluster). */
  id: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
  /** The content of a regular file, in chunks of at most 1 MiB. */
  chunks?: () => Generator<Buffer>;
  /**
   * Where a regular file's bytes lie in the file system's source: (logical offset, offset in the
   * source, length) triples, in bytes, clamped to the file's size; what they leave out reads as
   * zeros. Two files of the same size with the same triples over equal bytes have equal content.
   * Undefined when the reader cannot say (compressed data); throws what `chunks` would throw.
   */
  extents?: () => number[] | undefined;
}

export interface FsInfo {
  type: FsType;
  label: string;
  uuid?: string;
  /** Superblock fields worth comparing (block counts, free counts, features, volume id, …). */
  fields: Record<string, string | number>;
}

export interface FsReader {
  info: FsInfo;
  walk(): Generator<FsEntry>;
}

/** Components compared one by one: the order of a depth-first walk with children in name order. */
export function compareWalkOrder(a: string, b: string): number {
  const pa = a === '' ? [] : a.split('/');
  const pb = b === '' ? [] : b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!, 'utf8'), Buffer.from(pb[i]!, 'utf8'));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

export const CHUNK = 1 << 20;

/** A name from the image as it may appear in a one-line message: control characters escaped. */
export function esc(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Guards a walk against directory cycles and absurd depth in hostile images. */
export class WalkGuard {
  private readonly seen = new Set<number>();
  constructor(private readonly where: string) {}
  enter(id: number, path: string, depth: number): boolean {
    if (depth > 4096) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: directories nested deeper than 4096`);
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }
}
