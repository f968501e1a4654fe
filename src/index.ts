/**
 * repro-image as a library: every command is a function taking an options object and returning
 * data; the CLI only parses flags, calls these and renders what they return.
 *
 * Conventions shared by every function:
 * - References are strings in containers-transports(5) form (`oci:DIR[:TAG]`, `docker://…`) or
 *   parsed `ImageRef`s.
 * - Registry settings are one shape everywhere: `registry` (both sides), and where a call reads two
 *   references, `sourceRegistry`/`destinationRegistry` (copy) or `registryA`/`registryB` (diff).
 * - SOURCE_DATE_EPOCH: the `sourceDateEpoch` option; the library never reads the environment. Pass
 *   `sourceDateEpoch: sourceDateEpochFromEnv(process.env)` to honour the variable as the CLI does.
 * - Errors are `ReproError`s with a stable `code`, an `exitCode` and a message that names the
 *   option at fault (the CLI prints the flag instead, see `ReproError.render`).
 */

// Commands
export { build, type BuildOptions } from './pipeline/build.js';
export { buildRootfs, type RootfsBuildOptions } from './pipeline/rootfs.js';
export { buildSpec, fetchLocked, specPlatform, type SpecBuildOptions } from './pipeline/spec.js';
export { buildDisk, type DiskBuildOptions, type DiskBuildResult } from './pipeline/disk.js';
export { lock, lockSpec, describeLock, type LockOptions, type LockResult } from './pipeline/lock.js';
export { fetch, type FetchOptions, type FetchResult } from './pipeline/fetch.js';
export { copy, type CopyOptions, type CopyResult } from './transports/copy.js';
export { inspect, inspectRaw, type InspectResult } from './verify/inspect.js';
export { renderInspect } from './verify/render-inspect.js';
export { diff, type DiffOptions } from './diff/image-diff.js';
export { renderText as renderDiffText, renderJson as renderDiffJson, renderHtml as renderDiffHtml, FINDINGS } from './diff/index.js';
export type { DiffResult, Difference, Finding as DiffFinding } from './diff/index.js';
export { verify, type VerifyOptions, type VerifyResult } from './verify/verify.js';
export { verifyDisk, type VerifyDiskOptions, type VerifyDiskResult } from './verify/verify-disk.js';
export { compareImages, type VerifyFinding } from './verify/compare.js';
export { status, type StatusOptions } from './status/status.js';
export { renderText as renderStatusText, type StatusReport } from './status/report.js';
export { jsonSchema, type ImageSpec } from './spec/schema.js';

// Build results and options
export type { BuildResult, ImageOptions } from './pipeline/tree-steps.js';
export { DEFAULT_PLATFORM } from './pipeline/tree-steps.js';
export { PASSES, PASS_NAMES, selectPasses, type PassReport } from './pipeline/passes.js';
export { parseSourceDateEpoch, sourceDateEpochFromEnv } from './pipeline/epoch.js';

// References, platforms, the image model, transports
export { parseImageRef, formatImageRef, type ImageRef } from './transports/reference.js';
export { parsePlatform, formatPlatform, type Platform } from './model/platform.js';
export { openImage, writeImage, writeGraph, type TransportOptions, type WriteResult } from './transports/index.js';
export type { RegistryOptions } from './transports/registry/client.js';
export { readImage, viewImage, resolveImage, manifestOf, type ImageView, type ResolvedImage } from './image/read.js';
export type { LayerReader } from './image/layer.js';
export { loadGraph, imageGraph, type ImageGraph } from './image/graph.js';
export { selectPlatform } from './image/select.js';

// Specs, locks, distributions
export { loadSpec, parseSpec } from './spec/load.js';
export { readLock, writeLock, type LockFile } from './spec/lockfile.js';
export { DISTRIBUTIONS, distributionFor } from './sources/index.js';
export type { Distribution, InstalledPackage } from './sources/distribution.js';
export { Cache, defaultCacheDir } from './fetch/cache.js';
export { useProxies, proxySettingsFromEnv, type ProxySettings } from './fetch/proxy.js';

// Codecs
export { ReproError, MismatchError, type ErrorCode } from './model/errors.js';
export { canonicalize } from './model/canonical-json.js';
export { gzipStream, nativeMatchesReference, GZIP_BLOCK_SIZE } from './archive/gzip.js';
export { zstdStream, zstdVersion } from './archive/zstd.js';
export { readTar } from './archive/tar-reader.js';
export { tarBlocks, tarChunks, orderEntries } from './archive/tar-writer.js';
export type { Entry, EntryType, ContentRef } from './archive/entry.js';
export { writeDisk, resolvePartitions, type DiskInput, type DiskResult, type PartitionInput, type PartitionResult } from './disk/assemble.js';
export { openDisk, type OpenedDisk, type DiskPartition } from './disk/open.js';
export type { FsReader, FsEntry, FsInfo } from './disk/fs-reader.js';
