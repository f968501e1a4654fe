/**
 * The bytes of the files a flattening keeps (a package database: dpkg's status, each package's
 * `.list` and `.md5sums`), copied into shared chunks as they are read instead of a Buffer each:
 * a Buffer is an object of about 90 bytes on the heap besides its bytes, and an image of 300,000
 * packages keeps 600,000 files of a few dozen bytes. A file is stored once (`store`: its handle)
 * and named by one path or more (`name`: a hard link kept is another name of its file's bytes).
 * Read as a `ReadonlyMap` from path to bytes: each `get` gives a view of the chunk (no copy), a
 * new Buffer object each time. Pure.
 */

/** Bytes are copied into chunks of this size; a file of more than `OWN` bytes gets a buffer of its own, of its size. */
const CHUNK = 1 << 20;
/**
 * A file too big for what is left of the chunk being filled starts a new one, the rest of the old
 * one unused: at most this much a chunk, so what is held stays within an eighth of the bytes the
 * keep budget counts (files of just over half a chunk each took a chunk each: twice).
 */
const OWN = CHUNK >> 3;

export class KeptFiles implements ReadonlyMap<string, Buffer> {
  private readonly chunks: Buffer[] = [];
  /** The chunk being filled (its place in `chunks`; -1: none) and how much of it is used. */
  private current = -1;
  private used = 0;
  /** Per handle: its chunk, its start in it, its length. */
  private chunkOf = new Uint32Array(64);
  private starts = new Uint32Array(64);
  private lengths = new Uint32Array(64);
  private count = 0;
  private readonly paths = new Map<string, number>();

  /** Copies these bytes (one piece or several, in order) in; returns their handle. */
  store(pieces: Uint8Array | readonly Uint8Array[]): number {
    const list = pieces instanceof Uint8Array ? [pieces] : pieces;
    let length = 0;
    for (const p of list) length += p.length;
    // Lengths are kept in 32 bits; a file's budget (`keepLimit`, 64 MiB unless a caller sets it) is far below.
    if (length > 0xffffffff) throw new RangeError(`a kept file of ${length} bytes: at most 4 GiB - 1 can be kept`);
    let at: number;
    let start = 0;
    if (length > OWN) {
      this.chunks.push(Buffer.allocUnsafeSlow(length));
      at = this.chunks.length - 1;
    } else {
      if (this.current < 0 || this.used + length > CHUNK) {
        this.chunks.push(Buffer.allocUnsafeSlow(CHUNK));
        this.current = this.chunks.length - 1;
        this.used = 0;
      }
      at = this.current;
      start = this.used;
      this.used += length;
    }
    const chunk = this.chunks[at]!;
    let to = start;
    for (const p of list) {
      chunk.set(p, to);
      to += p.length;
    }
    if (this.count === this.starts.length) this.grow();
    const id = this.count++;
    this.chunkOf[id] = at;
    this.starts[id] = start;
    this.lengths[id] = length;
    return id;
  }

  /** The bytes a handle stands for (a view, not a copy). */
  bytes(id: number): Buffer {
    const start = this.starts[id]!;
    return this.chunks[this.chunkOf[id]!]!.subarray(start, start + this.lengths[id]!);
  }

  /** Names stored bytes by a path (the path's earlier bytes, if any, no longer named by it). */
  name(path: string, id: number): void {
    this.paths.set(path, id);
  }

  /** Lets go of every file (a reader done with them). */
  clear(): void {
    this.paths.clear();
    this.chunks.length = 0;
    this.current = -1;
    this.used = 0;
    this.chunkOf = new Uint32Array(64);
    this.starts = new Uint32Array(64);
    this.lengths = new Uint32Array(64);
    this.count = 0;
  }

  private grow(): void {
    const more = (a: Uint32Array): Uint32Array<ArrayBuffer> => {
      const b = new Uint32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.chunkOf = more(this.chunkOf);
    this.starts = more(this.starts);
    this.lengths = more(this.lengths);
  }

  get size(): number {
    return this.paths.size;
  }

  get(path: string): Buffer | undefined {
    const id = this.paths.get(path);
    return id === undefined ? undefined : this.bytes(id);
  }

  has(path: string): boolean {
    return this.paths.has(path);
  }

  keys(): MapIterator<string> {
    return this.paths.keys();
  }

  *values(): MapIterator<Buffer> {
    for (const id of this.paths.values()) yield this.bytes(id);
  }

  *entries(): MapIterator<[string, Buffer]> {
    for (const [path, id] of this.paths) yield [path, this.bytes(id)];
  }

  [Symbol.iterator](): MapIterator<[string, Buffer]> {
    return this.entries();
  }

  forEach(f: (value: Buffer, key: string, map: ReadonlyMap<string, Buffer>) => void, thisArg?: unknown): void {
    for (const [path, id] of this.paths) f.call(thisArg, this.bytes(id), path, this);
  }
}
