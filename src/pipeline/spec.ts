/**
 * `build` from a spec and its lock. Steps: lock (the lock read and checked against the spec),
 * fetch (every locked file verified in the cache, downloaded first unless offline), install (the
 * distribution's install step: packages unpacked without running anything, its package database,
 * its script effects), spec files (the spec's `files:`), then the shared passes → layers → config →
 * manifest → output (tree-steps.ts). Nothing here knows which distribution it builds.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parentOf, type Entry } from '../archive/entry.js';
import { cleanMemberPath } from '../archive/paths.js';
import { Cache } from '../fetch/cache.js';
import { inOrder } from '../fetch/pool.js';
import { confinedPath } from '../fs/confine.js';
import { openRegularFileSync } from '../fs/read-whole.js';
import { makeScratchDir } from '../fs/scratch.js';
import { exposedPorts, type ContainerConfig } from '../model/config.js';
import { ReproError, ioError, option } from '../model/errors.js';
import { formatPlatform, parsePlatform, type Platform } from '../model/platform.js';
import { MediaType } from '../model/media-types.js';
import { encodeIndex } from '../model/oci-index.js';
import { loadGraph, type ImageGraph } from '../image/graph.js';
import { platformMatches } from '../image/select.js';
import { openImage, writeGraph } from '../transports/index.js';
import type { Distribution, InstalledTree, LockedFile } from '../sources/distribution.js';
import { distributionFor } from '../sources/index.js';
import { loadSpec, type LoadedSpec } from '../spec/load.js';
import { checkLockMatches, lockPathFor, readLockFile, type LockFile } from '../spec/lockfile.js';
import type { ImageSpec } from '../spec/schema.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import { PASS_NAMES } from './passes.js';
import { readDirectory } from '../sources/rootfs/directory.js';
import { checkImageOptions } from './rootfs.js';
import type { StepRecord } from './steps.js';
import { buildTree, type BlobInfo, type BuildResult, type ImageOptions } from './tree-steps.js';
import { planLayers, treePackages } from './layers.js';
import type { Digest } from '../model/digest.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { baseRemoveOf, fetchBase, mergeContainerConfig, readBase, removalWhiteouts, type BaseImage } from './base.js';

export interface FetchOptions {
  cache: Cache;
  offline?: boolean;
  aptDir?: string;
  concurrency?: number;
  onProgress?: (done: number, total: number, name: string) => void;
  onRetry?: (message: string) => void;
  /** Registry settings for a docker:// base. */
  registry?: RegistryOptions;
}

/** The distribution of a spec, checked against the lock's. */
function distributionOf(spec: ImageSpec, lock: LockFile): Distribution {
  const d = distributionFor(spec.source.distro);
  if (lock.source.distro !== d.distro) {
    throw new ReproError('E_LOCK_STALE', `the lock is for ${distributionFor(lock.source.distro).title}, the spec for ${d.title}; run 'repro-image lock' again`);
  }
  return d;
}

export function lockedFiles(spec: ImageSpec, lock: LockFile, aptDir?: string): LockedFile[] {
  return distributionOf(spec, lock).lockedFiles(spec, lock, aptDir ? { aptDir } : {});
}

