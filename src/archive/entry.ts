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

/** Byte order of the UTF-8 encodings, which is Unicode code point order. */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, which sort after U+E000..U+FFFF.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}
