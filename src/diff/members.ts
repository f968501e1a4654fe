/**
 * Streams of layer entries for the comparison: from a layer blob (decompressed on the fly, the
 * blob's SHA-256 and size checked once it has been read through) or from a root filesystem
 * directory (entries in byte order of their path, content read in chunks). A member's content is
 * a stream that must be read before the next member is asked for; nothing holds a whole layer.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { decompressStream, detectCompression, type DetectedCompression } from '../archive/compress.js';
import { readAhead } from '../archive/read-ahead.js';
import { readTar } from '../archive/tar-reader.js';
import { orderEntries } from '../archive/tar-writer.js';
import type { BlobSource } from '../image/image.js';
import type { Digest } from '../model/digest.js';
import { ReproError, ioError } from '../model/errors.js';
import { readDirectory } from '../sources/rootfs/directory.js';
import { metaFromEntry, metaFromMember, type EntryMeta } from './entry-meta.js';

export interface Member {
  meta: EntryMeta;
  /** The content of a regular file; read it before asking for the next member. */
  body?: () => AsyncIterable<Buffer>;
}

/** A layer to read: its bytes, and what they must hash to. */
export interface LayerInput {
  /** Names the layer in messages, e.g. `A: layer 2 sha256:...`. */
  where: string;
  source: BlobSource;
  /** From the media type; undefined: detected from the first bytes. */
  compression?: DetectedCompression;
  digest?: Digest;
  size?: number;
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

/** The first chunk of a stream, and the whole stream again. */
async function peek(source: AsyncIterable<Buffer>): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (!first.done) yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  }
  return { head, all: all() };
}

/** Decompressed bytes read ahead of the tar parser, per layer. */
const READ_AHEAD = 4 << 20;

/** Reads a layer's tar entries. Throws (exit 2) when the blob does not match its digest or size. */
export async function* layerMembers(input: LayerInput, stats: ReadStats): AsyncGenerator<Member> {
  const blobHash = createHash('sha256');
  let blobSize = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    const it = input.source.open()[Symbol.asyncIterator]();
    try {
      for (;;) {
        let r: IteratorResult<Buffer>;
        try {
          r = await it.next();
        } catch (e) {
          throw ioError(e, `${input.where}: cannot read`);
        }
        if (r.done) return;
        blobHash.update(r.value);
        blobSize += r.value.length;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  let raw: AsyncIterable<Buffer> = hashed();
  let compression = input.compression;
  if (compression === undefined) {
    const p = await peek(raw);
    compression = detectCompression(p.head);
    raw = p.all;
  }
  async function* counted(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of src) {
      stats.uncompressed += c.length;
      yield c;
    }
  }
  // Decompression runs on the thread pool; reading ahead keeps it busy while the other side is compared.
  const tar = counted(readAhead(decompressStream(compression, raw, input.where), READ_AHEAD));
  try {
    let index = 0;
    for await (const { member, body } of readTar(tar, input.where, { onEnd: (o) => { stats.endOffset = o; } })) {
      const meta = metaFromMember(member, index++);
      stats.entries++;
      yield meta.type === 'file' && meta.size > 0 ? { meta, body } : { meta };
    }
    // The padding after the end-of-archive marker, and the rest of the blob (its hash covers it all).
    for await (const _ of tar) { /* count only */ }
  } finally {
    await tar.return(undefined);
  }
  const digest = `sha256:${blobHash.digest('hex')}`;
  if (input.digest !== undefined && digest !== input.digest) {
    throw new ReproError('E_BAD_INPUT', `${input.where}: the blob hashes to ${digest}, not its digest (corrupted blob)`);
  }
  if (input.size !== undefined && blobSize !== input.size) {
    throw new ReproError('E_BAD_INPUT', `${input.where}: the blob is ${blobSize} bytes, its descriptor says ${input.size}`);
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
