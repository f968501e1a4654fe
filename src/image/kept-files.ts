/**
 * The bytes of the files a flattening keeps (a package database: dpkg's status, each package's
 * `.list` and `.md5sums`), copied into shared chunks as they are read instead of a Buffer each:
 * a Buffer is an object of about 90 bytes on the heap besides its bytes, and an image of 300,000
 * packages keeps 600,000 files of a few dozen bytes. A file is stored once (`store`: its handle)
 * and named by one path or more (`name`: a hard link kept is another name of its file's bytes).
 * Read as a `ReadonlyMap` from path to bytes: each `get` gives a view of the chunk (no copy), a
 * new Buffer object each time. Pure.
 */

/** Bytes are copied into chunks of this size; a bigger file gets a chunk of its own. */
const CHUNK = 1 << 20;

export class KeptFiles implements ReadonlyMap<string, Buffer> {
  private readonly chunks: Buffer[] = [];
  private used = CHUNK;
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
    if (this.used + length > CHUNK || this.chunks.length === 0) {
      this.chunks.push(Buffer.allocUnsafeSlow(Math.max(CHUNK, length)));
      this.used = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1]!;
    const start = this.used;
    for (const p of list) {
      chunk.set(p, this.used);
      this.used += p.length;
    }
    if (this.count === this.starts.length) this.grow();
    const id = this.count++;
    this.chunkOf[id] = this.chunks.length - 1;
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
    this.used = CHUNK;
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
