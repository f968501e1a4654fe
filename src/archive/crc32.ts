import zlib from 'node:zlib';

/** CRC-32 (IEEE) as gzip uses it; zlib.crc32 where Node has it (>= 20.15), a table otherwise. */
type Crc32 = (data: Uint8Array, prev: number) => number;

let table: Uint32Array | undefined;

function crc32Table(data: Uint8Array, prev: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~prev >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

export const crc32: Crc32 = native ? (d, p) => native(d, p) >>> 0 : crc32Table;
export const crc32Portable: Crc32 = crc32Table;
