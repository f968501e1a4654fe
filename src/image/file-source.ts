import { createReadStream } from 'node:fs';
import type { BlobSource } from './image.js';

/** A scratch file holding a blob, which a writer may move instead of copying. */
export function scratchFileSource(path: string): BlobSource {
  return { ...fileSource(path), movable: true };
}

/** A blob stored in a file, or in a byte range of one (an archive member). */
export function fileSource(path: string, offset = 0, length?: number): BlobSource {
  return {
    ref: length === undefined && offset === 0 ? { kind: 'file', path } : { kind: 'range', path, offset },
    open() {
      const end = length === undefined ? undefined : offset + length - 1;
      if (length === 0) return (async function* () {})();
      return createReadStream(path, { start: offset, ...(end === undefined ? {} : { end }), highWaterMark: 1 << 20 });
    },
  };
}
