/**
 * Writes an image graph (one image, or an index with its images) into an OCI image layout directory (image-spec `image-layout.md`): blobs first,
 * each to a temporary name then renamed, then `index.json` replaced atomically. A new directory is
 * assembled beside its final name and renamed into place, so a failed write leaves nothing behind.
 */
import { copyFile, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bytesSource, type BlobSource } from '../../image/image.js';
import { canonicalBytes } from '../../model/canonical-json.js';
import type { Descriptor } from '../../model/descriptor.js';
import { digestHex } from '../../model/digest.js';
import { ReproError, ioError } from '../../model/errors.js';
import { MediaType } from '../../model/media-types.js';
import { REF_NAME, encodeIndex, parseIndex, type ImageIndex } from '../../model/oci-index.js';
import type { RawJson } from '../../model/json.js';
import { inOrderCancelling } from '../../fetch/pool.js';
import { tempNameFor, writeFileAtomic } from '../../fs/atomic.js';
import type { ImageGraph } from '../../image/graph.js';

const BLOB_CONCURRENCY = 4;

export const OCI_LAYOUT = canonicalBytes({ imageLayoutVersion: '1.0.0' });

/** The index.json entry for a graph's root: its descriptor, with the tag as ref.name. */
export function rootEntry(graph: ImageGraph, tag: string | undefined): Descriptor {
  const { mediaType, digest, size, platform } = graph.root;
  const d: Descriptor = { mediaType, digest, size };
  if (platform) d.platform = platform;
  if (tag !== undefined) d.annotations = { [REF_NAME]: tag };
  return d;
}

/** The index.json of a fresh layout that holds one graph. */
export function graphIndex(graph: ImageGraph, tag: string | undefined): RawJson<ImageIndex> {
  return encodeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [rootEntry(graph, tag)] });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function putBlob(blobDir: string, desc: Descriptor, src: BlobSource, signal?: AbortSignal): Promise<void> {
  const dest = join(blobDir, digestHex(desc.digest));
  try {
    const s = await stat(dest);
    if (s.size === desc.size) return; // content-addressed: already there
  } catch { /* absent */ }
  if (src.ref?.kind === 'file' && src.movable) {
    // A scratch file on the same filesystem is renamed into place (atomic, no copy).
    try {
      await rename(src.ref.path, dest);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw ioError(e, `cannot write blob ${desc.digest}`);
    }
  }
  if (src.ref?.kind === 'file') {
    const tmp = tempNameFor(dest);
    try {
      await copyFile(src.ref.path, tmp);
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw ioError(e, `cannot write blob ${desc.digest}`);
    }
  } else {
    await writeFileAtomic(dest, src.open(), signal ? { signal } : {});
  }
}

export async function writeLayoutInto(dir: string, graph: ImageGraph, index: RawJson<ImageIndex>): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  // A few blobs at a time: a layer that streams from a registry overlaps with the others; when one
  // fails, the others stop.
  await inOrderCancelling(graph.blobs.length, BLOB_CONCURRENCY, (i, signal) => putBlob(blobDir, graph.blobs[i]!.descriptor, graph.blobs[i]!.source, signal));
  for (const d of graph.documents) await putBlob(blobDir, d.descriptor, bytesSource(d.bytes));
  await writeFileAtomic(join(dir, 'oci-layout'), OCI_LAYOUT);
  await writeFileAtomic(join(dir, 'index.json'), index.bytes);
}

/** Writes a graph into the layout at `dir` under `tag`; returns the index.json written. */
export async function writeLayout(dir: string, graph: ImageGraph, tag: string | undefined): Promise<RawJson<ImageIndex>> {
  if (!(await exists(dir))) {
    await mkdir(dirname(dir), { recursive: true }).catch((e) => { throw ioError(e, `cannot create ${dirname(dir)}`); });
    // mkdir, not mkdtemp: the layout gets the usual umask-derived mode, not 0700.
    const staging = tempNameFor(dir);
    await mkdir(staging).catch((e) => { throw ioError(e, `cannot write ${dir}`); });
    try {
      const index = graphIndex(graph, tag);
      await writeLayoutInto(staging, graph, index);
      await rename(staging, dir);
      return index;
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
  // An existing layout: add the blobs, then point the tag at the new manifest.
  const indexPath = join(dir, 'index.json');
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  if (await exists(indexPath)) {
    index = { ...parseIndex(await readFile(indexPath), indexPath).value };
  } else if (!(await exists(join(dir, 'oci-layout')))) {
    if ((await readdir(dir)).length > 0) {
      throw new ReproError('E_BAD_INPUT', `${dir}: exists and is not an OCI image layout (no oci-layout or index.json)`);
    }
  }
  const desc = rootEntry(graph, tag);
  const manifests = index.manifests.filter((m) =>
    tag === undefined ? m.digest !== desc.digest || m.annotations?.[REF_NAME] !== undefined : m.annotations?.[REF_NAME] !== tag);
  const next = encodeIndex({ ...index, manifests: [...manifests, desc] });
  await writeLayoutInto(dir, graph, next);
  return next;
}
