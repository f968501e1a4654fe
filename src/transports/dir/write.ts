/**
 * Writes an image graph as skopeo's dir: format (see read.ts): blobs, `HEX.manifest.json` for the
 * images of an index, `manifest.json` for the top, then `version`. The directory is assembled beside
 * its final name and renamed into place; a directory that already holds a dir: image is replaced
 * (as skopeo replaces it), anything else that is not empty is refused.
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inOrderCancelling } from '../../fetch/pool.js';
import { tempNameFor } from '../../fs/atomic.js';
import { releasePartial } from '../../fs/scratch.js';
import type { ImageGraph } from '../../image/graph.js';
import { digestHex } from '../../model/digest.js';
import { ReproError, ioError } from '../../model/errors.js';
import { putBlob } from '../layout/write.js';
import { DIR_VERSION } from './read.js';

const BLOB_CONCURRENCY = 4;

async function entries(dir: string): Promise<string[] | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new ReproError('E_BAD_INPUT', `${dir}: exists and is not a directory`);
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e instanceof ReproError ? e : ioError(e, dir);
  }
}

export async function writeDir(dir: string, graph: ImageGraph): Promise<void> {
  const existing = await entries(dir);
  if (existing && existing.length > 0 && !existing.includes('version')) {
    throw new ReproError('E_BAD_INPUT', `${dir}: exists, is not empty and holds no dir: image (no version file); refusing to replace it`);
  }
  await mkdir(dirname(dir), { recursive: true }).catch((e) => { throw ioError(e, `cannot create ${dirname(dir)}`); });
  const staging = tempNameFor(dir);
  await mkdir(staging).catch((e) => { throw ioError(e, `cannot write ${dir}`); });
  try {
    await inOrderCancelling(graph.blobs.length, BLOB_CONCURRENCY, (i, signal) => putBlob(staging, graph.blobs[i]!.descriptor, graph.blobs[i]!.source, signal));
    for (const d of graph.documents) {
      const name = d.descriptor.digest === graph.root.digest ? 'manifest.json' : `${digestHex(d.descriptor.digest)}.manifest.json`;
      await writeFile(join(staging, name), d.bytes).catch((e) => { throw ioError(e, `cannot write ${dir}/${name}`); });
    }
    await writeFile(join(staging, 'version'), DIR_VERSION).catch((e) => { throw ioError(e, `cannot write ${dir}/version`); });
    if (existing) {
      // Replace the old image in two renames; the old one is removed once the new one is in place.
      // Not removed on a signal: for a moment it is the only copy of the old image.
      const old = tempNameFor(dir, { register: false });
      await rename(dir, old).catch((e) => { throw ioError(e, `cannot replace ${dir}`); });
      try {
        await rename(staging, dir);
      } catch (e) {
        await rename(old, dir).catch(() => {});
        throw ioError(e, `cannot replace ${dir}`);
      }
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(staging, dir).catch((e) => { throw ioError(e, `cannot write ${dir}`); });
    }
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  } finally {
    releasePartial(staging);
  }
}
