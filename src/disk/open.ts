/**
 * Opens a disk image for reading: its GPT, and for each partition what it holds (found by the
 * file system's own magic, not by the partition type) and a reader for it.
 */
import { ReproError } from '../model/errors.js';
import { ErofsReader } from './erofs/reader.js';
import { Ext4Reader } from './ext4/reader.js';
import type { FsReader } from './fs-reader.js';
import { readGpt, type GptPartition, type GptTable } from './gpt.js';
import { FileSource, type Source } from './io.js';
import { typeName } from './partition-types.js';
import { VfatReader } from './vfat/reader.js';

export type Content = 'ext4' | 'erofs' | 'vfat' | 'verity' | 'swap' | 'empty' | 'unknown';

export interface DiskPartition {
  /** 1-based entry number in the GPT. */
  number: number;
  entry: GptPartition;
  /** systemd's name of the type (`root-x86-64`), or the type UUID. */
  typeName: string;
  offset: number;
  size: number;
  source: Source;
  content: Content;
}

export interface OpenedDisk {
  file: FileSource;
  table: GptTable & { problems: string[] };
  partitions: DiskPartition[];
  close(): void;
}

/** What a partition (or any region) holds, by magic numbers. */
export function detectContent(src: Source): Content {
  const head = src.read(0, Math.min(src.size, 4096), 'partition start');
  if (head.length >= 1024 + 0x3a && head.readUInt16LE(1024 + 0x38) === 0xef53) return 'ext4';
  if (head.length >= 1028 && head.readUInt32LE(1024) === 0xe0f5e1e2) return 'erofs';
  if (head.length >= 8 && head.subarray(0, 8).toString('latin1') === 'verity\0\0') return 'verity';
  if (head.length >= 4096 && head.subarray(4086, 4096).toString('latin1') === 'SWAPSPACE2') return 'swap';
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa && (head.subarray(54, 57).toString('latin1') === 'FAT' || head.subarray(82, 85).toString('latin1') === 'FAT')) return 'vfat';
  if (head.every((b) => b === 0)) return 'empty';
  return 'unknown';
}

export function fsReader(src: Source, content: Content): FsReader | undefined {
  if (content === 'ext4') return new Ext4Reader(src);
  if (content === 'erofs') return new ErofsReader(src);
  if (content === 'vfat') return new VfatReader(src);
  return undefined;
}

/** True when the file starts like a GPT disk (a protective MBR and "EFI PART" at LBA 1). */
export function looksLikeDisk(src: Source): boolean {
  for (const ss of [512, 4096]) {
    if (src.size >= ss * 2 && src.read(ss, 8, 'GPT header').toString('latin1') === 'EFI PART') return true;
  }
  return false;
}

export function openDisk(path: string, where = path): OpenedDisk {
  const file = FileSource.open(path, where);
  try {
    const table = readGpt(file);
    if (!table) throw new ReproError('E_BAD_INPUT', `${where}: no GUID partition table`);
    const partitions: DiskPartition[] = table.partitions.map((entry, i) => {
      const offset = entry.firstLba * table.sectorSize;
      const size = (entry.lastLba - entry.firstLba + 1) * table.sectorSize;
      const source = file.slice(offset, size, `${where}: partition ${entry.number ?? i + 1}`);
      return { number: entry.number ?? i + 1, entry, typeName: typeName(entry.type) ?? entry.type.toString('hex'), offset, size, source, content: detectContent(source) };
    });
    return { file, table, partitions, close: () => file.close() };
  } catch (e) {
    file.close();
    throw e;
  }
}
