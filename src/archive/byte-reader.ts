import { ReproError } from '../model/errors.js';

/** Pulls exact byte counts out of an async stream of chunks, tracking the absolute offset. */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  position = 0;

  private readonly inner: AsyncIterator<Buffer | Uint8Array>;

  constructor(source: AsyncIterable<Buffer | Uint8Array>, private readonly where: string) {
    const inner = source[Symbol.asyncIterator]();
    this.inner = inner;
    this.it = {
      next: async () => {
        const r = await inner.next();
        return r.done ? r : { done: false, value: Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value) };
      },
    };
  }

  /** Reads and discards the rest of the input, so that its producer finishes (and reports errors). */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
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
      await this.inner.return?.();
    }
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    }
    return this.buf.length >= n;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Exactly n bytes, or an error naming the offset where the input ended. */
  async read(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) {
      throw new ReproError('E_TAR_TRUNCATED', `${this.where}: truncated: input ends at byte offset ${this.position + this.buf.length} inside ${what} (${n} bytes expected from offset ${this.position})`);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.position += n;
    return out;
  }

  /** Yields exactly n bytes as chunks (zero-copy where possible). */
  async *chunks(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill(1))) {
        throw new ReproError('E_TAR_TRUNCATED', `${this.where}: truncated: input ends at byte offset ${this.position} inside ${what}`);
      }
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      this.position += take;
      left -= take;
      yield out;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.chunks(n, what)) { /* discard */ }
  }
}
