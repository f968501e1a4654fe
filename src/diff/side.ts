/**
 * One side of a comparison, opened: an image through any transport (index, manifest and config
 * read and checked against their digests), or a root filesystem (a tarball, or a directory) that
 * stands as a one-layer image without manifest or config.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSource } from '../image/file-source.js';
import { parseConfig, type ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { ReproError, ioError } from '../model/errors.js';
import { parseJsonBytes, type RawJson } from '../model/json.js';
import { parseManifest, type Manifest } from '../model/manifest.js';
import { isIndexType, isManifestType, layerCompression } from '../model/media-types.js';
import { parseIndex, type ImageIndex } from '../model/oci-index.js';
import { formatPlatform, type Platform } from '../model/platform.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { readDocument } from '../transports/verified.js';
import { parseImageRef } from '../transports/reference.js';
import type { BlobStore } from '../transports/store.js';
import { directoryMembers, layerMembers, type LayerInput, type Member, type ReadStats } from './members.js';

/** A layer ready to be read any number of times. */
export interface SideLayer {
  /** 1-based. */
  number: number;
  descriptor?: Descriptor;
  diffId?: Digest;
  open(stats: ReadStats): AsyncIterable<Member>;
}

export interface LoadedImage {
  /** The manifest's descriptor (from the index, or made up for docker-archive). */
  descriptor: Descriptor;
  manifest: RawJson<Manifest>;
  manifestJson: unknown;
  config: RawJson<ImageConfig>;
  configJson: unknown;
  layers: SideLayer[];
}

export interface ImageSide {
  kind: 'image';
  label: 'A' | 'B';
  reference: string;
  store: BlobStore;
  /** index.json (oci, oci-archive). */
  index?: RawJson<ImageIndex>;
  /** The descriptor the reference selects in index.json (or the synthesised manifest). */
  target: Descriptor;
  /** When the target is itself an index (multi-platform). */
  nested?: { value: RawJson<ImageIndex>; json: unknown };
}

export interface RootfsSide {
  kind: 'rootfs-tar' | 'rootfs-dir';
  label: 'A' | 'B';
  reference: string;
  path: string;
  layer: SideLayer;
}

export type Side = ImageSide | RootfsSide;

const MAX_JSON = 64 << 20;

/** A JSON blob read in full and checked against its descriptor's digest and size (exit 2 if not). */
export async function readJsonBlob(store: BlobStore, d: Descriptor, what: string): Promise<Buffer> {
  const src = await store.blob(d.digest);
  const chunks: Buffer[] = [];
  const h = createHash('sha256');
  let n = 0;
  for await (const c of src.open()) {
    n += c.length;
    if (n > MAX_JSON) throw new ReproError('E_BAD_INPUT', `${store.where}: ${what} ${d.digest} is larger than 64 MiB`);
    h.update(c);
    chunks.push(c);
  }
  const got = `sha256:${h.digest('hex')}`;
  if (got !== d.digest) throw new ReproError('E_BAD_INPUT', `${store.where}: ${what} ${d.digest} hashes to ${got} (corrupted blob)`);
  if (n !== d.size) throw new ReproError('E_BAD_INPUT', `${store.where}: ${what} ${d.digest} is ${n} bytes, its descriptor says ${d.size}`);
  return Buffer.concat(chunks);
}

const TRANSPORT = /^(oci|oci-archive|docker-archive):|^docker:\/\//;

async function isOciLayoutDir(path: string): Promise<boolean> {
  try {
    return (await stat(join(path, 'oci-layout'))).isFile() && (await stat(join(path, 'index.json'))).isFile();
  } catch {
    return false;
  }
}

/**
 * Opens `reference`: an image reference (oci:, oci-archive:, docker-archive:), a directory that
 * holds an OCI layout, a root filesystem directory, or a root filesystem tarball.
 */
