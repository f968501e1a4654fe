/**
 * `inspect`: reads an image through the image model and recomputes every digest, size and diff_id
 * it touches. A blob that does not match its descriptor is reported as a problem (the CLI exits 1),
 * not thrown, so that one report lists every mismatch.
 */
import { createHash } from 'node:crypto';
import type { ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { MismatchError, ReproError } from '../model/errors.js';
import type { Manifest } from '../model/manifest.js';
import { layerCompression } from '../model/media-types.js';
import type { ImageIndex } from '../model/oci-index.js';
import type { Platform } from '../model/platform.js';
import type { LayerReader } from '../image/layer.js';
import { resolveImage, viewImage, type ImageView } from '../image/read.js';
import { readDocument } from '../image/verified.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import { fetchPublished } from './published.js';

export interface LayerReport {
  descriptor: Descriptor;
  diffId?: Digest;
  uncompressedSize?: number;
  ok: boolean;
}

export interface ManifestReport {
  descriptor: Descriptor;
  manifest?: Manifest;
  config?: ImageConfig;
  configDescriptor?: Descriptor;
  layers: LayerReport[];
}

export interface InspectResult {
  reference: string;
  index?: { digest: Digest; size: number; value: ImageIndex };
  /** When the selected descriptor is itself an index (multi-platform). */
  nestedIndex?: { descriptor: Descriptor; value: ImageIndex };
  manifests: ManifestReport[];
  /** Every mismatch found, one line each. Empty means everything verified. */
  problems: string[];
  blobsVerified: number;
}

/** Runs a read; a blob that does not match its descriptor becomes a problem (undefined), anything else is thrown. */
async function checked<T>(read: () => Promise<T>, problems: string[]): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (!(e instanceof MismatchError)) throw e;
    problems.push(e.message);
    return undefined;
  }
}

async function verifyLayer(layer: LayerReader, problems: string[]): Promise<LayerReport> {
  const d = layer.descriptor!;
  const report: LayerReport = { descriptor: d, ok: true };
  const fail = (message: string): void => {
    problems.push(message);
    report.ok = false;
  };
  try {
    if (layerCompression(d.mediaType) === undefined) {
      // Not a layer type we know (an artifact's blob): its digest and size are what can be checked.
      for await (const _ of layer.compressed()) { /* hash only */ }
      return report;
    }
    const diff = createHash('sha256');
    let size = 0;
    for await (const c of layer.uncompressed()) {
      diff.update(c);
      size += c.length;
    }
    report.diffId = `sha256:${diff.digest('hex')}`;
    report.uncompressedSize = size;
    if (layer.diffId !== undefined && report.diffId !== layer.diffId) {
      fail(`layer ${layer.number} ${d.digest}: uncompressed content hashes to ${report.diffId}, config diff_id says ${layer.diffId}`);
    }
  } catch (e) {
    if (e instanceof MismatchError) fail(e.message);
    else if (e instanceof ReproError && e.code !== 'E_IO' && e.code !== 'E_NETWORK' && e.code !== 'E_AUTH') fail(`layer ${layer.number} ${d.digest}: cannot decompress: ${e.message}`);
    else throw e;
  }
  return report;
}

async function inspectManifest(view: ImageView, d: Descriptor, problems: string[], counter: { n: number }): Promise<ManifestReport> {
  const report: ManifestReport = { descriptor: d, layers: [] };
  counter.n += 2;
  const image = await checked(() => resolveImage(view, d), problems);
  if (!image) return report;
  report.manifest = image.manifest.value;
  report.configDescriptor = image.manifest.value.config;
  report.config = image.config.value;
  const diffIds = image.config.value.rootfs.diff_ids;
  if (diffIds.length !== image.layers.length) {
    problems.push(`config lists ${diffIds.length} diff_ids for ${image.layers.length} layers`);
  }
  for (const l of image.layers) {
    report.layers.push(await verifyLayer(l, problems));
    counter.n++;
  }
  return report;
}

export async function inspect(reference: ImageRef | string, opts: TransportOptions = {}): Promise<InspectResult> {
  const ref = typeof reference === 'string' ? parseImageRef(reference) : reference;
  const name = typeof reference === 'string' ? reference : formatImageRef(ref);
  const opened = await openImage(ref, opts);
  const problems: string[] = [];
  const counter = { n: 0 };
  const result: InspectResult = { reference: name, manifests: [], problems, blobsVerified: 0 };
  if (opened.index) result.index = { digest: opened.index.digest, size: opened.index.bytes.length, value: opened.index.value };
  const view = await checked(() => viewImage(opened, opened.store.where), problems);
  if (view?.nested) {
    counter.n++;
    result.nestedIndex = { descriptor: view.target, value: view.nested.value };
    for (const m of view.nested.value.manifests) result.manifests.push(await inspectManifest(view, m, problems, counter));
  } else if (view) {
    result.manifests.push(await inspectManifest(view, view.target, problems, counter));
  }
  result.blobsVerified = counter.n;
  return result;
}

/**
 * The exact bytes of one document of an image, as its source holds them and verified against its
 * digest, without reading any layer: what REF names (an index or a manifest) for `document`; with
 * a platform, that platform's manifest from an index; for `config`, the image's config (through an
 * index, the platform's image). `inspect --raw` and `inspect --config`.
 */
export async function inspectRaw(reference: ImageRef | string, what: 'document' | 'config', platform: Platform | undefined, opts: TransportOptions = {}): Promise<Buffer> {
  const ref = typeof reference === 'string' ? parseImageRef(reference) : reference;
  if (what === 'document' && platform === undefined) {
    const opened = await openImage(ref, opts);
    return readDocument(opened.store, opened.target);
  }
  const published = await fetchPublished(ref, platform ?? { os: 'linux', architecture: 'amd64' }, opts);
  return what === 'config' ? published.config.bytes : published.manifest.bytes;
}

