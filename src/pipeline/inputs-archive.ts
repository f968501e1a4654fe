/**
 * The inputs archive: every input of a spec build as one OCI artifact, so that the build can be
 * repeated when no mirror serves the packages any more. The artifact manifest (artifactType
 * `application/vnd.repro-image.inputs.v1`) has a config of ours (the tool's name, version and
 * package digest, the spec's and the lock's names and digests) and, as its layers: the spec, the
 * lock, then every file the lock pins, in the lock's order, each annotated with its name
 * (`org.opencontainers.image.title`), its key among the lock's inputs and its path below the mirror.
 * With a subject it is an OCI 1.1 referrer of the image it built (written through the referrer
 * plumbing every transport has). `fetch --from` reads it back into the cache, every blob checked
 * against the lock, never against the archive's own word.
 * Nothing in it depends on the machine or the clock: the same spec, lock and packages give the
 * same manifest digest (created is the lock's SOURCE_DATE_EPOCH).
 */
import { basename } from 'node:path';
import { Cache } from '../fetch/cache.js';
import { inOrder } from '../fetch/pool.js';
import { bytesSource } from '../image/image.js';
import { fileSource } from '../image/file-source.js';
import type { ImageGraph } from '../image/graph.js';
import { loadGraph } from '../image/graph.js';
import { referrerDescriptor, subjectOf, withReferrers } from '../image/referrer.js';
import { listReferrers } from '../image/referrers.js';
import type { OpenedImage } from '../image/store.js';
import { readDocument, verifiedSource } from '../image/verified.js';
import { canonicalBytes } from '../model/canonical-json.js';
import { rfc3339 } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import { sha256, type Digest } from '../model/digest.js';
import { ReproError, option } from '../model/errors.js';
import { encodeManifest, parseManifest, type Manifest } from '../model/manifest.js';
import { MediaType, isManifestType } from '../model/media-types.js';
import type { LockedFile } from '../sources/distribution.js';
import { loadSpec } from '../spec/load.js';
import { checkLockMatches, lockPathFor, readLockFile, type LockFile } from '../spec/lockfile.js';
import type { ImageSpec } from '../spec/schema.js';
import { openImage, writeGraph, type TransportOptions } from '../transports/index.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import { fetchLocked, lockedFiles, verifyCached } from './spec.js';

/** The artifactType of an inputs archive. */
export const INPUTS_ARTIFACT_TYPE = 'application/vnd.repro-image.inputs.v1';
/** Its config: canonical JSON naming the tool, the spec and the lock. */
export const INPUTS_CONFIG_TYPE = 'application/vnd.repro-image.inputs.config.v1+json';
export const SPEC_MEDIA_TYPE = 'application/vnd.repro-image.spec.v1+yaml';
export const LOCK_MEDIA_TYPE = 'application/vnd.repro-image.lock.v1+json';
/** A file the lock pins (a .deb, an Arch package or its signature), byte for byte as the mirror serves it. */
export const INPUT_FILE_MEDIA_TYPE = 'application/vnd.repro-image.input.v1';

export const TITLE = 'org.opencontainers.image.title';
export const ANNOTATION = {
  /** On a package layer: its key among the lock's inputs (a package name; NAME.sig). */
  key: 'dev.repro-image.input.key',
  /** On a package layer: its path below the mirror (pool/main/…). */
  path: 'dev.repro-image.input.path',
  /** On the manifest: the lock's digest, so that `fetch --from` picks the archive of its lock among an image's referrers. */
  lock: 'dev.repro-image.lock.digest',
  toolVersion: 'dev.repro-image.tool.version',
  toolPackageDigest: 'dev.repro-image.tool.package-digest',
} as const;

export interface ToolRecord {
  name: string;
  version: string;
  /** See verify/tool-digest.ts. */
  packageDigest?: string;
}

export interface ArchiveOptions {
  /** The image.yaml; its lock is SPEC.lock.json beside it. */
  spec: string;
  /** Where the artifact is written (any writable transport, tagged as the reference says). */
  output?: ImageRef | string;
  /** Make it a referrer of this image, written beside it (its layout or repository). */
  attach?: ImageRef | string;
  cacheDir: string;
  /** Use only the cache (fail if a locked file is missing) instead of downloading what is missing. */
  offline?: boolean;
  aptDir?: string;
  jobs?: number;
  registry?: RegistryOptions;
  /** The tool recorded in the config and annotations (the library's package fills it in). */
  tool: ToolRecord;
  onProgress?: (done: number, total: number, name: string) => void;
}

