/**
 * The two ways flatten reads a layer, for tests that hold them to the same result: where it lies
 * (a layout's uncompressed blob: `localTar`) and as a stream (`asStreams` hides the local file).
 */
import assert from 'node:assert/strict';
import { flattenLayers, type FlatImage, type FlattenOptions } from '../../src/image/flatten.js';
import { setHashThreads } from '../../src/image/hash-thread.js';
import type { LayerReader } from '../../src/image/layer.js';
import { readImage } from '../../src/image/read.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';

/** The layers of the image a layout reference (`oci:DIR:TAG`) names. */
export async function layoutLayers(ref: string): Promise<LayerReader[]> {
  return (await readImage(await openImage(parseImageRef(ref)), 'img')).layers;
}

/** The same layers, read as streams. */
export const asStreams = (ls: LayerReader[]): LayerReader[] => ls.map((l) => ({ ...l, localTar: async () => undefined }));

/** A flattened image as comparable data (entries and kept files, sorted). */
export const plain = (f: FlatImage): unknown => ({ entries: [...f.entries].sort(), kept: [...f.kept].map(([p, b]) => [p, b.toString('hex')]).sort() });

/** How flattening ends: `read`, or the error's code and message. */
export async function outcome(ls: LayerReader[], opts: FlattenOptions): Promise<string> {
  try {
    await flattenLayers(ls, opts);
    return 'read';
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
}

/** How the streams end, after checking that the layers read where they lie end alike, on one thread and on two. */
export async function sameOutcome(ls: LayerReader[], opts: FlattenOptions): Promise<string> {
  const streamed = await outcome(asStreams(ls), opts);
  try {
    for (const mode of ['never', 'always'] as const) {
      setHashThreads(mode);
      assert.equal(await outcome(ls, opts), streamed, mode);
    }
  } finally {
    setHashThreads('auto');
  }
  return streamed;
}
