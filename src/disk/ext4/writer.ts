/**
 * The ext4 writer. A plan first (inode numbers, directory blocks, where each inode's extended
 * attributes go, the geometry), then one pass that hands out blocks in inode order while it
 * writes: the journal, then each inode's directory blocks, file data (all-zero blocks become
 * holes, as mke2fs -d makes them), symlink block, extent tree blocks and xattr block; then the
 * inode tables, bitmaps, group descriptors and superblocks with their checksums.
 *
 * Inode numbers: the root is 2, lost+found 11 (made if the tree has none), the journal 8, and
 * every other node 12, 13, … in the byte order of its first path. Every time field is the entry's
 * time with zero nanoseconds (atime = ctime = mtime = crtime); generation 0.
 */
import { ContentReader } from '../../archive/content.js';
import { ReproError } from '../../model/errors.js';
import type { Output } from '../io.js';
import type { FsNode, FsTree } from '../tree.js';
import { esc } from '../fs-reader.js';
import { directoryBlocks, type DirRecord } from './dir.js';
import { buildExtentTree, capExtents, treeBlocks, type Extent } from './extents.js';
import {
  BLOCK_SIZE, BLOCKS_PER_GROUP, csumSeed, encodeGroupDesc, encodeInode, encodeSuperblock, EXTENTS_FL, FIRST_INO, FT, hasSuper,
  INDEX_FL, INODE_SIZE, inodeSeed, JOURNAL_INO, LOST_FOUND_INO, ROOT_INO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG,
  TIME_MAX, TIME_MIN, EXTRA_ISIZE,
} from './format.js';
import { Allocator, geometry, groupBlocks, metadataBlocks, type Geometry } from './layout.js';
import { blockHash, encodeXattrs, ext4Xattrs, XATTR_MAGIC, xattrSpace, type XattrEntry } from './xattr.js';
import { crc32cRaw } from '../crc32c.js';

export interface Ext4Options {
  label: string;
  /** File system UUID (16 bytes). */
  uuid: Buffer;
  /** s_hash_seed (16 bytes). */
  hashSeed: Buffer;
  /** SOURCE_DATE_EPOCH: superblock times, and the times of lost+found and the journal we make. */
  time: number;
  where: string;
}

const INLINE_XATTR_SPACE = INODE_SIZE - 128 - EXTRA_ISIZE; // 96: magic + entries + values
const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);

/**
 * mke2fs's default journal size (ext2fs_default_journal_size), in blocks, except that a file
 * system under 8 MiB gets the smallest journal jbd2 allows (1024 blocks) where mke2fs makes none.
 */
