import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Image } from '../image/image.js';
import type { Digest } from '../model/digest.js';
import { ReproError, ioError } from '../model/errors.js';
import { graphParts, referrerGraph, type Attachment } from '../image/referrer.js';
import { referrerSubjects } from '../image/referrers.js';
import { isManifestType } from '../model/media-types.js';
import { checkPlatform } from '../model/platform.js';
import type { RawJson } from '../model/json.js';
import type { ImageIndex } from '../model/oci-index.js';
import { tempNameFor } from '../fs/atomic.js';
import { releasePartial, removeStaleTemps } from '../fs/scratch.js';
import { graphImage, imageGraph, spoolGraph, type ImageGraph } from '../image/graph.js';
import { checkWritable, formatImageRef, type ImageRef } from './reference.js';
import type { PushResult } from './registry/push.js';
import { clientFor, openImage, type TransportOptions } from './open.js';

// Reading an image is open.ts (a consumer that only reads loads that, not the writers' modules).
export { connect, openImage, type TransportOptions } from './open.js';

export interface WriteResult {
  /** The index.json written, for transports that have one. */
  index?: RawJson<ImageIndex>;
  /** The digest of the manifest or index at the destination (absent for docker-archive, which keeps none). */
  digest?: Digest;
  /** For containers-storage: the image ID (the config's digest) the store holds it under. */
  imageId?: Digest;
  /** For registries: how many blobs were already there, mounted, or uploaded. */
  blobs?: PushResult['blobs'];
  /** Set when Docker media types were converted to OCI for an OCI destination (the digest changed). */
  converted?: { from: Digest; to: Digest };
  /** For registries: the referrers pushed and how the registry lists them. */
  referrers?: PushResult['referrers'];
}

/** OCI destinations hold OCI media types: a graph with Docker ones is converted (see oci-convert.ts). */
async function asOci(graph: ImageGraph, where: string): Promise<{ graph: ImageGraph; converted?: { from: Digest; to: Digest } }> {
  const { hasDockerTypes, toOciGraph } = await import('./oci-convert.js');
  if (!hasDockerTypes(graph)) return { graph };
  const c = toOciGraph(graph, where);
  return { graph: c.graph, converted: { from: c.from, to: c.to } };
}

/** Writes an image to a destination; `mtime` is the time archive members carry (SOURCE_DATE_EPOCH). */
export function writeImage(ref: ImageRef, img: Image, mtime: number, opts: TransportOptions = {}): Promise<WriteResult> {
  return writeGraph(ref, imageGraph(img), mtime, opts);
}

/** Archive writers read members from files: blobs that only stream are spooled beside the output first. */
async function withSpool<T>(file: string, graph: ImageGraph, fn: (g: ImageGraph) => Promise<T>): Promise<T> {
  // Temporary names of this archive (spool directories, partial archives) left by killed writers.
  await removeStaleTemps(dirname(file), basename(file));
  if (graphParts(graph).blobs.every((b) => b.source.ref)) return fn(graph);
  const dir = tempNameFor(file);
  try {
    await mkdir(dir).catch((e) => { throw ioError(e, `cannot write ${file}`); });
    return await fn(await spoolGraph(graph, dir, file));
  } finally {
    await rm(dir, { recursive: true, force: true });
    releasePartial(dir);
  }
}

// Archive and registry transports are loaded when a reference names them: a command that only
// touches a layout (or only a registry) does not pay for the others' modules at startup.