export interface ArchiveResult {
  /** The artifact manifest's digest. */
  digest: Digest;
  artifactType: string;
  /** How many locked files it holds, and their bytes. */
  files: number;
  inputBytes: number;
  /** Every blob's bytes (config, spec, lock, files) plus the manifest's. */
  totalBytes: number;
  written: Array<{ ref: string; digest?: string }>;
  /** The image it is a referrer of. */
  subject?: Digest;
}

function bytesDescriptor(mediaType: string, data: Buffer, annotations?: Record<string, string>): Descriptor {
  return { mediaType, digest: sha256(data), size: data.length, ...(annotations ? { annotations } : {}) };
}

function refOf(r: ImageRef | string, what: string): ImageRef {
  return typeof r === 'string' ? parseImageRef(r, option(what)) : r;
}

/** The artifact manifest (and its blobs) of a spec's inputs; `subject` makes it a referrer. */
function inputsGraph(specBytes: Buffer, specName: string, lockBytes: Buffer, lockName: string, lock: LockFile, files: Array<{ p: LockedFile; path: string }>, tool: ToolRecord, subject?: Descriptor): { graph: ImageGraph; manifest: Manifest; digest: Digest } {
  const lockDigest = sha256(lockBytes);
  const config = canonicalBytes({
    tool: { name: tool.name, version: tool.version, ...(tool.packageDigest ? { packageDigest: tool.packageDigest } : {}) },
    spec: { name: specName, digest: sha256(specBytes) },
    lock: { name: lockName, digest: lockDigest },
    distro: lock.source.distro,
    sourceDateEpoch: lock.source.sourceDateEpoch,
  });
  const specD = bytesDescriptor(SPEC_MEDIA_TYPE, specBytes, { [TITLE]: specName });
  const lockD = bytesDescriptor(LOCK_MEDIA_TYPE, lockBytes, { [TITLE]: lockName });
  const configD = bytesDescriptor(INPUTS_CONFIG_TYPE, config);
  const fileDs = files.map(({ p }): Descriptor => ({
    mediaType: INPUT_FILE_MEDIA_TYPE, digest: `sha256:${p.sha256}`, size: p.size,
    annotations: { [TITLE]: basename(p.filename), [ANNOTATION.key]: p.key, [ANNOTATION.path]: p.filename },
  }));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: INPUTS_ARTIFACT_TYPE,
    config: configD,
    layers: [specD, lockD, ...fileDs],
    ...(subject ? { subject: subjectOf(subject) } : {}),
    annotations: {
      'org.opencontainers.image.created': rfc3339(lock.source.sourceDateEpoch),
      [ANNOTATION.lock]: lockDigest,
      [ANNOTATION.toolVersion]: tool.version,
      ...(tool.packageDigest ? { [ANNOTATION.toolPackageDigest]: tool.packageDigest } : {}),
    },
  };
  const encoded = encodeManifest(manifest);
  const root = referrerDescriptor(encoded);
  const blobs = new Map<string, ImageGraph['blobs'][number]>();
  const add = (d: Descriptor, source: ImageGraph['blobs'][number]['source']): void => {
    if (!blobs.has(d.digest)) blobs.set(d.digest, { descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size }, source });
  };
  add(specD, bytesSource(specBytes));
  add(lockD, bytesSource(lockBytes));
  files.forEach(({ path }, i) => add(fileDs[i]!, fileSource(path)));
  add(configD, bytesSource(config));
  return { graph: { root, documents: [{ descriptor: root, bytes: encoded.bytes }], blobs: [...blobs.values()] }, manifest, digest: encoded.digest };
}

export interface InputsArtifactOptions {
  spec: string;
  cacheDir: string;
  offline?: boolean;
  aptDir?: string;
  jobs?: number;
  tool: ToolRecord;
  onProgress?: (done: number, total: number, name: string) => void;
}

/** The inputs of a spec build, read and checked: the spec's and lock's bytes, and each locked file in the cache. */
interface CheckedInputs {
  specBytes: Buffer;
  specName: string;
  lockBytes: Buffer;
  lockName: string;
  lock: LockFile;
  files: Array<{ p: LockedFile; path: string }>;
}

