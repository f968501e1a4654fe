/**
 * Appends to a new file with a few positional writes in flight on the thread pool, so that writing
 * overlaps with producing the next chunks (assembling, compressing, hashing, receiving them).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ioError } from '../model/errors.js';

const MAX_WRITES_IN_FLIGHT = 4;

/** Chunks must not be modified after write(). */
export class BackgroundWriter {
  private pos = 0;
  private readonly inflight: Array<Promise<unknown>> = [];
  private failure: unknown;

  private constructor(private readonly fh: FileHandle, private readonly path: string, private readonly written: (chunk: Buffer) => void) {}

  /**
   * Creates `path` (which must not exist). `written` is told when a chunk is on disk and its buffer
   * free; errors name `shown` (the final name of a file written under a temporary one).
   */
  static async create(path: string, opts: { written?: (chunk: Buffer) => void; mode?: number; shown?: string } = {}): Promise<BackgroundWriter> {
    const shown = opts.shown ?? path;
    try {
      return new BackgroundWriter(await open(path, 'wx', opts.mode ?? 0o644), shown, opts.written ?? (() => {}));
    } catch (e) {
      throw ioError(e, `cannot write ${shown}`);
    }
  }

  async write(chunk: Buffer): Promise<void> {
    const at = this.pos;
    this.pos += chunk.length;
    this.inflight.push(this.writeAt(chunk, at));
    while (this.inflight.length > MAX_WRITES_IN_FLIGHT) await this.inflight.shift();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for every write, flushes the file to the disk when asked, and closes it. */
  async close(opts: { sync?: boolean } = {}): Promise<void> {
    await Promise.all(this.inflight.splice(0));
    if (this.failure !== undefined) throw this.failure;
    try {
      if (opts.sync) await this.fh.sync();
      await this.fh.close();
    } catch (e) {
      await this.fh.close().catch(() => {});
      throw ioError(e, `cannot write ${this.path}`);
    }
  }

  async abandon(): Promise<void> {
    await Promise.all(this.inflight.splice(0));
    await this.fh.close().catch(() => {});
  }

  private async writeAt(chunk: Buffer, at: number): Promise<void> {
    try {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, at + off);
        off += bytesWritten;
      }
      this.written(chunk);
    } catch (e) {
      this.failure ??= ioError(e, `cannot write ${this.path}`);
    }
  }
}
