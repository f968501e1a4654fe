/**
 * ext4 directories: blocks of entries (inode, record length, name length, file type, name padded
 * to 4 bytes) each ending in a 12-byte checksum tail. A directory that fits in one block stays
 * linear, in name order; a bigger one gets a hash tree (dir_index): a root block (`.`, `..` and the
 * dx_root), one level of index nodes if the leaves need more than one block of index entries, and
 * leaves holding the entries sorted by hash, an equal-hash run kept in one leaf when it fits.
 */
import { ReproError } from '../../model/errors.js';
import { crc32cRaw } from '../crc32c.js';
import { BLOCK_SIZE, FT } from './format.js';
import { dirHash, HASH_HALF_MD4, HASH_HALF_MD4_UNSIGNED } from './hash.js';

export interface DirRecord {
  name: Buffer;
  ino: number;
  ft: number;
}

const TAIL = 12;
const USABLE = BLOCK_SIZE - TAIL;
const ROOT_LIMIT = (BLOCK_SIZE - 32 - 8) / 8; // 507 with the dx tail
const NODE_LIMIT = (BLOCK_SIZE - 8 - 8) / 8; // 510

export const recLen = (nameLen: number): number => (8 + nameLen + 3) & ~3;

function putRecord(b: Buffer, off: number, r: DirRecord, len: number): void {
  b.writeUInt32LE(r.ino, off);
  b.writeUInt16LE(len, off + 4);
  b[off + 6] = r.name.length;
  b[off + 7] = r.ft;
  r.name.copy(b, off + 8);
}

function tail(b: Buffer, seed: number): void {
  b.writeUInt32LE(0, USABLE);
  b.writeUInt16LE(TAIL, USABLE + 4);
  b[USABLE + 6] = 0;
  b[USABLE + 7] = 0xde;
  b.writeUInt32LE(crc32cRaw(seed, b, 0, USABLE), USABLE + 8);
}

/** One leaf block holding `recs` (an empty block holds one unused entry spanning it). */
export function leafBlock(recs: DirRecord[], seed: number): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  if (recs.length === 0) {
    b.writeUInt16LE(USABLE, 4);
  } else {
    let off = 0;
    recs.forEach((r, i) => {
      const len = i === recs.length - 1 ? USABLE - off : recLen(r.name.length);
      putRecord(b, off, r, len);
      off += len;
    });
  }
  tail(b, seed);
  return b;
}

