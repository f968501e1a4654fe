/**
 * Positional I/O on one image file: a writer that puts bytes at absolute offsets (what it never
 * writes stays a hole and reads back as zeros), and a bounded reader for the read side, which
 * refuses any read outside the region it was given (every offset on a disk is input).
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { ReproError, ioError } from '../model/errors.js';

export interface Output {
  /** Writes all of `data` at absolute offset `at`. */
  write(data: Uint8Array, at: number): void;
}

/** A region of an Output: offsets are relative to `base` and must stay below `size`. */
export class RegionWriter implements Output {
  constructor(private readonly out: Output, readonly base: number, readonly size: number, private readonly where: string) {}

  write(data: Uint8Array, at: number): void {
    if (at < 0 || at + data.length > this.size) {
      throw new ReproError('E_BAD_INPUT', `${this.where}: a write at ${at} (+${data.length}) is outside its ${this.size} bytes`);
    }
    this.out.write(data, this.base + at);
  }
}

export class FileOutput implements Output {
  private closed = false;
  /** Byte ranges written, [start, end), in the order written (see writtenRanges). */
  private readonly ranges: Array<[number, number]> = [];
  private constructor(readonly fd: number, private readonly path: string) {}

  /** The written ranges, sorted and merged: everything else in the file is a hole. */
  writtenRanges(): Array<[number, number]> {
    const sorted = [...this.ranges].sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const [s, e] of sorted) {
      const last = out[out.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else out.push([s, e]);
    }
    return out;
  }

  static create(path: string): FileOutput {
    try {
      return new FileOutput(openSync(path, 'wx+', 0o644), path);
    } catch (e) {
      throw ioError(e, `cannot write ${path}`);
    }
  }

  write(data: Uint8Array, at: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (last && last[1] === at) last[1] = at + data.length;
    else this.ranges.push([at, at + data.length]);
    let done = 0;
    try {
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, at + done);
    } catch (e) {
      throw ioError(e, `cannot write ${this.path}`);
    }
  }

  /** Closes the file (once; later calls do nothing). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Bounded reads of a region of a file (or of a buffer, in tests). */
export interface Source {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; an error naming `what` if any of it lies outside. */
  read(offset: number, length: number, what: string): Buffer;
  /** Reads into `buf[off, off+length)` (for large streamed reads without allocation). */
  readInto(buf: Buffer, off: number, length: number, offset: number, what: string): void;
  /** A sub-region, bounded in turn. */
  slice(offset: number, size: number, where: string): Source;
  readonly where: string;
}

abstract class BaseSource implements Source {
  constructor(readonly size: number, readonly where: string) {}
  protected check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new ReproError('E_BAD_INPUT', `${this.where}: ${what} at byte ${offset} (+${length}) lies outside its ${this.size} bytes`);
    }
  }
  read(offset: number, length: number, what: string): Buffer {
    const buf = Buffer.allocUnsafe(length);
    this.readInto(buf, 0, length, offset, what);
    return buf;
  }
  abstract readInto(buf: Buffer, off: number, length: number, offset: number, what: string): void;
  slice(offset: number, size: number, where: string): Source {
    this.check(offset, size, where);
    return new SliceSource(this, offset, size, where);
  }
}

class SliceSource extends BaseSource {
  constructor(private readonly parent: BaseSource, private readonly base: number, size: number, where: string) {
    super(size, where);
  }
  readInto(buf: Buffer, off: number, length: number, offset: number, what: string): void {
    this.check(offset, length, what);
    this.parent.readInto(buf, off, length, this.base + offset, what);
  }
}

export class FileSource extends BaseSource {
  private constructor(private readonly fd: number, size: number, where: string) {
    super(size, where);
  }

  static open(path: string, where = path): FileSource {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw ioError(e, `cannot read ${where}`);
    }
    return new FileSource(fd, fstatSync(fd).size, where);
  }

  readInto(buf: Buffer, off: number, length: number, offset: number, what: string): void {
    this.check(offset, length, what);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.fd, buf, off + done, length - done, offset + done);
        if (n === 0) throw new ReproError('E_IO', `${this.where}: ended at ${offset + done} while reading ${what} (changed while reading?)`);
        done += n;
      }
    } catch (e) {
      if (e instanceof ReproError) throw e;
      throw ioError(e, `cannot read ${this.where}`);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

export class BufferSource extends BaseSource {
  constructor(private readonly data: Buffer, where = 'buffer') {
    super(data.length, where);
  }
  readInto(buf: Buffer, off: number, length: number, offset: number, what: string): void {
    this.check(offset, length, what);
    this.data.copy(buf, off, offset, offset + length);
  }
}

/** An Output into a buffer (tests, and small file systems assembled in memory). */
export class BufferOutput implements Output {
  constructor(readonly data: Buffer) {}
  write(d: Uint8Array, at: number): void {
    if (at + d.length > this.data.length) throw new Error(`BufferOutput: write beyond ${this.data.length}`);
    this.data.set(d, at);
  }
}
