import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSource } from '../../image/file-source.js';
import { digestHex, type Digest } from '../../model/digest.js';
import { ReproError, ioError } from '../../model/errors.js';
import { parseIndex } from '../../model/oci-index.js';
import { selectFromIndex, type IndexSelector } from '../../image/select.js';
import type { BlobStore, OpenedImage } from '../../image/store.js';

export function layoutStore(dir: string): BlobStore {
  return {
    where: dir,
    async blob(digest: Digest) {
      const path = join(dir, 'blobs', 'sha256', digestHex(digest));
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ReproError('E_NOT_FOUND', `${dir}: blob ${digest} is missing`);
        }
        throw ioError(e, `${dir}: blob ${digest}`);
      }
      return { ...fileSource(path), storedSize: size };
    },
  };
}

export async function openLayout(dir: string, tag: IndexSelector | string | undefined): Promise<OpenedImage> {
  const indexPath = join(dir, 'index.json');
  let bytes: Buffer;
  try {
    bytes = await readFile(indexPath);
  } catch (e) {
    throw ioError(e, `${dir}: not an OCI image layout (cannot read index.json)`);
  }
  const index = parseIndex(bytes, indexPath);
  return { store: layoutStore(dir), index, target: selectFromIndex(index.value, tag, dir) };
}