export function journalBlocksFor(blocks: number): number {
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

interface NodePlan {
  node: FsNode;
  ino: number;
  dir?: { blocks: Buffer[]; indexed: boolean };
  xattrs: XattrEntry[];
  xattrInline: boolean;
  links: number;
}

export interface Ext4Plan {
  tree: FsTree;
  opts: Ext4Options;
  /** By inode number - 12 (nodes other than root and lost+found), plus root and lost+found. */
  nodes: NodePlan[];
  root: NodePlan;
  lostFound: NodePlan;
  /** Inodes in use: 1 … lastIno. */
  lastIno: number;
  /** Upper bound of the blocks the content needs (data, directories, trees, xattr blocks). */
  contentBlocks: number;
  seed: number;
  hashSeedWords: Uint32Array;
}

const ftOf = (n: FsNode): number => ({ file: FT.file, dir: FT.dir, symlink: FT.symlink, char: FT.char, block: FT.block, fifo: FT.fifo }[n.type]);

function modeOf(n: FsNode): number {
  const t = { file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK, char: S_IFCHR, block: S_IFBLK, fifo: S_IFIFO }[n.type];
  return t | (n.mode & 0o7777);
}

function checkTime(n: FsNode, where: string): void {
  if (n.mtime < TIME_MIN || n.mtime > TIME_MAX) throw new ReproError('E_UNSUPPORTED', `${where}: /${esc(n.path)}: time ${n.mtime} is outside what ext4 stores`);
}

/** Assigns inode numbers and builds the directory blocks and xattr placement. */
export function planExt4(tree: FsTree, opts: Ext4Options): Ext4Plan {
  const where = opts.where;
  const seed = csumSeed(opts.uuid);
  const hashSeedWords = new Uint32Array(4);
  for (let i = 0; i < 4; i++) hashSeedWords[i] = opts.hashSeed.readUInt32LE(i * 4);

  // lost+found: the tree's own, or one we add.
  let lf = tree.root.children!.find((c) => c.name === 'lost+found')?.node;
  if (lf && lf.type !== 'dir') throw new ReproError('E_UNSUPPORTED', `${where}: /lost+found is a ${lf.type}; ext4 needs it to be a directory`);
  const ino = new Map<FsNode, number>();
  ino.set(tree.root, ROOT_INO);
  const plans: NodePlan[] = [];
  let next = FIRST_INO + 1;
  if (!lf) {
    lf = { id: -1, path: 'lost+found', type: 'dir', mode: 0o700, uid: 0, gid: 0, mtime: opts.time, size: 0, names: 1, children: [], parent: tree.root };
  }
  ino.set(lf, LOST_FOUND_INO);
  for (const n of tree.nodes) if (n !== tree.root && n !== lf) ino.set(n, next++);
  const lastIno = next - 1;

  const plan = (n: FsNode): NodePlan => {
    checkTime(n, where);
    const xattrs = ext4Xattrs(n.xattrs, `${where}: /${esc(n.path)}`);
    const space = xattrSpace(xattrs);
    const xattrInline = xattrs.length === 0 || 4 + space <= INLINE_XATTR_SPACE;
    if (!xattrInline && 32 + space > BLOCK_SIZE) throw new ReproError('E_UNSUPPORTED', `${where}: /${esc(n.path)}: extended attributes of ${space} bytes do not fit one ext4 block`);
    let links = n.names;
    let dir: NodePlan['dir'];
    if (n.type === 'dir') {
      const children: DirRecord[] = (n.children ?? []).map((c) => ({ name: c.nameBytes, ino: ino.get(c.node)!, ft: ftOf(c.node) }));
      if (n === tree.root && !tree.root.children!.some((c) => c.node === lf)) {
        const name = Buffer.from('lost+found');
        const at = children.findIndex((c) => Buffer.compare(c.name, name) > 0);
        children.splice(at < 0 ? children.length : at, 0, { name, ino: LOST_FOUND_INO, ft: FT.dir });
      }
      const subdirs = children.filter((c) => c.ft === FT.dir).length;
      links = subdirs + 2 > 65000 ? 1 : subdirs + 2;
      const self = ino.get(n)!;
      const parentIno = n === tree.root ? ROOT_INO : ino.get(n.parent!)!;
      dir = directoryBlocks(self, parentIno, children, inodeSeed(seed, self, 0), hashSeedWords, `${where}: /${esc(n.path)}`);
      if (n === lf && n.id === -1) {
        // As mke2fs makes it: four blocks, so that e2fsck can reconnect files without allocating.
        while (dir.blocks.length < 4) dir.blocks.push(emptyDirBlock(inodeSeed(seed, self, 0)));
      }
    }
    const p: NodePlan = { node: n, ino: ino.get(n)!, xattrs, xattrInline, links };
    if (dir) p.dir = dir;
    return p;
  };
  const root = plan(tree.root);
  const lostFound = plan(lf);
  const nodes = tree.nodes.filter((n) => n !== tree.root && n !== lf).map(plan);

  let contentBlocks = 0;
  for (const p of [root, lostFound, ...nodes]) {
    const n = p.node;
    let data = 0;
    if (p.dir) data = p.dir.blocks.length;
    else if (n.type === 'file') data = Math.ceil(n.size / BLOCK_SIZE);
    else if (n.type === 'symlink' && Buffer.byteLength(n.linkname ?? '') >= 60) data = 1;
    contentBlocks += data + treeBlocks(Math.ceil(data / 32768) + 2) + (p.xattrInline ? 0 : 1);
  }
  return { tree, opts, nodes, root, lostFound, lastIno, contentBlocks, seed, hashSeedWords };
}

function emptyDirBlock(seed: number): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  b.writeUInt16LE(BLOCK_SIZE - 12, 4);
  b.writeUInt16LE(12, BLOCK_SIZE - 12 + 4);
  b[BLOCK_SIZE - 12 + 7] = 0xde;
  b.writeUInt32LE(crc32cRaw(seed, b, 0, BLOCK_SIZE - 12), BLOCK_SIZE - 4);
  return b;
}

