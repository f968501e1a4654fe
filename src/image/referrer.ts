/**
 * OCI 1.1 referrers as pure transformations: an artifact (an SBOM, later an attestation) becomes
 * an artifact manifest whose `subject` is an image's manifest and whose `artifactType` says what
 * it is (config: the empty descriptor; one layer: the artifact's bytes), as an image graph that
 * travels beside the image's own graph (`ImageGraph.referrers`). Also the referrers index and the
 * `sha256-HEX` tag of the distribution spec's fallback for registries without the referrers API.
 * The image itself, and so its digest, is never touched.
 */
import type { Descriptor } from '../model/descriptor.js';
import { sha256, type Digest } from '../model/digest.js';
import { encodeManifest, type Manifest } from '../model/manifest.js';
import { MediaType } from '../model/media-types.js';
import { encodeIndex, type ImageIndex } from '../model/oci-index.js';
import type { RawJson } from '../model/json.js';
import type { GraphBlob, GraphDocument, ImageGraph } from './graph.js';
import { bytesSource } from './image.js';

/** The empty config (image-spec 1.1 "Guidance for an empty descriptor"). */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Descriptor = { mediaType: MediaType.ociEmpty, digest: sha256(EMPTY_JSON), size: 2 };

export interface Attachment {
  /** The artifact's type (the manifest's artifactType), e.g. `application/spdx+json`. */
  artifactType: string;
  /** The media type of the one blob (usually the same as artifactType). */
  mediaType: string;
  data: Buffer;
  /** Manifest annotations (e.g. org.opencontainers.image.created). */
  annotations?: Record<string, string>;
}

/** The subject descriptor as a referrer records it: media type, digest and size only. */
export function subjectOf(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** The artifact manifest of an attachment for a subject (canonical JSON: the same inputs, the same digest). */
export function artifactManifest(subject: Descriptor, a: Attachment): RawJson<Manifest> {
  const m: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: a.artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: a.mediaType, digest: sha256(a.data), size: a.data.length }],
    subject: subjectOf(subject),
  };
  if (a.annotations && Object.keys(a.annotations).length > 0) m.annotations = a.annotations;
  return encodeManifest(m);
}

/** The descriptor of a referrer as an index lists it: with its artifactType and annotations. */
export function referrerDescriptor(manifest: RawJson<Manifest>): Descriptor {
  const d: Descriptor = { mediaType: MediaType.ociManifest, digest: manifest.digest, size: manifest.bytes.length };
  if (manifest.value.artifactType) d.artifactType = manifest.value.artifactType;
  if (manifest.value.annotations) d.annotations = manifest.value.annotations;
  return d;
}

/** An attachment as a graph of its own (its manifest, the empty config, its blob), ready to write beside its subject. */
export function referrerGraph(subject: Descriptor, a: Attachment): ImageGraph {
  const manifest = artifactManifest(subject, a);
  const root = referrerDescriptor(manifest);
  return {
    root,
    documents: [{ descriptor: root, bytes: manifest.bytes }],
    blobs: [
      { descriptor: manifest.value.layers[0]!, source: bytesSource(a.data) },
      { descriptor: EMPTY_DESCRIPTOR, source: bytesSource(EMPTY_JSON) },
    ],
  };
}

/** A graph with these referrers added (after any it already has, without duplicates). */
export function withReferrers(graph: ImageGraph, referrers: ImageGraph[]): ImageGraph {
  const seen = new Set((graph.referrers ?? []).map((r) => r.root.digest));
  const added = referrers.filter((r) => !seen.has(r.root.digest) && (seen.add(r.root.digest), true));
  return { ...graph, referrers: [...(graph.referrers ?? []), ...added] };
}

/** Every referrer of a graph, theirs included (referrers of referrers), each once. */
export function allReferrers(graph: ImageGraph): ImageGraph[] {
  const out = new Map<Digest, ImageGraph>();
  const visit = (g: ImageGraph): void => {
    for (const r of g.referrers ?? []) {
      if (out.has(r.root.digest)) continue;
      out.set(r.root.digest, r);
      visit(r);
    }
  };
  visit(graph);
  return [...out.values()];
}

/** Every blob and document of a graph and its referrers, each once, the graph's own first. */
export function graphParts(graph: ImageGraph): { blobs: GraphBlob[]; documents: GraphDocument[] } {
  const blobs = new Map<Digest, GraphBlob>();
  const documents = new Map<Digest, GraphDocument>();
  for (const g of [graph, ...allReferrers(graph)]) {
    for (const b of g.blobs) if (!blobs.has(b.descriptor.digest)) blobs.set(b.descriptor.digest, b);
    for (const d of g.documents) if (!documents.has(d.descriptor.digest)) documents.set(d.descriptor.digest, d);
  }
  return { blobs: [...blobs.values()], documents: [...documents.values()] };
}

/** The distribution spec's fallback tag for a subject's referrers: `sha256-HEX`. */
export function fallbackTag(subject: Digest): string {
  return subject.replace(':', '-');
}

/** A referrers index (the referrers API's answer, and the fallback tag's content): descriptors sorted by digest. */
export function referrersIndex(descriptors: Descriptor[]): RawJson<ImageIndex> {
  const byDigest = new Map(descriptors.map((d) => [d.digest, d]));
  const manifests = [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return encodeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });
}

