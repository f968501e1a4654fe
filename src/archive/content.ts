/**
 * Reads the content an entry refers to, synchronously, straight into the caller's buffer. The tar
 * writer assembles its output blocks on the main thread while compression runs on other threads;
 * one blocking pread per piece is far cheaper there than a round trip through the thread pool for
 * every small file. A file that is shorter or longer than its recorded size (it changed while we
 * read it) is an error, never silently short content.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ReproError, ioError } from '../model/errors.js';
import type { ContentRef } from './entry.js';

const PROBE = Buffer.alloc(1);

/**
 * A file of a scanned tree is opened without following a symlink and without blocking (a FIFO put
 * in its place after the scan would otherwise wait forever), then checked to be the regular file
 * of the size the scan saw. Archives (range references) may be reached through a symlink.
 */
const OPEN_FILE = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
const OPEN_ARCHIVE = constants.O_RDONLY | constants.O_NONBLOCK;

export class ContentReader {
  private fd = -1;
  /** Path of `fd` while it is kept open between entries (range references into one file). */
  private fdPath = '';
  private ref: ContentRef | undefined;
  private pos = 0;
  private left = 0;
  private size = 0;
  private where = '';

  /** Starts reading `size` bytes of `ref`; `where` names the entry in error messages. */
  begin(ref: ContentRef, size: number, where: string): void {
    this.ref = ref;
    this.size = size;
    this.left = size;
    this.where = where;
    if (ref.kind === 'bytes') {
      if (ref.data.length !== size) throw new ReproError('E_IO', `${where}: content is ${ref.data.length} bytes, expected ${size}`);
      this.pos = 0;
      return;
    }
    this.pos = ref.kind === 'range' ? ref.offset : 0;
    if (this.fd >= 0 && (ref.kind === 'file' || this.fdPath !== ref.path)) this.closeFd();
    if (this.fd < 0) {
      try {
        this.fd = openSync(ref.path, ref.kind === 'file' ? OPEN_FILE : OPEN_ARCHIVE);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
          throw new ReproError('E_IO', `${where}: ${ref.path} became a symlink after it was scanned`);
        }
        throw ioError(e, `${where}: cannot read ${ref.path}`);
      }
      this.fdPath = ref.path;
      if (ref.kind === 'file') this.checkScanned(ref.path, size, where);
    }
  }

  /** The open file must still be the regular file of `size` bytes that the scan saw. */
  private checkScanned(path: string, size: number, where: string): void {
    let st;
    try {
      st = fstatSync(this.fd);
    } catch (e) {
      this.closeFd();
      throw ioError(e, `${where}: cannot read ${path}`);
    }
    if (!st.isFile()) {
      this.closeFd();
      throw new ReproError('E_IO', `${where}: ${path} is no longer a regular file (it changed after it was scanned)`);
    }
    if (st.size !== size) {
      this.closeFd();
      throw new ReproError('E_IO', `${where}: ${path} changed size after it was scanned (${size} bytes then, ${st.size} now)`);
    }
  }

  /** Bytes still to read for the current reference. */
  get remaining(): number {
    return this.left;
  }

  /** Fills `buf[off, off+len)` (len <= remaining) and returns len. */
  read(buf: Buffer, off: number, len: number): number {
    const ref = this.ref;
    if (!ref || len > this.left) throw new Error('ContentReader.read: beyond the content');
    if (ref.kind === 'bytes') {
      ref.data.copy(buf, off, this.pos, this.pos + len);
    } else {
      let done = 0;
      while (done < len) {
        let n: number;
        try {
          n = readSync(this.fd, buf, off + done, len - done, this.pos + done);
        } catch (e) {
          throw ioError(e, `${this.where}: cannot read ${ref.path}`);
        }
        if (n === 0) {
          throw new ReproError('E_IO', `${this.where}: ${ref.path} ended after ${this.size - this.left + done} of ${this.size} bytes (changed while reading?)`);
        }
        done += n;
      }
    }
    this.pos += len;
    this.left -= len;
    return len;
  }

  /** Ends the current reference: a whole file must end exactly at its recorded size. */
  end(): void {
    const ref = this.ref;
    this.ref = undefined;
    if (!ref || ref.kind !== 'file') return;
    try {
      let grew: number;
      try {
        grew = readSync(this.fd, PROBE, 0, 1, this.pos);
      } catch (e) {
        throw ioError(e, `${this.where}: cannot read ${ref.path}`);
      }
      if (grew !== 0) {
        throw new ReproError('E_IO', this.size === 0
          ? `${this.where}: ${ref.path} has content although its size is 0 (a procfs or sysfs file, or it changed while reading)`
          : `${this.where}: ${ref.path} grew beyond its ${this.size} bytes while reading`);
      }
    } finally {
      this.closeFd();
    }
  }

  /** Releases any file still open (call in a finally). */
  close(): void {
    this.ref = undefined;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.fdPath = '';
      closeSync(fd);
    }
  }
}

/** The whole content of a (small) regular-file entry, read through its reference. */
export function readEntryBytes(e: { path: string; size: number; content?: ContentRef }): Buffer {
  const buf = Buffer.alloc(e.size);
  if (!e.content) return buf;
  const reader = new ContentReader();
  try {
    reader.begin(e.content, e.size, e.path);
    if (e.size > 0) reader.read(buf, 0, e.size);
    reader.end();
  } finally {
    reader.close();
  }
  return buf;
}
