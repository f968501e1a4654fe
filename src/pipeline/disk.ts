/**
 * `build … --output disk:FILE.raw`: the tree of a spec (lock → fetch → install → files) or of a
 * root filesystem, then the passes, the boot loader (if asked), and the disk (src/disk/assemble.ts):
 * GPT, file systems, verity, all from the `disk:` definition and its seed.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Entry } from '../archive/entry.js';
import { resolvePartitions, writeDisk, type DiskInput, type DiskResult, type PartitionInput } from '../disk/assemble.js';
import { dpsArchitecture } from '../disk/partition-types.js';
import { parseUuid } from '../disk/uuid.js';
import { makeScratchDir } from '../fs/scratch.js';
import { ReproError, option } from '../model/errors.js';
import { newestMtime } from '../sources/rootfs/tree.js';
import type { DiskSpec } from '../spec/disk-schema.js';
import { installSystemdBoot, type BootloaderResult } from './bootloader.js';
import { PASS_NAMES, runPasses } from './passes.js';
import { readRootfs } from './rootfs.js';
import type { StepRecord, StepReport } from './steps.js';
import { DEFAULT_KEEP_XATTRS, type BuildResult } from './tree-steps.js';
import { checkPasses, checkSourceDateEpoch, checkStrings } from './validate.js';
import type { FetchOptions } from './spec.js';

export interface DiskBuildOptions {
  /** An image spec with a `disk:` section (its lock beside it). */
  spec?: string;
  /** Or a root filesystem (directory or tarball) with `disk`. */
  rootfs?: string;
  /** The disk definition: for a rootfs build (an object, or a YAML file); for a spec, its `disk:` is used. */
  disk?: DiskSpec | string;
  /** `disk:FILE.raw` or a file path. */
  output: string;
  sourceDateEpoch?: number;
  /** Rootfs builds: passes to run (default all), exclusions, xattrs kept. A spec says its own. */
  normalize?: string[];
  exclude?: string[];
  keepXattrs?: string[];
  /** Rootfs builds: read extended attributes (default true; false for file systems that cannot list them). */
  xattrs?: boolean;
  /** Spec builds: the cache, offline mode, apt configuration. */
  cacheDir?: string;
  offline?: boolean;
  aptDir?: string;
  tmpDir?: string;
  onWarning?: (message: string) => void;
  onFetchProgress?: FetchOptions['onProgress'];
}

export interface DiskBuildResult {
  reference: string;
  disk: DiskResult;
  sourceDateEpoch: number;
  sourceDateEpochFrom: BuildResult['sourceDateEpochFrom'];
  entries: number;
  steps: string[];
  normalize: StepReport[];
  warnings: string[];
  bootloader?: { kernel: string; entry: string; initrdBytes: number };
  lock?: { path: string; digest: string };
}