/** Every locked file's verified copy in the cache (downloaded first unless offline), by key. */
export async function fetchLocked(spec: ImageSpec, lock: LockFile, opts: FetchOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing: LockedFile[] = [];
  for (const p of lockedFiles(spec, lock, opts.aptDir)) {
    if (await opts.cache.has(p)) out.set(p.key, opts.cache.path(p.sha256));
    else missing.push(p);
  }
  if (missing.length > 0 && opts.offline) {
    throw new ReproError('E_NOT_FOUND', `${option('offline')}: ${missing.length} locked file${missing.length === 1 ? ' is' : 's are'} not in the cache ${opts.cache.dir} (first: ${missing[0]!.filename}); run 'repro-image fetch' first`);
  }
  if (lock.base) await fetchBase(lock.base, opts.cache, { ...(opts.offline ? { offline: true } : {}), ...(opts.registry ? { transport: { registry: opts.registry } } : {}) });
  if (missing.length === 0) return out;
  let done = 0;
  const bytes = missing.reduce((n, p) => n + p.size, 0);
  let doneBytes = 0;
  await inOrder(missing.length, opts.concurrency ?? 4, async (i) => {
    const p = missing[i]!;
    const { path } = await opts.cache.ensure(p.filename, p.urls(), p, {
      ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
    });
    out.set(p.key, path);
    done++;
    doneBytes += p.size;
    opts.onProgress?.(doneBytes, bytes, `${done}/${missing.length} ${p.key}`);
  });
  return out;
}

/** Re-hashes a cached file before use: the cache is trusted only as far as it checks out. */
export function verifyCached(path: string, p: { size: number; sha256: string; filename: string }, buf: Buffer): void {
  const hash = createHash('sha256');
  let size = 0;
  let fd: number | undefined;
  try {
    // A FIFO put in the cache would block the open for ever: opened without blocking, checked.
    fd = openRegularFileSync(path).fd;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; size += n) hash.update(buf.subarray(0, n));
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const got = hash.digest('hex');
  if (size !== p.size || got !== p.sha256) {
    throw new ReproError('E_DIGEST_MISMATCH', `${path} (${p.filename}) in the cache has sha256:${got} (${size} bytes), the lock says sha256:${p.sha256} (${p.size} bytes); delete it and fetch again`);
  }
}

/** The OCI platform of a spec's image: `platform`, else the one of its distribution's architecture. */
export function specPlatform(spec: ImageSpec): Platform {
  if (spec.platform) return parsePlatform(spec.platform);
  const d = distributionFor(spec.source.distro);
  const arch = d.architecture(spec.source);
  const p = d.platform(arch);
  if (!p) throw new ReproError('E_SPEC', `source.architecture ${arch}: no OCI platform known for it; set platform:`);
  return p;
}

/** The spec's manifest annotations, with --annotation over them. */
function annotationsOf(spec: ImageSpec, extra: Record<string, string> | undefined): { annotations?: Record<string, string> } {
  const all = { ...spec.annotations, ...extra };
  return Object.keys(all).length > 0 ? { annotations: all } : {};
}

function containerConfig(spec: ImageSpec): ContainerConfig {
  const c = spec.config;
  const out: ContainerConfig = {};
  if (c.env) out.Env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  if (c.entrypoint) out.Entrypoint = c.entrypoint;
  if (c.cmd) out.Cmd = c.cmd;
  if (c.workdir) out.WorkingDir = c.workdir;
  if (c.user) out.User = c.user;
  if (c.labels) out.Labels = Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (c.exposedPorts) out.ExposedPorts = exposedPorts(c.exposedPorts);
  if (c.volumes) out.Volumes = Object.fromEntries(c.volumes.map((v) => [v, {}]));
  if (c.stopSignal) out.StopSignal = c.stopSignal;
  return out;
}

/**
 * A directory of `files:`, copied under its dest: what it holds (files, directories, symlinks, hard
 * links; devices and fifos too) with the spec's owner, the time of the build and normalised modes
 * (directories 0755, files 0755 when executable by their owner, else 0644), so that the umask of
 * whoever made the directory does not reach the image. Extended attributes are left out.
 */