async function checkedInputs(opts: InputsArtifactOptions): Promise<CheckedInputs> {
  const loaded = loadSpec(opts.spec);
  const lockPath = lockPathFor(loaded.file);
  const { lock, bytes: lockBytes } = readLockFile(lockPath);
  checkLockMatches(lock, loaded.spec, lockPath, opts.spec);
  const cache = new Cache(opts.cacheDir);
  const paths = await fetchLocked(loaded.spec, lock, {
    cache, ...(opts.offline ? { offline: true } : {}), ...(opts.aptDir ? { aptDir: opts.aptDir } : {}),
    ...(opts.jobs ? { concurrency: opts.jobs } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  // The cache is trusted only as far as it checks out: every file is hashed before it is archived.
  const buf = Buffer.allocUnsafe(1 << 20);
  const files = lockedFiles(loaded.spec, lock, opts.aptDir).map((p) => {
    const path = paths.get(p.key)!;
    verifyCached(path, p, buf);
    return { p, path };
  });
  return { specBytes: loaded.bytes, specName: basename(loaded.file), lockBytes, lockName: basename(lockPath), lock, files };
}

/**
 * The inputs archive of a spec as an image graph (not written anywhere), a referrer of `subject`
 * when one is given: what `archive` writes, and what `verify --archive` keeps beside the published
 * image it proved. Every locked file comes from the cache (fetched when missing, unless offline),
 * hashed against the lock first.
 */
export async function inputsArtifact(opts: InputsArtifactOptions, subject?: Descriptor): Promise<{ graph: ImageGraph; digest: Digest; files: number; inputBytes: number }> {
  const c = await checkedInputs(opts);
  const made = inputsGraph(c.specBytes, c.specName, c.lockBytes, c.lockName, c.lock, c.files, opts.tool, subject);
  return { graph: made.graph, digest: made.digest, files: c.files.length, inputBytes: c.files.reduce((n, f) => n + f.p.size, 0) };
}

/** `repro-image archive`: every input of a spec build (spec, lock, locked files, the tool) as one OCI artifact. */
export async function archive(opts: ArchiveOptions): Promise<ArchiveResult> {
  if (opts.output === undefined && opts.attach === undefined) throw new ReproError('E_USAGE', `${option('output')} or ${option('attach')} is required: where the inputs archive goes`);
  const output = opts.output === undefined ? undefined : refOf(opts.output, 'output');
  const attach = opts.attach === undefined ? undefined : refOf(opts.attach, 'attach');
  // Only these keep referrers; another would be rewritten without it (dir:, containers-storage:) or
  // refuse it after the fetch (docker-archive:).
  if (attach && attach.transport !== 'oci' && attach.transport !== 'oci-archive' && attach.transport !== 'docker') {
    throw new ReproError('E_USAGE', `${option('attach')}: ${formatImageRef(attach)} holds no OCI 1.1 referrers; attach the inputs archive to an image in an oci: layout, an oci-archive or a registry (docker://)`);
  }
  const { specBytes, specName, lockBytes, lockName, lock, files } = await checkedInputs(opts);
  const transport: TransportOptions = opts.registry ? { registry: opts.registry } : {};

  let subjectImage: { graph: ImageGraph; ref: ImageRef } | undefined;
  if (attach) {
    const opened = await openImage(attach, transport);
    subjectImage = { graph: await loadGraph(opened), ref: attach };
  }
  const made = inputsGraph(specBytes, specName, lockBytes, lockName, lock, files, opts.tool, subjectImage?.graph.root);
  const written: ArchiveResult['written'] = [];
  const mtime = lock.source.sourceDateEpoch;
  if (subjectImage) {
    await writeGraph(subjectImage.ref, withReferrers(subjectImage.graph, [made.graph]), mtime, transport);
    written.push({ ref: formatImageRef(subjectImage.ref), digest: made.digest });
  }
  if (output) {
    const r = await writeGraph(output, made.graph, mtime, transport);
    written.push({ ref: formatImageRef(output), ...(r.digest ? { digest: r.digest } : {}) });
  }
  const inputBytes = files.reduce((n, f) => n + f.p.size, 0);
  return {
    digest: made.digest, artifactType: INPUTS_ARTIFACT_TYPE,
    files: files.length, inputBytes,
    totalBytes: made.graph.blobs.reduce((n, b) => n + b.descriptor.size, 0) + made.graph.root.size,
    written,
    ...(subjectImage ? { subject: subjectImage.graph.root.digest } : {}),
  };
}

/** The inputs archive a reference names: the artifact itself, or the one among an image's referrers made for `lockDigest`. */
async function findArchive(opened: OpenedImage, lockDigest: Digest, where: string): Promise<{ manifest: Manifest; descriptor: Descriptor }> {
  const read = async (d: Descriptor): Promise<Manifest> => parseManifest(await readDocument(opened.store, d), `${where}: manifest ${d.digest}`, d.mediaType).value;
  const target = opened.target;
  if (isManifestType(target.mediaType)) {
    const m = await read(target);
    if (m.artifactType === INPUTS_ARTIFACT_TYPE) return { manifest: m, descriptor: target };
  }
  const candidates = (await listReferrers(opened, target.digest)).descriptors.filter((d) => d.artifactType === INPUTS_ARTIFACT_TYPE);
  if (candidates.length === 0) throw new ReproError('E_NOT_FOUND', `${where}: neither an inputs archive (artifactType ${INPUTS_ARTIFACT_TYPE}) nor an image with one among its referrers`);
  const loadedCandidates = await Promise.all(candidates.map(async (d) => ({ descriptor: d, manifest: await read(d) })));
  return loadedCandidates.find((c) => c.manifest.annotations?.[ANNOTATION.lock] === lockDigest) ?? loadedCandidates[0]!;
}

export interface FetchFromOptions {
  from: ImageRef | string;
  registry?: RegistryOptions;
  /** Blobs read at a time (default 4). */
  jobs?: number;
  onProgress?: (done: number, total: number, name: string) => void;
}

/**
 * Fills the cache with a lock's files from an inputs archive. A file is taken only from a layer
 * whose digest and size are the lock's (a layer that names the file but holds other bytes is
 * refused), and its bytes are hashed again as they are written, so a tampered blob never lands.
 */
export async function fetchFromArchive(spec: ImageSpec, lock: LockFile, lockBytes: Buffer, cache: Cache, opts: FetchFromOptions): Promise<Map<string, string>> {
  const ref = refOf(opts.from, 'from');
  const where = formatImageRef(ref);
  const opened = await openImage(ref, opts.registry ? { registry: opts.registry } : {});
  const { manifest } = await findArchive(opened, sha256(lockBytes), where);
  const byDigest = new Map(manifest.layers.map((l) => [l.digest, l]));
  const byKey = new Map(manifest.layers.filter((l) => l.annotations?.[ANNOTATION.key] !== undefined).map((l) => [l.annotations![ANNOTATION.key]!, l]));
  const out = new Map<string, string>();
  const files = lockedFiles(spec, lock);
  const total = files.reduce((n, p) => n + p.size, 0);
  // Every file is looked up first (a missing or other one is refused before anything is read),
  // then each blob is read once (two keys may pin the same bytes), `jobs` at a time.
  const blobs = new Map<string, { file: LockedFile; layer: Descriptor; sizes: number }>();
  for (const p of files) {
    const digest: Digest = `sha256:${p.sha256}`;
    const layer = byDigest.get(digest);
    if (!layer || layer.size !== p.size) {
      const named = byKey.get(p.key);
      if (named) throw new ReproError('E_DIGEST_MISMATCH', `${where}: the archive's ${p.filename} is ${named.digest} (${named.size} bytes), the lock says ${digest} (${p.size} bytes)`);
      throw new ReproError('E_NOT_FOUND', `${where}: the inputs archive holds no ${p.filename} (${digest}); it was made for another lock`);
    }
    out.set(p.key, cache.path(p.sha256));
    const b = blobs.get(p.sha256);
    if (b) b.sizes += p.size;
    else blobs.set(p.sha256, { file: p, layer, sizes: p.size });
  }
  const todo = [...blobs.values()];
  let done = 0;
  await inOrder(todo.length, opts.jobs ?? 4, async (i) => {
    const { file: p, layer, sizes } = todo[i]!;
    if (!(await cache.has(p))) {
      const src = verifiedSource(await opened.store.blob(layer.digest, layer.size), layer, where);
      await cache.put(`${where}: ${p.filename}`, src.open(), p);
    }
    done += sizes;
    opts.onProgress?.(done, total, p.key);
  });
  return out;
}
