import { openRegularFile } from '../fs/read-whole.js';
import type { BlobSource } from './image.js';

/** A scratch file holding a blob, which a writer may move instead of copying. */
export function scratchFileSource(path: string): BlobSource {
  return { ...fileSource(path), movable: true };
}

/**
 * A blob stored in a file, or in a byte range of one (an archive member). Each read opens the file
 * without blocking and checks the descriptor it reads: a FIFO or a device put where a stat saw a
 * regular file is exit 2 naming it, not an open that waits for a writer for ever or bytes that
 * never end.
 */
export function fileSource(path: string, offset = 0, length?: number): BlobSource {
  return {
    ref: length === undefined && offset === 0 ? { kind: 'file', path } : { kind: 'range', path, offset },
    open() {
      if (length === 0) return (async function* () {})();
      return (async function* () {
        const { fh } = await openRegularFile(path);
        const end = length === undefined ? undefined : offset + length - 1;
        // The stream closes the file when it ends, fails or is let go.
        yield* fh.createReadStream({ start: offset, ...(end === undefined ? {} : { end }), highWaterMark: 1 << 20 });
      })();
    },
  };
}