async function addSpecDirectory(entries: Map<string, Entry>, src: string, dest: string, f: { uid: number; gid: number }, mtime: number, where: string, destPath: InstalledTree['destPath'], added: string[]): Promise<void> {
  const tree = await readDirectory(src);
  if (tree.warnings.length > 0) throw new ReproError('E_SPEC', `${where}: ${tree.warnings[0]}`);
  const base = cleanMemberPath(dest.replace(/^\/+/, ''), where);
  const put = (rel: string, e: Omit<Entry, 'path'>): void => {
    const path = destPath(rel, where);
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
      const parent = entries.get(p);
      if (!parent) entries.set(p, { path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 });
      else if (parent.type !== 'dir') throw new ReproError('E_SPEC', `${where}: dest /${rel} goes through /${p}, which is a ${parent.type} in the image`);
    }
    entries.set(path, { ...e, path } as Entry);
    added.push(path);
  };
  put(base, { type: 'dir', mode: 0o755, uid: f.uid, gid: f.gid, mtime, size: 0 });
  for (const e of tree.entries.values()) {
    const { xattrs: _x, ...rest } = e;
    const mode = e.type === 'dir' ? 0o755 : e.type === 'file' ? (e.mode & 0o100 ? 0o755 : 0o644) : e.mode;
    put(`${base}/${e.path}`, { ...rest, mode, uid: f.uid, gid: f.gid, mtime });
  }
}

/** The paths the spec's `files:` put into the tree, and for each the dest of the entry that put it there last. */
async function addSpecFiles(entries: Map<string, Entry>, loaded: LoadedSpec, mtime: number, destPath: InstalledTree['destPath']): Promise<{ added: string[]; origin: Map<string, string> }> {
  const added: string[] = [];
  const origin = new Map<string, string>();
  for (const [i, f] of loaded.spec.files.entries()) {
    const start = added.length;
    await addSpecFile(entries, loaded, i, mtime, destPath, added);
    for (const p of added.slice(start)) origin.set(p, f.dest);
  }
  return { added, origin };
}

async function addSpecFile(entries: Map<string, Entry>, loaded: LoadedSpec, i: number, mtime: number, destPath: InstalledTree['destPath'], added: string[]): Promise<void> {
  const f = loaded.spec.files[i]!;
  const where = `${loaded.file}: files[${i}]`;
  const src = confinedPath(loaded.dir, f.src, `${where}.src`, 'the spec folder');
  let st;
  try {
    st = statSync(src);
  } catch (e) {
    throw ioError(e, `${where}: cannot read ${src}`);
  }
  if (st.isDirectory()) {
    if (f.mode !== undefined) throw new ReproError('E_SPEC', `${where}: mode applies to a file; a directory's files get 0644, or 0755 when executable`);
    await addSpecDirectory(entries, src, f.dest, f, mtime, where, destPath, added);
    return;
  }
  if (!st.isFile()) throw new ReproError('E_SPEC', `${where}: ${src} is neither a regular file nor a directory`);
  const path = destPath(cleanMemberPath(f.dest.replace(/^\/+/, ''), where), where);
  const mode = f.mode === undefined ? (st.mode & 0o111 ? 0o755 : 0o644) : typeof f.mode === 'number' ? f.mode : parseInt(f.mode, 8);
  for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
    const parent = entries.get(p);
    if (!parent) entries.set(p, { path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 });
    else if (parent.type !== 'dir') throw new ReproError('E_SPEC', `${where}: dest ${f.dest} goes through /${p}, which is a ${parent.type} in the image`);
  }
  entries.set(path, { path, type: 'file', mode, uid: f.uid, gid: f.gid, mtime, size: st.size, content: { kind: 'file', path: src } });
  added.push(path);
}

export interface SpecBuildOptions extends Omit<ImageOptions, 'compression' | 'normalize' | 'config' | 'platform' | 'exclude' | 'keepXattrs'> {
  /**
   * With source.architectures, build only the image of this platform (a plain image, equal to the
   * index's image of it); else it must be the spec's platform.
   */
  platform?: Platform;
  /** The image.yaml; its lock is SPEC.lock.json beside it. */
  spec: string;
  output: ImageRef | string;
  /** The content-addressed cache (see defaultCacheDir). */
  cacheDir: string;
  /** Use only the cache; never open a network connection. */
  offline?: boolean;
  /** Default: the lock's date (Release Date, snapshot day). The environment is not read (see sourceDateEpochFromEnv). */
  sourceDateEpoch?: number;
  aptDir?: string;
  tmpDir?: string;
  onWarning?: (message: string) => void;
  onFetchProgress?: FetchOptions['onProgress'];
}

