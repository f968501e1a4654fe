/**
 * The hashing of a layer that lies uncompressed in a local file (see local-hashes.ts), done the
 * same way on the main thread and on the hashing thread: the sha256 of the blob's byte range,
 * and the digests of its files, read where they lie (at their offsets, straight into a buffer of
 * this thread's, never copied between threads). Files are claimed one at a time from a counter
 * shared by the threads, so each thread takes the next file as soon as it is free; the digests
 * go into shared tables at the file's index. Files that want only an md5 (every file of a dpkg
 * image) are hashed eight at a time in the SIMD lanes of md5-lanes.ts, read straight into them;
 * others (and all, where the lanes cannot run) one at a time with node:crypto. Synchronous:
 * positional reads of a file in the page cache cost less than the promises of asynchronous ones.
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { md5Lanes } from './md5-lanes.js';

/** Per file: which digests to take. */
export const WANT_MD5 = 1;
export const WANT_SHA256 = 2;

/** The files of a layer to hash, in memory shared by the threads. */
export interface FileTableBuffers {
  /** Float64: each file's offset in the blob's file (absolute). */
  positions: SharedArrayBuffer;
  /** Float64: each file's size. */
  sizes: SharedArrayBuffer;
  /** Uint8: WANT_MD5 | WANT_SHA256. */
  wants: SharedArrayBuffer;
  /** 16 bytes per file: its md5. */
  md5: SharedArrayBuffer;
  /** 32 bytes per file: its sha256. */
  sha256: SharedArrayBuffer;
  /** Int32[1]: the next file to claim. */
  next: SharedArrayBuffer;
}

export function fileTableBuffers(count: number): FileTableBuffers {
  return {
    positions: new SharedArrayBuffer(8 * count),
    sizes: new SharedArrayBuffer(8 * count),
    wants: new SharedArrayBuffer(count),
    md5: new SharedArrayBuffer(16 * count),
    sha256: new SharedArrayBuffer(32 * count),
    next: new SharedArrayBuffer(4),
  };
}

/** Bytes read at once (a file bigger than this is hashed in pieces). */
const PIECE = 4 << 20;

/** Reads exactly `length` bytes at `position` into `buf`; a short read is an error (the file shrank). */
function readFully(fd: number, buf: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw Object.assign(new Error(`the file ends at byte offset ${position + done}, inside bytes it had when opened`), { code: 'ESHRUNK' });
    done += n;
  }
}

/** A thread's reading buffer, grown on demand up to PIECE. */
export class Reader {
  private buf = Buffer.allocUnsafeSlow(1 << 20);

  constructor(private readonly fd: number) {}

  /** Feeds `length` bytes at `position` to each hash, in pieces. */
  feed(position: number, length: number, hashes: ReadonlyArray<{ update(b: Uint8Array): unknown }>): void {
    if (length > this.buf.length && this.buf.length < PIECE) this.buf = Buffer.allocUnsafeSlow(PIECE);
    for (let at = 0; at < length;) {
      const n = Math.min(this.buf.length, length - at);
      readFully(this.fd, this.buf, n, position + at);
      const piece = this.buf.subarray(0, n);
      for (const h of hashes) h.update(piece);
      at += n;
    }
  }

  /** The hex sha256 of `length` bytes at `position`. */
  sha256(position: number, length: number): string {
    const h = createHash('sha256');
    this.feed(position, length, [h]);
    return h.digest('hex');
  }

  /** Claims files from the shared counter and hashes each until none is left; returns how many it hashed. */
  hashFiles(t: FileTableBuffers): number {
    const positions = new Float64Array(t.positions);
    const sizes = new Float64Array(t.sizes);
    const wants = new Uint8Array(t.wants);
    const md5 = new Uint8Array(t.md5);
    const sha256 = new Uint8Array(t.sha256);
    const next = new Int32Array(t.next);
    let count = 0;
    const one = (i: number): void => {
      const want = wants[i]!;
      const m = want & WANT_MD5 ? createHash('md5') : undefined;
      const s = want & WANT_SHA256 ? createHash('sha256') : undefined;
      this.feed(positions[i]!, sizes[i]!, [m, s].filter((h) => h !== undefined));
      if (m) md5.set(m.digest(), 16 * i);
      if (s) sha256.set(s.digest(), 32 * i);
      count++;
    };
    const lanes = md5Lanes();
    if (!lanes) {
      for (let i = Atomics.add(next, 0, 1); i < positions.length; i = Atomics.add(next, 0, 1)) one(i);
      return count;
    }
    lanes.run(() => {
      for (let i = Atomics.add(next, 0, 1); i < positions.length; i = Atomics.add(next, 0, 1)) {
        if (wants[i] !== WANT_MD5) {
          one(i);
          continue;
        }
        const position = positions[i]!;
        return {
          size: sizes[i]!,
          read: (into, at) => readFully(this.fd, into, into.length, position + at),
          done: (digest) => {
            md5.set(digest, 16 * i);
            count++;
          },
        };
      }
      return undefined;
    });
    return count;
  }
}
