/**
 * `build` from a root filesystem: a directory or tar archive becomes a one-layer OCI image. Steps:
 * source (read the tree, choose SOURCE_DATE_EPOCH), then the shared passes → layers → config →
 * manifest → output (tree-steps.ts).
 */
import { rm, stat } from 'node:fs/promises';
import { makeScratchDir } from '../fs/scratch.js';
import { ReproError, ioError, option } from '../model/errors.js';
import { readDirectory } from '../sources/rootfs/directory.js';
import { readTarball, type RootfsTree } from '../sources/rootfs/tarball.js';
import { newestMtime } from '../sources/rootfs/tree.js';
import { parseImageRef, type ImageRef } from '../transports/reference.js';
import { PASS_NAMES } from './passes.js';
import type { StepReport } from './steps.js';
import { buildTree, type BuildResult, type ImageOptions } from './tree-steps.js';
import { checkCompression, checkContainerConfig, checkPasses, checkPlatform, checkRecord, checkSourceDateEpoch, checkStrings } from './validate.js';

export interface RootfsBuildOptions extends ImageOptions {
  /** A directory, or a .tar, .tar.gz, .tar.xz or .tar.zst file. */
  rootfs: string;
  output: ImageRef | string;
  /**
   * Seconds since the epoch. Required for a directory; a tarball defaults to its newest mtime. The
   * library does not read SOURCE_DATE_EPOCH from the environment: pass
   * `sourceDateEpochFromEnv(process.env)` to honour it, as the CLI does.
   */
  sourceDateEpoch?: number;
  /**
   * false: the image gets no extended attributes (a directory's are not read at all, so fs-xattr
   * is not needed; a tarball's are left out). Default true: a directory whose attributes cannot be
   * read is refused.
   */
  xattrs?: boolean;
  /** Where temporary files go (default: the OS temp dir). Never part of the output. */
  tmpDir?: string;
  onWarning?: (message: string) => void;
}

/** Checks what an untyped caller may have passed, before any work. */
export function checkImageOptions(opts: ImageOptions & { sourceDateEpoch?: number }): void {
  if (opts.sourceDateEpoch !== undefined) checkSourceDateEpoch(opts.sourceDateEpoch);
  if (opts.compression !== undefined) checkCompression(opts.compression);
  if (opts.platform !== undefined) checkPlatform(opts.platform);
  if (opts.normalize !== undefined) checkPasses(opts.normalize);
  if (opts.config !== undefined) checkContainerConfig(opts.config);
  if (opts.annotations !== undefined) checkRecord(opts.annotations, 'annotations');
  if (opts.exclude !== undefined) checkStrings(opts.exclude, 'exclude');
  if (opts.keepXattrs !== undefined) checkStrings(opts.keepXattrs, 'keepXattrs');
}

export async function readRootfs(path: string, tmp: string, xattrs: boolean): Promise<{ tree: RootfsTree; isDir: boolean }> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw ioError(e, `${option('rootfs')} ${path}`);
  }
  const tree = isDir
    ? await readDirectory(path, { xattrs, skipXattrs: `pass ${option('xattrs=false')} to build without them` })
    : await readTarball(path, tmp);
  if (!xattrs) for (const e of tree.entries.values()) delete e.xattrs;
  return { tree, isDir };
}

export async function buildRootfs(opts: RootfsBuildOptions): Promise<BuildResult> {
  checkImageOptions(opts);
  const output = typeof opts.output === 'string' ? parseImageRef(opts.output, option('output')) : opts.output;
  const tmp = await makeScratchDir(opts.tmpDir);
  let tree: RootfsTree | undefined;
  try {
    // Step: source — the tree, and the time it is built at.
    const read = await readRootfs(opts.rootfs, tmp, opts.xattrs !== false);
    tree = read.tree;
    tree.warnings.forEach((m) => opts.onWarning?.(m));
    let sde = opts.sourceDateEpoch;
    let from: BuildResult['sourceDateEpochFrom'] = 'option';
    if (sde === undefined) {
      if (read.isDir) {
        throw new ReproError('E_BAD_EPOCH', `${option('rootfs')} ${opts.rootfs} is a directory: set SOURCE_DATE_EPOCH (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)) or pass ${option('sourceDateEpoch')} N`);
      }
      sde = Math.max(0, newestMtime(tree.entries.values()) ?? 0);
      from = 'newest-entry';
    }
    const source: StepReport[] = [];
    return await buildTree(
      { entries: tree.entries, output, tmp, label: opts.rootfs, sourceDateEpoch: sde, options: { ...opts, normalize: opts.normalize ?? [...PASS_NAMES] } },
      { sourceDateEpochFrom: from, warnings: tree.warnings, before: [{ step: 'source', reports: source }] },
    );
  } finally {
    await tree?.cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
}