/** A spec's tree, installed and ready for the shared steps (the caller removes `tmp` and calls `cleanup`). */
export interface SpecTree {
  loaded: LoadedSpec;
  distribution: Distribution;
  entries: Map<string, Entry>;
  sourceDateEpoch: number;
  sourceDateEpochFrom: BuildResult['sourceDateEpochFrom'];
  records: StepRecord[];
  normalize: string[];
  lock: { path: string; digest: string };
  /** Paths the spec's `files:` put into the tree → the dest of the entry that put each there. */
  specFiles: Map<string, string>;
  /** With a base: the packages of our own part (see LayerInputs.ownPackages). */
  ownPackages?: ReadonlySet<string>;
  /** The spec's base image, read from the cache. */
  base?: BaseImage;
  tmp: string;
  cleanup: () => Promise<void>;
}

/**
 * Steps lock → fetch → install → files of a spec build, shared by image and disk outputs. A lock
 * of several architectures is built for one of them (`architecture`), from its own section.
 */
export async function prepareSpecTree(opts: Omit<SpecBuildOptions, 'output'>, architecture?: string): Promise<SpecTree> {
  const loaded = loadSpec(opts.spec);
  const { spec } = loaded;
  const records: StepRecord[] = [];

  // Step: lock
  const lockPath = lockPathFor(loaded.file);
  const { lock: whole, digest: lockDigest } = readLockFile(lockPath);
  checkLockMatches(whole, spec, lockPath, opts.spec);
  const distribution = distributionOf(spec, whole);
  const parts = distribution.split?.(whole);
  let lock = whole;
  if (parts !== undefined) {
    const part = parts.find((x) => x.architecture === architecture);
    // buildSpec always names one; a disk holds one architecture's tree.
    if (!part) throw new ReproError('E_USAGE', `${opts.spec}: source.architectures (${parts.map((x) => x.architecture).join(', ')}) makes OCI images; a disk image is built from a spec of one source.architecture`);
    lock = part.lock as LockFile;
  }
  records.push({ step: 'lock', reports: [] });

  // Step: fetch
  const cache = new Cache(opts.cacheDir);
  const files = await fetchLocked(spec, lock, {
    cache, ...(opts.offline ? { offline: true } : {}), ...(opts.aptDir ? { aptDir: opts.aptDir } : {}),
    ...(opts.onFetchProgress ? { onProgress: opts.onFetchProgress } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const p of lockedFiles(spec, lock, opts.aptDir)) verifyCached(files.get(p.key)!, p, buf);
  records.push({ step: 'fetch', reports: [] });

  const sde = opts.sourceDateEpoch ?? lock.source.sourceDateEpoch;
  const tmp = await makeScratchDir(opts.tmpDir);
  let cleanup: (() => Promise<void>) | undefined;
  try {
    // Step: install (the distribution's packages, database and script effects)
    const installed = await distribution.install(lock, files, tmp, sde);
    cleanup = installed.cleanup;
    records.push({ step: 'install', reports: installed.reports });

    // Step: spec files
    const { added, origin } = await addSpecFiles(installed.entries, loaded, sde, installed.destPath);
    records.push({ step: 'files', reports: added.length > 0 ? [{ name: 'spec files', changed: added.length, examples: added.slice(0, 10), paths: added }] : [] });

    // Step: base (its tree read from the cache; its package database kept in ours)
    const base = lock.base ? await readBase(lock.base, cache, distribution.baseDatabaseFiles ?? []) : undefined;
    // Our own packages, read before the base's records are merged into the database: `layers:`
    // cuts these only (the base's packages are in the base's layers).
    const ownPackages = base ? new Set(treePackages(installed.entries, distribution).map((p) => p.name)) : undefined;
    if (base) {
      const merged = distribution.mergeBaseDatabase?.(installed.entries, base.kept) ?? [];
      records.push({ step: 'base', reports: merged.length > 0 ? [{ name: 'base package database', changed: merged.length, examples: merged, paths: merged }] : [] });
    }
    const normalize = spec.normalize === 'all' ? [...PASS_NAMES] : spec.normalize === 'none' ? [] : spec.normalize;
    return {
      loaded, distribution, entries: installed.entries, sourceDateEpoch: sde,
      sourceDateEpochFrom: opts.sourceDateEpoch !== undefined ? 'option' : distribution.epochFrom(lock),
      records, normalize, lock: { path: lockPath, digest: lockDigest }, specFiles: origin, ...(base ? { base } : {}), ...(ownPackages ? { ownPackages } : {}), tmp, cleanup: installed.cleanup,
    };
  } catch (e) {
    await cleanup?.();
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The platform of each architecture a spec builds one image for (source.architectures), in its order. */
export function specPlatforms(spec: ImageSpec): Array<{ architecture: string; platform: Platform }> | undefined {
  const d = distributionFor(spec.source.distro);
  const archs = d.architectures?.(spec.source);
  if (archs === undefined) return undefined;
  return archs.map((architecture) => {
    const platform = d.platform(architecture);
    if (!platform) throw new ReproError('E_SPEC', `source.architectures: no OCI platform known for ${architecture}`);
    return { architecture, platform };
  });
}

export type SpecBuildResult = BuildResult & {
  lock: { path: string; digest: string };
  /** With source.architectures (and no platform option): the OCI index written, and each platform's image in it. */
  imageIndex?: BlobInfo & { platforms: Array<{ platform: string; manifest: BlobInfo; config: BlobInfo; layers: BuildResult['layers'] }> };
};

export async function buildSpec(opts: SpecBuildOptions): Promise<SpecBuildResult> {
  checkImageOptions(opts);
  const output = typeof opts.output === 'string' ? parseImageRef(opts.output, option('output')) : opts.output;
  const spec = loadSpec(opts.spec).spec;
  const platforms = specPlatforms(spec);
  if (platforms === undefined) {
    if (opts.platform !== undefined && formatPlatform(opts.platform) !== formatPlatform(specPlatform(spec)) && !platformMatches(opts.platform, specPlatform(spec))) {
      throw new ReproError('E_USAGE', `${option('platform')} ${formatPlatform(opts.platform)}: the spec builds ${formatPlatform(specPlatform(spec))} only (source.architectures builds several)`);
    }
    return buildSpecOne(opts, output, undefined, specPlatform(spec));
  }
  if (opts.platform !== undefined) {
    const want = opts.platform;
    const hit = platforms.find((p) => platformMatches(want, p.platform));
    if (!hit) throw new ReproError('E_USAGE', `${option('platform')} ${formatPlatform(want)}: the spec builds ${platforms.map((p) => formatPlatform(p.platform)).join(', ')}`);
    return buildSpecOne(opts, output, hit.architecture, hit.platform);
  }
  if ((opts.attach ?? []).length > 0) throw new ReproError('E_UNSUPPORTED', `${opts.spec}: attachments (an SBOM, provenance) are made for one platform; build each with ${option('platform')}`);
  if (output.transport === 'docker-archive') throw new ReproError('E_USAGE', `${opts.spec}: a docker-archive holds no index; build one platform with ${option('platform')}, or write oci:, oci-archive: or docker://`);
  // Each platform's image into a layout of its own in scratch, then one index over them.
  const scratch = await makeScratchDir(opts.tmpDir);
  try {
    const built: Array<{ platform: Platform; result: SpecBuildResult; graph: ImageGraph }> = [];
    for (const [i, p] of platforms.entries()) {
      const ref = parseImageRef(`oci:${join(scratch, `platform-${i}`)}`, option('output'));
      const { registry: _r, ...local } = opts;
      const result = await buildSpecOne(local, ref, p.architecture, p.platform);
      built.push({ platform: p.platform, result, graph: await loadGraph(await openImage(ref)) });
    }
    built.sort((a, b) => (formatPlatform(a.platform) < formatPlatform(b.platform) ? -1 : formatPlatform(a.platform) > formatPlatform(b.platform) ? 1 : 0));
    const index = encodeIndex({
      schemaVersion: 2, mediaType: MediaType.ociIndex,
      manifests: built.map((b) => ({ mediaType: MediaType.ociManifest, digest: b.result.manifest.digest, size: b.result.manifest.size, platform: b.platform })),
    });
    const root = { mediaType: MediaType.ociIndex, digest: index.digest, size: index.bytes.length };
    const documents = built.flatMap((b) => b.graph.documents);
    const blobs = new Map<string, ImageGraph['blobs'][number]>();
    for (const b of built) for (const x of b.graph.blobs) if (!blobs.has(x.descriptor.digest)) blobs.set(x.descriptor.digest, x);
    const graph: ImageGraph = { root, documents: [...documents, { descriptor: root, bytes: index.bytes }], blobs: [...blobs.values()] };
    const first = built[0]!.result;
    const written = await writeGraph(output, graph, first.sourceDateEpoch, opts.registry ? { registry: opts.registry } : {});
    const imageIndex = {
      ...root,
      platforms: built.map((b) => ({ platform: formatPlatform(b.platform), manifest: b.result.manifest, config: b.result.config, layers: b.result.layers })),
    };
    const { index: _i, ...rest } = first;
    return {
      ...rest, reference: formatImageRef(output), imageIndex,
      ...(written.index ? { index: { digest: written.index.digest, size: written.index.bytes.length, mediaType: MediaType.ociIndex } } : {}),
      warnings: built.flatMap((b) => b.result.warnings),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function buildSpecOne(opts: Omit<SpecBuildOptions, 'output'>, output: ImageRef, architecture: string | undefined, platform: Platform): Promise<SpecBuildResult> {
  const t = await prepareSpecTree(opts, architecture);
  try {
    const { spec } = t.loaded;
    const strategy = spec.layers;
    const base = t.base;
    if (base && output.transport === 'docker-archive') throw new ReproError('E_USAGE', `${option('output')}: a docker-archive is not written for an image on a base; write oci:, oci-archive: or docker://`);
    const config = base ? mergeContainerConfig(base.config.value.config, containerConfig(spec)) : containerConfig(spec);
    const result = await buildTree(
      {
        entries: t.entries, output, tmp: t.tmp, label: architecture === undefined ? opts.spec : `${opts.spec} (${architecture})`, sourceDateEpoch: t.sourceDateEpoch,
        ...(base ? { base: { manifest: { digest: base.lock.manifest.digest as Digest, size: base.lock.manifest.size, mediaType: base.lock.manifest.mediaType }, layers: base.layers, history: base.history, whiteouts: (entries) => removalWhiteouts(base, baseRemoveOf(spec.base!), entries, t.sourceDateEpoch) } } : {}),
        ...(strategy === 'single' ? {} : { layering: (entries) => planLayers(entries, strategy, { distribution: t.distribution, specFiles: t.specFiles, where: t.loaded.file, ...(t.ownPackages ? { ownPackages: t.ownPackages } : {}) }) }),
        options: { ...opts, compression: spec.compression, normalize: t.normalize, platform, config, ...annotationsOf(spec, opts.annotations) },
      },
      { sourceDateEpochFrom: t.sourceDateEpochFrom, warnings: [], before: t.records },
    );
    return { ...result, lock: t.lock };
  } finally {
    await t.cleanup();
    await rm(t.tmp, { recursive: true, force: true });
  }
}
