/**
 * Writes OCI layouts from layer tar bytes made by test code, so that each pair of images can
 * differ in exactly one chosen place: a layer entry, the compression, the config, an annotation,
 * the index.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { canonicalBytes } from '../../src/model/canonical-json.js';
import { sha256 } from '../../src/model/digest.js';
import { MediaType } from '../../src/model/media-types.js';

export interface LayerSpec {
  tar: Buffer;
  compression?: 'gzip' | 'none';
  gzipLevel?: number;
}

export interface ImageSpec {
  layers: LayerSpec[];
  created?: string;
  /** Merged over the default config (architecture, os, created, rootfs, history). */
  config?: Record<string, unknown>;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

interface Blob { digest: string; size: number; bytes: Buffer }

function blob(bytes: Buffer): Blob {
  return { digest: sha256(bytes), size: bytes.length, bytes };
}

/** The blobs of one image and its manifest descriptor. */
export function imageBlobs(spec: ImageSpec): { manifest: Blob; blobs: Blob[]; platform: { os: string; architecture: string } } {
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = spec.layers.map((l) => {
    const gz = (l.compression ?? 'gzip') === 'gzip';
    const b = blob(gz ? gzipSync(l.tar, { level: l.gzipLevel ?? 6 }) : l.tar);
    return { b, diffId: sha256(l.tar), mediaType: gz ? MediaType.ociLayerGzip : MediaType.ociLayer };
  });
  const created = spec.created ?? '2023-11-14T22:13:20Z';
  const config = blob(canonicalBytes({
    architecture: platform.architecture, os: platform.os, created,
    history: [{ created, created_by: 'test' }],
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    ...spec.config,
  }));
  const manifest = blob(canonicalBytes({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.b.digest, size: l.b.size })),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  }));
  return { manifest, blobs: [config, ...layers.map((l) => l.b), manifest], platform };
}

function writeBlobs(dir: string, blobs: Blob[]): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const b of blobs) writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
}

/** Writes a one-image layout; returns its `oci:` reference. */
export function writeLayout(dir: string, spec: ImageSpec, opts: { tag?: string; descriptorAnnotations?: Record<string, string> } = {}): string {
  const { manifest, blobs, platform } = imageBlobs(spec);
  writeBlobs(dir, blobs);
  const annotations = { ...(opts.tag ? { 'org.opencontainers.image.ref.name': opts.tag } : {}), ...opts.descriptorAnnotations };
  writeFileSync(join(dir, 'index.json'), canonicalBytes({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: [{ mediaType: MediaType.ociManifest, digest: manifest.digest, size: manifest.size, platform, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) }],
  }));
  return `oci:${dir}`;
}

/** Writes a layout whose index.json points at a multi-platform index of the given images. */
export function writeMultiPlatformLayout(dir: string, specs: ImageSpec[]): string {
  const images = specs.map(imageBlobs);
  const nested = blob(canonicalBytes({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: images.map((i) => ({ mediaType: MediaType.ociManifest, digest: i.manifest.digest, size: i.manifest.size, platform: i.platform })),
  }));
  writeBlobs(dir, [...images.flatMap((i) => i.blobs), nested]);
  writeFileSync(join(dir, 'index.json'), canonicalBytes({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: [{ mediaType: MediaType.ociIndex, digest: nested.digest, size: nested.size }],
  }));
  return `oci:${dir}`;
}