export async function openSide(reference: string, label: 'A' | 'B', onWarning?: (m: string) => void, transport: TransportOptions = {}): Promise<Side> {
  let ref = reference;
  if (!TRANSPORT.test(ref)) {
    let isDir: boolean;
    try {
      isDir = (await stat(ref)).isDirectory();
    } catch (e) {
      throw ioError(e, `${label} ${ref}`);
    }
    if (isDir && await isOciLayoutDir(ref)) {
      ref = `oci:${ref}`;
    } else {
      const where = `${label} ${reference}`;
      const layer: SideLayer = isDir
        ? { number: 1, open: (stats) => directoryMembers(reference, stats, onWarning) }
        : { number: 1, open: (stats) => layerMembers({ where, source: fileSource(reference) }, stats) };
      return { kind: isDir ? 'rootfs-dir' : 'rootfs-tar', label, reference, path: reference, layer };
    }
  }
  const opened = await openImage(parseImageRef(ref, label), transport);
  const side: ImageSide = { kind: 'image', label, reference, store: opened.store, target: opened.target };
  if (opened.index) side.index = opened.index;
  if (isIndexType(opened.target.mediaType)) {
    const bytes = await readDocument(opened.store, opened.target);
    side.nested = { value: parseIndex(bytes, `${label}: index ${opened.target.digest}`), json: parseJsonBytes(bytes, `${label}: index`) };
  } else if (!isManifestType(opened.target.mediaType)) {
    throw new ReproError('E_BAD_INPUT', `${label} ${reference}: selects a ${opened.target.mediaType}, not an image manifest or index`);
  }
  return side;
}

export function platformMatches(p: Platform | undefined, want: Platform): boolean {
  return p !== undefined && p.os === want.os && p.architecture === want.architecture && (want.variant === undefined || p.variant === want.variant);
}

/** The manifest of a multi-platform index for one platform (or its only manifest). */
export function selectPlatform(side: ImageSide, want: Platform | undefined): Descriptor {
  const manifests = side.nested!.value.value.manifests.filter((m) => isManifestType(m.mediaType));
  if (want) {
    const hit = manifests.find((m) => platformMatches(m.platform, want));
    if (!hit) {
      throw new ReproError('E_NOT_FOUND', `${side.label} ${side.reference}: no manifest for ${formatPlatform(want)} (has ${manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ') || 'none'})`);
    }
    return hit;
  }
  if (manifests.length === 1) return manifests[0]!;
  throw new ReproError('E_USAGE', `${side.label} ${side.reference}: a multi-platform index; choose one with --platform (${manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ')})`);
}

/** Reads and checks a manifest and its config; layers are opened later, when compared. */
export async function loadImage(side: ImageSide, descriptor: Descriptor): Promise<LoadedImage> {
  const who = `${side.label} ${side.reference}`;
  // Manifests and indexes are documents: a registry serves them apart from blobs.
  const mBytes = await readDocument(side.store, descriptor);
  const manifest = parseManifest(mBytes, `${who}: manifest ${descriptor.digest}`, descriptor.mediaType);
  const cBytes = await readJsonBlob(side.store, manifest.value.config, 'config');
  const config = parseConfig(cBytes, `${who}: config ${manifest.value.config.digest}`);
  const diffIds = config.value.rootfs.diff_ids;
  const layers = manifest.value.layers.map((d, i): SideLayer => {
    const number = i + 1;
    const where = `${who}: layer ${number} ${d.digest}`;
    const open = async function* (stats: ReadStats): AsyncGenerator<Member> {
      const source = await side.store.blob(d.digest);
      const input: LayerInput = { where, source, digest: d.digest, size: d.size };
      const c = layerCompression(d.mediaType);
      if (c !== undefined) input.compression = c;
      yield* layerMembers(input, stats);
    };
    const l: SideLayer = { number, descriptor: d, open };
    const diffId = diffIds[i];
    if (diffId !== undefined) l.diffId = diffId;
    return l;
  });
  return {
    descriptor, manifest, manifestJson: parseJsonBytes(mBytes, who), config, configJson: parseJsonBytes(cBytes, who), layers,
  };
}

