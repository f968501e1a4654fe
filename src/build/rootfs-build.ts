/**
 * `build --rootfs`: a directory or tar archive becomes a one-layer OCI image. The pipeline is a
 * list of named steps over a file tree of metadata and content references; the clock
 * (SOURCE_DATE_EPOCH) comes in as a parameter.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { orderEntries } from '../archive/tar-writer.js';
import type { Entry } from '../archive/entry.js';
import { chooseDeflate, type GzipOptions } from '../archive/gzip.js';
import type { ZstdOptions } from '../archive/zstd.js';
import { scratchFileSource } from '../image/file-source.js';
import type { Image } from '../image/image.js';
import type { ContainerConfig } from '../model/config.js';
import { encodeConfig } from '../model/config.js';
import type { Digest } from '../model/digest.js';
import { ReproError, ioError } from '../model/errors.js';
import { encodeManifest, type Manifest } from '../model/manifest.js';
import { MediaType, type Compression } from '../model/media-types.js';
import { CREATED } from '../model/oci-index.js';
import type { Platform } from '../model/platform.js';
import { readDirectory } from '../sources/rootfs/directory.js';
import { readTarball, type RootfsTree } from '../sources/rootfs/tarball.js';
import { newestMtime } from '../sources/rootfs/tree.js';
import { writeImage } from '../transports/index.js';
import { tempNameFor } from '../transports/atomic.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { imageConfig } from './image-config.js';
import { writeLayer, type Progress } from './layer.js';
import { PASS_NAMES, runPasses, type PassReport } from './passes.js';

export interface RootfsBuildOptions {
  /** A directory, or a .tar, .tar.gz or .tar.zst file. */
  rootfs: string;
  output: ImageRef | string;
  /** Seconds since the epoch. Required for a directory; a tarball defaults to its newest mtime. */
  sourceDateEpoch?: number;
  compression?: Compression;
  platform?: Platform;
  config?: ContainerConfig;
  annotations?: Record<string, string>;
  exclude?: string[];
  /** Normalisation passes to run (default: all). */
  normalize?: string[];
  /** xattr names (globs) kept by the xattrs pass. Default: security.capability and user.*. */
  keepXattrs?: string[];
  /**
   * false: the image gets no extended attributes (a directory's are not read at all, so fs-xattr
   * is not needed; a tarball's are left out). Default true: a directory whose attributes cannot be
   * read is refused.
   */
  xattrs?: boolean;
  /** Where temporary files go (default: the OS temp dir). Never part of the output. */
  tmpDir?: string;
  /**
   * Where the layer is written before it goes into the output (default: beside an `oci:` layout,
   * so that it can be renamed into place rather than copied; else tmpDir).
   */
  scratchDir?: string;
  gzip?: GzipOptions;
  zstd?: ZstdOptions;
  onProgress?: Progress;
  onWarning?: (message: string) => void;
  /** Credentials, TLS and upload settings when the output is docker://. */
  registry?: RegistryOptions;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
  mediaType: string;
}

export interface BuildResult {
  reference: string;
  manifest: BlobInfo;
  config: BlobInfo;
  index?: BlobInfo;
  layers: Array<BlobInfo & { diffId: Digest; uncompressedSize: number }>;
  sourceDateEpoch: number;
  sourceDateEpochFrom: 'option' | 'newest-entry' | 'release-date' | 'snapshot-date';
  entries: number;
  normalize: PassReport[];
  warnings: string[];
  /** Which deflate implementation produced a gzip layer (the bytes are the same either way). */
  deflate?: 'native' | 'reference';
}

export const DEFAULT_PLATFORM: Platform = { architecture: 'amd64', os: 'linux' };
export const DEFAULT_KEEP_XATTRS = ['security.capability', 'user.*'];

async function readRootfs(path: string, tmp: string, xattrs: boolean): Promise<{ tree: RootfsTree; isDir: boolean }> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw ioError(e, `--rootfs ${path}`);
  }
  const tree = isDir
    ? await readDirectory(path, { xattrs, skipXattrs: 'pass --no-xattrs to build without them' })
    : await readTarball(path, tmp);
  if (!xattrs) for (const e of tree.entries.values()) delete e.xattrs;
  return { tree, isDir };
}

/** The layer's scratch file: beside an `oci:` layout when possible (one rename, no copy). */
async function scratchPath(scratchDir: string | undefined, ref: ImageRef, tmp: string): Promise<string> {
  let dir = scratchDir;
  if (dir === undefined && ref.transport === 'oci') {
    const parent = dirname(resolve(ref.path));
    try {
      await mkdir(parent, { recursive: true });
      dir = parent;
    } catch {
      // Not creatable here: the write step will report it; scratch goes to the temp dir.
    }
  }
  return dir === undefined ? join(tmp, 'layer') : tempNameFor(join(dir, 'layer'));
}

