/**
 * An image graph: a manifest or an index with every document and blob under it. It is what `copy`
 * moves between transports and what every writer writes, so that a multi-platform index travels
 * intact (index bytes, each child manifest, each blob) and a single image is just the smallest
 * graph. Documents keep their exact bytes; nothing is re-serialised or recompressed.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSource } from './file-source.js';
import { bytesSource, type BlobSource, type Image } from './image.js';
import { parseConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import { digestHex, type Digest } from '../model/digest.js';
import { ReproError, ioError, option } from '../model/errors.js';
import { parseManifest } from '../model/manifest.js';
import { isIndexType, isManifestType } from '../model/media-types.js';
import { parseIndex } from '../model/oci-index.js';
import type { Platform } from '../model/platform.js';
import { ensureFreeSpace } from '../fs/space.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { OpenedImage, RegistryOrigin } from './store.js';
import { platformOf, selectPlatform } from './select.js';
import { readDocument, readVerified, verifiedSource } from './verified.js';
import { listReferrers } from './referrers.js';

export interface GraphDocument {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface GraphBlob {
  descriptor: Descriptor;
  source: BlobSource;
}

export interface ImageGraph {
  /** The top of the graph (a manifest or an index); for a single image, with its platform. */
  root: Descriptor;
  /** Every manifest and index, each after everything it references; the root is last. */
  documents: GraphDocument[];
  /** Every config and layer once, each image's layers before its config (the push order). */
  blobs: GraphBlob[];
  /** Where the blobs are when they are in a registry (for cross-repository mounts). */
  origin?: RegistryOrigin;
  /** OCI 1.1 referrers of the root or of a manifest under it (an SBOM), each a graph of its own, written beside it. */
  referrers?: ImageGraph[];
}

/** The graph of one image held in memory and scratch files (a build's output). */
export function imageGraph(img: Image): ImageGraph {
  const root: Descriptor = { mediaType: img.manifest.value.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length, platform: img.platform };
  return {
    root,
    documents: [{ descriptor: root, bytes: img.manifest.bytes }],
    blobs: [
      ...img.layers.map((l) => ({ descriptor: l.descriptor, source: l.source })),
      { descriptor: img.manifest.value.config, source: bytesSource(img.config.bytes) },
    ],
  };
}

export interface LoadOptions {
  /** With an index, take only the image for this platform. */
  platform?: Platform;
  /**
   * Hash local blobs (those with a file location) now, so that writers which copy files directly
   * never copy unverified bytes. Remote blobs are always verified as they stream.
   */
  verifyLocal?: boolean;
  /** Also load the OCI 1.1 referrers of every manifest in the graph (and theirs), for `copy --all`. */
  referrers?: boolean;
  /** How deep in referrers of referrers this load is (internal). */
  referrerDepth?: number;
}

