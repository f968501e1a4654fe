/**
 * Fixed-size blocks: the unit in which the tar writer emits its stream and in which the
 * compressors consume it, so that compressor calls never depend on how a producer happened to cut
 * its chunks. Every block but the last has exactly the agreed size; the last may be short (or
 * empty for empty input).
 */
export interface Block {
  data: Buffer;
  last: boolean;
}

/** The block size shared by the tar writer and both compressors. Part of the output format. */
export const STREAM_BLOCK_SIZE = 1 << 20;

/**
 * Recycles full-size block buffers between the tar writer and a compressor, so that a long stream
 * reuses a handful of buffers instead of leaving a trail of garbage for the collector. A consumer
 * gives a buffer back only when nothing refers to its bytes any more.
 */
export class BlockPool {
  private readonly free: Buffer[] = [];
  /** Only buffers this pool handed out come back into it (never a view, never someone else's). */
  private readonly issued = new WeakSet<Buffer>();

  constructor(readonly size: number, private readonly keep = 8) {}

  take(): Buffer {
    const b = this.free.pop() ?? Buffer.allocUnsafe(this.size);
    this.issued.add(b);
    return b;
  }

  give(b: Buffer): void {
    if (this.issued.has(b) && this.free.length < this.keep && !this.free.includes(b)) this.free.push(b);
  }
}

/**
 * Collects bytes into blocks of `size`. Producers either copy bytes in (`write`, `zeros`) or fill
 * the free space of the current block in place (`space` + `advance`); full blocks queue up in
 * `full` until the owner takes them. The block before the newest full one is held back, so that
 * the owner learns which block is the last one only when the input ends (`finish`).
 */
export class BlockAssembler {
  private cur: Buffer;
  private fill = 0;
  private held: Buffer | undefined;
  private readonly ready: Block[] = [];

  constructor(private readonly size: number, private readonly pool?: BlockPool) {
    if (pool && pool.size !== size) throw new Error('BlockAssembler: pool of another block size');
    this.cur = pool ? pool.take() : Buffer.allocUnsafe(size);
  }

  /** The writable rest of the current block (never empty). */
  space(): { buf: Buffer; off: number; len: number } {
    return { buf: this.cur, off: this.fill, len: this.size - this.fill };
  }

  /** Marks `n` bytes of `space()` as written. */
  advance(n: number): void {
    this.fill += n;
    if (this.fill === this.size) {
      if (this.held) this.ready.push({ data: this.held, last: false });
      this.held = this.cur;
      this.cur = this.pool ? this.pool.take() : Buffer.allocUnsafe(this.size);
      this.fill = 0;
    }
  }

  write(src: Uint8Array): void {
    let off = 0;
    while (off < src.length) {
      const n = Math.min(this.size - this.fill, src.length - off);
      this.cur.set(n === src.length ? src : src.subarray(off, off + n), this.fill);
      off += n;
      this.advance(n);
    }
  }

  zeros(count: number): void {
    while (count > 0) {
      const n = Math.min(this.size - this.fill, count);
      this.cur.fill(0, this.fill, this.fill + n);
      count -= n;
      this.advance(n);
    }
  }

  /** True when blocks are waiting in `take()`. */
  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  /** Hands over the blocks completed so far, oldest first. */
  take(): Block[] {
    return this.ready.splice(0, this.ready.length);
  }

  /** Ends the input: returns every remaining block, the last one marked. */
  finish(): Block[] {
    const out = this.take();
    if (this.fill > 0) {
      if (this.held) out.push({ data: this.held, last: false });
      out.push({ data: this.cur.subarray(0, this.fill), last: true });
    } else {
      out.push({ data: this.held ?? Buffer.alloc(0), last: true });
    }
    this.held = undefined;
    return out;
  }
}

/** Re-chunks any byte stream into blocks of `size`. */
export async function* fixedBlocks(source: AsyncIterable<Buffer> | Iterable<Buffer>, size: number): AsyncGenerator<Block> {
  const asm = new BlockAssembler(size);
  for await (const chunk of source) {
    asm.write(chunk);
    if (asm.hasReady) yield* asm.take();
  }
  yield* asm.finish();
}

/** The blocks of a stream that is already cut into blocks of `size`; checks that it is. */
export async function* checkedBlocks(source: AsyncIterable<Block> | Iterable<Block>, size: number): AsyncGenerator<Block> {
  let ended = false;
  for await (const b of source) {
    if (ended) throw new Error('block stream continues after its last block');
    if (!b.last && b.data.length !== size) throw new Error(`block of ${b.data.length} bytes where ${size} are required`);
    if (b.data.length > size) throw new Error(`last block of ${b.data.length} bytes exceeds ${size}`);
    ended = b.last;
    yield b;
  }
  if (!ended) throw new Error('block stream ended without its last block');
}
