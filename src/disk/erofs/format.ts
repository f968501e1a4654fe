/**
 * EROFS on-disk format (the kernel's fs/erofs/erofs_fs.h, erofs-utils' include/erofs_fs.h): 4 KiB
 * blocks, the superblock at byte 1024, inodes addressed by nid (32-byte slots from the metadata
 * block), compact (32-byte) or extended (64-byte) inodes, inline xattrs after the inode, flat data
 * (plain, or with the tail inline after the inode), directories of 12-byte dirents and names.
 * Only the uncompressed layouts are written; the reader refuses the rest.
 */
export const EROFS_MAGIC = 0xe0f5e1e2;
export const SUPER_OFFSET = 1024;
export const BLOCK_BITS = 12;
export const BLOCK = 1 << BLOCK_BITS;
export const FEATURE_COMPAT_SB_CHKSUM = 0x1;

export const LAYOUT_FLAT_PLAIN = 0;
export const LAYOUT_COMPRESSED_FULL = 1;
export const LAYOUT_FLAT_INLINE = 2;
export const LAYOUT_COMPRESSED_COMPACT = 3;
export const LAYOUT_CHUNK_BASED = 4;

export const COMPACT_SIZE = 32;
export const EXTENDED_SIZE = 64;

export const FT = { unknown: 0, file: 1, dir: 2, char: 3, block: 4, fifo: 5, sock: 6, symlink: 7 } as const;

/** xattr name prefixes erofs has an index for (no "system." other than the POSIX ACLs). */
export const XATTR_PREFIXES: Array<[string, number]> = [
  ['system.posix_acl_access', 2],
  ['system.posix_acl_default', 3],
  ['user.', 1],
  ['trusted.', 4],
  ['lustre.', 5],
  ['security.', 6],
];

/** The kernel's new_encode_dev, as erofs stores rdev. */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

export function decodeDev(dev: number): { major: number; minor: number } {
  return { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}
