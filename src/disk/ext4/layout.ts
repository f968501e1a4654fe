/**
 * The geometry of an ext4 file system and its block allocator. Block groups of 32768 blocks;
 * superblock and group descriptor copies in groups 0, 1 and the powers of 3, 5 and 7; every block
 * bitmap, inode bitmap and inode table packed at the start of the file system (flex_bg); then one
 * cursor hands out data blocks in the order the writer asks for them, skipping the reserved
 * copies, so that the same tree always gets the same blocks.
 */
import { ReproError } from '../../model/errors.js';
import { BLOCK_SIZE, BLOCKS_PER_GROUP, DESC_SIZE, hasSuper, INODE_SIZE } from './format.js';

export interface Geometry {
  blocks: number;
  groups: number;
  descBlocks: number;
  inodesPerGroup: number;
  inodeTableBlocks: number;
}

/** Blocks of group `g` (the last one may be short). */
export function groupBlocks(geo: { blocks: number; groups: number }, g: number): number {
  return g === geo.groups - 1 ? geo.blocks - g * BLOCKS_PER_GROUP : BLOCKS_PER_GROUP;
}

/** Geometry for `blocks` blocks and at least `inodes` inodes; the block count may shrink to drop a tail group too small to use. */
export function geometry(blocks: number, inodes: number, where: string): Geometry {
  let b = blocks;
  for (;;) {
    const groups = Math.ceil(b / BLOCKS_PER_GROUP);
    const descBlocks = Math.ceil((groups * DESC_SIZE) / BLOCK_SIZE);
    const last = b - (groups - 1) * BLOCKS_PER_GROUP;
    const lastOverhead = hasSuper(groups - 1) ? 1 + descBlocks : 0;
    if (groups > 1 && last < lastOverhead + 50) {
      b = (groups - 1) * BLOCKS_PER_GROUP;
      continue;
    }
    const perInodeBlock = BLOCK_SIZE / INODE_SIZE;
    let ipg = Math.ceil(inodes / groups / perInodeBlock) * perInodeBlock;
    ipg = Math.max(ipg, perInodeBlock);
    if (ipg > BLOCKS_PER_GROUP) throw new ReproError('E_UNSUPPORTED', `${where}: ${inodes} inodes in ${groups} block groups is more than one per block`);
    if (ipg * groups >= 2 ** 32) throw new ReproError('E_UNSUPPORTED', `${where}: too many inodes`);
    return { blocks: b, groups, descBlocks, inodesPerGroup: ipg, inodeTableBlocks: (ipg * INODE_SIZE) / BLOCK_SIZE };
  }
}

export interface Placement {
  blockBitmap: number[];
  inodeBitmap: number[];
  inodeTable: number[];
}

/** Hands out blocks in ascending order; `used` is the block bitmap of the whole file system. */
export class Allocator {
  readonly used: Uint8Array;
  private next = 0;
  private free: number;

  constructor(readonly geo: Geometry, private readonly where: string) {
    this.used = new Uint8Array(Math.ceil(geo.blocks / 8));
    this.free = geo.blocks;
    for (let g = 0; g < geo.groups; g++) {
      if (hasSuper(g)) this.mark(g * BLOCKS_PER_GROUP, 1 + geo.descBlocks);
    }
  }

  isUsed(b: number): boolean {
    return (this.used[b >>> 3]! & (1 << (b & 7))) !== 0;
  }

  private mark(start: number, n: number): void {
    for (let b = start; b < start + n; b++) {
      if (!this.isUsed(b)) {
        this.used[b >>> 3]! |= 1 << (b & 7);
        this.free--;
      }
    }
  }

  get freeBlocks(): number {
    return this.free;
  }

  /** The next run of free blocks, at most `max` long. */
  run(max: number): { start: number; length: number } {
    while (this.next < this.geo.blocks && this.isUsed(this.next)) this.next++;
    if (this.next >= this.geo.blocks) throw new ReproError('E_BAD_INPUT', `${this.where}: the ext4 file system is full (${this.geo.blocks} blocks of ${BLOCK_SIZE} bytes); give the partition more room`);
    const start = this.next;
    let length = 0;
    while (length < max && this.next < this.geo.blocks && !this.isUsed(this.next)) {
      this.next++;
      length++;
    }
    this.mark(start, length);
    return { start, length };
  }

  /** `n` blocks as runs. */
  runs(n: number): Array<{ start: number; length: number }> {
    const out: Array<{ start: number; length: number }> = [];
    for (let left = n; left > 0;) {
      const r = this.run(left);
      out.push(r);
      left -= r.length;
    }
    return out;
  }

  /** `n` contiguous blocks (the inode tables). */
  contiguous(n: number): number {
    for (;;) {
      while (this.next < this.geo.blocks && this.isUsed(this.next)) this.next++;
      let ok = this.next + n <= this.geo.blocks;
      for (let b = this.next; ok && b < this.next + n; b++) if (this.isUsed(b)) ok = false;
      if (this.next + n > this.geo.blocks) throw new ReproError('E_BAD_INPUT', `${this.where}: no room for the inode tables in ${this.geo.blocks} blocks`);
      if (ok) {
        const start = this.next;
        this.mark(start, n);
        this.next += n;
        return start;
      }
      this.next++;
    }
  }

  /** Bitmaps and inode tables for every group, packed at the start. */
  placeMetadata(): Placement {
    const p: Placement = { blockBitmap: [], inodeBitmap: [], inodeTable: [] };
    for (let g = 0; g < this.geo.groups; g++) p.blockBitmap.push(this.run(1).start);
    for (let g = 0; g < this.geo.groups; g++) p.inodeBitmap.push(this.run(1).start);
    for (let g = 0; g < this.geo.groups; g++) p.inodeTable.push(this.contiguous(this.geo.inodeTableBlocks));
    return p;
  }
}

/** Blocks the metadata of a geometry takes (superblock and descriptor copies, bitmaps, inode tables). */
export function metadataBlocks(geo: Geometry): number {
  let n = geo.groups * (2 + geo.inodeTableBlocks);
  for (let g = 0; g < geo.groups; g++) if (hasSuper(g)) n += 1 + geo.descBlocks;
  return n;
}
