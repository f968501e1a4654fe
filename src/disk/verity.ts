/**
 * dm-verity hash devices, format 1 (the kernel's Documentation/admin-guide/device-mapper/verity.rst,
 * cryptsetup's VERITY_create): a 512-byte superblock in the first hash block, then the hash tree,
 * top level first. Each hash is SHA-256(salt || block); a level's hashes fill hash blocks (zero
 * padded); the next level hashes those blocks; the root hash is the hash of the single top block.
 */
import { createHash } from 'node:crypto';
import { ReproError } from '../model/errors.js';
import type { Source } from './io.js';

export const VERITY_BLOCK = 4096;
const DIGEST = 32;
const PER_BLOCK = VERITY_BLOCK / DIGEST;

export interface VerityParams {
  salt: Buffer;
  uuid: Buffer;
  /** Bytes of data (a multiple of 4096). */
  dataBytes: number;
}

/**
 * Hash blocks per level, bottom (level 0) first: as many levels as it takes to get down to one
 * hash; a single data block needs none (its own hash is the root hash, as the kernel counts levels).
 */
export function levelSizes(dataBlocks: number): number[] {
  const out: number[] = [];
  for (let n = dataBlocks; n > 1;) {
    n = Math.ceil(n / PER_BLOCK);
    out.push(n);
  }
  return out;
}

/** Bytes the hash device needs: the superblock block and every level. */
export function hashDeviceBytes(dataBytes: number): number {
  return VERITY_BLOCK * (1 + levelSizes(dataBytes / VERITY_BLOCK).reduce((a, b) => a + b, 0));
}

export function encodeVeritySuperblock(p: VerityParams): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from('verity\0\0', 'latin1').copy(b, 0);
  b.writeUInt32LE(1, 8); // version
  b.writeUInt32LE(1, 12); // hash type: normal (salt first)
  p.uuid.copy(b, 16, 0, 16);
  Buffer.from('sha256', 'latin1').copy(b, 32);
  b.writeUInt32LE(VERITY_BLOCK, 64);
  b.writeUInt32LE(VERITY_BLOCK, 68);
  b.writeBigUInt64LE(BigInt(p.dataBytes / VERITY_BLOCK), 72);
  b.writeUInt16LE(p.salt.length, 80);
  p.salt.copy(b, 88);
  return b;
}

/**
 * Builds the hash device for the data `src` (read sequentially once): returns its bytes (a
 * superblock block and the tree) and the root hash. Memory: the tree (1/128 of the data).
 */
export function buildVerity(src: Source, p: VerityParams): { hashDevice: Buffer; rootHash: Buffer } {
  if (p.dataBytes % VERITY_BLOCK !== 0 || p.dataBytes === 0) throw new ReproError('E_BAD_INPUT', `verity: ${p.dataBytes} bytes of data is not a whole, non-zero number of 4096-byte blocks`);
  if (p.salt.length > 256) throw new ReproError('E_BAD_INPUT', 'verity: a salt of more than 256 bytes');
  const dataBlocks = p.dataBytes / VERITY_BLOCK;
  const sizes = levelSizes(dataBlocks);
  const hashBlock = (block: Uint8Array): Buffer => createHash('sha256').update(p.salt).update(block).digest();
  // The data blocks' hashes; they fill the bottom level's blocks (zero padded).
  const digests = Buffer.alloc(Math.max(1, sizes[0] ?? 0) * VERITY_BLOCK);
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (let off = 0, i = 0; off < p.dataBytes;) {
    const len = Math.min(chunk.length, p.dataBytes - off);
    src.readInto(chunk, 0, len, off, 'verity data');
    for (let o = 0; o < len; o += VERITY_BLOCK, i++) hashBlock(chunk.subarray(o, o + VERITY_BLOCK)).copy(digests, i * DIGEST);
    off += len;
  }
  const levels: Buffer[] = sizes.length === 0 ? [] : [digests];
  for (let l = 1; l < sizes.length; l++) {
    const below = levels[l - 1]!;
    const level = Buffer.alloc(sizes[l]! * VERITY_BLOCK);
    for (let i = 0; i < sizes[l - 1]!; i++) hashBlock(below.subarray(i * VERITY_BLOCK, (i + 1) * VERITY_BLOCK)).copy(level, i * DIGEST);
    levels.push(level);
  }
  const rootHash = levels.length === 0 ? Buffer.from(digests.subarray(0, DIGEST)) : hashBlock(levels[levels.length - 1]!.subarray(0, VERITY_BLOCK));
  const sb = Buffer.alloc(VERITY_BLOCK);
  encodeVeritySuperblock(p).copy(sb);
  return { hashDevice: Buffer.concat([sb, ...levels.reverse()]), rootHash };
}

