/**
 * A whole disk image: partitions laid out from 1 MiB in table order (each starting on a MiB
 * boundary), every file system written by our writers into its region of one sparse file, verity
 * hash partitions computed from their data partitions as written, then the GPT. Identifiers come
 * from the seed as seed.ts says; the result names every one of them and the file's SHA-256.
 */
import { basename, dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, ftruncateSync } from 'node:fs';
import type { Entry } from '../archive/entry.js';
import { tempNameFor } from '../fs/atomic.js';
import { releasePartial, removeStaleTemps } from '../fs/scratch.js';
import { ReproError, ioError } from '../model/errors.js';
import { planErofs, writeErofs } from './erofs/writer.js';
import { minimumBlocks, planExt4, writeExt4 } from './ext4/writer.js';
import { encodeGpt, usableRange, type GptPartition } from './gpt.js';
import { FileOutput, FileSource, RegionWriter } from './io.js';
import { defaultFlags, partitionType, type PartitionKind, type PartitionType } from './partition-types.js';
import { diskGuid, ext4HashSeed, fileSystemUuid, partitionUuid, veritySalt, verityUuid, vfatVolumeId, verityPartitionUuids } from './seed.js';
import { BackgroundHasher } from './hasher.js';
import { prefetchList, startPrefetch } from './prefetch.js';
import { buildFsTree, type FsTree } from './tree.js';
import { formatUuid } from './uuid.js';
import { buildVerity, hashDeviceBytes } from './verity.js';
import { planVfat, vfatMinimumBytes, writeVfat } from './vfat/writer.js';

export type Format = 'ext4' | 'erofs' | 'vfat' | 'none';

export interface PartitionInput {
  kind: PartitionKind;
  label?: string;
  size: number | 'minimize';
  format: Format;
  /** Entry path whose subtree the file system holds ('' = everything); undefined: an empty file system. */
  contents?: string;
  /** Entry paths left out (kept as empty directories). */
  exclude?: string[];
  /** For verity hash partitions: the label of the data partition. */
  verity?: string;
  readOnly?: boolean;
  growFileSystem?: boolean;
}

export interface DiskInput {
  seed: Buffer;
  sectorSize: 512 | 4096;
  /** DPS architecture for root/usr types (x86-64, arm64; amd64 and aarch64 are accepted). */
  architecture: string;
  partitions: PartitionInput[];
}

/** A partition with everything that does not depend on content. */
export interface ResolvedPartition {
  number: number;
  input: PartitionInput;
  type: PartitionType;
  label: string;
  /** From the seed (a verity pair's final UUIDs come from its root hash). */
  seedUuid: Buffer;
  /** The file system UUID (from the seed-derived partition UUID). */
  fsUuid: Buffer;
  flags: bigint;
  /** Index of the data partition (for verity hash partitions). */
  verityOf?: number;
  /** Index of the hash partition protecting this one. */
  protectedBy?: number;
}

export interface PartitionResult {
  number: number;
  type: string;
  typeUuid: string;
  label: string;
  uuid: string;
  format: Format | 'verity';
  offset: number;
  size: number;
  firstLba: number;
  lastLba: number;
  flags: string;
  fsUuid?: string;
  /** vfat only. */
  volumeId?: string;
  rootHash?: string;
  /** For a verity hash partition: the label of the partition it protects. */
  protects?: string;
}

export interface DiskResult {
  path: string;
  size: number;
  sha256: string;
  sectorSize: number;
  diskGuid: string;
  partitions: PartitionResult[];
}

