/**
 * A strict reader of one gzip member (RFC 1952), for proofs: a published layer counts as "our tar,
 * compressed" only if its blob is exactly one gzip member — a 10-byte header with no optional
 * fields (no FEXTRA, FNAME, FCOMMENT, FHCRC), one deflate stream, a trailer whose CRC-32 and size
 * match what came out, and not one byte after it. Node's gunzip is lenient on purpose (it reads
 * concatenated members and ignores trailing zeros), so the framing is checked here and only the
 * deflate stream itself goes through zlib.
 */
import { createInflateRaw } from 'node:zlib';
import { ReproError } from '../model/errors.js';
import { crc32 } from './crc32.js';

const FTEXT = 0x01;

export interface GzipMemberInfo {
  /** The header's MTIME field (0 for the reproducible writers). */
  mtime: number;
  /** XFL and OS bytes, for the record. */
  xfl: number;
  os: number;
  /** Bytes of the member (the whole blob). */
  compressedSize: number;
  uncompressedSize: number;
}

function bad(where: string, what: string): ReproError {
  return new ReproError('E_BAD_INPUT', `${where}: not one plain gzip member: ${what}`);
}

/**
 * Decompresses a blob that must be exactly one gzip member; the yielded chunks are its content.
 * `onInfo` is told the member's header fields once it has been read to its end and checked.
 */
export async function* strictGunzip(source: AsyncIterable<Buffer>, where: string, onInfo?: (info: GzipMemberInfo) => void): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ chunkSize: 1 << 20 });
  let header: Buffer | undefined;
  let pending = Buffer.alloc(0);
  /** The last 8 bytes seen (the trailer, if the stream is well formed); everything before them went to inflate. */
  let tail = Buffer.alloc(0);
  let total = 0;
  let fed = 0;
  let out = 0;
  let crc = 0;
  const queue: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  inflate.on('data', (c: Buffer) => { queue.push(c); wake?.(); });
  inflate.on('end', () => { ended = true; wake?.(); });
  inflate.on('error', (e) => { failure = bad(where, `corrupt deflate data (${e.message})`); wake?.(); });
  const drain = async function* (): AsyncGenerator<Buffer> {
    while (queue.length > 0) {
      const c = queue.shift()!;
      out += c.length;
      crc = crc32(c, crc);
      yield c;
    }
    if (failure) throw failure;
  };
  // Waits for an event of the inflate stream, or for its failure: a stream that failed emits no
  // 'drain' or 'finish' and calls no callback of `end` (waiting for them hung the reader on
  // corrupt deflate data), and takes no more writes.
  const until = (event: 'drain' | 'finish'): Promise<void> => new Promise((ok) => {
    if (failure) return ok();
    const go = (): void => {
      inflate.off(event, go);
      inflate.off('error', go);
      ok();
    };
    inflate.on(event, go);
    inflate.on('error', go);
  });
  const feed = async (b: Buffer): Promise<void> => {
    if (failure) return;
    fed += b.length;
    if (!inflate.write(b)) await until('drain');
  };

  for await (const chunk of source) {
    total += chunk.length;
    let c = chunk;
    if (!header) {
      pending = Buffer.concat([pending, c]);
      if (pending.length < 10) continue;
      header = pending.subarray(0, 10);
      if (header[0] !== 0x1f || header[1] !== 0x8b) throw bad(where, 'no gzip magic at byte offset 0');
      if (header[2] !== 8) throw bad(where, `compression method ${header[2]} at byte offset 2 (only deflate, 8)`);
      if ((header[3]! & ~FTEXT) !== 0) throw bad(where, `header flags 0x${header[3]!.toString(16).padStart(2, '0')} at byte offset 3 (extra field, name, comment or header CRC present)`);
      c = pending.subarray(10);
    }
    // Keep the last 8 bytes back: they are the trailer, not deflate data.
    const joined = tail.length > 0 ? Buffer.concat([tail, c]) : c;
    const cut = Math.max(0, joined.length - 8);
    tail = Buffer.from(joined.subarray(cut));
    if (cut > 0) await feed(joined.subarray(0, cut));
    yield* drain();
  }
  if (!header) throw bad(where, `only ${total} bytes`);
  if (tail.length < 8) throw bad(where, 'no trailer (truncated)');
  if (!failure) {
    inflate.end();
    await until('finish');
  }
  while (!ended && !failure) {
    await new Promise<void>((ok) => { wake = ok; });
    wake = undefined;
    yield* drain();
  }
  yield* drain();
  if (!ended) throw bad(where, 'the deflate stream does not end');
  // bytesWritten: the input the engine consumed. Anything fed beyond the deflate stream's end
  // (a second member, garbage) shows as a difference.
  if (inflate.bytesWritten !== fed) {
    throw bad(where, `${fed - inflate.bytesWritten} bytes after its trailer (from byte offset ${10 + inflate.bytesWritten + 8})`);
  }
  const wantCrc = tail.readUInt32LE(0);
  const wantSize = tail.readUInt32LE(4);
  if (wantCrc !== crc) throw bad(where, `trailer CRC-32 0x${wantCrc.toString(16)} ≠ 0x${crc.toString(16)} of the content`);
  if (wantSize !== out % 2 ** 32) throw bad(where, `trailer size ${wantSize} ≠ ${out % 2 ** 32} bytes of content (mod 2^32)`);
  onInfo?.({ mtime: header.readUInt32LE(4), xfl: header[8]!, os: header[9]!, compressedSize: total, uncompressedSize: out });
}
