/**
 * The normalised file-tree entry: what a layer says about one path. Sources produce these,
 * build passes transform them, and the tar writer encodes them. Content is a reference, never the
 * whole file in memory (except for small generated files).
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export type ContentRef =
  | { kind: 'file'; path: string }
  | { kind: 'range'; path: string; offset: number }
  | { kind: 'bytes'; data: Buffer };

export interface Entry {
  /** Relative path, UTF-8, no leading `./` or `/`, no trailing `/`. */
  path: string;
  type: EntryType;
  /** Permission and special bits only (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds since the epoch (fractions are dropped; may be negative). */
  mtime: number;
  /** Content size for files; 0 for everything else. */
  size: number;
  content?: ContentRef;
  /** Symlink target, or for a hard link the path it links to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (name → raw bytes). */
  xattrs?: Map<string, Buffer>;
  /**
   * Identity of the underlying inode for files with several names. Entries sharing a key are
   * written as one regular file (the first path in byte order) and hard links to it.
   */
  inode?: string;
}

/** Byte order of the UTF-8 encodings (src/model/byte-order.ts). */
export { comparePaths } from '../model/byte-order.js';

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}