const MiB = 1 << 20;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Labels, UUIDs, flags and verity pairs, as systemd-repart would assign them for these definitions. */
export function resolvePartitions(def: DiskInput, where: string): ResolvedPartition[] {
  const seen = new Map<string, number>();
  const labels = new Set<string>();
  const out: ResolvedPartition[] = def.partitions.map((p, i) => {
    const type = partitionType(p.kind, def.architecture);
    const key = type.uuid.toString('hex');
    const instance = seen.get(key) ?? 0;
    seen.set(key, instance + 1);
    let label = p.label;
    if (label === undefined) {
      // systemd-repart: the type's name, then name-2, name-3, … for later ones.
      label = type.name;
      for (let k = 2; labels.has(label); k++) label = `${type.name}-${k}`;
    } else if (labels.has(label)) {
      throw new ReproError('E_SPEC', `${where}: partitions[${i}]: label ${JSON.stringify(label)} is used twice`);
    }
    labels.add(label);
    const seedUuid = partitionUuid(def.seed, type.uuid, instance);
    return { number: i + 1, input: p, type, label, seedUuid, fsUuid: fileSystemUuid(seedUuid), flags: 0n };
  });
  for (const [i, r] of out.entries()) {
    const p = r.input;
    const isHash = p.kind === 'root-verity' || p.kind === 'usr-verity';
    if (isHash) {
      if (!p.verity) throw new ReproError('E_SPEC', `${where}: partitions[${i}]: a ${p.kind} partition needs verity: LABEL (the partition it protects)`);
      const j = out.findIndex((q) => q.label === p.verity);
      if (j < 0) throw new ReproError('E_SPEC', `${where}: partitions[${i}]: verity: no partition is labelled ${JSON.stringify(p.verity)}`);
      const data = out[j]!;
      if (data.input.format === 'none' || data.input.format === 'vfat') throw new ReproError('E_SPEC', `${where}: partitions[${i}]: verity protects ${JSON.stringify(p.verity)}, which holds ${data.input.format === 'none' ? 'no file system' : 'a FAT file system'}`);
      if (data.protectedBy !== undefined) throw new ReproError('E_SPEC', `${where}: partitions[${i}]: ${JSON.stringify(p.verity)} is protected twice`);
      if (p.format !== 'none') throw new ReproError('E_SPEC', `${where}: partitions[${i}]: a verity partition holds its hash tree, not a ${p.format} file system`);
      r.verityOf = j;
      data.protectedBy = i;
    } else if (p.verity) {
      throw new ReproError('E_SPEC', `${where}: partitions[${i}]: verity: applies to root-verity and usr-verity partitions only`);
    }
  }
  for (const r of out) {
    const overrides: { readOnly?: boolean; growFileSystem?: boolean } = {};
    if (r.input.readOnly !== undefined) overrides.readOnly = r.input.readOnly;
    if (r.input.growFileSystem !== undefined) overrides.growFileSystem = r.input.growFileSystem;
    r.flags = defaultFlags(r.input.kind, r.protectedBy !== undefined, overrides);
  }
  return out;
}

interface Prepared {
  r: ResolvedPartition;
  tree?: FsTree;
  write?: (region: RegionWriter, size: number, firstLba: number) => void;
  minimum: number;
  size: number;
}

function under(path: string, dir: string): boolean {
  return dir === '' ? path !== '' : path.startsWith(`${dir}/`);
}

export interface DiskWriteOptions {
  sourceDateEpoch: number;
  /** Names the disk in messages. */
  where: string;
}

/**
 * Writes the disk for `entries` to `path` (through a temporary file beside it, renamed into place
 * when complete). `resolved` comes from resolvePartitions (the caller may have used its UUIDs).
 */