/** Reads the documents of an opened image (verified) and lists its blobs behind verifying sources. */
export async function loadGraph(opened: OpenedImage, opts: LoadOptions = {}): Promise<ImageGraph> {
  const { store } = opened;
  const documents: GraphDocument[] = [];
  const blobs = new Map<Digest, GraphBlob>();
  const seenDocs = new Set<Digest>();
  let root = opened.target;

  // Every descriptor is checked, not only the first one of a digest: one digest, one size.
  const sizes = new Map<Digest, number>();
  const sameSize = (d: Descriptor, where: string): void => {
    const had = sizes.get(d.digest);
    if (had === undefined) sizes.set(d.digest, d.size);
    else if (had !== d.size) throw new ReproError('E_BAD_INPUT', `${store.where}: ${where} gives ${d.digest} size ${d.size}, elsewhere it has size ${had}`);
  };

  const addBlob = async (d: Descriptor, preread?: Buffer): Promise<void> => {
    sameSize(d, 'a manifest');
    if (blobs.has(d.digest)) return;
    if (preread) {
      blobs.set(d.digest, { descriptor: d, source: bytesSource(preread) });
      return;
    }
    const src = await store.blob(d.digest, d.size);
    if (opts.verifyLocal && src.ref && src.ref.kind !== 'bytes') {
      for await (const _ of verifiedSource(src, d, store.where).open()) { /* hash only */ }
      blobs.set(d.digest, { descriptor: d, source: src });
    } else {
      blobs.set(d.digest, { descriptor: d, source: verifiedSource(src, d, store.where) });
    }
  };

  const visit = async (d: Descriptor, depth: number): Promise<Platform | undefined> => {
    if (depth > 4) throw new ReproError('E_BAD_INPUT', `${store.where}: indexes nested more than 4 deep`);
    sameSize(d, depth === 0 ? 'the reference' : 'an index');
    const bytes = await readDocument(store, d);
    let platform: Platform | undefined;
    if (isIndexType(d.mediaType)) {
      const idx = parseIndex(bytes, `${store.where}: index ${d.digest}`);
      for (const m of idx.value.manifests) {
        if (!seenDocs.has(m.digest)) await visit(m, depth + 1);
        else sameSize(m, 'an index');
      }
    } else if (isManifestType(d.mediaType)) {
      const m = parseManifest(bytes, `${store.where}: manifest ${d.digest}`, d.mediaType);
      for (const l of m.value.layers) await addBlob(l);
      const cfgSrc = await store.blob(m.value.config.digest, m.value.config.size);
      const cfg = await readVerified(cfgSrc, m.value.config, store.where);
      await addBlob(m.value.config, cfg);
      try {
        platform = platformOf(parseConfig(cfg, 'config').value);
      } catch {
        platform = undefined; // not an image config (an artifact): copied all the same
      }
    } else {
      throw new ReproError('E_UNSUPPORTED', `${store.where}: ${d.digest} has media type ${d.mediaType}, neither a manifest nor an index`);
    }
    seenDocs.add(d.digest);
    documents.push({ descriptor: d, bytes });
    return platform;
  };

  if (opts.platform && isIndexType(root.mediaType)) {
    const idx = parseIndex(await readDocument(store, root), `${store.where}: index ${root.digest}`);
    root = selectPlatform(idx.value, opts.platform, store.where);
  }
  const platform = await visit(root, 0);
  const top: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size };
  const p = root.platform ?? platform;
  if (p && isManifestType(root.mediaType)) top.platform = p;
  const graph: ImageGraph = { root: top, documents, blobs: [...blobs.values()] };
  if (opened.origin) graph.origin = opened.origin;
  if (opts.referrers) {
    const depth = opts.referrerDepth ?? 0;
    const referrers: ImageGraph[] = [];
    if (depth < 3) {
      for (const d of documents.filter((x) => isManifestType(x.descriptor.mediaType) || isIndexType(x.descriptor.mediaType))) {
        for (const r of (await listReferrers(opened, d.descriptor.digest)).descriptors) {
          if (referrers.some((x) => x.root.digest === r.digest)) continue;
          const g = await loadGraph({ ...opened, target: r }, { ...opts, platform: undefined, referrerDepth: depth + 1 } as LoadOptions);
          referrers.push({ ...g, root: r });
        }
      }
    }
    if (referrers.length > 0) graph.referrers = referrers;
  }
  return graph;
}

/** A one-image graph as an `Image` (for writers of single images, such as docker-archive). */
export async function graphImage(graph: ImageGraph, where: string): Promise<Image> {
  if (!isManifestType(graph.root.mediaType)) {
    throw new ReproError('E_USAGE', `${where}: holds one image, and the source is a multi-platform index; choose one with ${option('platform')}`);
  }
  const doc = graph.documents.find((d) => d.descriptor.digest === graph.root.digest)!;
  const manifest = parseManifest(doc.bytes, `manifest ${graph.root.digest}`, graph.root.mediaType);
  const blob = (d: Digest): GraphBlob => {
    const b = graph.blobs.find((x) => x.descriptor.digest === d);
    if (!b) throw new ReproError('E_NOT_FOUND', `${where}: blob ${d} is not in the image`);
    return b;
  };
  const cfgBlob = blob(manifest.value.config.digest);
  const config = parseConfig(await readVerified(cfgBlob.source, cfgBlob.descriptor, where), `config ${manifest.value.config.digest}`);
  const diffIds = config.value.rootfs.diff_ids;
  if (diffIds.length !== manifest.value.layers.length) {
    throw new ReproError('E_BAD_INPUT', `${where}: config lists ${diffIds.length} diff_ids for ${manifest.value.layers.length} layers`);
  }
  return {
    manifest,
    config,
    platform: platformOf(config.value),
    layers: manifest.value.layers.map((l, i) => ({ descriptor: l, diffId: diffIds[i]!, source: blob(l.digest).source })),
  };
}

/**
 * Gives every blob that has no file location one, by streaming it (verified) into `dir`: archive
 * writers read members from files. Returns the graph with those sources replaced.
 */
export async function spoolGraph(graph: ImageGraph, dir: string, shown = dir): Promise<ImageGraph> {
  await mkdir(dir, { recursive: true }).catch((e) => { throw ioError(e, `cannot create ${dir}`); });
  const streamed = graph.blobs.filter((b) => !b.source.ref).reduce((n, b) => n + b.descriptor.size, 0);
  await ensureFreeSpace(dir, streamed, `${shown}: spooling ${graph.blobs.length} blobs beside it`);
  const blobs: GraphBlob[] = [];
  for (const b of graph.blobs) {
    if (b.source.ref) {
      blobs.push(b);
      continue;
    }
    const path = join(dir, digestHex(b.descriptor.digest));
    await writeFileAtomic(path, b.source.open());
    blobs.push({ descriptor: b.descriptor, source: { ...fileSource(path), movable: true } });
  }
  const spooled: ImageGraph = { ...graph, blobs };
  if (graph.referrers) spooled.referrers = await Promise.all(graph.referrers.map((r) => spoolGraph(r, dir)));
  return spooled;
}
