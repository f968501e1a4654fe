/**
 * The SHA-256 of the disk being written, computed alongside: once a stretch of the file is final
 * (no later write touches it), it is handed to a worker thread that hashes it while the writer goes
 * on with the next partition. The digest is the file's; only the time it is ready changes.
 */
import { Worker } from 'node:worker_threads';
import { ReproError } from '../model/errors.js';
import type { FileOutput } from './io.js';

export class BackgroundHasher {
  private readonly worker: Worker;
  private readonly result: Promise<string>;
  private posted = 0;

  constructor(path: string, private readonly out: FileOutput) {
    this.worker = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: { path } });
    this.result = new Promise((resolve, reject) => {
      this.worker.once('message', (m: { sha256?: string; error?: string }) => {
        if (m.sha256) resolve(m.sha256);
        else reject(new ReproError('E_IO', `${path}: cannot hash: ${m.error ?? 'unknown error'}`));
      });
      this.worker.once('error', (e) => reject(new ReproError('E_IO', `${path}: cannot hash: ${e.message}`)));
    });
    this.result.catch(() => {});
  }

  /** Everything before `end` is final: hash it (in the background). */
  finalUpTo(end: number, last = false): void {
    if (end < this.posted) return;
    const ranges = this.out.writtenRanges().filter(([s, e]) => e > this.posted && s < end);
    this.worker.postMessage({ end, ranges, last });
    this.posted = end;
  }

  async digest(size: number): Promise<string> {
    this.finalUpTo(size, true);
    try {
      return await this.result;
    } finally {
      await this.worker.terminate();
    }
  }

  async abandon(): Promise<void> {
    await this.worker.terminate();
  }
}
