/**
 * The deterministic tar writer: entries in byte order of their UTF-8 path, hard links pointing at
 * the first path of their inode, pax only where ustar cannot say it, two zero blocks at the end.
 */
import { ReproError } from '../model/errors.js';
import { readContent } from './content.js';
import { comparePaths, type Entry } from './entry.js';
import { BLOCK, TypeFlag, encodeHeaders, padding } from './tar-header.js';

const TYPEFLAG: Record<Entry['type'], number> = {
  file: TypeFlag.file,
  dir: TypeFlag.dir,
  symlink: TypeFlag.symlink,
  hardlink: TypeFlag.hardlink,
  char: TypeFlag.char,
  block: TypeFlag.block,
  fifo: TypeFlag.fifo,
};

/**
 * Puts entries in archive order and turns every group of files that share an inode into one
 * regular file (the first path in byte order) plus hard links to it. Pure.
 */
export function orderEntries(entries: Iterable<Entry>): Entry[] {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const firstOfInode = new Map<string, string>();
  return sorted.map((e) => {
    if (e.type !== 'file' || e.inode === undefined) return e;
    const first = firstOfInode.get(e.inode);
    if (first === undefined) {
      firstOfInode.set(e.inode, e.path);
      return e;
    }
    const { content: _c, ...rest } = e;
    return { ...rest, type: 'hardlink' as const, size: 0, linkname: first };
  });
}

export function entryHeader(e: Entry): Buffer {
  const pax = new Map<string, Buffer>();
  if (e.xattrs) for (const [k, v] of e.xattrs) pax.set(`SCHILY.xattr.${k}`, v);
  const isDev = e.type === 'char' || e.type === 'block';
  return encodeHeaders({
    name: e.type === 'dir' ? `${e.path}/` : e.path,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' ? e.size : 0,
    mtime: e.mtime,
    typeflag: TYPEFLAG[e.type],
    linkname: e.type === 'symlink' || e.type === 'hardlink' ? (e.linkname ?? '') : '',
    devmajor: isDev ? (e.devmajor ?? 0) : 0,
    devminor: isDev ? (e.devminor ?? 0) : 0,
    pax,
  });
}

/** The two zero blocks that end every archive we write. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** Encodes entries that are already in archive order (see orderEntries) as a tar stream. */
export async function* writeTar(ordered: Iterable<Entry>, where: string): AsyncGenerator<Buffer> {
  for (const e of ordered) {
    yield entryHeader(e);
    if (e.type === 'file' && e.size > 0) {
      if (!e.content) throw new ReproError('E_IO', `${where}: ${e.path}: file without content`);
      yield* readContent(e.content, e.size, `${where}: ${e.path}`);
      const pad = padding(e.size);
      if (pad) yield Buffer.alloc(pad);
    }
  }
  yield END_OF_ARCHIVE;
}
