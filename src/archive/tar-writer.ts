/**
 * The deterministic tar writer: entries in byte order of their UTF-8 path, hard links pointing at
 * the first path of their inode, pax only where ustar cannot say it, two zero blocks at the end.
 */
import { ReproError } from '../model/errors.js';
import { BlockAssembler, STREAM_BLOCK_SIZE, type Block, type BlockPool } from './blocks.js';
import { ContentReader } from './content.js';
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

/**
 * Encodes entries that are already in archive order (see orderEntries) as a tar stream cut into
 * blocks of `blockSize` bytes. Headers and file content go straight into the block being filled
 * (content is read in place, see ContentReader), so the cost per entry is a header encode and a
 * few system calls. Memory: the block being filled plus the blocks the consumer still holds.
 * With a pool, blocks come from it and the consumer gives them back when done with them.
 */
export function* tarBlocks(ordered: Iterable<Entry>, where: string, pool?: BlockPool): Generator<Block> {
  const out = new BlockAssembler(pool?.size ?? STREAM_BLOCK_SIZE, pool);
  const reader = new ContentReader();
  try {
    for (const e of ordered) {
      out.write(entryHeader(e));
      // An empty file of a scanned tree is opened too: a procfs file says size 0 and has content.
      if (e.type === 'file' && (e.size > 0 || e.content?.kind === 'file')) {
        if (!e.content) throw new ReproError('E_IO', `${where}: ${e.path}: file without content`);
        reader.begin(e.content, e.size, `${where}: ${e.path}`);
        while (reader.remaining > 0) {
          const { buf, off, len } = out.space();
          out.advance(reader.read(buf, off, Math.min(len, reader.remaining)));
          if (out.hasReady) yield* out.take();
        }
        reader.end();
        out.zeros(padding(e.size));
      }
      if (out.hasReady) yield* out.take();
    }
    out.write(END_OF_ARCHIVE);
    yield* out.finish();
  } finally {
    reader.close();
  }
}

/** The same stream as plain chunks, for writers that do not care about block boundaries. */
export function* tarChunks(ordered: Iterable<Entry>, where: string): Generator<Buffer> {
  for (const b of tarBlocks(ordered, where)) if (b.data.length > 0) yield b.data;
}