export interface VerityInfo {
  uuid: Buffer;
  salt: Buffer;
  dataBlocks: number;
  algorithm: string;
  dataBlockSize: number;
  hashBlockSize: number;
}

export function readVeritySuperblock(hash: Source): VerityInfo | undefined {
  if (hash.size < 512) return undefined;
  const b = hash.read(0, 512, 'verity superblock');
  if (!b.subarray(0, 8).equals(Buffer.from('verity\0\0', 'latin1'))) return undefined;
  const version = b.readUInt32LE(8);
  const type = b.readUInt32LE(12);
  const algorithm = b.subarray(32, 64).toString('latin1').replace(/\0.*$/s, '');
  const saltSize = b.readUInt16LE(80);
  if (version !== 1 || type !== 1 || saltSize > 256) throw new ReproError('E_UNSUPPORTED', `${hash.where}: verity superblock version ${version}, hash type ${type}, salt ${saltSize} bytes: only version 1, type 1 is read`);
  return {
    uuid: Buffer.from(b.subarray(16, 32)), salt: Buffer.from(b.subarray(88, 88 + saltSize)), dataBlocks: Number(b.readBigUInt64LE(72)),
    algorithm, dataBlockSize: b.readUInt32LE(64), hashBlockSize: b.readUInt32LE(68),
  };
}

/**
 * Checks a data device against a hash device: recomputes the tree and compares it with what is
 * stored and the root hash with `rootHash` (when given). Returns the problems found.
 */
export function verifyVerity(data: Source, hash: Source, rootHash?: Buffer): { rootHash: Buffer; problems: string[] } {
  const info = readVeritySuperblock(hash);
  if (!info) return { rootHash: Buffer.alloc(0), problems: [`${hash.where}: no verity superblock`] };
  const problems: string[] = [];
  if (info.algorithm !== 'sha256' || info.dataBlockSize !== VERITY_BLOCK || info.hashBlockSize !== VERITY_BLOCK) {
    return { rootHash: Buffer.alloc(0), problems: [`${hash.where}: ${info.algorithm} with ${info.dataBlockSize}/${info.hashBlockSize}-byte blocks is not checked (sha256, 4096 only)`] };
  }
  const dataBytes = info.dataBlocks * VERITY_BLOCK;
  if (dataBytes > data.size) problems.push(`${hash.where}: the superblock covers ${dataBytes} bytes of data, the data partition has ${data.size}`);
  const built = buildVerity(data.slice(0, Math.min(dataBytes, data.size - (data.size % VERITY_BLOCK)), 'verity data'), { salt: info.salt, uuid: info.uuid, dataBytes: Math.min(dataBytes, data.size - (data.size % VERITY_BLOCK)) });
  const stored = hash.read(0, Math.min(hash.size, built.hashDevice.length), 'verity hash tree');
  if (!stored.equals(built.hashDevice.subarray(0, stored.length)) || stored.length !== built.hashDevice.length) {
    problems.push(`${hash.where}: the stored hash tree does not match the data`);
  }
  if (rootHash && !rootHash.equals(built.rootHash)) problems.push(`root hash ${built.rootHash.toString('hex')} is not the expected ${rootHash.toString('hex')}`);
  return { rootHash: built.rootHash, problems };
}
