/**
 * Content comparison while reading: both files are read at once, chunk by chunk, and compared
 * byte for byte, so the first and last differing offsets are exact for any size. The SHA-256 of
 * each side is computed while reading as soon as the two differ; while they are still equal the
 * chunks read so far are held (up to HOLD bytes, then hashing starts anyway), so that two equal
 * files side by side cost one memcmp and no hashing. Only the first `limit` bytes of each side are
 * kept beyond that (for a text diff or a hex view).
 */
import { createHash, type Hash } from 'node:crypto';

/** One side's content as far as the comparison needs it. */
export interface ContentSide {
  size: number;
  /** Undefined only for equal content compared side by side (not needed, not computed). */
  sha256?: string;
  /** The first bytes (at most the limit). */
  sample: Buffer;
  /** The sample is the whole content. */
  complete: boolean;
}

export interface ContentComparison {
  a: ContentSide;
  b: ContentSide;
  equal: boolean;
  /** Offsets of the first and last differing byte, when known (a shorter side differs from its end on). */
  firstDiff?: number;
  lastDiff?: number;
  /** Up to 64 bytes of each side from the 16-byte row before the first difference. */
  window?: { offset: number; a: Buffer; b: Buffer };
}

const EMPTY: Buffer = Buffer.alloc(0);
export const WINDOW_BEFORE = 16;
export const WINDOW_LENGTH = 64;

/** Keeps the first `limit` bytes of a stream, referring to the chunks until asked for a copy. */
class Sampler {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    if (this.kept >= this.limit) return;
    const part = chunk.length <= this.limit - this.kept ? chunk : chunk.subarray(0, this.limit - this.kept);
    this.parts.push(part);
    this.kept += part.length;
  }
  /** A copy: it must not pin the (larger) chunks it came from. */
  take(): Buffer {
    return Buffer.concat(this.parts, this.kept);
  }
}

/** Bytes of each side held unhashed while two contents are still equal. */
const HOLD = 8 << 20;

class Side {
  private hash: Hash | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly sampler: Sampler;
  size = 0;
  constructor(limit: number, private readonly lazy: boolean) {
    this.sampler = new Sampler(limit);
    if (!lazy) this.hash = createHash('sha256');
  }
  add(chunk: Buffer): void {
    this.sampler.add(chunk);
    this.size += chunk.length;
    if (this.hash) {
      this.hash.update(chunk);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > HOLD) this.startHashing();
  }
  /** Hashes what is held and everything that follows. */
  startHashing(): void {
    if (this.hash) return;
    this.hash = createHash('sha256');
    for (const c of this.held) this.hash.update(c);
    this.held = [];
    this.heldBytes = 0;
  }
  /** `needed`: the hash and the sample are wanted (they are not for equal content side by side). */
  finish(limit: number, needed: boolean): ContentSide {
    if (needed) this.startHashing();
    const sample = needed ? this.sampler.take() : EMPTY;
    const side: ContentSide = { size: this.size, sample, complete: this.size <= limit };
    if (this.hash) side.sha256 = `sha256:${this.hash.digest('hex')}`;
    return side;
  }
}

