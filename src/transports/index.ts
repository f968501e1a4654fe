import { mkdir, rm } from 'node:fs/promises';
import type { Image } from '../image/image.js';
import type { Digest } from '../model/digest.js';
import { ioError } from '../model/errors.js';
import { isManifestType } from '../model/media-types.js';
import type { RawJson } from '../model/json.js';
import type { ImageIndex } from '../model/oci-index.js';
import { openDockerArchive, writeDockerArchive } from './archive/docker-archive.js';
import { openOciArchive, writeOciArchive } from './archive/oci-archive.js';
import { tempNameFor } from './atomic.js';
import { graphImage, imageGraph, spoolGraph, type ImageGraph } from './graph.js';
import { openLayout } from './layout/read.js';
import { writeLayout } from './layout/write.js';
import type { ImageRef } from './reference.js';
import type { RegistryOptions } from './registry/client.js';
import { openRegistry } from './registry/pull.js';
import { writeRegistry, type PushResult } from './registry/push.js';
import type { OpenedImage } from './store.js';

export interface TransportOptions {
  /** Credentials, TLS and upload settings for docker:// references. */
  registry?: RegistryOptions;
}

export interface WriteResult {
  /** The index.json written, for transports that have one. */
  index?: RawJson<ImageIndex>;
  /** The digest of the manifest or index at the destination (absent for docker-archive, which keeps none). */
  digest?: Digest;
  /** For registries: how many blobs were already there, mounted, or uploaded. */
  blobs?: PushResult['blobs'];
}

/** Writes an image to a destination; `mtime` is the time archive members carry (SOURCE_DATE_EPOCH). */
export function writeImage(ref: ImageRef, img: Image, mtime: number, opts: TransportOptions = {}): Promise<WriteResult> {
  return writeGraph(ref, imageGraph(img), mtime, opts);
}

/** Archive writers read members from files: blobs that only stream are spooled beside the output first. */
async function withSpool<T>(file: string, graph: ImageGraph, fn: (g: ImageGraph) => Promise<T>): Promise<T> {
  if (graph.blobs.every((b) => b.source.ref)) return fn(graph);
  const dir = tempNameFor(file);
  try {
    await mkdir(dir).catch((e) => { throw ioError(e, `cannot write ${file}`); });
    return await fn(await spoolGraph(graph, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes an image graph (one image, or an index with all its images) to a destination. */
export async function writeGraph(ref: ImageRef, graph: ImageGraph, mtime: number, opts: TransportOptions = {}): Promise<WriteResult> {
  switch (ref.transport) {
    case 'oci':
      return { index: await writeLayout(ref.path, graph, ref.tag), digest: graph.root.digest };
    case 'oci-archive':
      return { index: await withSpool(ref.path, graph, (g) => writeOciArchive(ref.path, g, ref.tag, mtime)), digest: graph.root.digest };
    case 'docker-archive':
      if (!isManifestType(graph.root.mediaType)) await graphImage(graph, ref.path); // refuses an index before any download
      await withSpool(ref.path, graph, async (g) => writeDockerArchive(ref.path, await graphImage(g, ref.path), ref.tag, mtime));
      return {};
    case 'docker': {
      const r = await writeRegistry(ref, graph, opts.registry);
      return { digest: r.digest, blobs: r.blobs };
    }
  }
}

export function openImage(ref: ImageRef, opts: TransportOptions = {}): Promise<OpenedImage> {
  switch (ref.transport) {
    case 'oci':
      return openLayout(ref.path, ref.tag);
    case 'oci-archive':
      return openOciArchive(ref.path, ref.tag);
    case 'docker-archive':
      return openDockerArchive(ref.path, ref.tag);
    case 'docker':
      return openRegistry(ref, opts.registry);
  }
}
