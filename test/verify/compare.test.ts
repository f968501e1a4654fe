/** compareImages: what differs between a rebuilt and a published image at the manifest, config and layer level. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareImages } from '../../src/verify/compare.js';
import { encodeConfig, type ImageConfig } from '../../src/model/config.js';
import { encodeManifest } from '../../src/model/manifest.js';
import { MediaType } from '../../src/model/media-types.js';

test('compareImages: compression-only differences, config fields, annotations, serialisation', () => {
  const d = (c: string): `sha256:${string}` => `sha256:${c.repeat(64)}`;
  const cfg = (over: Partial<ImageConfig>): ReturnType<typeof encodeConfig> => encodeConfig({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('1')] }, config: { Env: ['A=1'] }, ...over });
  const side = (layer: string, config: ReturnType<typeof encodeConfig>, ann: Record<string, string> = {}): Parameters<typeof compareImages>[0] => ({
    manifest: encodeManifest({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.bytes.length }, layers: [{ mediaType: MediaType.ociLayerGzip, digest: d(layer), size: 10 }], annotations: ann }),
    config,
  });
  const a = side('a', cfg({}));
  assert.deepEqual(compareImages(a, a), []);
  const recompressed = compareImages(a, side('b', cfg({})));
  assert.deepEqual(recompressed.map((f) => f.path), ['layers[0].digest', 'layers[0].diffId']);
  assert.match(recompressed[1]!.message, /the same uncompressed content .* compressed differently/);
  const env = compareImages(a, side('a', cfg({ config: { Env: ['A=2'] }, created: '2024-01-01T00:00:00Z' }), { x: 'y' }));
  assert.deepEqual(env.map((f) => f.path), ['manifest.annotations.x', 'config.digest', 'config.created', 'config.config.Env']);
  const reordered = { ...a, config: { ...a.config, bytes: Buffer.from(JSON.stringify(a.config.value, null, 1)), digest: d('c') } };
  assert.deepEqual(compareImages(a, reordered).map((f) => f.path), ['config.digest', 'config.bytes']);
});
