/**
 * What `diff` knows of one layer entry besides its content: every header field that can differ,
 * taken from a tar member or from a directory entry. Fields a source cannot know (a directory has
 * no tar dialect, no owner names, no entry order) are left undefined and never compared. Pure.
 */
import type { Entry } from '../archive/entry.js';
import { TypeFlag } from '../archive/tar-header.js';
import { matchPath } from '../archive/paths.js';
import type { TarMember } from '../archive/tar-reader.js';

export type MetaType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | `other:${string}`;

export interface EntryMeta {
  /** Cleaned path ('.' for the root itself). */
  path: string;
  /** Position in the archive, 0-based; undefined for a directory source (no order). */
  index?: number;
  /** The name exactly as stored (tar sources). */
  rawName?: string;
  type: MetaType;
  /** Permission and special bits (07777). */
  mode: number;
  /** The whole mode field when the source has one (tar): may carry file type bits. */
  rawMode?: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Content size of regular files, 0 otherwise. */
  size: number;
  mtime: number;
  /** pax atime/ctime records as written (tar sources that have them). */
  atime?: string;
  ctime?: string;
  /** Symlink target, or the path a hard link points to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, name -> value. */
  xattrs?: Map<string, Buffer>;
  /** pax records that are not a header field or an xattr (tar sources). */
  pax?: Map<string, string>;
  /** How the header was spelled: `ustar`, `gnu`, `v7`, with `+pax` / `+longname` (tar sources). */
  dialect?: string;
}

const TYPES = new Map<number, MetaType>([
  [TypeFlag.file, 'file'], [TypeFlag.oldFile, 'file'], [TypeFlag.contiguous, 'file'],
  [TypeFlag.hardlink, 'hardlink'], [TypeFlag.symlink, 'symlink'], [TypeFlag.char, 'char'],
  [TypeFlag.block, 'block'], [TypeFlag.dir, 'dir'], [TypeFlag.fifo, 'fifo'],
]);

/** pax keys that stand for header fields (compared as those fields) rather than as records. */
const FIELD_RECORDS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

export function isXattrRecord(key: string): boolean {
  return key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.');
}

export function metaFromMember(m: TarMember, index: number): EntryMeta {
  const type = TYPES.get(m.typeflag) ?? (`other:${String.fromCharCode(m.typeflag)}` as MetaType);
  const path = matchPath(m.name);
  const meta: EntryMeta = {
    path, index, rawName: m.name, type, mode: m.mode, rawMode: m.rawMode, uid: m.uid, gid: m.gid,
    uname: m.uname, gname: m.gname, size: type === 'file' ? m.size : 0, mtime: m.mtime,
    dialect: `${m.dialect.magic}${m.dialect.paxHeader ? '+pax' : ''}${m.dialect.gnuLongName ? '+longname' : ''}`,
  };
  if (type === 'symlink' || type === 'hardlink') meta.linkname = type === 'hardlink' ? matchPath(m.linkname) : m.linkname;
  if (type === 'char' || type === 'block') {
    meta.devmajor = m.devmajor;
    meta.devminor = m.devminor;
  }
  const atime = m.pax.get('atime');
  const ctime = m.pax.get('ctime');
  if (atime) meta.atime = atime.toString('utf8');
  if (ctime) meta.ctime = ctime.toString('utf8');
  if (m.xattrs.size > 0) meta.xattrs = m.xattrs;
  const pax = new Map<string, string>();
  for (const [k, v] of m.pax) if (!FIELD_RECORDS.has(k) && !isXattrRecord(k)) pax.set(k, v.toString('utf8'));
  if (pax.size > 0) meta.pax = pax;
  return meta;
}

/** A directory source's entry (after orderEntries, so hard links are already links). */
export function metaFromEntry(e: Entry): EntryMeta {
  const meta: EntryMeta = { path: e.path || '.', type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.type === 'file' ? e.size : 0, mtime: e.mtime };
  if (e.linkname !== undefined) meta.linkname = e.linkname;
  if (e.type === 'char' || e.type === 'block') {
    meta.devmajor = e.devmajor ?? 0;
    meta.devminor = e.devminor ?? 0;
  }
  if (e.xattrs && e.xattrs.size > 0) meta.xattrs = e.xattrs;
  return meta;
}
