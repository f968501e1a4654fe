/** repro-image as a library: every command is a function taking an options object. */
export { buildRootfs, type RootfsBuildOptions, type BuildResult, DEFAULT_PLATFORM } from './build/rootfs-build.js';
export { PASSES, PASS_NAMES, selectPasses, type PassReport } from './build/passes.js';
export { parseSourceDateEpoch } from './build/epoch.js';
export { inspect, type InspectResult } from './verify/inspect.js';
export { diff, type DiffOptions, type DiffResult, type Difference, type Finding } from './diff/index.js';
export { parseImageRef, formatImageRef, type ImageRef } from './transports/reference.js';
export { openImage, writeImage } from './transports/index.js';
export { ReproError, type ErrorCode } from './model/errors.js';
export { canonicalize } from './model/canonical-json.js';
export { gzipStream, nativeMatchesReference, GZIP_BLOCK_SIZE } from './archive/gzip.js';
export { zstdStream, zstdVersion } from './archive/zstd.js';
export { readTar } from './archive/tar-reader.js';
export { tarBlocks, tarChunks, orderEntries } from './archive/tar-writer.js';
export type { Entry, EntryType, ContentRef } from './archive/entry.js';
