/**
 * ext4 on-disk structures (the kernel's Documentation/filesystems/ext4, e2fsprogs' ext2_fs.h):
 * the constants we use and the encoders of the superblock, group descriptors and inodes, with
 * their metadata_csum checksums (CRC-32C seeded with the UUID's checksum).
 */
import { crc32cRaw, crc32cU32 } from '../crc32c.js';

export const BLOCK_SIZE = 4096;
export const LOG_BLOCK = 2; // 1024 << 2
export const BLOCKS_PER_GROUP = 32768;
export const INODE_SIZE = 256;
export const EXTRA_ISIZE = 32;
export const DESC_SIZE = 64;
export const FIRST_INO = 11;
export const ROOT_INO = 2;
export const JOURNAL_INO = 8;
export const LOST_FOUND_INO = 11;
export const SUPER_MAGIC = 0xef53;

export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_EXT_ATTR = 0x8;
export const COMPAT_DIR_INDEX = 0x20;
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_FLEX_BG = 0x200;
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_LARGE_FILE = 0x2;
export const RO_COMPAT_HUGE_FILE = 0x8;
export const RO_COMPAT_DIR_NLINK = 0x20;
export const RO_COMPAT_EXTRA_ISIZE = 0x40;
export const RO_COMPAT_METADATA_CSUM = 0x400;

export const FEATURES = {
  compat: COMPAT_HAS_JOURNAL | COMPAT_EXT_ATTR | COMPAT_DIR_INDEX,
  incompat: INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG,
  roCompat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM,
};

export const EXTENTS_FL = 0x80000;
export const INDEX_FL = 0x1000;
export const HUGE_FILE_FL = 0x40000;
export const FLAGS_UNSIGNED_HASH = 0x2;
export const BG_INODE_ZEROED = 0x4;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

/** Directory entry file types. */
export const FT = { unknown: 0, file: 1, dir: 2, char: 3, block: 4, fifo: 5, sock: 6, symlink: 7 } as const;

/** The checksum seed of metadata_csum: crc32c(~0, uuid). */
export function csumSeed(uuid: Uint8Array): number {
  return crc32cRaw(0xffffffff, uuid);
}

/** The seed of an inode's metadata (inode, extent blocks, directory blocks). */
export function inodeSeed(seed: number, ino: number, generation: number): number {
  return crc32cU32(crc32cU32(seed, ino), generation);
}

/** Groups with superblock backups under sparse_super: 0, 1 and the powers of 3, 5 and 7. */
export function hasSuper(group: number): boolean {
  if (group <= 1) return true;
  for (const base of [3, 5, 7]) {
    let p = base;
    while (p < group) p *= base;
    if (p === group) return true;
  }
  return false;
}

/** Seconds → (32-bit field, extra field with the epoch bits); nanoseconds 0. */
export function encodeTime(s: number): { lo: number; extra: number } {
  const lo = s >>> 0; // two's complement low 32 bits (also for negative s)
  const signedLo = lo | 0;
  const epoch = Math.round((s - signedLo) / 2 ** 32) & 3;
  return { lo, extra: epoch };
}

export function decodeTime(lo: number, extra: number): { s: number; ns: number } {
  const epoch = extra & 3;
  return { s: (lo | 0) + epoch * 2 ** 32, ns: extra >>> 2 };
}

/** Seconds an ext4 time can hold with 2 epoch bits. */
export const TIME_MIN = -(2 ** 31);
export const TIME_MAX = 2 ** 34 - 2 ** 31 - 1;

export interface SuperblockFields {
  inodesCount: number;
  blocksCount: number;
  freeBlocks: number;
  freeInodes: number;
  inodesPerGroup: number;
  time: number;
  uuid: Buffer;
  label: Buffer;
  hashSeed: Buffer;
  journalBlocks?: Buffer; // 68 bytes: i_block (60), size_high, size
  logGroupsPerFlex: number;
  groupNumber: number;
}

