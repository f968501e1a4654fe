/**
 * docker-archive: the `docker save` / `docker load` format (manifest.json + repositories + config +
 * layer files), as skopeo and podman read it. Written byte-reproducibly like our oci-archive.
 * Reading synthesises a Docker schema 2 manifest from manifest.json, as containers/image does.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../../archive/entry.js';
import { detectCompression } from '../../archive/detect.js';
import { orderEntries, tarChunks } from '../../archive/tar-writer.js';
import { fileSource } from '../../image/file-source.js';
import { bytesSource, type Image } from '../../image/image.js';
import { canonicalBytes } from '../../model/canonical-json.js';
import { digestHex, sha256, type Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import { goJsonBytes } from '../../model/go-json.js';
import { asObject, getArray, parseJsonBytes } from '../../model/json.js';
import { MediaType, layerCompression } from '../../model/media-types.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import type { BlobStore, OpenedImage } from '../../image/store.js';
import { archiveEntry } from './oci-archive.js';
import { indexArchive, readMember, type Member } from './tar-index.js';

const EXT: Record<string, string> = { gzip: '.tar.gz', zstd: '.tar.zst', none: '.tar' };

/**
 * The manifest skopeo and podman (containers/image) make up when they read a docker-archive, which
 * stores none: Docker schema 2, the config as stored, and each layer named by its diff_id with its
 * uncompressed size (they hand out layers decompressed) under the gzip layer media type, written by
 * Go's json.Marshal. Its digest is what `podman image inspect` shows as Digest after `podman load`.
 */
export function readerManifest(config: { digest: Digest; size: number }, layers: ReadonlyArray<{ diffId: Digest; uncompressedSize: number }>): Buffer {
  return goJsonBytes({
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: MediaType.dockerLayerGzip, size: l.uncompressedSize, digest: l.diffId })),
  });
}

/** Splits `name[:tag]` (a tag follows the last colon that is not part of a registry port). */
export function splitRepoTag(ref: string): [string, string] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

export async function writeDockerArchive(file: string, img: Image, tag: string | undefined, mtime: number): Promise<void> {
  const configName = `${digestHex(img.config.digest)}.json`;
  const layerNames = img.layers.map((l) => `${digestHex(l.descriptor.digest)}${EXT[layerCompression(l.descriptor.mediaType) ?? 'none']}`);
  const repoTags = tag === undefined ? [] : [tag.includes(':') ? tag : `${tag}:latest`];
  const manifestJson = canonicalBytes([{ Config: configName, Layers: layerNames, RepoTags: repoTags }]);
  const entries: Entry[] = [
    archiveEntry(configName, bytesSource(img.config.bytes), img.config.bytes.length, mtime),
    archiveEntry('manifest.json', bytesSource(manifestJson), manifestJson.length, mtime),
  ];
  img.layers.forEach((l, i) => {
    entries.push(archiveEntry(layerNames[i]!, l.source, l.descriptor.size, mtime));
  });
  if (tag !== undefined && img.layers.length > 0) {
    const [repo, t] = splitRepoTag(tag);
    const top = digestHex(img.layers[img.layers.length - 1]!.diffId);
    const repositories = canonicalBytes({ [repo]: { [t]: top } });
    entries.push(archiveEntry('repositories', bytesSource(repositories), repositories.length, mtime));
  }
  await writeFileAtomic(file, tarChunks(orderEntries(entries), file));
}

async function hashMember(file: string, m: Member): Promise<{ digest: Digest; head: Buffer }> {
  const h = createHash('sha256');
  let head = Buffer.alloc(0);
  for await (const chunk of fileSource(file, m.offset, m.size).open()) {
    if (head.length < 6) head = Buffer.concat([head, chunk.subarray(0, 6)]);
    h.update(chunk);
  }
  return { digest: `sha256:${h.digest('hex')}`, head };
}

export async function openDockerArchive(file: string, tag: string | undefined): Promise<OpenedImage> {
  const members = await indexArchive(file);
  const where = `${file}: manifest.json`;
  const list = parseJsonBytes(await readMember(file, members, 'manifest.json'), where);
  if (!Array.isArray(list) || list.length === 0) throw new ReproError('E_BAD_JSON', `${where}: expected a non-empty array`);
  const wanted = tag === undefined ? undefined : tag.includes(':') ? tag : `${tag}:latest`;
  const items = list.map((it, i) => asObject(it, `${where}[${i}]`));
  const item = wanted === undefined
    ? items.length === 1 ? items[0]! : undefined
    : items.find((it) => Array.isArray(it['RepoTags']) && (it['RepoTags'] as unknown[]).some((t) => t === wanted || t === `docker.io/library/${wanted}` || t === `docker.io/${wanted}`));
  if (!item) {
    throw new ReproError(wanted === undefined ? 'E_USAGE' : 'E_NOT_FOUND',
      wanted === undefined ? `${file}: holds ${items.length} images; name one with :NAME:TAG` : `${file}: no image tagged ${wanted}`);
  }
  const configName = item['Config'];
  if (typeof configName !== 'string') throw new ReproError('E_BAD_JSON', `${where}: Config is not a string`);
  const configBytes = await readMember(file, members, configName);
  const blobs = new Map<string, Member>();
  const configDigest = sha256(configBytes);
  blobs.set(configDigest, members.get(configName)!);
  const layers = [];
  for (const [i, name] of getArray(item, 'Layers', where).entries()) {
    if (typeof name !== 'string') throw new ReproError('E_BAD_JSON', `${where}: Layers[${i}] is not a string`);
    const m = members.get(name);
    if (!m) throw new ReproError('E_NOT_FOUND', `${file}: has no ${name} (Layers[${i}])`);
    const { digest, head } = await hashMember(file, m);
    const c = detectCompression(head);
    const mediaType = c === 'gzip' ? MediaType.dockerLayerGzip : c === 'zstd' ? MediaType.dockerLayerZstd : MediaType.dockerLayer;
    blobs.set(digest, m);
    layers.push({ mediaType, size: m.size, digest });
  }
  const manifest = canonicalBytes({
    config: { digest: configDigest, mediaType: MediaType.dockerConfig, size: configBytes.length },
    layers,
    mediaType: MediaType.dockerManifest,
    schemaVersion: 2,
  });
  const manifestDigest = sha256(manifest);
  const store: BlobStore = {
    where: file,
    async blob(digest: Digest) {
      if (digest === manifestDigest) return { ...bytesSource(manifest), storedSize: manifest.length };
      const m = blobs.get(digest);
      if (!m) throw new ReproError('E_NOT_FOUND', `${file}: blob ${digest} is missing`);
      return { ...fileSource(file, m.offset, m.size), storedSize: m.size };
    },
  };
  return {
    store,
    target: { mediaType: MediaType.dockerManifest, digest: manifestDigest, size: manifest.length },
    syntheticManifest: manifest,
  };
}
