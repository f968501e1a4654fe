/**
 * `inspect`: reads an image through any transport and recomputes every digest, size and diff_id it
 * touches. Mismatches are reported as problems (the CLI exits 1), not thrown.
 */
import { createHash } from 'node:crypto';
import { decompressStream } from '../archive/compress.js';
import type { ImageConfig } from '../model/config.js';
import { parseConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { ReproError } from '../model/errors.js';
import type { RawJson } from '../model/json.js';
import { parseManifest, type Manifest } from '../model/manifest.js';
import { isIndexType, layerCompression } from '../model/media-types.js';
import { parseIndex, type ImageIndex } from '../model/oci-index.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import { openDocument, type BlobStore } from '../transports/store.js';
import { readDocument } from '../transports/verified.js';
import type { Platform } from '../model/platform.js';
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

async function readVerified(store: BlobStore, d: Descriptor, what: string, problems: string[]): Promise<Buffer | undefined> {
  const src = what === 'config' ? await store.blob(d.digest, d.size) : await openDocument(store, d);
  const chunks: Buffer[] = [];
  const h = createHash('sha256');
  let n = 0;
  for await (const c of src.open()) {
    h.update(c);
    n += c.length;
    if (n > 64 << 20) throw new ReproError('E_BAD_INPUT', `${store.where}: ${what} ${d.digest} is larger than 64 MiB`);
    chunks.push(c);
  }
  const got = `sha256:${h.digest('hex')}`;
  let ok = true;
  if (n !== d.size) { problems.push(`${what} ${d.digest}: size is ${n} bytes, descriptor says ${d.size}`); ok = false; }
  if (got !== d.digest) { problems.push(`${what} ${d.digest}: content hashes to ${got}`); ok = false; }
  return ok ? Buffer.concat(chunks) : undefined;
}

async function verifyLayer(store: BlobStore, d: Descriptor, expectedDiffId: Digest | undefined, label: string, problems: string[]): Promise<LayerReport> {
  const compression = layerCompression(d.mediaType);
  const src = await store.blob(d.digest, d.size);
  const blobHash = createHash('sha256');
  const diffHash = createHash('sha256');
  let size = 0;
  let usize = 0;
  async function* tap(): AsyncGenerator<Buffer> {
    for await (const c of src.open()) {
      blobHash.update(c);
      size += c.length;
      yield c;
    }
  }
  let decodeError: string | undefined;
  if (compression === undefined) {
    for await (const _ of tap()) { /* hash only */ }
  } else {
    try {
      for await (const c of decompressStream(compression, tap(), `${label} ${d.digest}`)) {
        diffHash.update(c);
        usize += c.length;
      }
    } catch (e) {
      decodeError = (e as Error).message;
    }
  }
  const report: LayerReport = { descriptor: d, ok: true };
  const got = `sha256:${blobHash.digest('hex')}` as Digest;
  if (decodeError) { problems.push(`${label} ${d.digest}: cannot decompress: ${decodeError}`); report.ok = false; }
  if (size !== d.size) { problems.push(`${label} ${d.digest}: size is ${size} bytes, descriptor says ${d.size}`); report.ok = false; }
  if (got !== d.digest) { problems.push(`${label} ${d.digest}: content hashes to ${got}`); report.ok = false; }
  if (compression !== undefined && !decodeError) {
    report.diffId = `sha256:${diffHash.digest('hex')}`;
    report.uncompressedSize = usize;
    if (expectedDiffId !== undefined && report.diffId !== expectedDiffId) {
      problems.push(`${label} ${d.digest}: uncompressed content hashes to ${report.diffId}, config diff_id says ${expectedDiffId}`);
      report.ok = false;
    }
  }
  return report;
}

async function inspectManifest(store: BlobStore, d: Descriptor, problems: string[], counter: { n: number }): Promise<ManifestReport> {
  const report: ManifestReport = { descriptor: d, layers: [] };
  const bytes = await readVerified(store, d, 'manifest', problems);
  counter.n++;
  if (!bytes) return report;
  const manifest: RawJson<Manifest> = parseManifest(bytes, `manifest ${d.digest}`, d.mediaType);
  report.manifest = manifest.value;
  report.configDescriptor = manifest.value.config;
  const cfgBytes = await readVerified(store, manifest.value.config, 'config', problems);
  counter.n++;
  const config = cfgBytes ? parseConfig(cfgBytes, `config ${manifest.value.config.digest}`).value : undefined;
  if (config) report.config = config;
  const diffIds = config?.rootfs.diff_ids;
  if (diffIds && diffIds.length !== manifest.value.layers.length) {
    problems.push(`config lists ${diffIds.length} diff_ids for ${manifest.value.layers.length} layers`);
  }
  for (const [i, l] of manifest.value.layers.entries()) {
    report.layers.push(await verifyLayer(store, l, diffIds?.[i], `layer ${i + 1}`, problems));
    counter.n++;
  }
  return report;
}

export async function inspect(reference: ImageRef | string, opts: TransportOptions = {}): Promise<InspectResult> {
  const ref = typeof reference === 'string' ? parseImageRef(reference) : reference;
  const opened = await openImage(ref, opts);
  const problems: string[] = [];
  const counter = { n: 0 };
  const result: InspectResult = { reference: typeof reference === 'string' ? reference : formatImageRef(ref), manifests: [], problems, blobsVerified: 0 };
  if (opened.index) result.index = { digest: opened.index.digest, size: opened.index.bytes.length, value: opened.index.value };
  if (isIndexType(opened.target.mediaType)) {
    const bytes = await readVerified(opened.store, opened.target, 'index', problems);
    counter.n++;
    if (bytes) {
      const nested = parseIndex(bytes, `index ${opened.target.digest}`);
      result.nestedIndex = { descriptor: opened.target, value: nested.value };
      for (const m of nested.value.manifests) result.manifests.push(await inspectManifest(opened.store, m, problems, counter));
    }
  } else {
    result.manifests.push(await inspectManifest(opened.store, opened.target, problems, counter));
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