export function encodeSuperblock(f: SuperblockFields): Buffer {
  const b = Buffer.alloc(1024);
  const t = encodeTime(f.time);
  b.writeUInt32LE(f.inodesCount, 0x00);
  b.writeUInt32LE(f.blocksCount % 2 ** 32, 0x04);
  b.writeUInt32LE(0, 0x08); // reserved blocks (mke2fs -m 0, as systemd-repart runs it)
  b.writeUInt32LE(f.freeBlocks % 2 ** 32, 0x0c);
  b.writeUInt32LE(f.freeInodes, 0x10);
  b.writeUInt32LE(0, 0x14); // first data block
  b.writeUInt32LE(LOG_BLOCK, 0x18);
  b.writeUInt32LE(LOG_BLOCK, 0x1c); // cluster size = block size
  b.writeUInt32LE(BLOCKS_PER_GROUP, 0x20);
  b.writeUInt32LE(BLOCKS_PER_GROUP, 0x24);
  b.writeUInt32LE(f.inodesPerGroup, 0x28);
  b.writeUInt32LE(0, 0x2c); // mtime: never mounted
  b.writeUInt32LE(t.lo, 0x30); // wtime
  b.writeUInt16LE(0, 0x34); // mount count
  b.writeInt16LE(-1, 0x36); // max mount count: no forced checks
  b.writeUInt16LE(SUPER_MAGIC, 0x38);
  b.writeUInt16LE(1, 0x3a); // state: clean
  b.writeUInt16LE(1, 0x3c); // errors: continue
  b.writeUInt16LE(0, 0x3e);
  b.writeUInt32LE(t.lo, 0x40); // lastcheck
  b.writeUInt32LE(0, 0x44); // checkinterval
  b.writeUInt32LE(0, 0x48); // creator OS: Linux
  b.writeUInt32LE(1, 0x4c); // dynamic revision
  b.writeUInt32LE(FIRST_INO, 0x54);
  b.writeUInt16LE(INODE_SIZE, 0x58);
  b.writeUInt16LE(f.groupNumber, 0x5a);
  b.writeUInt32LE(FEATURES.compat, 0x5c);
  b.writeUInt32LE(FEATURES.incompat, 0x60);
  b.writeUInt32LE(FEATURES.roCompat, 0x64);
  f.uuid.copy(b, 0x68);
  f.label.copy(b, 0x78, 0, 16);
  b.writeUInt32LE(f.journalBlocks ? JOURNAL_INO : 0, 0xe0);
  f.hashSeed.copy(b, 0xec);
  b[0xfc] = 1; // default hash: half-MD4
  b[0xfd] = f.journalBlocks ? 1 : 0; // s_jnl_backup_type: EXT3_JNL_BACKUP_BLOCKS
  b.writeUInt16LE(DESC_SIZE, 0xfe);
  b.writeUInt32LE(0x0c, 0x100); // default mount options: user_xattr, acl (mke2fs.conf's default)
  b.writeUInt32LE(t.lo, 0x108); // mkfs time
  if (f.journalBlocks) f.journalBlocks.copy(b, 0x10c);
  b.writeUInt32LE(Math.floor(f.blocksCount / 2 ** 32), 0x150);
  b.writeUInt32LE(Math.floor(f.freeBlocks / 2 ** 32), 0x158);
  b.writeUInt16LE(EXTRA_ISIZE, 0x15c);
  b.writeUInt16LE(EXTRA_ISIZE, 0x15e);
  b.writeUInt32LE(FLAGS_UNSIGNED_HASH, 0x160);
  b[0x174] = f.logGroupsPerFlex;
  b[0x175] = 1; // checksum type: crc32c
  // Superblock times are unsigned: low 32 bits here, the next 8 in the _hi bytes.
  const hi = Math.floor(Math.max(0, f.time) / 2 ** 32) & 0xff;
  b[0x274] = hi; // wtime_hi
  b[0x276] = hi; // mkfs_time_hi
  b[0x277] = hi; // lastcheck_hi
  b.writeUInt32LE(crc32cRaw(0xffffffff, b, 0, 0x3fc), 0x3fc);
  return b;
}

export interface GroupDescFields {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  itableUnused: number;
  blockBitmapCsum: number;
  inodeBitmapCsum: number;
}