/** Writes an image graph (one image, or an index with all its images) to a destination. */
export async function writeGraph(ref: ImageRef, graph: ImageGraph, mtime: number, opts: TransportOptions = {}): Promise<WriteResult> {
  // A platform from an untyped caller is checked before it is written into an index.
  if (graph.root.platform !== undefined) checkPlatform(graph.root.platform);
  checkWritable(ref, formatImageRef(ref));
  switch (ref.transport) {
    case 'oci': {
      const oci = await asOci(graph, ref.path);
      const { writeLayout } = await import('./layout/write.js');
      return { index: await writeLayout(ref.path, oci.graph, ref.tag), digest: oci.graph.root.digest, ...(oci.converted ? { converted: oci.converted } : {}) };
    }
    case 'dir': {
      const { writeDir } = await import('./dir/write.js');
      await writeDir(ref.path, graph);
      return { digest: graph.root.digest };
    }
    case 'containers-storage': {
      const { writeStorage } = await import('./storage/podman.js');
      const { imageId } = await writeStorage(ref.name, ref.store, graph, mtime, opts.podman);
      return { digest: graph.root.digest, imageId };
    }
    case 'oci-archive': {
      const { writeOciArchive } = await import('./archive/oci-archive.js');
      const oci = await asOci(graph, ref.path);
      const index = await withSpool(ref.path, oci.graph, (g) => writeOciArchive(ref.path, g, ref.tag, mtime));
      return { index, digest: oci.graph.root.digest, ...(oci.converted ? { converted: oci.converted } : {}) };
    }
    case 'docker-archive': {
      if (graph.referrers && graph.referrers.length > 0) {
        throw new ReproError('E_UNSUPPORTED', `${ref.path}: a docker-archive holds no OCI artifacts, so it cannot keep the image's ${graph.referrers.length} referrer${graph.referrers.length === 1 ? '' : 's'} (an SBOM…); write an oci-archive or an oci: layout`);
      }
      if (!isManifestType(graph.root.mediaType)) await graphImage(graph, ref.path); // refuses an index before any download
      const { writeDockerArchive } = await import('./archive/docker-archive.js');
      await withSpool(ref.path, graph, async (g) => writeDockerArchive(ref.path, await graphImage(g, ref.path), ref.tag, mtime));
      return {};
    }
    case 'docker': {
      const { writeRegistry } = await import('./registry/push.js');
      const r = await writeRegistry(ref, graph, opts.registry, clientFor(ref.registry, opts));
      return { digest: r.digest, blobs: r.blobs, ...(r.referrers ? { referrers: r.referrers } : {}) };
    }
  }
}

/**
 * Writes artifacts (an attestation…) beside an image that is already at `ref`, as OCI 1.1 referrers
 * of `subject` (the manifest REF names, or one of its index's): an oci: layout gains untagged
 * index.json entries, a registry the artifact manifests (and the fallback tag where it has no
 * referrers API). The image is not touched. Archives are refused (they would be rewritten whole).
 */
export async function attachReferrers(ref: ImageRef, subject: Digest, attachments: Attachment[], opts: TransportOptions = {}): Promise<Array<{ digest: Digest; artifactType: string; via: string }>> {
  if (ref.transport !== 'oci' && ref.transport !== 'docker') {
    throw new ReproError('E_UNSUPPORTED', `${formatImageRef(ref)}: artifacts are attached to an image in an oci: layout or a registry (docker://); an archive would be rewritten whole`);
  }
  const opened = await openImage(ref, opts);
  const target = (await referrerSubjects(opened)).find((d) => d.digest === subject);
  if (!target) throw new ReproError('E_NOT_FOUND', `${formatImageRef(ref)}: names no manifest ${subject}`);
  const graphs = attachments.map((a) => referrerGraph({ mediaType: target.mediaType, digest: target.digest, size: target.size }, a));
  if (ref.transport === 'oci') {
    const { addReferrersToLayout } = await import('./layout/write.js');
    await addReferrersToLayout(ref.path, graphs);
    return graphs.map((g) => ({ digest: g.root.digest, artifactType: g.root.artifactType!, via: 'index.json' }));
  }
  const { pushReferrers } = await import('./registry/push.js');
  const { RegistryClient } = await import('./registry/client.js');
  const client = clientFor(ref.registry, opts) ?? new RegistryClient(ref.registry, opts.registry);
  const pushed = await pushReferrers(client, ref.repository, graphs);
  return pushed.map((p, i) => ({ digest: p.digest, artifactType: graphs[i]!.root.artifactType!, via: p.via }));
}