export async function writeDisk(entries: Map<string, Entry>, def: DiskInput, resolved: ResolvedPartition[], path: string, opts: DiskWriteOptions): Promise<DiskResult> {
  const where = opts.where;
  const sde = opts.sourceDateEpoch;
  const rootDefaults = { mode: 0o755, uid: 0, gid: 0, mtime: sde };
  const contentsOf = resolved.map((r) => r.input.contents);
  const prepared: Prepared[] = resolved.map((r, i) => {
    const p = r.input;
    const pw = `${where}: partition ${r.number} (${r.label})`;
    const fixed = p.size === 'minimize' ? undefined : p.size;
    if (fixed !== undefined && fixed % 4096 !== 0) throw new ReproError('E_SPEC', `${pw}: size ${fixed} is not a multiple of 4096`);
    if (r.verityOf !== undefined) return { r, minimum: 0, size: fixed ?? 0 };
    if (p.format === 'none') {
      if (p.contents !== undefined) throw new ReproError('E_SPEC', `${pw}: contents need a format`);
      if (fixed === undefined) throw new ReproError('E_SPEC', `${pw}: a partition without a file system needs a size`);
      return { r, minimum: fixed, size: fixed };
    }
    const contents = p.contents;
    const mountPoints = [...(p.exclude ?? []), ...contentsOf.filter((c, j) => j !== i && c !== undefined && contents !== undefined && under(c, contents)) as string[]];
    const tree = buildFsTree(contents === undefined ? [] : entries.values(), { contents: contents ?? '', mountPoints, rootDefaults, where: pw });
    const label = r.label;
    if (p.format === 'ext4') {
      const plan = planExt4(tree, { label, uuid: r.fsUuid, hashSeed: ext4HashSeed(r.fsUuid), time: sde, where: pw });
      const minimum = minimumBlocks(plan) * 4096;
      return { r, tree, minimum, size: fixed ?? minimum, write: (region, size) => { writeExt4(plan, region, size / 4096); } };
    }
    if (p.format === 'erofs') {
      const plan = planErofs(tree, { label, uuid: r.fsUuid, time: sde, where: pw });
      const minimum = plan.blocks * 4096;
      return { r, tree, minimum, size: fixed ?? minimum, write: (region) => { writeErofs(plan, region); } };
    }
    const plan = planVfat(tree, { label, volumeId: vfatVolumeId(r.fsUuid), time: sde, sectorSize: def.sectorSize, hiddenSectors: 0, where: pw });
    const minimum = vfatMinimumBytes(plan);
    return {
      r, tree, minimum, size: fixed ?? minimum,
      write: (region, size, firstLba) => { writeVfat({ ...plan, opts: { ...plan.opts, hiddenSectors: firstLba } }, region, size); },
    };
  });
  for (const p of prepared) {
    if (p.r.verityOf !== undefined) {
      const need = hashDeviceBytes(alignUp(prepared[p.r.verityOf]!.size, 4096));
      if (p.size === 0) p.size = need;
      else if (p.size < need) throw new ReproError('E_BAD_INPUT', `${where}: partition ${p.r.number} (${p.r.label}): the hash tree needs ${need} bytes, the partition has ${p.size}`);
      p.minimum = need;
    } else if (p.size < p.minimum && p.r.input.format !== 'ext4') {
      throw new ReproError('E_BAD_INPUT', `${where}: partition ${p.r.number} (${p.r.label}): the ${p.r.input.format} file system needs ${p.minimum} bytes, the partition has ${p.size}`);
    }
  }

  // Layout: each partition on a MiB boundary, the disk ending a MiB after the last one's end at least.
  const ss = def.sectorSize;
  let offset = MiB;
  const layout = prepared.map((p) => {
    const at = offset;
    offset = alignUp(at + p.size, MiB);
    return { at, size: p.size };
  });
  const backup = 16384 + ss;
  const diskBytes = alignUp(offset + backup, MiB);
  const sectors = diskBytes / ss;

  await removeStaleTemps(dirname(path), basename(path));
  const tmp = tempNameFor(path);
  const out = FileOutput.create(tmp);
  const prefetch = startPrefetch(prefetchList(prepared.flatMap((p) => (p.tree ? [p.tree] : []))));
  const hasher = new BackgroundHasher(tmp, out);
  const uuids = resolved.map((r) => r.seedUuid);
  const guid = diskGuid(def.seed);
  const range = usableRange(ss, sectors);
  const table = (): ReturnType<typeof encodeGpt> => encodeGpt({
    sectorSize: ss, sectors, diskGuid: guid, firstUsableLba: range.first, lastUsableLba: range.last,
    partitions: prepared.map((p, i) => ({
      type: p.r.type.uuid, uuid: uuids[i]!, firstLba: layout[i]!.at / ss, lastLba: (layout[i]!.at + layout[i]!.size) / ss - 1,
      attributes: p.r.flags, name: p.r.label,
    })),
  });
  // Without verity every UUID is known now: the table goes first, and each partition's stretch of
  // the file is final (and hashed in the background) once it is written. With verity the table
  // waits for the root hashes.
  const hasVerity = prepared.some((p) => p.r.verityOf !== undefined);
  const writeTable = (): void => {
    const gpt = table();
    out.write(gpt.head, 0);
    out.write(gpt.tail, gpt.tailLba * ss);
  };
  try {
    if (!hasVerity) writeTable();
    for (const [i, p] of prepared.entries()) {
      if (p.write) {
        const { at, size } = layout[i]!;
        p.write(new RegionWriter(out, at, size, `${where}: partition ${p.r.number}`), size, at / ss);
      }
      if (!hasVerity) hasher.finalUpTo(layout[i + 1]?.at ?? layout[i]!.at + layout[i]!.size);
    }
    ftruncateSync(out.fd, diskBytes);
    // Verity: hash what was written.
    const rootHashes = new Map<number, Buffer>();
    const reader = FileSource.open(tmp, where);
    try {
      for (const [i, p] of prepared.entries()) {
        if (p.r.verityOf === undefined) continue;
        const j = p.r.verityOf;
        const data = layout[j]!;
        const built = buildVerity(reader.slice(data.at, data.size, `${where}: partition ${j + 1}`), { salt: veritySalt(def.seed), uuid: verityUuid(def.seed), dataBytes: data.size });
        out.write(built.hashDevice, layout[i]!.at);
        rootHashes.set(i, built.rootHash);
        const u = verityPartitionUuids(built.rootHash);
        uuids[j] = u.data;
        uuids[i] = u.hash;
      }
    } finally {
      reader.close();
    }
    if (hasVerity) writeTable();
    void prefetch.stop();
    // The flush to disk and the rest of the hash run side by side.
    const sha = hasher.digest(diskBytes);
    fsyncSync(out.fd);
    out.close();
    const sha256 = await sha;
    try {
      renameSync(tmp, path);
    } catch (e) {
      throw ioError(e, `cannot write ${path}`);
    }
    releasePartial(tmp);
    return {
      path, size: diskBytes, sha256, sectorSize: ss, diskGuid: formatUuid(guid),
      partitions: prepared.map((p, i) => {
        const r = p.r;
        const res: PartitionResult = {
          number: r.number, type: r.type.name, typeUuid: formatUuid(r.type.uuid), label: r.label, uuid: formatUuid(uuids[i]!),
          format: r.verityOf !== undefined ? 'verity' : r.input.format, offset: layout[i]!.at, size: layout[i]!.size,
          firstLba: layout[i]!.at / ss, lastLba: (layout[i]!.at + layout[i]!.size) / ss - 1, flags: `0x${r.flags.toString(16).padStart(16, '0')}`,
        };
        if (r.input.format !== 'none' && r.verityOf === undefined) res.fsUuid = formatUuid(r.fsUuid);
        if (r.input.format === 'vfat') res.volumeId = vfatVolumeId(r.fsUuid).toString(16).padStart(8, '0').toUpperCase();
        const rh = rootHashes.get(i);
        if (rh) {
          res.rootHash = rh.toString('hex');
          res.protects = resolved[r.verityOf!]!.label;
        }
        return res;
      }),
    };
  } catch (e) {
    void prefetch.stop();
    await hasher.abandon();
    out.close();
    rmSync(tmp, { force: true });
    releasePartial(tmp);
    throw e;
  }
}

const ZEROS = Buffer.alloc(4 << 20);

/**
 * SHA-256 of a file, read in 4 MiB pieces. Given the ranges that were written (and the file's
 * size), the holes between them are hashed as zeros without being read.
 */
export function hashFile(path: string, written?: Array<[number, number]>, size?: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  const readRange = (start: number, end: number): void => {
    for (let pos = start; pos < end;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new ReproError('E_IO', `${path}: ended at ${pos} while hashing`);
      h.update(buf.subarray(0, n));
      pos += n;
    }
  };
  const zeros = (n: number): void => {
    for (let left = n; left > 0; left -= ZEROS.length) h.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  };
  try {
    if (!written || size === undefined) {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    } else {
      let pos = 0;
      for (const [s, e] of written) {
        const start = Math.min(s, size);
        const end = Math.min(e, size);
        if (start > pos) zeros(start - pos);
        if (end > Math.max(start, pos)) readRange(Math.max(start, pos), end);
        pos = Math.max(pos, end);
      }
      if (size > pos) zeros(size - pos);
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${h.digest('hex')}`;
}