/** Cuts records into runs that fit a block each, in order. */
function packLinear(recs: DirRecord[]): DirRecord[][] {
  const blocks: DirRecord[][] = [];
  let cur: DirRecord[] = [];
  let used = 0;
  for (const r of recs) {
    const len = recLen(r.name.length);
    if (used + len > USABLE && cur.length > 0) {
      blocks.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(r);
    used += len;
  }
  blocks.push(cur);
  return blocks;
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

export interface DirBlocks {
  blocks: Buffer[];
  indexed: boolean;
}

/**
 * The blocks of a directory. `seed`: the inode's checksum seed; `hashSeed`: s_hash_seed as
 * words; `unsignedHash`: EXT2_FLAGS_UNSIGNED_HASH.
 */
export function directoryBlocks(self: number, parent: number, children: DirRecord[], seed: number, hashSeed: Uint32Array, where: string): DirBlocks {
  const dot: DirRecord = { name: DOT, ino: self, ft: FT.dir };
  const dotdot: DirRecord = { name: DOTDOT, ino: parent, ft: FT.dir };
  const linear = packLinear([dot, dotdot, ...children]);
  if (linear.length === 1) return { blocks: [leafBlock(linear[0]!, seed)], indexed: false };

  // Hash tree: leaves by hash.
  const hashed = children.map((r) => ({ r, ...dirHash(HASH_HALF_MD4_UNSIGNED, r.name, hashSeed) }))
    .sort((a, b) => a.hash - b.hash || a.minor - b.minor || Buffer.compare(a.r.name, b.r.name));
  const leaves: Array<{ recs: DirRecord[]; hash: number; continued: boolean }> = [];
  let cur: DirRecord[] = [];
  let used = 0;
  let curHash = 0;
  let curContinued = false;
  for (let i = 0; i < hashed.length;) {
    // The run of entries with this hash.
    let j = i;
    let runBytes = 0;
    while (j < hashed.length && hashed[j]!.hash === hashed[i]!.hash) runBytes += recLen(hashed[j++]!.r.name.length);
    if (cur.length > 0 && used + runBytes > USABLE && runBytes <= USABLE) {
      leaves.push({ recs: cur, hash: curHash, continued: curContinued });
      cur = [];
      used = 0;
    }
    for (let k = i; k < j; k++) {
      const len = recLen(hashed[k]!.r.name.length);
      if (used + len > USABLE) {
        leaves.push({ recs: cur, hash: curHash, continued: curContinued });
        cur = [];
        used = 0;
        // A run split across leaves: the next leaf continues the same hash.
        curContinued = k > i;
      }
      if (cur.length === 0) {
        curHash = hashed[k]!.hash;
        if (k === i) curContinued = false;
      }
      cur.push(hashed[k]!.r);
      used += len;
    }
    i = j;
  }
  if (cur.length > 0) leaves.push({ recs: cur, hash: curHash, continued: curContinued });

  const indexEntries = (first: number, count: number, firstBlock: number): Array<{ hash: number; block: number }> =>
    Array.from({ length: count }, (_, k) => {
      const l = leaves[first + k]!;
      return { hash: (l.hash | (l.continued ? 1 : 0)) >>> 0, block: firstBlock + k };
    });

  const blocks: Buffer[] = [];
  if (leaves.length <= ROOT_LIMIT) {
    blocks.push(dxRoot(self, parent, 0, indexEntries(0, leaves.length, 1), seed));
  } else {
    const nodes = Math.ceil(leaves.length / NODE_LIMIT);
    if (nodes > ROOT_LIMIT) throw new ReproError('E_UNSUPPORTED', `${where}: a directory of ${children.length} entries is beyond a two-level hash tree`);
    const firstLeaf = 1 + nodes;
    const rootEntries: Array<{ hash: number; block: number }> = [];
    const nodeBlocks: Buffer[] = [];
    for (let n = 0; n < nodes; n++) {
      const first = n * NODE_LIMIT;
      const count = Math.min(NODE_LIMIT, leaves.length - first);
      const l = leaves[first]!;
      rootEntries.push({ hash: (l.hash | (l.continued ? 1 : 0)) >>> 0, block: 1 + n });
      nodeBlocks.push(dxNode(indexEntries(first, count, firstLeaf + first), seed));
    }
    blocks.push(dxRoot(self, parent, 1, rootEntries, seed), ...nodeBlocks);
  }
  for (const l of leaves) blocks.push(leafBlock(l.recs, seed));
  return { blocks, indexed: true };
}

/** count/limit, then entries; entry 0's hash field is the count/limit pair. */
function putIndex(b: Buffer, at: number, limit: number, entries: Array<{ hash: number; block: number }>, seed: number): void {
  b.writeUInt16LE(limit, at);
  b.writeUInt16LE(entries.length, at + 2);
  entries.forEach((e, i) => {
    if (i > 0) b.writeUInt32LE(e.hash, at + i * 8);
    b.writeUInt32LE(e.block, at + i * 8 + 4);
  });
  const tailAt = at + limit * 8;
  // dx tail: dt_reserved, dt_checksum over the used index and the tail with a zero checksum.
  let crc = crc32cRaw(seed, b, 0, at + entries.length * 8);
  crc = crc32cRaw(crc, Buffer.alloc(8));
  b.writeUInt32LE(crc, tailAt + 4);
}

function dxRoot(self: number, parent: number, levels: number, entries: Array<{ hash: number; block: number }>, seed: number): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  putRecord(b, 0, { name: DOT, ino: self, ft: FT.dir }, 12);
  putRecord(b, 12, { name: DOTDOT, ino: parent, ft: FT.dir }, BLOCK_SIZE - 12);
  b.writeUInt32LE(0, 24); // reserved_zero
  b[28] = HASH_HALF_MD4; // the base version; the superblock flag makes it unsigned
  b[29] = 8; // info_length
  b[30] = levels;
  b[31] = 0;
  putIndex(b, 32, ROOT_LIMIT, entries, seed);
  return b;
}

function dxNode(entries: Array<{ hash: number; block: number }>, seed: number): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  b.writeUInt32LE(0, 0);
  b.writeUInt16LE(BLOCK_SIZE, 4);
  putIndex(b, 8, NODE_LIMIT, entries, seed);
  return b;
}
