/**
 * MD5 of many files at once, on the calling thread, in the SIMD lanes of md5-wasm.ts: each lane
 * hashes one file, fed in pieces of `PIECE` bytes read straight into the lane's region of the
 * module's memory (never copied); when a lane's file ends (its padding written after its last
 * piece), its digest is taken and the lane starts on the next file the caller gives. Any size of
 * file goes to a lane; a caller that gives the biggest files first keeps the lanes ending close
 * together. The digests are the ones `createHash('md5')` gives; only the time differs.
 *
 * `md5Lanes()` is undefined where WebAssembly's SIMD is not to be had (or when turned off, see
 * `setMd5Lanes`); callers then hash each file with `createHash`.
 */
import { LANES, md5LanesModule, STATE_BYTES, STATE_OFFSET } from './md5-wasm.js';
import { MD5_MODULE, MD5_MODULE_PAGES } from './md5-wasm-module.js';

/** Bytes of a file read into its lane at once (a multiple of 64). */
const PIECE = 1 << 20;
/** A lane's region: a piece, and room for the padding after the last one. */
const REGION = PIECE + 128;
const DATA = Math.ceil((STATE_OFFSET + STATE_BYTES) / 64) * 64;
/** Regions: one per lane, and one that idle lanes hash to no one. */
export const PAGES = Math.ceil((DATA + (LANES + 1) * REGION) / 65536);
const IDLE = DATA + LANES * REGION;
const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

/** A file for the lanes: `size` bytes, read by `read` (exactly the length of the view, from `at` bytes into the file); `done` gets its digest. */
export interface LaneFile {
  size: number;
  read(into: Uint8Array, at: number): void;
  done(md5: Uint8Array): void;
}

type Blocks = (...pointersThenCount: number[]) => void;

// The part of the WebAssembly API used here (Node has it; @types/node does not declare it).
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
let enabled = true;

/** Turns the lanes off (or on again): for tests and benches that compare with `createHash`. */
export function setMd5Lanes(on: boolean): void {
  enabled = on;
}

function moduleOnce(): object | null {
  if (compiled === undefined) {
    // The bytes kept in md5-wasm-module.ts (made again only if they are for another memory).
    const bytes = MD5_MODULE_PAGES === PAGES ? Buffer.from(MD5_MODULE, 'base64') : md5LanesModule(PAGES);
    // A processor (or engine) without 128-bit SIMD refuses the module: hash one file at a time then.
    compiled = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

interface Lane {
  file: LaneFile;
  /** Bytes of the file read so far. */
  fed: number;
  /** The padding is in the region: the file ends with the blocks left. */
  last: boolean;
}

export class Md5Lanes {
  private readonly blocks: Blocks;
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;

  constructor(module: object) {
    if (!wasm) throw new Error('internal: md5 lanes without WebAssembly');
    const instance = new wasm.Instance(module);
    this.blocks = instance.exports['blocks'] as Blocks;
    const mem = instance.exports['mem'] as { buffer: ArrayBuffer };
    this.u8 = new Uint8Array(mem.buffer);
    this.u32 = new Uint32Array(mem.buffer);
  }

  /** Hashes every file `next` gives (until it gives undefined); each file's `done` runs as it ends. */
  run(next: () => LaneFile | undefined): void {
    const lanes: Array<Lane | undefined> = new Array(LANES).fill(undefined);
    const args = new Array<number>(LANES + 1).fill(IDLE);
    /** Blocks left in each lane's region (Infinity: idle). */
    const left = new Array<number>(LANES).fill(Infinity);
    const region = (l: number): number => DATA + l * REGION;
    // The next piece of lane l's file into its region: its blocks, with the padding after the last piece.
    const refill = (l: number, lane: Lane): void => {
      const n = Math.min(PIECE, lane.file.size - lane.fed);
      const at = region(l);
      if (n > 0) lane.file.read(this.u8.subarray(at, at + n), lane.fed);
      lane.fed += n;
      args[l] = at;
      if (lane.fed < lane.file.size) {
        left[l] = n / 64;
        return;
      }
      lane.last = true;
      const blocks = Math.floor((n + 8) / 64) + 1;
      const tail = at + blocks * 64;
      this.u8[at + n] = 0x80;
      this.u8.fill(0, at + n + 1, tail - 8);
      const bits = lane.file.size * 8;
      this.u32[(tail - 8) >>> 2] = bits >>> 0;
      this.u32[(tail - 4) >>> 2] = Math.floor(bits / 2 ** 32);
      left[l] = blocks;
    };
    const start = (l: number): boolean => {
      const file = next();
      if (!file) {
        lanes[l] = undefined;
        args[l] = IDLE;
        left[l] = Infinity;
        return false;
      }
      const lane: Lane = { file, fed: 0, last: false };
      lanes[l] = lane;
      const g = l >> 2;
      const i = l & 3;
      for (let r = 0; r < 4; r++) this.u32[(STATE_OFFSET + (4 * g + r) * 16 + 4 * i) >>> 2] = IV[r]!;
      refill(l, lane);
      return true;
    };
    let active = 0;
    for (let l = 0; l < LANES; l++) if (start(l)) active++;
    while (active > 0) {
      let k = Infinity;
      for (let l = 0; l < LANES; l++) if (left[l]! < k) k = left[l]!;
      args[LANES] = k;
      Reflect.apply(this.blocks, undefined, args);
      for (let l = 0; l < LANES; l++) {
        const lane = lanes[l];
        if (!lane) continue;
        args[l]! += 64 * k;
        left[l]! -= k;
        if (left[l] !== 0) continue;
        if (!lane.last) {
          refill(l, lane);
          continue;
        }
        lane.file.done(this.digest(l));
        if (!start(l)) active--;
      }
    }
  }

  /** Lane l's state as the digest's 16 bytes (A, B, C, D little-endian). */
  private digest(l: number): Uint8Array {
    const g = l >> 2;
    const i = l & 3;
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    for (let r = 0; r < 4; r++) view.setUint32(4 * r, this.u32[(STATE_OFFSET + (4 * g + r) * 16 + 4 * i) >>> 2]!, true);
    return out;
  }
}

/** A set of lanes, or undefined where the SIMD module cannot run here (or lanes are turned off). */
export function md5Lanes(): Md5Lanes | undefined {
  if (!enabled) return undefined;
  const module = moduleOnce();
  return module ? new Md5Lanes(module) : undefined;
}