/** `disk:FILE` → FILE; undefined for anything else. */
export function diskOutputPath(output: string): string | undefined {
  return output.startsWith('disk:') ? output.slice('disk:'.length) : undefined;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(v: string | number, where: string): number {
  if (typeof v === 'number') return v;
  const m = /^([1-9][0-9]*)([KMGT]?)(?:i?B)?$/.exec(v);
  if (!m) throw new ReproError('E_SPEC', `${where}: ${JSON.stringify(v)} is not a size`);
  const n = Number(m[1]) * UNITS[m[2]!]!;
  if (!Number.isSafeInteger(n)) throw new ReproError('E_SPEC', `${where}: ${v} is too large`);
  return n;
}

const entryPath = (p: string): string => p.replace(/^\/+/, '').replace(/\/+$/, '');

/** The disk definition of a spec, as the disk writer takes it. */
export function diskInput(spec: DiskSpec, architecture: string, where: string): DiskInput {
  return {
    seed: parseUuid(spec.seed, `${where}: disk.seed`),
    sectorSize: spec.sectorSize,
    architecture: dpsArchitecture(spec.architecture ?? architecture),
    partitions: spec.partitions.map((p, i): PartitionInput => {
      const input: PartitionInput = {
        kind: p.type,
        size: p.size === 'minimize' ? 'minimize' : parseSize(p.size, `${where}: disk.partitions[${i}].size`),
        format: p.format ?? 'none',
        exclude: p.exclude.map(entryPath),
      };
      if (p.label !== undefined) input.label = p.label;
      if (p.contents !== undefined) input.contents = entryPath(p.contents);
      if (p.verity !== undefined) input.verity = p.verity;
      if (p.readOnly !== undefined) input.readOnly = p.readOnly;
      if (p.growFileSystem !== undefined) input.growFileSystem = p.growFileSystem;
      return input;
    }),
  };
}

/** The directories the kernel and systemd mount file systems on (/dev, /proc, /sys, /run, /tmp). */
const API_DIRS: Array<[string, number]> = [['dev', 0o755], ['proc', 0o555], ['run', 0o755], ['sys', 0o555], ['tmp', 0o1777]];

/**
 * A root partition holding the whole tree gets the mount points a booted system needs when the
 * tree lacks them (package installs do not make them; debootstrap and mkosi do).
 */
function apiMountPoints(entries: Map<string, Entry>, def: DiskInput, sde: number): string[] {
  if (!def.partitions.some((p) => p.kind === 'root' && p.contents === '')) return [];
  const made: string[] = [];
  for (const [path, mode] of API_DIRS) {
    if (entries.has(path)) continue;
    entries.set(path, { path, type: 'dir', mode, uid: 0, gid: 0, mtime: sde, size: 0 });
    made.push(path);
  }
  return made;
}

/** The shared steps once a tree is there: passes → mount points → bootloader → disk. */
async function buildDiskTree(entries: Map<string, Entry>, spec: DiskSpec, architecture: string, path: string, o: {
  sourceDateEpoch: number; normalize: string[]; exclude: string[]; keepXattrs: string[]; where: string;
}): Promise<{ disk: DiskResult; records: StepRecord[]; bootloader?: BootloaderResult }> {
  const records: StepRecord[] = [];
  records.push({ step: 'passes', reports: runPasses(entries, o.normalize, { sourceDateEpoch: o.sourceDateEpoch, exclude: o.exclude, keepXattrs: o.keepXattrs }) });
  const def = diskInput(spec, architecture, o.where);
  const resolved = resolvePartitions(def, o.where);
  const made = apiMountPoints(entries, def, o.sourceDateEpoch);
  if (made.length > 0) records.push({ step: 'mount points', reports: [{ name: 'mount points', changed: made.length, examples: made }] });
  let bootloader: BootloaderResult | undefined;
  if (spec.bootloader === 'systemd-boot') {
    bootloader = installSystemdBoot(entries, resolved, { sourceDateEpoch: o.sourceDateEpoch, architecture: def.architecture, ...(spec.kernelCommandLine ? { kernelCommandLine: spec.kernelCommandLine } : {}), where: o.where });
    records.push({ step: 'bootloader', reports: [bootloader.report] });
  }
  const disk = await writeDisk(entries, def, resolved, path, { sourceDateEpoch: o.sourceDateEpoch, where: o.where });
  records.push({ step: 'disk', reports: [] });
  return bootloader ? { disk, records, bootloader } : { disk, records };
}

export async function buildDisk(opts: DiskBuildOptions): Promise<DiskBuildResult> {
  if ((opts.spec === undefined) === (opts.rootfs === undefined)) throw new ReproError('E_USAGE', `build: give either ${option('rootfs')} or ${option('spec')}`);
  if (opts.sourceDateEpoch !== undefined) checkSourceDateEpoch(opts.sourceDateEpoch);
  if (opts.normalize !== undefined) checkPasses(opts.normalize);
  if (opts.exclude !== undefined) checkStrings(opts.exclude, 'exclude');
  if (opts.keepXattrs !== undefined) checkStrings(opts.keepXattrs, 'keepXattrs');
  const path = resolve(diskOutputPath(opts.output) ?? opts.output);
  const reference = `disk:${diskOutputPath(opts.output) ?? opts.output}`;
  const keepXattrs = opts.keepXattrs ?? DEFAULT_KEEP_XATTRS;

  if (opts.spec !== undefined) {
    if (opts.disk !== undefined) throw new ReproError('E_USAGE', `${option('disk')} applies to root filesystem builds; a spec has its own disk: section`);
    const { prepareSpecTree, specPlatform } = await import('./spec.js');
    if (opts.cacheDir === undefined) throw new ReproError('E_USAGE', `${option('cacheDir')} is required for a spec build`);
    const t = await prepareSpecTree({ ...opts, spec: opts.spec, cacheDir: opts.cacheDir });
    try {
      const spec = t.loaded.spec;
      if (!spec.disk) throw new ReproError('E_SPEC', `${opts.spec}: no disk: section (needed for --output disk:FILE)`);
      if (t.base) throw new ReproError('E_SPEC', `${opts.spec}: a disk image is not built on a base: image (see docs/base-images.md)`);
      const arch = t.distribution.architecture(spec.source);
      const platformArch = specPlatform(spec).architecture;
      const built = await buildDiskTree(t.entries, spec.disk, platformArch || arch, path, {
        sourceDateEpoch: t.sourceDateEpoch, normalize: t.normalize, exclude: [], keepXattrs, where: opts.spec,
      });
      return result(reference, built, t.sourceDateEpoch, t.sourceDateEpochFrom, t.entries.size, [...t.records, ...built.records], [], t.lock);
    } finally {
      await t.cleanup();
      await rm(t.tmp, { recursive: true, force: true });
    }
  }

  if (opts.disk === undefined) throw new ReproError('E_USAGE', `${option('disk')} is required to build a disk from a root filesystem`);
  const spec = typeof opts.disk === 'string' ? (await import('../spec/disk-load.js')).loadDiskSpec(opts.disk) : opts.disk;
  const tmp = await makeScratchDir(opts.tmpDir);
  try {
    const { tree, isDir } = await readRootfs(opts.rootfs!, tmp, opts.xattrs !== false);
    try {
      tree.warnings.forEach((m) => opts.onWarning?.(m));
      let sde = opts.sourceDateEpoch;
      let from: BuildResult['sourceDateEpochFrom'] = 'option';
      if (sde === undefined) {
        if (isDir) throw new ReproError('E_BAD_EPOCH', `${option('rootfs')} ${opts.rootfs} is a directory: set SOURCE_DATE_EPOCH or pass ${option('sourceDateEpoch')} N`);
        sde = Math.max(0, newestMtime(tree.entries.values()) ?? 0);
        from = 'newest-entry';
      }
      const built = await buildDiskTree(tree.entries, spec, 'x86-64', path, {
        sourceDateEpoch: sde, normalize: opts.normalize ?? [...PASS_NAMES], exclude: opts.exclude ?? [], keepXattrs, where: opts.rootfs!,
      });
      return result(reference, built, sde, from, tree.entries.size, [{ step: 'source', reports: [] }, ...built.records], tree.warnings);
    } finally {
      await tree.cleanup();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function result(reference: string, built: { disk: DiskResult; records: StepRecord[]; bootloader?: BootloaderResult }, sde: number, from: BuildResult['sourceDateEpochFrom'], entries: number, records: StepRecord[], warnings: string[], lock?: { path: string; digest: string }): DiskBuildResult {
  const r: DiskBuildResult = {
    reference, disk: built.disk, sourceDateEpoch: sde, sourceDateEpochFrom: from, entries,
    steps: records.map((x) => x.step), normalize: records.flatMap((x) => x.reports), warnings,
  };
  if (built.bootloader) r.bootloader = { kernel: built.bootloader.kernel, entry: built.bootloader.entry, initrdBytes: built.bootloader.initrdBytes };
  if (lock) r.lock = lock;
  return r;
}