export interface TreeBuildOptions extends Omit<RootfsBuildOptions, 'rootfs' | 'sourceDateEpoch' | 'output' | 'xattrs'> {
  sourceDateEpoch: number;
  sourceDateEpochFrom: BuildResult['sourceDateEpochFrom'];
  /** Names the input in messages and error paths. */
  label: string;
  warnings: string[];
  /** Reports of steps before normalisation (e.g. package script effects), listed first. */
  extraReports?: PassReport[];
}

/**
 * The steps every build shares once it has a file tree: normalise, write the layer, make config and
 * manifest, write the output. `tmp` is the caller's temporary directory.
 */
export async function buildFromTree(entries: Map<string, Entry>, ref: ImageRef, tmp: string, opts: TreeBuildOptions): Promise<BuildResult> {
  const compression = opts.compression ?? 'gzip';
  const platform = opts.platform ?? DEFAULT_PLATFORM;
  const sde = opts.sourceDateEpoch;
  let layerPath: string | undefined;
  try {
    // Step: normalize
    const reports = [...(opts.extraReports ?? []), ...runPasses(entries, opts.normalize ?? [...PASS_NAMES], {
      sourceDateEpoch: sde,
      exclude: opts.exclude ?? [],
      keepXattrs: opts.keepXattrs ?? DEFAULT_KEEP_XATTRS,
    })];

    // Step: write-layer
    const ordered = orderEntries(entries.values());
    const deflate = compression === 'gzip' ? chooseDeflate(opts.gzip?.impl) : undefined;
    layerPath = await scratchPath(opts.scratchDir, ref, tmp);
    const layer = await writeLayer(ordered, compression, layerPath, opts.label, {
      gzip: { ...opts.gzip, ...(deflate ? { impl: deflate } : {}) },
      ...(opts.zstd ? { zstd: opts.zstd } : {}),
      ...(opts.onProgress ? { progress: opts.onProgress } : {}),
    });

    // Step: config and manifest
    const config = encodeConfig(imageConfig({ platform, sourceDateEpoch: sde, diffIds: [layer.diffId], container: opts.config ?? {} }));
    const manifestValue: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.bytes.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
      annotations: { [CREATED]: config.value.created!, ...opts.annotations },
    };
    const manifest = encodeManifest(manifestValue);
    const image: Image = {
      manifest,
      config,
      platform,
      layers: [{ descriptor: manifestValue.layers[0]!, diffId: layer.diffId, source: scratchFileSource(layer.path) }],
    };

    // Step: write-output
    const written = await writeImage(ref, image, sde, opts.registry ? { registry: opts.registry } : {});
    const result: BuildResult = {
      reference: formatImageRef(ref),
      manifest: { digest: manifest.digest, size: manifest.bytes.length, mediaType: MediaType.ociManifest },
      config: { digest: config.digest, size: config.bytes.length, mediaType: MediaType.ociConfig },
      layers: [{ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: layer.diffId, uncompressedSize: layer.uncompressedSize }],
      sourceDateEpoch: sde,
      sourceDateEpochFrom: opts.sourceDateEpochFrom,
      entries: ordered.length,
      normalize: reports,
      warnings: opts.warnings,
    };
    if (written.index) result.index = { digest: written.index.digest, size: written.index.bytes.length, mediaType: MediaType.ociIndex };
    if (deflate) result.deflate = deflate;
    return result;
  } finally {
    // Gone already when it was renamed into a layout; else (archive, registry, failure) removed here.
    if (layerPath !== undefined) await rm(layerPath, { force: true });
  }
}

export async function buildRootfs(opts: RootfsBuildOptions): Promise<BuildResult> {
  const ref = typeof opts.output === 'string' ? parseImageRef(opts.output, '--output') : opts.output;
  const warn = (m: string): void => opts.onWarning?.(m);
  const tmp = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'repro-image-')).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
  let tree: RootfsTree | undefined;
  try {
    // Step: read-rootfs
    const read = await readRootfs(opts.rootfs, tmp, opts.xattrs !== false);
    tree = read.tree;
    tree.warnings.forEach(warn);

    // Step: source-date-epoch
    let sde = opts.sourceDateEpoch;
    let sdeFrom: BuildResult['sourceDateEpochFrom'] = 'option';
    if (sde === undefined) {
      if (read.isDir) {
        throw new ReproError('E_BAD_EPOCH', `--rootfs ${opts.rootfs} is a directory: set SOURCE_DATE_EPOCH (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)) or pass --source-date-epoch N`);
      }
      sde = Math.max(0, newestMtime(tree.entries.values()) ?? 0);
      sdeFrom = 'newest-entry';
    }
    const { rootfs: _r, output: _o, sourceDateEpoch: _s, xattrs: _x, ...rest } = opts;
    return await buildFromTree(tree.entries, ref, tmp, { ...rest, sourceDateEpoch: sde, sourceDateEpochFrom: sdeFrom, label: opts.rootfs, warnings: tree.warnings });
  } finally {
    await tree?.cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
}
