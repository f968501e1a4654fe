/**
 * Docker media types → OCI media types, for destinations that hold OCI only (an `oci:` layout or an
 * `oci-archive:`, which umoci and skopeo read as OCI). What changes is what must: each Docker schema 2
 * manifest becomes an OCI manifest (its `mediaType`, the config's and the layers'), each Docker
 * manifest list an OCI index, and every index above them points at the new digests. Config and
 * layer bytes are untouched (their digests stay), every other field of every document is kept,
 * unknown ones included, and the new documents are canonical JSON. The manifest digests change: the
 * caller says so. Registries and docker-archive keep the exact bytes; nothing here is used for them.
 */
import { canonicalBytes } from '../model/canonical-json.js';
import type { Descriptor } from '../model/descriptor.js';
import { sha256, type Digest } from '../model/digest.js';
import { ReproError } from '../model/errors.js';
import { assertExactIntegers } from '../model/json.js';
import { MediaType, isIndexType, isManifestType } from '../model/media-types.js';
import type { GraphBlob, GraphDocument, ImageGraph } from '../image/graph.js';

const DOCKER_FOREIGN_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const OCI_NONDISTRIBUTABLE_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

const LAYER_TYPES: Record<string, string> = {
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayerZstd]: MediaType.ociLayerZstd,
  [DOCKER_FOREIGN_GZIP]: OCI_NONDISTRIBUTABLE_GZIP,
};

const isDocker = (mt: string): boolean => mt === MediaType.dockerManifest || mt === MediaType.dockerManifestList;

/** True when some document of the graph has a Docker media type. */
export function hasDockerTypes(graph: ImageGraph): boolean {
  return graph.documents.some((d) => isDocker(d.descriptor.mediaType));
}

function convertBlobType(mt: string, where: string, hint: string): string {
  if (mt === MediaType.dockerConfig) return MediaType.ociConfig;
  const oci = LAYER_TYPES[mt];
  if (oci !== undefined) return oci;
  if (mt.startsWith('application/vnd.docker.')) {
    throw new ReproError('E_UNSUPPORTED', `${where}: the Docker media type ${mt} has no OCI equivalent; ${hint}`);
  }
  return mt; // already OCI (or an artifact type): kept
}

export interface Conversion {
  graph: ImageGraph;
  /** The root's digest before and after. */
  from: Digest;
  to: Digest;
}

/** The graph with OCI media types; `where` names the destination in messages. */
export function toOciGraph(graph: ImageGraph, where: string): Conversion {
  const hint = `copy it to a registry or a docker-archive, which keep Docker media types`;
  const renamed = new Map<Digest, Descriptor>(); // old document digest → its new descriptor
  const blobTypes = new Map<Digest, string>();
  const documents: GraphDocument[] = [];
  for (const doc of graph.documents) {
    const raw = JSON.parse(doc.bytes.toString('utf8')) as Record<string, unknown>;
    assertExactIntegers(raw, `${where}: ${doc.descriptor.digest}`);
    let changed = false;
    const mt = doc.descriptor.mediaType;
    if (isManifestType(mt)) {
      if (mt === MediaType.dockerManifest || raw['mediaType'] === MediaType.dockerManifest) {
        raw['mediaType'] = MediaType.ociManifest;
        changed = true;
      }
      const blobs = [raw['config'], ...((raw['layers'] as unknown[] | undefined) ?? [])] as Array<Record<string, unknown>>;
      for (const b of blobs) {
        const from = b['mediaType'] as string;
        const to = convertBlobType(from, `${where}: manifest ${doc.descriptor.digest}`, hint);
        if (to !== from) {
          b['mediaType'] = to;
          blobTypes.set(b['digest'] as Digest, to);
          changed = true;
        }
      }
    } else if (isIndexType(mt)) {
      if (mt === MediaType.dockerManifestList || raw['mediaType'] === MediaType.dockerManifestList) {
        raw['mediaType'] = MediaType.ociIndex;
        changed = true;
      }
      for (const m of (raw['manifests'] as Array<Record<string, unknown>> | undefined) ?? []) {
        const next = renamed.get(m['digest'] as Digest);
        if (next) {
          Object.assign(m, { mediaType: next.mediaType, digest: next.digest, size: next.size });
          changed = true;
        }
      }
    }
    if (!changed) {
      documents.push(doc);
      continue;
    }
    const bytes = canonicalBytes(raw);
    const descriptor: Descriptor = { ...doc.descriptor, digest: sha256(bytes), size: bytes.length };
    if (doc.descriptor.mediaType === MediaType.dockerManifest) descriptor.mediaType = MediaType.ociManifest;
    if (doc.descriptor.mediaType === MediaType.dockerManifestList) descriptor.mediaType = MediaType.ociIndex;
    renamed.set(doc.descriptor.digest, descriptor);
    documents.push({ descriptor, bytes });
  }
  const blobs: GraphBlob[] = graph.blobs.map((b) => {
    const t = blobTypes.get(b.descriptor.digest);
    return t === undefined ? b : { ...b, descriptor: { ...b.descriptor, mediaType: t } };
  });
  const root = { ...graph.root, ...(renamed.has(graph.root.digest) ? pick(renamed.get(graph.root.digest)!) : {}) };
  const out: ImageGraph = { ...graph, root, documents, blobs };
  return { graph: out, from: graph.root.digest, to: root.digest };
}

function pick(d: Descriptor): Pick<Descriptor, 'mediaType' | 'digest' | 'size'> {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}