/** The geometry for a size in blocks. */
function geometryFor(plan: Ext4Plan, blocks: number): Geometry {
  return geometry(blocks, plan.lastIno, plan.opts.where);
}

/** The smallest block count that holds the plan (content upper bound, journal, metadata). */
export function minimumBlocks(plan: Ext4Plan): number {
  let blocks = plan.contentBlocks + 64;
  for (let i = 0; i < 20; i++) {
    const geo = geometryFor(plan, blocks);
    const want = plan.contentBlocks + journalBlocksFor(blocks) + metadataBlocks(geo) + geo.groups + 16;
    if (want <= blocks && geo.blocks === blocks) return blocks;
    blocks = Math.max(want, blocks + 1);
  }
  return blocks;
}

export interface Ext4Result {
  blocks: number;
  freeBlocks: number;
  inodes: number;
  freeInodes: number;
  journalBlocks: number;
}

/** Writes the file system into `out` (offset 0 = its first byte), `blocks` blocks long. */
export function writeExt4(plan: Ext4Plan, out: Output, blocks: number): Ext4Result {
  const { opts, seed } = plan;
  const where = opts.where;
  const geo = geometryFor(plan, blocks);
  const alloc = new Allocator(geo, where);
  const place = alloc.placeMetadata();
  const journalBlocks = journalBlocksFor(geo.blocks);
  const inodes = new Map<number, Buffer>();
  const reader = new ContentReader();
  const chunk = Buffer.allocUnsafe(1 << 20);
  let journalIblock: Buffer | undefined;
  let journalSize = 0;

  // Writes `data` (whole blocks) at fresh blocks; returns the extents.
  const placeBlocks = (datas: Buffer[], logicalStart: number): Extent[] => {
    const extents: Extent[] = [];
    let i = 0;
    while (i < datas.length) {
      const r = alloc.run(datas.length - i);
      for (let k = 0; k < r.length; k++) out.write(datas[i + k]!, (r.start + k) * BLOCK_SIZE);
      extents.push({ logical: logicalStart + i, physical: r.start, length: r.length });
      i += r.length;
    }
    return extents;
  };

  // Finishes an inode's block mapping: extent tree (blocks after the data), xattr block.
  const finish = (p: NodePlan | undefined, ino: number, extents: Extent[], dataBlocks: number, fields: { mode: number; uid: number; gid: number; size: number; time: number; links: number; flags: number; iblock?: Buffer }): void => {
    const iseed = inodeSeed(seed, ino, 0);
    const capped = capExtents(mergeExtents(extents));
    let iblock = fields.iblock;
    let treeCount = 0;
    if (!iblock) {
      treeCount = treeBlocks(capped.length);
      const numbers = treeCount > 0 ? alloc.runs(treeCount).flatMap((r) => Array.from({ length: r.length }, (_, k) => r.start + k)) : [];
      const tree = buildExtentTree(capped, numbers, iseed);
      for (const b of tree.blocks) out.write(b.data, b.block * BLOCK_SIZE);
      iblock = tree.iblock;
    }
    let fileAcl = 0;
    let inlineXattrs: Buffer | undefined;
    const xattrs = p?.xattrs ?? [];
    if (xattrs.length > 0 && p!.xattrInline) {
      inlineXattrs = Buffer.alloc(INLINE_XATTR_SPACE);
      inlineXattrs.writeUInt32LE(XATTR_MAGIC, 0);
      encodeXattrs(xattrs, inlineXattrs.subarray(4), 0);
    } else if (xattrs.length > 0) {
      const block = alloc.run(1).start;
      const b = Buffer.alloc(BLOCK_SIZE);
      b.writeUInt32LE(XATTR_MAGIC, 0);
      b.writeUInt32LE(1, 4); // refcount
      b.writeUInt32LE(1, 8); // blocks
      const hashes = encodeXattrs(xattrs, b.subarray(32), -32);
      b.writeUInt32LE(blockHash(hashes), 12);
      const bn = Buffer.alloc(8);
      bn.writeBigUInt64LE(BigInt(block));
      b.writeUInt32LE(crc32cRaw(crc32cRaw(seed, bn), b), 16);
      out.write(b, block * BLOCK_SIZE);
      fileAcl = block;
    }
    const blocks512 = (dataBlocks + treeCount + (fileAcl ? 1 : 0)) * (BLOCK_SIZE / 512);
    const rec = encodeInode({
      mode: fields.mode, uid: fields.uid, gid: fields.gid, size: fields.size, time: fields.time, links: fields.links,
      blocks512, flags: fields.flags, iblock, fileAcl, ...(inlineXattrs ? { inlineXattrs } : {}),
    }, ino, seed);
    inodes.set(ino, rec);
  };

  // The journal: an empty jbd2 (v2) log, superblock in its first block.
  if (journalBlocks > 0) {
    const runs = alloc.runs(journalBlocks);
    const jsb = Buffer.alloc(BLOCK_SIZE);
    jsb.writeUInt32BE(0xc03b3998, 0);
    jsb.writeUInt32BE(4, 4); // superblock v2
    jsb.writeUInt32BE(BLOCK_SIZE, 12);
    jsb.writeUInt32BE(journalBlocks, 16);
    jsb.writeUInt32BE(1, 20); // s_first
    jsb.writeUInt32BE(1, 24); // s_sequence
    opts.uuid.copy(jsb, 48);
    jsb.writeUInt32BE(1, 64); // s_nr_users
    out.write(jsb, runs[0]!.start * BLOCK_SIZE);
    let logical = 0;
    const extents = runs.map((r) => {
      const e = { logical, physical: r.start, length: r.length };
      logical += r.length;
      return e;
    });
    journalSize = journalBlocks * BLOCK_SIZE;
    finish(undefined, JOURNAL_INO, extents, journalBlocks, { mode: S_IFREG | 0o600, uid: 0, gid: 0, size: journalSize, time: opts.time, links: 1, flags: EXTENTS_FL });
    journalIblock = Buffer.from(inodes.get(JOURNAL_INO)!.subarray(0x28, 0x28 + 60));
  }

  const dirs = new Map<number, number>(); // group → directories
  const countDir = (ino: number): void => {
    const g = Math.floor((ino - 1) / geo.inodesPerGroup);
    dirs.set(g, (dirs.get(g) ?? 0) + 1);
  };

  const writeNode = (p: NodePlan): void => {
    const n = p.node;
    const base = { mode: modeOf(n), uid: n.uid, gid: n.gid, time: n.mtime, links: p.links };
    if (p.dir) {
      countDir(p.ino);
      const extents = placeBlocks(p.dir.blocks, 0);
      finish(p, p.ino, extents, p.dir.blocks.length, { ...base, size: p.dir.blocks.length * BLOCK_SIZE, flags: EXTENTS_FL | (p.dir.indexed ? INDEX_FL : 0) });
    } else if (n.type === 'file') {
      const { extents, dataBlocks } = writeFileData(n);
      finish(p, p.ino, extents, dataBlocks, { ...base, size: n.size, flags: EXTENTS_FL });
    } else if (n.type === 'symlink') {
      const target = Buffer.from(n.linkname ?? '', 'utf8');
      if (target.length === 0 || target.length >= BLOCK_SIZE) throw new ReproError('E_UNSUPPORTED', `${where}: /${esc(n.path)}: a symlink target of ${target.length} bytes`);
      if (target.length < 60) {
        const iblock = Buffer.alloc(60);
        target.copy(iblock);
        finish(p, p.ino, [], 0, { ...base, size: target.length, flags: 0, iblock });
      } else {
        const b = Buffer.alloc(BLOCK_SIZE);
        target.copy(b);
        const extents = placeBlocks([b], 0);
        finish(p, p.ino, extents, 1, { ...base, size: target.length, flags: EXTENTS_FL });
      }
    } else {
      const iblock = Buffer.alloc(60);
      if (n.type === 'char' || n.type === 'block') {
        const ma = n.devmajor ?? 0;
        const mi = n.devminor ?? 0;
        if (ma < 256 && mi < 256) iblock.writeUInt32LE((ma << 8) | mi, 0);
        else iblock.writeUInt32LE(((mi & 0xff) | (ma << 8) | ((mi & ~0xff) << 12)) >>> 0, 4);
      }
      finish(p, p.ino, [], 0, { ...base, size: 0, flags: 0, iblock });
    }
  };

  // File content: all-zero blocks are left as holes.
  const writeFileData = (n: FsNode): { extents: Extent[]; dataBlocks: number } => {
    const extents: Extent[] = [];
    let dataBlocks = 0;
    if (n.size === 0) return { extents, dataBlocks };
    if (!n.content) throw new ReproError('E_IO', `${where}: /${esc(n.path)}: file without content`);
    reader.begin(n.content, n.size, `${where}: /${esc(n.path)}`);
    try {
      let logical = 0;
      while (reader.remaining > 0) {
        const len = Math.min(chunk.length, reader.remaining);
        reader.read(chunk, 0, len);
        const nb = Math.ceil(len / BLOCK_SIZE);
        if (len % BLOCK_SIZE !== 0) chunk.fill(0, len, nb * BLOCK_SIZE);
        let i = 0;
        while (i < nb) {
          if (chunk.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE).equals(ZERO_BLOCK)) {
            i++;
            continue;
          }
          let j = i + 1;
          while (j < nb && !chunk.subarray(j * BLOCK_SIZE, (j + 1) * BLOCK_SIZE).equals(ZERO_BLOCK)) j++;
          // Blocks i..j-1 hold data.
          let k = i;
          while (k < j) {
            const r = alloc.run(j - k);
            out.write(chunk.subarray(k * BLOCK_SIZE, (k + r.length) * BLOCK_SIZE), r.start * BLOCK_SIZE);
            extents.push({ logical: logical + k, physical: r.start, length: r.length });
            dataBlocks += r.length;
            k += r.length;
          }
          i = j;
        }
        logical += nb;
      }
      reader.end();
    } finally {
      reader.close();
    }
    return { extents, dataBlocks };
  };

  writeNode(plan.root);
  writeNode(plan.lostFound);
  for (const p of plan.nodes) writeNode(p);

  // Inode tables: the used inodes of each group (the rest stays zero).
  const ipg = geo.inodesPerGroup;
  for (let g = 0; g < geo.groups; g++) {
    const first = g * ipg + 1;
    const used = Math.max(0, Math.min(plan.lastIno, first + ipg - 1) - first + 1);
    if (used === 0) continue;
    const table = Buffer.alloc(Math.ceil((used * INODE_SIZE) / BLOCK_SIZE) * BLOCK_SIZE);
    for (let i = 0; i < used; i++) inodes.get(first + i)?.copy(table, i * INODE_SIZE);
    out.write(table, place.inodeTable[g]! * BLOCK_SIZE);
  }

  // Bitmaps and descriptors.
  const descs = Buffer.alloc(geo.descBlocks * BLOCK_SIZE);
  let freeBlocksTotal = 0;
  let freeInodesTotal = 0;
  for (let g = 0; g < geo.groups; g++) {
    const bb = Buffer.alloc(BLOCK_SIZE);
    const start = g * BLOCKS_PER_GROUP;
    const n = groupBlocks(geo, g);
    let free = 0;
    for (let i = 0; i < BLOCK_SIZE * 8; i++) {
      if (i >= n || alloc.isUsed(start + i)) bb[i >>> 3]! |= 1 << (i & 7);
      else free++;
    }
    const ib = Buffer.alloc(BLOCK_SIZE, 0xff);
    ib.fill(0, 0, ipg / 8);
    const first = g * ipg + 1;
    const used = Math.max(0, Math.min(plan.lastIno, first + ipg - 1) - first + 1);
    for (let i = 0; i < used; i++) ib[i >>> 3]! |= 1 << (i & 7);
    out.write(bb, place.blockBitmap[g]! * BLOCK_SIZE);
    out.write(ib, place.inodeBitmap[g]! * BLOCK_SIZE);
    encodeGroupDesc({
      blockBitmap: place.blockBitmap[g]!, inodeBitmap: place.inodeBitmap[g]!, inodeTable: place.inodeTable[g]!,
      freeBlocks: free, freeInodes: ipg - used, usedDirs: dirs.get(g) ?? 0, itableUnused: ipg - used,
      blockBitmapCsum: crc32cRaw(seed, bb, 0, BLOCKS_PER_GROUP / 8), inodeBitmapCsum: crc32cRaw(seed, ib, 0, ipg / 8),
    }, g, seed).copy(descs, g * 64);
    freeBlocksTotal += free;
    freeInodesTotal += ipg - used;
  }

  const label = Buffer.alloc(16);
  const l = Buffer.from(opts.label, 'utf8');
  if (l.length > 16) throw new ReproError('E_SPEC', `${where}: label ${JSON.stringify(opts.label)} is longer than the 16 bytes ext4 stores`);
  l.copy(label);
  let jnl: Buffer | undefined;
  if (journalIblock) {
    jnl = Buffer.alloc(68);
    journalIblock.copy(jnl, 0);
    jnl.writeUInt32LE(Math.floor(journalSize / 2 ** 32), 60);
    jnl.writeUInt32LE(journalSize % 2 ** 32, 64);
  }
  for (let g = 0; g < geo.groups; g++) {
    if (!hasSuper(g)) continue;
    const sb = encodeSuperblock({
      inodesCount: ipg * geo.groups, blocksCount: geo.blocks, freeBlocks: freeBlocksTotal, freeInodes: freeInodesTotal,
      inodesPerGroup: ipg, time: opts.time, uuid: opts.uuid, label, hashSeed: opts.hashSeed, ...(jnl ? { journalBlocks: jnl } : {}),
      logGroupsPerFlex: 4, groupNumber: g,
    });
    const at = g * BLOCKS_PER_GROUP * BLOCK_SIZE;
    out.write(sb, g === 0 ? 1024 : at);
    out.write(descs, at + BLOCK_SIZE);
  }
  return { blocks: geo.blocks, freeBlocks: freeBlocksTotal, inodes: ipg * geo.groups, freeInodes: freeInodesTotal, journalBlocks };
}

/** Joins extents that continue each other (logically and physically). */
function mergeExtents(extents: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    const last = out[out.length - 1];
    if (last && last.logical + last.length === e.logical && last.physical + last.length === e.physical) last.length += e.length;
    else out.push({ ...e });
  }
  return out;
}

