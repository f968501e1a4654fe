/**
 * The published side of a verification: the manifest a reference names (by digest or tag; through
 * an index, the image for the build's platform), its config, and the index when there is one, each
 * as the exact bytes served and verified against its digest. `--archive` keeps them as an OCI
 * layout without layers, which `verify --against oci:DIR` reads again after the tag has moved.
 */
import type { ImageConfig } from '../model/config.js';
import { parseConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import { ReproError } from '../model/errors.js';
import type { RawJson } from '../model/json.js';
import { parseManifest, type Manifest } from '../model/manifest.js';
import { isIndexType, isManifestType } from '../model/media-types.js';
import { parseIndex } from '../model/oci-index.js';
import type { Platform } from '../model/platform.js';
import { bytesSource } from '../image/image.js';
import { selectPlatform, type GraphDocument, type ImageGraph } from '../transports/graph.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { writeLayout } from '../transports/layout/write.js';
import { formatImageRef, type ImageRef } from '../transports/reference.js';
import type { OpenedImage } from '../transports/store.js';
import { readDocument, readVerified } from '../transports/verified.js';

export interface Published {
  reference: string;
  opened: OpenedImage;
  /** The index the reference named, when it named one. */
  index?: GraphDocument;
  manifestDescriptor: Descriptor;
  manifest: RawJson<Manifest>;
  config: RawJson<ImageConfig>;
}

export async function fetchPublished(ref: ImageRef, platform: Platform, opts: TransportOptions): Promise<Published> {
  const reference = formatImageRef(ref);
  const opened = await openImage(ref, opts);
  let target = opened.target;
  let index: GraphDocument | undefined;
  if (isIndexType(target.mediaType)) {
    const bytes = await readDocument(opened.store, target);
    index = { descriptor: target, bytes };
    target = selectPlatform(parseIndex(bytes, `${reference}: index ${target.digest}`).value, platform, reference);
  } else if (!isManifestType(target.mediaType)) {
    throw new ReproError('E_UNSUPPORTED', `${reference}: ${target.digest} is a ${target.mediaType}, not an image`);
  }
  const manifest = parseManifest(await readDocument(opened.store, target), `${reference}: manifest ${target.digest}`, target.mediaType);
  const cd = manifest.value.config;
  const config = parseConfig(await readVerified(await opened.store.blob(cd.digest, cd.size), cd, opened.store.where), `${reference}: config ${cd.digest}`);
  const published: Published = { reference, opened, manifestDescriptor: target, manifest, config };
  if (index) published.index = index;
  return published;
}

/** Keeps the published documents and config, exactly as served, as a layer-less OCI layout. */
export async function archivePublished(dir: string, p: Published, tag: string | undefined): Promise<void> {
  const { mediaType, digest, size } = p.manifestDescriptor;
  const c = p.config.value;
  const manifestRoot: Descriptor = { mediaType, digest, size, platform: { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) } };
  const manifestDoc: GraphDocument = { descriptor: manifestRoot, bytes: p.manifest.bytes };
  const graph: ImageGraph = {
    root: p.index ? p.index.descriptor : manifestRoot,
    documents: p.index ? [manifestDoc, p.index] : [manifestDoc],
    blobs: [{ descriptor: p.manifest.value.config, source: bytesSource(p.config.bytes) }],
  };
  await writeLayout(dir, graph, tag);
}
