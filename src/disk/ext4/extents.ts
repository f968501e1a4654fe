/**
 * ext4 extent trees: up to four extents live in the inode's i_block; more go into leaf blocks
 * (340 entries each, then a checksum tail) under index entries, one more level whenever a level
 * has more than four (inode) or 340 (block) entries. Extents of initialized data are at most
 * 32768 blocks long.
 */
import { crc32cRaw } from '../crc32c.js';
import { BLOCK_SIZE } from './format.js';

export const EXTENT_MAGIC = 0xf30a;
export const MAX_EXTENT_LEN = 32768;
const PER_BLOCK = (BLOCK_SIZE - 12 - 4) / 12; // 340
const IN_INODE = 4;

export interface Extent {
  /** First logical block. */
  logical: number;
  /** First physical block. */
  physical: number;
  length: number;
}

function header(b: Buffer, at: number, entries: number, max: number, depth: number): void {
  b.writeUInt16LE(EXTENT_MAGIC, at);
  b.writeUInt16LE(entries, at + 2);
  b.writeUInt16LE(max, at + 4);
  b.writeUInt16LE(depth, at + 6);
  b.writeUInt32LE(0, at + 8);
}

function putExtent(b: Buffer, at: number, e: Extent): void {
  b.writeUInt32LE(e.logical, at);
  b.writeUInt16LE(e.length, at + 4);
  b.writeUInt16LE(Math.floor(e.physical / 2 ** 32), at + 6);
  b.writeUInt32LE(e.physical % 2 ** 32, at + 8);
}

function putIndex(b: Buffer, at: number, logical: number, block: number): void {
  b.writeUInt32LE(logical, at);
  b.writeUInt32LE(block % 2 ** 32, at + 4);
  b.writeUInt16LE(Math.floor(block / 2 ** 32), at + 8);
  b.writeUInt16LE(0, at + 10);
}

/** Splits runs longer than the largest extent. */
export function capExtents(runs: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const r of runs) {
    for (let done = 0; done < r.length; done += MAX_EXTENT_LEN) {
      out.push({ logical: r.logical + done, physical: r.physical + done, length: Math.min(MAX_EXTENT_LEN, r.length - done) });
    }
  }
  return out;
}

/** How many tree blocks `n` extents need (beyond the inode). */
export function treeBlocks(n: number): number {
  let total = 0;
  let level = n;
  while (level > IN_INODE) {
    const blocks = Math.ceil(level / PER_BLOCK);
    total += blocks;
    level = blocks;
  }
  return total;
}

export interface ExtentTree {
  iblock: Buffer;
  /** Tree blocks to write: (block number, bytes). */
  blocks: Array<{ block: number; data: Buffer }>;
}

/**
 * Builds the tree for `extents` (sorted, capped), with its blocks at `treeBlockNumbers` (as many
 * as treeBlocks() says, assigned bottom level first). `seed`: the inode's checksum seed.
 */
export function buildExtentTree(extents: Extent[], treeBlockNumbers: number[], seed: number): ExtentTree {
  const iblock = Buffer.alloc(60);
  const blocks: Array<{ block: number; data: Buffer }> = [];
  // Level entries: (first logical block, either an extent or a child block).
  let level: Array<{ logical: number; extent?: Extent; child?: number }> = extents.map((e) => ({ logical: e.logical, extent: e }));
  let depth = 0;
  let next = 0;
  while (level.length > IN_INODE) {
    const up: typeof level = [];
    for (let i = 0; i < level.length; i += PER_BLOCK) {
      const part = level.slice(i, i + PER_BLOCK);
      const b = Buffer.alloc(BLOCK_SIZE);
      header(b, 0, part.length, PER_BLOCK, depth);
      part.forEach((p, k) => (p.extent ? putExtent(b, 12 + k * 12, p.extent) : putIndex(b, 12 + k * 12, p.logical, p.child!)));
      const tailAt = 12 + PER_BLOCK * 12;
      b.writeUInt32LE(crc32cRaw(seed, b, 0, tailAt), tailAt);
      const blockNo = treeBlockNumbers[next++]!;
      blocks.push({ block: blockNo, data: b });
      up.push({ logical: part[0]!.logical, child: blockNo });
    }
    level = up;
    depth++;
  }
  header(iblock, 0, level.length, IN_INODE, depth);
  level.forEach((p, k) => (p.extent ? putExtent(iblock, 12 + k * 12, p.extent) : putIndex(iblock, 12 + k * 12, p.logical, p.child!)));
  return { iblock, blocks };
}
