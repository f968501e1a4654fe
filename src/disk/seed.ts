/**
 * Everything random-looking on a disk comes from one seed (a UUID, as mkosi's and
 * systemd-repart's `--seed`). The rules below are systemd-repart's (src/repart/repart.c,
 * systemd 257), so that systemd-repart given the same seed and partition definitions arrives at
 * the same disk GUID, partition UUIDs, file system UUIDs, verity salt and verity UUIDs; the
 * ext4 directory hash seed is ours (mke2fs picks a random one). docs/disk.md lists them.
 *
 *   disk GUID           = v4(HMAC-SHA256(seed, "disk-uuid")[0..16])
 *   partition UUID      = v4(HMAC-SHA256(seed, TYPE_UUID)[0..16])                 first of its type
 *                       = v4(HMAC-SHA256(seed, TYPE_UUID || le64(k))[0..16])      k-th later one (k ≥ 1)
 *   file system UUID    = v4(HMAC-SHA256(partition UUID, "file-system-uuid")[0..16])
 *   vfat volume id      = the first four bytes of the file system UUID, big-endian
 *   verity salt         = HMAC-SHA256(seed, "verity-salt")                         (32 bytes)
 *   verity superblock   = v4(HMAC-SHA256(seed, "verity-uuid")[0..16])
 *   verity data UUID    = root hash[0..16];  verity hash UUID = root hash[16..32]
 *   ext4 hash seed      = v4(HMAC-SHA256(file system UUID, "ext4-directory-hash-seed")[0..16])  (ours)
 *
 * "v4" marks the bytes as a version 4 UUID (systemd's id128_make_v4_uuid). HMAC keys and
 * messages that are UUIDs are their 16 bytes in text order.
 */
import { createHmac } from 'node:crypto';
import { makeV4 } from './uuid.js';

function hmac(key: Uint8Array, message: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

/** systemd-repart's derive_uuid(base, token). */
export function deriveUuid(base: Uint8Array, token: string): Buffer {
  return makeV4(hmac(base, token));
}

export function diskGuid(seed: Uint8Array): Buffer {
  return deriveUuid(seed, 'disk-uuid');
}

/** The UUID of the `instance`-th partition (0-based) of a type, counting in table order. */
export function partitionUuid(seed: Uint8Array, typeUuid: Uint8Array, instance: number): Buffer {
  if (instance === 0) return makeV4(hmac(seed, typeUuid));
  const msg = Buffer.alloc(24);
  Buffer.from(typeUuid).copy(msg, 0, 0, 16);
  msg.writeBigUInt64LE(BigInt(instance), 16);
  return makeV4(hmac(seed, msg));
}

export function fileSystemUuid(partitionUuid: Uint8Array): Buffer {
  return deriveUuid(partitionUuid, 'file-system-uuid');
}

export function vfatVolumeId(fsUuid: Uint8Array): number {
  return Buffer.from(fsUuid).readUInt32BE(0);
}

export function veritySalt(seed: Uint8Array): Buffer {
  return hmac(seed, 'verity-salt');
}

export function verityUuid(seed: Uint8Array): Buffer {
  return deriveUuid(seed, 'verity-uuid');
}

export function ext4HashSeed(fsUuid: Uint8Array): Buffer {
  return deriveUuid(fsUuid, 'ext4-directory-hash-seed');
}

/** The data and hash partitions' UUIDs of a verity pair: the root hash's first and last 16 bytes. */
export function verityPartitionUuids(rootHash: Uint8Array): { data: Buffer; hash: Buffer } {
  return { data: Buffer.from(rootHash.subarray(0, 16)), hash: Buffer.from(rootHash.subarray(rootHash.length - 16)) };
}
