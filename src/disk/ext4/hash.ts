/**
 * ext4 directory index hashes (the kernel's fs/ext4/hash.c, e2fsprogs' dirhash.c): half-MD4 (the
 * default, version 1), TEA (2) and the legacy hash (0), each in a signed- and unsigned-char form
 * (versions 3, 4, 5: the superblock's EXT2_FLAGS_UNSIGNED_HASH chooses). The seed is the
 * superblock's s_hash_seed as four little-endian 32-bit words.
 */

export const HASH_LEGACY = 0;
export const HASH_HALF_MD4 = 1;
export const HASH_TEA = 2;
export const HASH_LEGACY_UNSIGNED = 3;
export const HASH_HALF_MD4_UNSIGNED = 4;
export const HASH_TEA_UNSIGNED = 5;

const K2 = 0o13240474631;
const K3 = 0o15666365641;

const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

function halfMd4(buf: Uint32Array, inp: Uint32Array): void {
  let a = buf[0]!, b = buf[1]!, c = buf[2]!, d = buf[3]!;
  const F = (x: number, y: number, z: number): number => (z ^ (x & (y ^ z))) >>> 0;
  const G = (x: number, y: number, z: number): number => (((x & y) >>> 0) + (((x ^ y) & z) >>> 0)) >>> 0;
  const H = (x: number, y: number, z: number): number => (x ^ y ^ z) >>> 0;
  const R = (f: typeof F, w: number, x: number, y: number, z: number, v: number, s: number): number => rotl((w + f(x, y, z) + v) >>> 0, s);
  const i = (n: number): number => inp[n]!;
  a = R(F, a, b, c, d, i(0), 3); d = R(F, d, a, b, c, i(1), 7); c = R(F, c, d, a, b, i(2), 11); b = R(F, b, c, d, a, i(3), 19);
  a = R(F, a, b, c, d, i(4), 3); d = R(F, d, a, b, c, i(5), 7); c = R(F, c, d, a, b, i(6), 11); b = R(F, b, c, d, a, i(7), 19);
  a = R(G, a, b, c, d, (i(1) + K2) >>> 0, 3); d = R(G, d, a, b, c, (i(3) + K2) >>> 0, 5); c = R(G, c, d, a, b, (i(5) + K2) >>> 0, 9); b = R(G, b, c, d, a, (i(7) + K2) >>> 0, 13);
  a = R(G, a, b, c, d, (i(0) + K2) >>> 0, 3); d = R(G, d, a, b, c, (i(2) + K2) >>> 0, 5); c = R(G, c, d, a, b, (i(4) + K2) >>> 0, 9); b = R(G, b, c, d, a, (i(6) + K2) >>> 0, 13);
  a = R(H, a, b, c, d, (i(3) + K3) >>> 0, 3); d = R(H, d, a, b, c, (i(7) + K3) >>> 0, 9); c = R(H, c, d, a, b, (i(2) + K3) >>> 0, 11); b = R(H, b, c, d, a, (i(6) + K3) >>> 0, 15);
  a = R(H, a, b, c, d, (i(1) + K3) >>> 0, 3); d = R(H, d, a, b, c, (i(5) + K3) >>> 0, 9); c = R(H, c, d, a, b, (i(0) + K3) >>> 0, 11); b = R(H, b, c, d, a, (i(4) + K3) >>> 0, 15);
  buf[0] = (buf[0]! + a) >>> 0;
  buf[1] = (buf[1]! + b) >>> 0;
  buf[2] = (buf[2]! + c) >>> 0;
  buf[3] = (buf[3]! + d) >>> 0;
}

function tea(buf: Uint32Array, inp: Uint32Array): void {
  let sum = 0;
  let b0 = buf[0]!, b1 = buf[1]!;
  const a = inp[0]!, b = inp[1]!, c = inp[2]!, d = inp[3]!;
  for (let n = 0; n < 16; n++) {
    sum = (sum + 0x9e3779b9) >>> 0;
    b0 = (b0 + ((((b1 << 4) >>> 0) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b))) >>> 0;
    b1 = (b1 + ((((b0 << 4) >>> 0) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d))) >>> 0;
  }
  buf[0] = (buf[0]! + b0) >>> 0;
  buf[1] = (buf[1]! + b1) >>> 0;
}

/** e2fsprogs' str2hashbuf: packs up to num*4 bytes of the name into num words, padded. */
function str2hashbuf(msg: Uint8Array, start: number, len: number, out: Uint32Array, num: number, unsigned: boolean): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  let k = 0;
  const n = Math.min(len, num * 4);
  for (let i = 0; i < n; i++) {
    const byte = msg[start + i]!;
    const c = unsigned ? byte : (byte << 24) >> 24;
    val = (c + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out[k++] = val;
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out[k++] = val;
  while (--num >= 0) out[k++] = pad;
}

function legacy(name: Uint8Array, unsigned: boolean): number {
  let hash0 = 0x12a3fe2d, hash1 = 0x37abe8f9;
  for (const byte of name) {
    const c = unsigned ? byte : (byte << 24) >> 24;
    let hash = (hash1 + ((hash0 ^ Math.imul(c, 7152373)) >>> 0)) >>> 0;
    if (hash & 0x80000000) hash = (hash - 0x7fffffff) >>> 0;
    hash1 = hash0;
    hash0 = hash;
  }
  return (hash0 << 1) >>> 0;
}

/** The major (bit 0 cleared) and minor hash of a name. `seed`: 4 words; all zero means the default. */
export function dirHash(version: number, name: Uint8Array, seed: Uint32Array): { hash: number; minor: number } {
  const buf = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  if (seed.some((w) => w !== 0)) buf.set(seed);
  const unsigned = version >= 3;
  const v = unsigned ? version - 3 : version;
  let hash: number;
  let minor = 0;
  if (v === HASH_LEGACY) {
    hash = legacy(name, unsigned);
  } else if (v === HASH_HALF_MD4) {
    const inp = new Uint32Array(8);
    for (let p = 0, len = name.length; len > 0; len -= 32, p += 32) {
      str2hashbuf(name, p, len, inp, 8, unsigned);
      halfMd4(buf, inp);
    }
    minor = buf[2]!;
    hash = buf[1]!;
  } else if (v === HASH_TEA) {
    const inp = new Uint32Array(4);
    for (let p = 0, len = name.length; len > 0; len -= 16, p += 16) {
      str2hashbuf(name, p, len, inp, 4, unsigned);
      tea(buf, inp);
    }
    hash = buf[0]!;
    minor = buf[1]!;
  } else {
    throw new Error(`dirHash: unknown version ${version}`);
  }
  return { hash: (hash & ~1) >>> 0, minor };
}
