/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as ext4's metadata_csum and erofs's
 * superblock checksum use it: `crc32cRaw` is the kernel's `crc32c(seed, data)` — no inversion
 * before or after, the caller's seed goes in as is (ext4 starts from ~0 and never inverts);
 * `crc32c` is the textbook CRC-32C (inverted in and out) for test vectors.
 */
const TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (t0[prev[n]! & 0xff]! ^ (prev[n]! >>> 8)) >>> 0;
    tables.push(t);
  }
  return tables;
})();

/** The kernel's crc32c(seed, data): no pre- or post-inversion. */
export function crc32cRaw(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = seed >>> 0;
  let i = start;
  // Slicing by 8.
  for (; i + 8 <= end; i += 8) {
    const a = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    crc = t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]!
      ^ t3[data[i + 4]!]! ^ t2[data[i + 5]!]! ^ t1[data[i + 6]!]! ^ t0[data[i + 7]!]!;
  }
  for (; i < end; i++) crc = t0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}

/** CRC-32C as iSCSI defines it ("123456789" → 0xE3069283). */
export function crc32c(data: Uint8Array): number {
  return ~crc32cRaw(0xffffffff, data) >>> 0;
}

/** crc32cRaw over a little-endian 32-bit number (inode numbers, generations, group numbers). */
export function crc32cU32(seed: number, value: number): number {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(value >>> 0);
  return crc32cRaw(seed, b);
}
