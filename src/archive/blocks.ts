/** Re-chunks a byte stream into fixed-size blocks, so that compressor calls never depend on how
 * the producer happened to cut its chunks. The last block may be short (or empty for empty input). */
export interface Block {
  data: Buffer;
  last: boolean;
}

export async function* fixedBlocks(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Block> {
  let cur = Buffer.allocUnsafe(size);
  let fill = 0;
  let pending: Buffer | undefined;
  for await (const chunk of source) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(size - fill, chunk.length - off);
      chunk.copy(cur, fill, off, off + n);
      fill += n;
      off += n;
      if (fill === size) {
        if (pending) yield { data: pending, last: false };
        pending = cur;
        cur = Buffer.allocUnsafe(size);
        fill = 0;
      }
    }
  }
  if (fill > 0) {
    if (pending) yield { data: pending, last: false };
    yield { data: cur.subarray(0, fill), last: true };
  } else {
    yield { data: pending ?? Buffer.alloc(0), last: true };
  }
}
