/** Stage layers as tar files and read back, for tests that compare a live apply with a tar apply. */
import { writeFile } from 'node:fs/promises';
import { fileSource } from '../../src/image/file-source.js';
import { layerReader } from '../../src/image/layer.js';
import { layerTar, type LayerItem } from '../../src/pipeline/containerfile/layer-tar.js';

/** The layer tar of `items` (podman's bytes, times clamped to `sde`) written to `path`. */
export async function writeTar(items: LayerItem[], path: string, sde: number): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of layerTar(items, sde, path)) chunks.push(c);
  await writeFile(path, Buffer.concat(chunks));
}

/** A tar file as layer `n` of an image. */
export function tarLayer(path: string, n: number): ReturnType<typeof layerReader> {
  return layerReader(() => fileSource(path), { number: n, where: `layer ${n}`, compression: 'none' });
}
