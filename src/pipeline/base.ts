/**
 * A spec's pinned base image (`base:`, docs/base-images.md). `lock` reads the reference (which
 * must name its manifest by digest; a tag is refused with the digest to pin) and records the
 * manifest, config and layer descriptors; `fetch` (and `build`, unless offline) copies those blobs
 * into the content-addressed cache; `build` reads them from there only. The base's layers go into
 * the image as they are (the same descriptors, never recompressed); its tree, flattened, is what
 * our part is compared against for the whiteouts of `base.remove`.
 */
import { removeSet, type BaseSpec } from '../spec/base-schema.js';
import type { BaseLock } from '../sources/base-lock.js';
import type { Entry } from '../archive/entry.js';
import { Cache } from '../fetch/cache.js';
import { fileSource } from '../image/file-source.js';
import { flattenLayers, type FlatEntry } from '../image/flatten.js';
import type { Layer } from '../image/image.js';
import { layerReader } from '../image/layer.js';
import { readImage } from '../image/read.js';
import { platformMatches } from '../image/select.js';
import { readVerified, verifyStream } from '../image/verified.js';
import { parseConfig, type ContainerConfig, type HistoryEntry, type ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { ReproError, option } from '../model/errors.js';
import type { RawJson } from '../model/json.js';
import { parseManifest, type Manifest } from '../model/manifest.js';
import type { Platform } from '../model/platform.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';

export { baseSpec, type BaseSpec } from '../spec/base-schema.js';
export { baseLock, type BaseLock } from '../sources/base-lock.js';

export function baseImageOf(b: BaseSpec): string {
  return typeof b === 'string' ? b : b.image;
}
/** `base.remove`'s paths without their slashes, once each, in byte order. */
export function baseRemoveOf(b: BaseSpec): string[] {
  return typeof b === 'string' ? [] : removeSet(b.remove ?? []);
}

/** The reference's manifest digest, when it names one. */
function pinnedDigest(ref: ImageRef): Digest | undefined {
  if (ref.transport === 'docker' || ref.transport === 'oci' || ref.transport === 'oci-archive') return ref.digest;
  return undefined;
}

/** Parses `base:`; a reference of a transport that cannot pin by digest is refused. */
export function parseBaseRef(s: string): ImageRef {
  const ref = parseImageRef(s, 'base');
  if (ref.transport !== 'docker' && ref.transport !== 'oci' && ref.transport !== 'oci-archive') {
    throw new ReproError('E_SPEC', `base: ${s}: a base is read from docker://, oci: or oci-archive:, which can name a manifest by digest`);
  }
  return ref;
}

/** The reference spelled with a digest in place of its tag. */
function pinnedSpelling(ref: ImageRef, digest: Digest): string {
  if (ref.transport === 'docker') return formatImageRef({ transport: 'docker', registry: ref.registry, repository: ref.repository, digest });
  if (ref.transport === 'oci' || ref.transport === 'oci-archive') return `${ref.transport}:${ref.path}:@${digest}`;
  return formatImageRef(ref);
}

/**
 * `lock`: reads the base and records its blobs. A reference without a digest is exit 2 naming the
 * digest it resolves to now, to be written into the spec.
 */
export async function lockBase(s: string, platform: Platform, opts: TransportOptions = {}): Promise<BaseLock> {
  const ref = parseBaseRef(s);
  const opened = await openImage(ref, opts);
  if (pinnedDigest(ref) === undefined) {
    throw new ReproError('E_SPEC', `base: ${s} is not pinned; a base is named by digest: base: ${pinnedSpelling(ref, opened.target.digest)}`);
  }
  const img = await readImage(opened, `base ${s}`, platform);
  const got = img.platform;
  if (!platformMatches(platform, got)) {
    const show = (p: Platform): string => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
    throw new ReproError('E_SPEC', `base: ${s} is an image for ${show(got)}, the spec builds ${show(platform)}`);
  }
  const d = img.descriptor;
  const cd = img.manifest.value.config;
  return {
    ref: s,
    manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size },
    config: { mediaType: cd.mediaType, digest: cd.digest, size: cd.size },
    layers: img.manifest.value.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
}

const hex = (d: Digest): string => d.slice('sha256:'.length);
const blobsOf = (b: BaseLock): Descriptor[] => [b.manifest, b.config, ...b.layers] as Descriptor[];

/** `fetch`: every blob of the locked base into the cache (read from the reference; nothing when all are there). */
export async function fetchBase(b: BaseLock, cache: Cache, opts: { offline?: boolean; transport?: TransportOptions } = {}): Promise<void> {
  const missing: Descriptor[] = [];
  for (const d of blobsOf(b)) if (!(await cache.has({ size: d.size, sha256: hex(d.digest) }))) missing.push(d);
  if (missing.length === 0) return;
  if (opts.offline) {
    throw new ReproError('E_NOT_FOUND', `${option('offline')}: ${missing.length} blob${missing.length === 1 ? '' : 's'} of the base ${b.ref} ${missing.length === 1 ? 'is' : 'are'} not in the cache ${cache.dir} (first: ${missing[0]!.digest}); run 'repro-image fetch' first`);
  }
  const opened = await openImage(parseBaseRef(b.ref), opts.transport ?? {});
  for (const d of missing) {
    const isDoc = d === b.manifest;
    const src = isDoc && opened.store.document ? await opened.store.document(d) : await opened.store.blob(d.digest, d.size);
    await cache.put(`base ${b.ref} ${d.digest}`, src.open(), { size: d.size, sha256: hex(d.digest) });
  }
}

/** The base as read back from the cache (every blob verified as it is read). */
export interface BaseImage {
  lock: BaseLock;
  manifest: RawJson<Manifest>;
  config: RawJson<ImageConfig>;
  /** The base's layers, exactly as stored: descriptors from its manifest, bytes from the cache. */
  layers: Layer[];
  /** Its tree, flattened (whiteouts applied). */
  flat: Map<string, FlatEntry>;
  /** Its history, as its config has it. */
  history: HistoryEntry[];
  /** The bytes of the files `readBase` was asked to keep (a package database). */
  kept: ReadonlyMap<string, Buffer>;
}

export async function readBase(b: BaseLock, cache: Cache, keep: readonly string[] = []): Promise<BaseImage> {
  const where = `base ${b.ref}`;
  const path = (d: { digest: string }): string => cache.path(hex(d.digest as Digest));
  const read = (d: Descriptor): Promise<Buffer> => readVerified(fileSource(path(d)), d, `${where}: ${d.digest} in the cache`);
  const manifest = parseManifest(await read(b.manifest as Descriptor), `${where}: manifest ${b.manifest.digest}`, b.manifest.mediaType);
  const config = parseConfig(await read(b.config as Descriptor), `${where}: config ${b.config.digest}`);
  const ml = manifest.value.layers;
  const diffIds = config.value.rootfs.diff_ids;
  if (manifest.value.config.digest !== b.config.digest || ml.length !== b.layers.length || ml.some((l, i) => l.digest !== b.layers[i]!.digest || l.size !== b.layers[i]!.size) || diffIds.length !== ml.length) {
    throw new ReproError('E_LOCK_STALE', `${where}: the manifest in the cache does not list the config and layers the lock records; run 'repro-image lock' again`);
  }
  // Every layer re-hashed before it is read or copied (as every locked package is): a changed cache
  // file is a digest mismatch naming it, not whatever its decompressor makes of it.
  for (const [i, d] of ml.entries()) {
    for await (const _ of verifyStream(fileSource(path(d)).open(), d, `${where}: layer ${i + 1} in the cache ${path(d)}`)) { /* hashed */ }
  }
  const layers: Layer[] = ml.map((d, i) => ({ descriptor: d, diffId: diffIds[i]!, source: fileSource(path(d)) }));
  const readers = ml.map((d, i) => layerReader(() => fileSource(path(d)), { number: i + 1, where: `${where}: layer ${i + 1} ${d.digest}`, descriptor: d, diffId: diffIds[i]! }));
  const { entries: flat, kept } = await flattenLayers(readers, { keep: (p) => keep.includes(p) });
  const history = config.value.history ?? [];
  return { lock: b, manifest, config, layers, flat, history, kept };
}

/** `KEY=VALUE` lists merged by key: the base's order, then new keys in the order given. */
function mergeEnv(base: string[] | undefined, ours: string[] | undefined): string[] | undefined {
  if (!ours) return base;
  const out = new Map<string, string>();
  for (const e of [...(base ?? []), ...ours]) out.set(e.split('=', 1)[0]!, e);
  return [...out.values()];
}

/**
 * The container config of an image on a base: the base's, with the spec's fields over it (env
 * merged by name, labels by key, exposed ports and volumes added; entrypoint, cmd, workdir, user and
 * stop signal replaced when the spec sets them).
 */
export function mergeContainerConfig(base: ContainerConfig | undefined, ours: ContainerConfig): ContainerConfig {
  const b = base ?? {};
  const out: ContainerConfig = { ...b };
  const env = mergeEnv(b.Env, ours.Env);
  if (env) out.Env = env;
  for (const k of ['Entrypoint', 'Cmd', 'WorkingDir', 'User', 'StopSignal'] as const) if (ours[k] !== undefined) (out as Record<string, unknown>)[k] = ours[k];
  const sorted = <T>(r: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(r).sort(([x], [y]) => (x < y ? -1 : 1)));
  if (b.Labels || ours.Labels) out.Labels = sorted({ ...b.Labels, ...ours.Labels });
  if (b.ExposedPorts || ours.ExposedPorts) out.ExposedPorts = sorted({ ...b.ExposedPorts, ...ours.ExposedPorts });
  if (b.Volumes || ours.Volumes) out.Volumes = sorted({ ...b.Volumes, ...ours.Volumes });
  return out;
}

/**
 * Whiteouts for `remove` (paths of the base's tree, which our part must not put back): a `.wh.`
 * entry each, at the time of the build. A path the base does not have is exit 2. `ours` is our
 * tree after the passes (a path they leave out is not put back).
 */
export function removalWhiteouts(base: BaseImage, remove: string[], ours: ReadonlyMap<string, Entry>, mtime: number): Entry[] {
  const out: Entry[] = [];
  const done: string[] = [];
  for (const p of remove) {
    if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new ReproError('E_SPEC', `base.remove: ${JSON.stringify(`/${p}`)} has an empty, '.' or '..' segment; name the path as the base's tree has it`);
    // One whiteout for the outermost path only (sorted: a path comes after any it is under); a
    // DIR/.wh.NAME below a whited-out DIR makes some runtimes recreate DIR.
    if (done.some((q) => p === q || p.startsWith(`${q}/`))) continue;
    done.push(p);
    if (!base.flat.has(p)) throw new ReproError('E_SPEC', `base.remove: /${p} is not in the base ${base.lock.ref}`);
    if (ours.has(p)) throw new ReproError('E_SPEC', `base.remove: /${p} is removed from the base and put back by the packages or files: of the spec; keep one of them`);
    const i = p.lastIndexOf('/');
    const path = i < 0 ? `.wh.${p}` : `${p.slice(0, i)}/.wh.${p.slice(i + 1)}`;
    out.push({ path, type: 'file', mode: 0, uid: 0, gid: 0, mtime, size: 0, content: { kind: 'bytes', data: Buffer.alloc(0) } } as Entry);
  }
  return out;
}
