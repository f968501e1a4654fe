/**
 * Reading side of the transports: a blob store that serves bytes by digest, plus the top-level
 * index where the transport has one. Nothing read here is trusted: callers verify size and digest.
 */
import type { BlobSource } from './image.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import type { RawJson } from '../model/json.js';
import { isIndexType, isManifestType } from '../model/media-types.js';
import type { ImageIndex } from '../model/oci-index.js';

export interface BlobStore {
  /** Human-readable name of where the blobs live, for messages. */
  readonly where: string;
  /**
   * The stored bytes for a digest (unverified), or an error naming the missing blob. `size`, when
   * the caller knows it, lets a remote store resume a broken transfer and stop at the right length.
   */
  blob(digest: Digest, size?: number): Promise<BlobSource & { storedSize?: number }>;
  /** Manifests and indexes, where a store keeps them apart from blobs (registries); elsewhere they are blobs. */
  document?(descriptor: Descriptor): Promise<BlobSource>;
  /** OCI 1.1 referrers of a manifest, where the store has its own way to list them (a registry). */
  referrers?(subject: Digest): Promise<{ descriptors: Descriptor[]; via: string }>;
}

/** Where an image's blobs live when they are in a registry (for cross-repository mounts). */
export interface RegistryOrigin {
  registry: string;
  repository: string;
}

export interface OpenedImage {
  store: BlobStore;
  /** The layout's index.json as read (oci and oci-archive). */
  index?: RawJson<ImageIndex>;
  /** The manifest (or nested index) the reference selects. */
  target: Descriptor;
  /** For docker-archive: the manifest synthesised from manifest.json, as skopeo does. */
  syntheticManifest?: Buffer;
  /** For registries: where the blobs are. */
  origin?: RegistryOrigin;
}

/** Opens a manifest or index document of a store. */
export function openDocument(store: BlobStore, d: Descriptor): Promise<BlobSource> {
  if (store.document && (isManifestType(d.mediaType) || isIndexType(d.mediaType))) return store.document(d);
  return store.blob(d.digest, d.size);
}
