import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileSource } from '../../image/file-source.js';
import { readWholeFile } from '../../fs/read-whole.js';
import { digestHex, type Digest } from '../../model/digest.js';
import { ReproError, ioError } from '../../model/errors.js';
import { parseIndex } from '../../model/oci-index.js';
import { selectFromIndex, type IndexSelector } from '../../image/select.js';
import type { BlobStore, OpenedImage } from '../../image/store.js';
import { MAX_DOCUMENT } from '../../image/verified.js';

/**
 * The real path of `rel` inside the layout `dir`, refusing one that a symlink leads out of the
 * layout (a layout is read and written only inside itself). ENOENT is passed on.
 */
export async function pathInside(dir: string, rel: string): Promise<string> {
  const [root, real] = await Promise.all([realpath(dir), realpath(join(dir, rel))]);
  if (!real.startsWith(root + sep)) {
    throw new ReproError('E_PATH_ESCAPE', `${dir}: ${rel} is a symlink to a file outside the layout; refused`);
  }
  return real;
}

/** Reads a small file of a layout (index.json): confined to the layout, a regular file, capped. */
export async function readInside(dir: string, rel: string, opts: { missingOk: true }): Promise<Buffer | undefined>;
export async function readInside(dir: string, rel: string, opts?: { missingOk?: false }): Promise<Buffer>;
export async function readInside(dir: string, rel: string, opts: { missingOk?: boolean } = {}): Promise<Buffer | undefined> {
  let path: string;
  try {
    path = await pathInside(dir, rel);
    // index.json is a document read whole (registries accept manifests of 4 MiB; an index of many
    // tags is larger); checked on the descriptor read, not by a stat of the path before it.
    return await readWholeFile(path, MAX_DOCUMENT);
  } catch (e) {
    if (opts.missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, `${dir}: not an OCI image layout (cannot read ${rel})`);
  }
}

export function layoutStore(dir: string): BlobStore {
  return {
    where: dir,
    async blob(digest: Digest) {
      let path: string;
      let size: number;
      try {
        path = await pathInside(dir, join('blobs', 'sha256', digestHex(digest)));
        const st = await stat(path);
        if (!st.isFile()) throw new ReproError('E_BAD_INPUT', `${dir}: blob ${digest} is not a regular file`);
        size = st.size;
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
  const bytes = await readInside(dir, 'index.json');
  const index = parseIndex(bytes, indexPath);
  return { store: layoutStore(dir), index, target: selectFromIndex(index.value, tag, dir) };
}
