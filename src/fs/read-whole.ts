/**
 * A file read whole into memory, up to a limit, whatever the path names. It is opened without
 * blocking (opening a FIFO for reading waits for a writer, for ever) and checked on that same
 * descriptor (a stat of the path before the open could be of another file than the one opened)
 * to be a regular file: a FIFO, a device (`/dev/zero` never ends) or a directory is refused. It is
 * never read past `limit` + 1 bytes, whatever its size said (a file that grows, a procfs file that
 * says 0). Errors of the open or read themselves are thrown as they are, for the caller to name.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ReproError, type ErrorCode } from '../model/errors.js';

/** What a file that is not a regular one is, for messages. */
function kind(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'something else';
}

/**
 * `path` opened for reading, when it is a regular file (exit 2 naming it otherwise), with its size.
 * The caller closes it.
 */
export async function openRegularFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ReproError('E_BAD_INPUT', `${path}: ${kind(st)}, not a regular file`);
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/**
 * The same, synchronously (for readers that are synchronous: a spec, a lock, a cached file): the
 * descriptor of `path` when it is a regular file, else exit 2 naming it (as `code`: a spec's
 * problems are E_SPEC). The caller closes it.
 */
export function openRegularFileSync(path: string, code: ErrorCode = 'E_BAD_INPUT'): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReproError(code, `${path}: ${kind(st)}, not a regular file`);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** `path`'s bytes: a regular file of at most `limit` bytes, else exit 2 naming `path` (and its size). */
export async function readWholeFile(path: string, limit: number): Promise<Buffer> {
  const { fh, size } = await openRegularFile(path);
  try {
    if (size > limit) throw new ReproError('E_BAD_INPUT', `${path}: ${size} bytes, more than the ${limit} accepted`);
    const parts: Buffer[] = [];
    let total = 0;
    // The size said, and one byte more to see that the file ends there; then on while it grows.
    for (let want = size + 1; ; want = Math.min(1 << 20, limit + 1 - total)) {
      const b = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(b, 0, want, total);
      if (bytesRead === 0) break;
      parts.push(b.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw new ReproError('E_BAD_INPUT', `${path}: more than the ${limit} bytes accepted (it grew while it was read)`);
    }
    return Buffer.concat(parts, total);
  } finally {
    await fh.close();
  }
}
