/**
 * The published side of a verification: the manifest a reference names (by digest or tag; through
 * an index, the image for the build's platform), its config, and the index when there is one, each
 * as the exact bytes served and verified against its digest (read through the image model).
 * `--archive` keeps them as an OCI layout without layers, which `verify --against oci:DIR` reads
 * again after the tag has moved (for an index-level verify, the index and every image it lists);
 * with a spec rebuild it also keeps the inputs archive (a referrer of the published manifest, or
 * index) and says so in annotations of the root's index.json entry (ARCHIVE_ANNOTATION), so that
 * `verify --from-archive DIR` repeats the proof from the directory alone. See
 * docs/verify-archive.md.
 */
import type { Descriptor } from '../model/descriptor.js';
import type { Platform } from '../model/platform.js';
import { bytesSource } from '../image/image.js';
import type { GraphDocument, ImageGraph } from '../image/graph.js';
import { readImage, type ResolvedImage } from '../image/read.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { writeLayout } from '../transports/layout/write.js';
import { withReferrers } from '../image/referrer.js';
import { formatImageRef, type ImageRef } from '../transports/reference.js';

export interface Published extends ResolvedImage {
  reference: string;
  /** The index the reference named, when it named one. */
  index?: GraphDocument;
}

/** The published side of an index-level verify: the index as served, and each image it lists. */
export interface PublishedIndex {
  index: GraphDocument;
  images: ResolvedImage[];
}

export async function fetchPublished(ref: ImageRef, platform: Platform, opts: TransportOptions): Promise<Published> {
  const reference = formatImageRef(ref);
  const image = await readImage(await openImage(ref, opts), reference, platform);
  const published: Published = { ...image, reference };
  if (image.view.nested) published.index = { descriptor: image.view.target, bytes: image.view.nested.bytes };
  return published;
}

/** Annotations on the published root's index.json entry of a `verify --archive` layout. */
export const ARCHIVE_ANNOTATION = {
  /** How the proof was made: `spec` (then the inputs archive is kept), `rootfs`, `containerfile`. */
  rebuild: 'dev.repro-image.verify.rebuild',
  /** The digest of the inputs archive kept in the layout, a referrer of the published manifest. */
  inputs: 'dev.repro-image.verify.inputs',
  /** The platform manifest compared (the root is the index when the reference named one). */
  manifest: 'dev.repro-image.verify.manifest',
  platform: 'dev.repro-image.verify.platform',
  /** SOURCE_DATE_EPOCH, when it was given rather than taken from the lock. */
  sourceDateEpoch: 'dev.repro-image.verify.source-date-epoch',
  /** A `containerfile` proof's form: `podman` or `repro-image` (absent in layouts kept before the default form existed: podman). */
  compat: 'dev.repro-image.verify.compat',
  /** --annotation values of the rebuild, canonical JSON, when there were any. */
  annotations: 'dev.repro-image.verify.annotations',
} as const;

/**
 * Keeps the published documents and config, exactly as served, as a layer-less OCI layout; with
 * `referrers` (the inputs archive) beside them, and `annotations` on the root's index.json entry.
 */
export async function archivePublished(dir: string, p: Published, tag: string | undefined, referrers: ImageGraph[] = [], annotations?: Record<string, string>): Promise<void> {
  const { mediaType, digest, size } = p.descriptor;
  const manifestRoot: Descriptor = { mediaType, digest, size, platform: p.platform };
  const manifestDoc: GraphDocument = { descriptor: manifestRoot, bytes: p.manifest.bytes };
  const graph: ImageGraph = {
    root: p.index ? p.index.descriptor : manifestRoot,
    documents: p.index ? [manifestDoc, p.index] : [manifestDoc],
    blobs: [{ descriptor: p.manifest.value.config, source: bytesSource(p.config.bytes) }],
  };
  await writeLayout(dir, referrers.length > 0 ? withReferrers(graph, referrers) : graph, tag, annotations);
}

/**
 * Keeps a published index as `archivePublished` keeps one image: the index, each image manifest it
 * lists and each config, exactly as served (entries that are not images, such as a nested index,
 * are not kept).
 */
export async function archivePublishedIndex(dir: string, p: PublishedIndex, tag: string | undefined, referrers: ImageGraph[] = [], annotations?: Record<string, string>): Promise<void> {
  const documents = new Map<string, GraphDocument>([[p.index.descriptor.digest, p.index]]);
  const blobs = new Map<string, ImageGraph['blobs'][number]>();
  for (const img of p.images) {
    const { mediaType, digest, size } = img.descriptor;
    if (!documents.has(digest)) documents.set(digest, { descriptor: { mediaType, digest, size }, bytes: img.manifest.bytes });
    const config = img.manifest.value.config;
    if (!blobs.has(config.digest)) blobs.set(config.digest, { descriptor: config, source: bytesSource(img.config.bytes) });
  }
  const graph: ImageGraph = { root: p.index.descriptor, documents: [...documents.values()], blobs: [...blobs.values()] };
  await writeLayout(dir, referrers.length > 0 ? withReferrers(graph, referrers) : graph, tag, annotations);
}