export function encodeGroupDesc(g: GroupDescFields, group: number, seed: number): Buffer {
  const d = Buffer.alloc(DESC_SIZE);
  const lo = (v: number): number => v % 2 ** 32;
  const hi = (v: number): number => Math.floor(v / 2 ** 32);
  d.writeUInt32LE(lo(g.blockBitmap), 0);
  d.writeUInt32LE(lo(g.inodeBitmap), 4);
  d.writeUInt32LE(lo(g.inodeTable), 8);
  d.writeUInt16LE(g.freeBlocks & 0xffff, 12);
  d.writeUInt16LE(g.freeInodes & 0xffff, 14);
  d.writeUInt16LE(g.usedDirs & 0xffff, 16);
  d.writeUInt16LE(BG_INODE_ZEROED, 18);
  d.writeUInt16LE(g.blockBitmapCsum & 0xffff, 24);
  d.writeUInt16LE(g.inodeBitmapCsum & 0xffff, 26);
  d.writeUInt16LE(g.itableUnused & 0xffff, 28);
  d.writeUInt32LE(hi(g.blockBitmap), 32);
  d.writeUInt32LE(hi(g.inodeBitmap), 36);
  d.writeUInt32LE(hi(g.inodeTable), 40);
  d.writeUInt16LE(g.freeBlocks >>> 16, 44);
  d.writeUInt16LE(g.freeInodes >>> 16, 46);
  d.writeUInt16LE(g.usedDirs >>> 16, 48);
  d.writeUInt16LE(g.itableUnused >>> 16, 50);
  d.writeUInt16LE(g.blockBitmapCsum >>> 16, 56);
  d.writeUInt16LE(g.inodeBitmapCsum >>> 16, 58);
  const crc = crc32cRaw(crc32cU32(seed, group), d);
  d.writeUInt16LE(crc & 0xffff, 30);
  return d;
}

export interface InodeFields {
  mode: number; // with type bits
  uid: number;
  gid: number;
  size: number;
  time: number;
  links: number;
  /** In 512-byte units. */
  blocks512: number;
  flags: number;
  iblock: Buffer; // 60 bytes
  fileAcl: number;
  /** Bytes after the 32 extra bytes (in-inode xattrs: magic + entries), up to 96. */
  inlineXattrs?: Buffer;
}

export function encodeInode(f: InodeFields, ino: number, seed: number): Buffer {
  const b = Buffer.alloc(INODE_SIZE);
  const t = encodeTime(f.time);
  b.writeUInt16LE(f.mode, 0x00);
  b.writeUInt16LE(f.uid & 0xffff, 0x02);
  b.writeUInt32LE(f.size % 2 ** 32, 0x04);
  b.writeUInt32LE(t.lo, 0x08); // atime
  b.writeUInt32LE(t.lo, 0x0c); // ctime
  b.writeUInt32LE(t.lo, 0x10); // mtime
  b.writeUInt16LE(f.gid & 0xffff, 0x18);
  b.writeUInt16LE(f.links, 0x1a);
  b.writeUInt32LE(f.blocks512 % 2 ** 32, 0x1c);
  b.writeUInt32LE(f.flags, 0x20);
  f.iblock.copy(b, 0x28, 0, 60);
  b.writeUInt32LE(f.fileAcl % 2 ** 32, 0x68);
  b.writeUInt32LE(Math.floor(f.size / 2 ** 32), 0x6c);
  b.writeUInt16LE(Math.floor(f.blocks512 / 2 ** 32) & 0xffff, 0x74);
  b.writeUInt16LE(Math.floor(f.fileAcl / 2 ** 32) & 0xffff, 0x76);
  b.writeUInt16LE(f.uid >>> 16, 0x78);
  b.writeUInt16LE(f.gid >>> 16, 0x7a);
  b.writeUInt16LE(EXTRA_ISIZE, 0x80);
  b.writeUInt32LE(t.extra, 0x84); // ctime extra
  b.writeUInt32LE(t.extra, 0x88); // mtime extra
  b.writeUInt32LE(t.extra, 0x8c); // atime extra
  b.writeUInt32LE(t.lo, 0x90); // crtime
  b.writeUInt32LE(t.extra, 0x94);
  if (f.inlineXattrs) f.inlineXattrs.copy(b, 128 + EXTRA_ISIZE);
  const crc = crc32cRaw(inodeSeed(seed, ino, 0), b);
  b.writeUInt16LE(crc & 0xffff, 0x7c);
  b.writeUInt16LE(crc >>> 16, 0x82);
  return b;
}
