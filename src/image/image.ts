/**
 * The read-only image model shared by producers, transports and consumers: exact JSON bytes for
 * manifest and config, and layers as re-openable blob sources.
 */
import type { ContentRef } from '../archive/entry.js';
import type { ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import type { RawJson } from '../model/json.js';
import type { Manifest } from '../model/manifest.js';
import type { Platform } from '../model/platform.js';

/** Bytes that can be read again from the start as often as needed. */
export interface BlobSource {
  open(): AsyncIterable<Buffer>;
  /** Where the bytes lie, when they lie somewhere a writer can copy from directly. */
  ref?: ContentRef;
  /** The file in `ref` is a scratch file the writer may move into place instead of copying. */
  movable?: boolean;
}

export interface Layer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: Digest;
  source: BlobSource;
}

export interface Image {
  manifest: RawJson<Manifest>;
  config: RawJson<ImageConfig>;
  layers: Layer[];
  platform: Platform;
}

export function bytesSource(data: Buffer): BlobSource {
  return {
    ref: { kind: 'bytes', data },
    async *open() {
      yield data;
    },
  };
}
