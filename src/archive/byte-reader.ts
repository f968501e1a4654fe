import { ReproError } from '../model/errors.js';

const EMPTY: Buffer = Buffer.alloc(0);

/** What is being read, for a failure's message: a phrase, or a function making it (built only then). */
export type What = string | (() => string);

export const said = (what: What): string => (typeof what === 'string' ? what : what());

/**
 * Pulls exact byte counts out of an async stream of chunks, tracking the absolute offset. Reads
 * that fit in the current chunk are views of it; only a read that spans chunks copies, and then
 * only the bytes it returns (never a whole chunk), so a stream is not copied as it is parsed.
 */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer | Uint8Array>;
  /** The unread rest of the current chunk. */
  private head: Buffer = EMPTY;
  private done = false;
  position = 0;

  constructor(source: AsyncIterable<Buffer | Uint8Array>, private readonly where: string) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Replaces an exhausted head with the next non-empty chunk; false at the end of the input. */
  private async pull(): Promise<boolean> {
    while (this.head.length === 0) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.head = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
    return true;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.pull());
  }

  /** Bytes of the current chunk not yet read: that many can be read or skipped without waiting. */
  get buffered(): number {
    return this.head.length;
  }

  /** Exactly n bytes (a view) taken from the current chunk, which holds at least n (see `buffered`). */
  take(n: number): Buffer {
    const out = this.head.subarray(0, n);
    this.head = this.head.subarray(n);
    this.position += n;
    return out;
  }

  /** Exactly n bytes, or an error naming the offset where the input ended. */
  async read(n: number, what: What): Promise<Buffer> {
    if (this.head.length >= n) {
      const out = this.head.subarray(0, n);
      this.head = this.head.subarray(n);
      this.position += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.pull())) {
        throw new ReproError('E_TAR_TRUNCATED', `${this.where}: truncated: input ends at byte offset ${this.position + filled} inside ${said(what)} (${n} bytes expected from offset ${this.position})`);
      }
      const take = Math.min(n - filled, this.head.length);
      this.head.copy(out, filled, 0, take);
      this.head = this.head.subarray(take);
      filled += take;
    }
    this.position += n;
    return out;
  }

  /** Yields exactly n bytes as chunks (views of the input, never copies). */
  async *chunks(n: number, what: What): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!(await this.pull())) {
        throw new ReproError('E_TAR_TRUNCATED', `${this.where}: truncated: input ends at byte offset ${this.position} inside ${said(what)}`);
      }
      const take = Math.min(left, this.head.length);
      const out = this.head.subarray(0, take);
      this.head = this.head.subarray(take);
      this.position += take;
      left -= take;
      yield out;
    }
  }

  /** Reads and discards the rest of the input, so that its producer finishes (and reports errors). */
  async drain(): Promise<void> {
    this.position += this.head.length;
    this.head = EMPTY;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.position += r.value.length;
    }
  }

  /** Stops the input early (its producer's cleanup runs). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }

  async skip(n: number, what: What): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.pull())) {
        throw new ReproError('E_TAR_TRUNCATED', `${this.where}: truncated: input ends at byte offset ${this.position} inside ${said(what)}`);
      }
      const take = Math.min(left, this.head.length);
      this.head = this.head.subarray(take);
      this.position += take;
      left -= take;
    }
  }
}
