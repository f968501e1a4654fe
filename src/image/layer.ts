/**
 * A layer of an image (or a root filesystem archive read as one), ready to be read any number of
 * times: its stored bytes verified against the descriptor as they stream, the uncompressed tar
 * stream (compression from the media type, else recognised from the first bytes), and its tar
 * members. Every reader of layer bytes reads them here.
 */
import { detectCompression, type DetectedCompression } from '../archive/detect.js';
import { readAhead } from '../archive/read-ahead.js';
import { readTar, type TarItem } from '../archive/tar-reader.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { ioError } from '../model/errors.js';
import { layerCompression } from '../model/media-types.js';
import type { BlobSource } from './image.js';
import { verifyStream } from './verified.js';

/** A member and its data (`body`, or `whole` when at hand), as readTar yields it. */
export type LayerMember = TarItem;

export interface UncompressedOptions {
  /** Decompressed bytes read ahead of the consumer (decompression keeps running meanwhile). */
  readAhead?: number;
  /** Told every uncompressed chunk as it passes (sizes, hashes). */
  onChunk?: (chunk: Buffer) => void;
}

export interface MemberOptions extends UncompressedOptions {
  /** Told the offset of the end-of-archive marker. */
  onEnd?: (offset: number) => void;
}

export interface LayerReader {
  /** 1-based position in the image. */
  readonly number: number;
  /** Names the layer in messages, e.g. `B oci:out: layer 2 sha256:…`. */
  readonly where: string;
  /** Absent for a root filesystem archive read as a layer. */
  readonly descriptor?: Descriptor;
  /** The config's rootfs.diff_ids entry, when the config has one. */
  readonly diffId?: Digest;
  /** The stored bytes; with a descriptor, verified (a `MismatchError` at the end, or as soon as too many bytes came). */
  compressed(): AsyncIterable<Buffer>;
  /** The tar stream. */
  uncompressed(opts?: UncompressedOptions): AsyncIterable<Buffer>;
  /** The tar members; reading them all reads (and so verifies) the whole blob. */
  members(opts?: MemberOptions): AsyncGenerator<LayerMember>;
  /**
   * Where the tar lies in a local file, when it does (an uncompressed layer with a descriptor,
   * stored as a file of its own: an OCI layout's blob): read there at offsets (flatten.ts),
   * which leaves the checking of its bytes against the descriptor to the reader. Undefined
   * otherwise.
   */
  localTar(): Promise<LocalTar | undefined>;
}

/** An uncompressed layer's bytes in a local file of its own (`descriptor.size` bytes, if it is right). */
export interface LocalTar {
  path: string;
  descriptor: Descriptor;
}

export interface LayerInfo {
  number: number;
  where: string;
  descriptor?: Descriptor;
  diffId?: Digest;
  /** Known compression (default: from the descriptor's media type, else recognised from the first bytes). */
  compression?: DetectedCompression;
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

/** Read failures of the source (a file, a connection) name the layer. */
async function* named(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (e) {
        throw ioError(e, `${where}: cannot read`);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

async function* tapped(source: AsyncIterable<Buffer>, onChunk: (c: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const c of source) {
    onChunk(c);
    yield c;
  }
}

/** A layer reader over a blob source (opened when read, as often as read). */
export function layerReader(source: () => Promise<BlobSource> | BlobSource, info: LayerInfo): LayerReader {
  const { where, descriptor } = info;
  const declared = info.compression ?? (descriptor ? layerCompression(descriptor.mediaType) : undefined);
  const compressed = async function* (): AsyncGenerator<Buffer> {
    const raw = named((await source()).open(), where);
    yield* descriptor ? verifyStream(raw, descriptor, where) : raw;
  };
  const uncompressed = async function* (opts: UncompressedOptions = {}): AsyncGenerator<Buffer> {
    let stored: AsyncIterable<Buffer> = compressed();
    let compression = declared;
    if (compression === undefined) {
      const p = await peek(stored);
      compression = detectCompression(p.head);
      stored = p.all;
    }
    // An uncompressed layer needs no decompressor (nor zlib, streams and child processes): loaded when one is.
    let out = compression === 'none' ? stored : (await import('../archive/compress.js')).decompressStream(compression, stored, where);
    if (opts.readAhead) out = readAhead(out, opts.readAhead);
    yield* opts.onChunk ? tapped(out, opts.onChunk) : out;
  };
  return {
    number: info.number,
    where,
    ...(descriptor ? { descriptor } : {}),
    ...(info.diffId ? { diffId: info.diffId } : {}),
    compressed,
    uncompressed,
    members: (opts: MemberOptions = {}) => readTar(uncompressed(opts), where, opts.onEnd ? { onEnd: opts.onEnd } : {}),
    localTar: async () => {
      if (!descriptor || declared !== 'none') return undefined;
      const ref = (await source()).ref;
      return ref?.kind === 'file' ? { path: ref.path, descriptor } : undefined;
    },
  };
}
