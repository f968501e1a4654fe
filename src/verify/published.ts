/**
 * The published side of a verification: the manifest a reference names (by digest or tag; through
 * an index, the image for the build's platform), its config, and the index when there is one, each
 * as the exact bytes served and verified against its digest (read through the image model).
 * `--archive` keeps them as an OCI layout without layers, which `verify --against oci:DIR` reads
 * again after the tag has moved.
 */
import type { Descriptor } from '../model/descriptor.js';
import type { Platform } from '../model/platform.js';
import { bytesSource } from '../image/image.js';
import type { GraphDocument, ImageGraph } from '../image/graph.js';
import { readImage, type ResolvedImage } from '../image/read.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { writeLayout } from '../transports/layout/write.js';
import { formatImageRef, type ImageRef } from '../transports/reference.js';

export interface Published extends ResolvedImage {
  reference: string;
  /** The index the reference named, when it named one. */
  index?: GraphDocument;
}

export async function fetchPublished(ref: ImageRef, platform: Platform, opts: TransportOptions): Promise<Published> {
  const reference = formatImageRef(ref);
  const image = await readImage(await openImage(ref, opts), reference, platform);
  const published: Published = { ...image, reference };
  if (image.view.nested) published.index = { descriptor: image.view.target, bytes: image.view.nested.bytes };
  return published;
}

/** Keeps the published documents and config, exactly as served, as a layer-less OCI layout. */
export async function archivePublished(dir: string, p: Published, tag: string | undefined): Promise<void> {
  const { mediaType, digest, size } = p.descriptor;
  const manifestRoot: Descriptor = { mediaType, digest, size, platform: p.platform };
  const manifestDoc: GraphDocument = { descriptor: manifestRoot, bytes: p.manifest.bytes };
  const graph: ImageGraph = {
    root: p.index ? p.index.descriptor : manifestRoot,
    documents: p.index ? [manifestDoc, p.index] : [manifestDoc],
    blobs: [{ descriptor: p.manifest.value.config, source: bytesSource(p.config.bytes) }],
  };
  await writeLayout(dir, graph, tag);
}
