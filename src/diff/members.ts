/**
 * Streams of layer entries for the comparison: from a layer blob (decompressed on the fly, the
 * blob's SHA-256 and size checked once it has been read through) or from a root filesystem
 * directory (entries in byte order of their path, content read in chunks). A member's content is
 * a stream that must be read before the next member is asked for; nothing holds a whole layer.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { orderEntries } from '../archive/tar-writer.js';
import type { LayerReader } from '../image/layer.js';
import { ReproError, ioError } from '../model/errors.js';
import { readDirectory } from '../sources/rootfs/directory.js';
import { metaFromEntry, metaFromMember, type EntryMeta } from './entry-meta.js';
import { asCorrupted } from './corrupted.js';

export interface Member {
  meta: EntryMeta;
  /** The content of a regular file; read it before asking for the next member. */
  body?: () => AsyncIterable<Buffer>;
  /** Where the content lies in a disk's file system (see FsEntry.extents). */
  extents?: () => number[] | undefined;
}

/** Filled in while a layer is read. */
export interface ReadStats {
  entries: number;
  /** Bytes of the uncompressed tar stream. */
  uncompressed: number;
  /** Offset of the end-of-archive marker (the bytes from there on are padding). */
  endOffset?: number;
}

export function newStats(): ReadStats {
  return { entries: 0, uncompressed: 0 };
}

/** Decompressed bytes read ahead of the tar parser, per layer. */
const READ_AHEAD = 4 << 20;

/** Reads a layer's tar entries. A blob that does not match its digest or size is bad input (exit 2). */
export async function* layerMembers(layer: LayerReader, stats: ReadStats): AsyncGenerator<Member> {
  let index = 0;
  // Decompression runs on the thread pool; reading ahead keeps it busy while the other side is compared.
  const members = layer.members({
    readAhead: READ_AHEAD,
    onChunk: (c) => { stats.uncompressed += c.length; },
    onEnd: (o) => { stats.endOffset = o; },
  });
  try {
    for await (const { member, body } of members) {
      const meta = metaFromMember(member, index++);
      stats.entries++;
      yield meta.type === 'file' && meta.size > 0 ? { meta, body } : { meta };
    }
  } catch (e) {
    throw asCorrupted(e, layer.where, true);
  }
}

const FILE_CHUNK = 1 << 20;

/** A file's content in chunks of up to 1 MiB; it must be exactly `size` bytes long. */
export async function* fileChunks(path: string, size: number, where: string): AsyncGenerator<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(e, `${where}: cannot read`);
  }
  try {
    let pos = 0;
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(FILE_CHUNK, size - pos));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, pos);
      } catch (e) {
        throw ioError(e, `${where}: cannot read`);
      }
      if (n === 0) throw new ReproError('E_IO', `${where}: ended after ${pos} of ${size} bytes (changed while reading?)`);
      pos += n;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** A root filesystem directory as layer entries, in byte order of their paths (no order compared). */
export async function* directoryMembers(root: string, stats: ReadStats, onWarning?: (m: string) => void): AsyncGenerator<Member> {
  const tree = await readDirectory(root);
  tree.warnings.forEach((w) => onWarning?.(w));
  for (const e of orderEntries(tree.entries.values())) {
    const meta = metaFromEntry(e);
    stats.entries++;
    const ref = e.content;
    if (meta.type === 'file' && meta.size > 0 && ref?.kind === 'file') {
      yield { meta, body: () => fileChunks(ref.path, meta.size, `${root}: ${e.path}`) };
    } else {
      yield { meta };
    }
  }
}
