import { open } from 'node:fs/promises';
import { ReproError, ioError } from '../model/errors.js';
import type { ContentRef } from './entry.js';

const CHUNK = 1 << 20;

/**
 * Streams exactly `size` bytes of a content reference. A file that is shorter or longer than its
 * recorded size (changed while we read it) is an error, never silently short content.
 */
export async function* readContent(ref: ContentRef, size: number, where: string): AsyncGenerator<Buffer> {
  if (ref.kind === 'bytes') {
    if (ref.data.length !== size) throw new ReproError('E_IO', `${where}: content is ${ref.data.length} bytes, expected ${size}`);
    if (size > 0) yield ref.data;
    return;
  }
  let fh;
  try {
    fh = await open(ref.path, 'r');
  } catch (e) {
    throw ioError(e, `${where}: cannot read ${ref.path}`);
  }
  try {
    let pos = ref.kind === 'range' ? ref.offset : 0;
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, pos));
      } catch (e) {
        throw ioError(e, `${where}: cannot read ${ref.path}`);
      }
      if (n === 0) throw new ReproError('E_IO', `${where}: ${ref.path} ended after ${size - left} of ${size} bytes (changed while reading?)`);
      pos += n;
      left -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
    if (ref.kind === 'file') {
      const probe = Buffer.allocUnsafe(1);
      const { bytesRead } = await fh.read(probe, 0, 1, pos);
      if (bytesRead !== 0) throw new ReproError('E_IO', `${where}: ${ref.path} grew beyond its ${size} bytes while reading`);
    }
  } finally {
    await fh.close();
  }
}
