/**
 * The image podman (buildah) stores for a Containerfile build: its config and manifest bytes from
 * the target stage's config and history and its layers' diff_ids and sizes; and, when asked,
 * that image written to a transport, its layers compressed as we compress (podman's push
 * compression is not reproducible from the image). Knowing the digests needs no layer tar as a
 * file; writing needs them all (`tarFile`).
 */
import { createReadStream } from 'node:fs';
import { STREAM_BLOCK_SIZE, fixedBlocks } from '../../archive/blocks.js';
import { compressBlocks } from '../../archive/compress.js';
import { scratchFileSource } from '../../image/file-source.js';
import type { Image, Layer } from '../../image/image.js';
import { parseConfig, rfc3339, type ImageConfig } from '../../model/config.js';
import type { Digest } from '../../model/digest.js';
import { rawJson, type RawJson } from '../../model/json.js';
import { parseManifest, type Manifest } from '../../model/manifest.js';
import { ociLayerType, type Compression } from '../../model/media-types.js';
import type { Platform } from '../../model/platform.js';
import { writeImage } from '../../transports/index.js';
import { formatImageRef, type ImageRef } from '../../transports/reference.js';
import type { RegistryOptions } from '../../transports/registry/client.js';
import { encodeBuildahConfig, encodeBuildahManifest, platformFields, type BuildahVersion, type HistoryItem, type RuntimeConfig } from './buildah.js';
import { measure } from './scratch-file.js';

export interface ContainerfileBuildResult {
  reference: string;
  manifest: { digest: Digest; size: number; mediaType: string };
  config: { digest: Digest; size: number; mediaType: string };
  layers: Array<{ digest: Digest; size: number; mediaType: string; diffId: Digest; uncompressedSize: number }>;
  sourceDateEpoch: number;
  compat: 'podman';
  buildah: BuildahVersion;
  /** podman's stored manifest (uncompressed layers): its digest is what `podman inspect --format {{.Digest}}` shows. */
  storedManifestDigest: Digest;
  /** Writes this image's manifest around other layer descriptors (for proofs against a published image). */
  manifestWith: ManifestWith;
}

type ManifestWith = (layers: ReadonlyArray<{ mediaType: string; digest: string; size: number }>) => Buffer;

/** podman's image of a build, known by its digests; written only by `write`. */
export interface PodmanImage {
  buildah: BuildahVersion;
  sourceDateEpoch: number;
  config: RawJson<ImageConfig>;
  /** podman's stored manifest (uncompressed layers). */
  manifest: RawJson<Manifest>;
  /** Each layer's diff_id and uncompressed size. */
  layers: ReadonlyArray<{ diffId: Digest; size: number }>;
  manifestWith: ManifestWith;
  /** Writes the image to `output` (valid while the build's scratch directory is there). */
  write(output: ImageRef, o: { compression: Compression; registry?: RegistryOptions }): Promise<ContainerfileBuildResult>;
}

export interface PodmanImageInputs {
  /** The target stage's runtime config and history, and its base image's digest and name ('' for none). */
  target: { config: RuntimeConfig; history: HistoryItem[]; baseDigest: string; baseName: string };
  layers: ReadonlyArray<{ diffId: Digest; size: number }>;
  /** The path of layer `i`'s tar as a scratch file (written now if it was not). */
  tarFile: (i: number) => Promise<string>;
  sourceDateEpoch: number;
  platform: Platform;
  buildah: BuildahVersion;
}

export function podmanImage(p: PodmanImageInputs): PodmanImage {
  const sde = p.sourceDateEpoch;
  const configBytes = encodeBuildahConfig({
    created: rfc3339(sde), ...platformFields(p.platform), config: p.target.config, diffIds: p.layers.map((l) => l.diffId), history: p.target.history,
  });
  const config = rawJson(configBytes, parseConfig(configBytes, 'config').value);
  const manifestWith: ManifestWith = (layers) =>
    encodeBuildahManifest({ config: { digest: config.digest, size: configBytes.length }, layers, baseDigest: p.target.baseDigest, baseName: p.target.baseName, sourceDateEpoch: sde });
  const manifestOf = (layers: Parameters<ManifestWith>[0]): RawJson<Manifest> => {
    const bytes = manifestWith(layers);
    return rawJson(bytes, parseManifest(bytes, 'manifest').value);
  };
  const stored = manifestOf(p.layers.map((l) => ({ mediaType: ociLayerType('none'), digest: l.diffId, size: l.size })));

  const write: PodmanImage['write'] = async (output, o) => {
    const layers: Layer[] = [];
    const infos: ContainerfileBuildResult['layers'] = [];
    for (const [i, l] of p.layers.entries()) {
      const tar = await p.tarFile(i);
      let path = tar;
      let digest = l.diffId;
      let size = l.size;
      if (o.compression !== 'none') {
        path = `${tar}.${o.compression}`;
        ({ digest, size } = await measure(compressBlocks(o.compression, fixedBlocks(createReadStream(tar, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, STREAM_BLOCK_SIZE)), path));
      }
      const descriptor = { mediaType: ociLayerType(o.compression), digest, size };
      layers.push({ descriptor, diffId: l.diffId, source: scratchFileSource(path) });
      infos.push({ ...descriptor, diffId: l.diffId, uncompressedSize: l.size });
    }
    const manifest = o.compression === 'none' ? stored : manifestOf(layers.map((l) => l.descriptor));
    const img: Image = { manifest, config, platform: p.platform, layers };
    await writeImage(output, img, sde, o.registry ? { registry: o.registry } : {});
    return {
      reference: formatImageRef(output),
      manifest: { digest: manifest.digest, size: manifest.bytes.length, mediaType: manifest.value.mediaType },
      config: { digest: config.digest, size: configBytes.length, mediaType: manifest.value.config.mediaType },
      layers: infos,
      sourceDateEpoch: sde,
      compat: 'podman',
      buildah: p.buildah,
      storedManifestDigest: stored.digest,
      manifestWith,
    };
  };
  return { buildah: p.buildah, sourceDateEpoch: sde, config, manifest: stored, layers: p.layers, manifestWith, write };
}