function firstMismatch(x: Buffer, y: Buffer): number {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function lastMismatch(x: Buffer, y: Buffer): number {
  for (let i = x.length - 1; i >= 0; i--) if (x[i] !== y[i]) return i;
  return -1;
}

/**
 * Tracks the differing byte range of two streams compared in step, and the bytes around the first
 * difference (from the 16-byte row before it, WINDOW_LENGTH bytes) however the streams are cut.
 */
class RangeTracker {
  first = -1;
  last = -1;
  /** The last bytes before the current offset while no difference is known (equal on both sides). */
  private before: Buffer = EMPTY;
  private win: { offset: number; a: Buffer[]; b: Buffer[]; lenA: number; lenB: number; end: number } | undefined;

  get window(): ContentComparison['window'] {
    const w = this.win;
    return w && { offset: w.offset, a: Buffer.concat(w.a), b: Buffer.concat(w.b) };
  }

  private keepBefore(x: Buffer): void {
    const keep = 2 * WINDOW_BEFORE;
    this.before = x.length >= keep ? Buffer.from(x.subarray(x.length - keep)) : Buffer.concat([this.before, x]).subarray(-keep);
  }

  /** Starts the window at the row before `first`; bytes before `off` come from `before`. */
  private open(off: number): void {
    const start = Math.max(0, (this.first & ~15) - WINDOW_BEFORE, off - this.before.length);
    const pre = start < off ? Buffer.from(this.before.subarray(this.before.length - (off - start))) : EMPTY;
    this.win = { offset: start, a: [pre], b: [pre], lenA: pre.length, lenB: pre.length, end: Math.max(start, off) };
  }

  /** Adds the bytes of a region at `off` from where the window stopped, until it is full. */
  private extend(x: Buffer | undefined, y: Buffer | undefined, off: number): void {
    const w = this.win;
    const n = Math.max(x?.length ?? 0, y?.length ?? 0);
    if (!w || off > w.end || off + n <= w.end) return;
    const skip = w.end - off;
    if (x && w.lenA < WINDOW_LENGTH) { const p = Buffer.from(x.subarray(skip, skip + WINDOW_LENGTH - w.lenA)); w.a.push(p); w.lenA += p.length; }
    if (y && w.lenB < WINDOW_LENGTH) { const p = Buffer.from(y.subarray(skip, skip + WINDOW_LENGTH - w.lenB)); w.b.push(p); w.lenB += p.length; }
    w.end = off + n;
  }

  /** Equal-length regions of both sides starting at `off`. */
  region(x: Buffer, y: Buffer, off: number): void {
    if (x.equals(y)) {
      if (this.first < 0) this.keepBefore(x);
      else this.extend(x, y, off);
      return;
    }
    if (this.first < 0) {
      this.first = off + firstMismatch(x, y);
      this.open(off);
    }
    this.extend(x, y, off);
    this.last = off + lastMismatch(x, y);
  }

  /** Bytes only one side has, from `off` on. */
  tail(x: Buffer, off: number, side: 'a' | 'b'): void {
    if (x.length === 0) return;
    if (this.first < 0) {
      this.first = off;
      this.open(off);
    }
    this.extend(side === 'a' ? x : undefined, side === 'b' ? x : undefined, off);
    this.last = off + x.length - 1;
  }
}

/**
 * Reads two contents at once and compares them. `undefined` stands for empty content.
 * Each side is hashed as it is read; at most `limit` bytes of each are kept.
 */
export async function compareStreams(a: AsyncIterable<Buffer> | undefined, b: AsyncIterable<Buffer> | undefined, limit: number): Promise<ContentComparison> {
  const ia = a?.[Symbol.asyncIterator]();
  const ib = b?.[Symbol.asyncIterator]();
  const sa = new Side(limit, true);
  const sb = new Side(limit, true);
  const range = new RangeTracker();
  let ca: Buffer = EMPTY;
  let cb: Buffer = EMPTY;
  let doneA = ia === undefined;
  let doneB = ib === undefined;
  let off = 0;
  for (;;) {
    if (ca.length === 0 && !doneA) {
      const r = await ia!.next();
      if (r.done) doneA = true;
      else { ca = r.value; sa.add(ca); }
    }
    if (cb.length === 0 && !doneB) {
      const r = await ib!.next();
      if (r.done) doneB = true;
      else { cb = r.value; sb.add(cb); }
    }
    if (range.first >= 0) {
      sa.startHashing();
      sb.startHashing();
    }
    if (ca.length > 0 && cb.length > 0) {
      const n = Math.min(ca.length, cb.length);
      range.region(ca.subarray(0, n), cb.subarray(0, n), off);
      off += n;
      ca = ca.subarray(n);
      cb = cb.subarray(n);
    } else if (ca.length > 0 && doneB) {
      range.tail(ca, off, 'a');
      off += ca.length;
      ca = EMPTY;
    } else if (cb.length > 0 && doneA) {
      range.tail(cb, off, 'b');
      off += cb.length;
      cb = EMPTY;
    } else if (doneA && doneB) {
      break;
    }
  }
  const differ = range.first >= 0;
  const result: ContentComparison = { a: sa.finish(limit, differ), b: sb.finish(limit, differ), equal: !differ };
  if (range.first >= 0) {
    result.firstDiff = range.first;
    result.lastDiff = range.last;
    const w = range.window;
    if (w) result.window = w;
  }
  return result;
}

/** Two equal contents of `size` bytes known equal without reading them: what compareStreams gives for them. */
export function equalContent(size: number, limit: number): ContentComparison {
  const side = (): ContentSide => ({ size, sample: EMPTY, complete: size <= limit });
  return { a: side(), b: side(), equal: true };
}

/** Reads one content through: its hash, size and first `limit` bytes. */
export async function readContent(body: AsyncIterable<Buffer> | undefined, limit: number): Promise<ContentSide> {
  const s = new Side(limit, false);
  if (body) for await (const c of body) s.add(c);
  return s.finish(limit, true);
}

/**
 * Compares two contents read apart (their entries were not side by side in the archives): equal by
 * hash; the differing range is exact where the samples cover it, else left unknown.
 */
export function compareSides(a: ContentSide, b: ContentSide): ContentComparison {
  const result: ContentComparison = { a, b, equal: a.sha256 === b.sha256 };
  if (result.equal) return result;
  const range = new RangeTracker();
  const n = Math.min(a.sample.length, b.sample.length);
  range.region(a.sample.subarray(0, n), b.sample.subarray(0, n), 0);
  if (range.first < 0 && n === Math.min(a.size, b.size)) {
    // One is a prefix of the other: they differ from the shorter one's end.
    if (a.size > n) range.tail(a.sample.subarray(n), n, 'a');
    else range.tail(b.sample.subarray(n), n, 'b');
  }
  if (range.first >= 0) {
    result.firstDiff = range.first;
    const w = range.window;
    if (w) result.window = w;
    if (a.complete && b.complete) {
      result.lastDiff = a.size !== b.size ? Math.max(a.size, b.size) - 1 : lastMismatch(a.sample, b.sample);
    }
  }
  return result;
}
