/**
 * Content summaries (summary.ts) computed in a thread of their own, while the build goes on: the
 * summary of an ADD or COPY source reads and hashes all of it (a 145 MB root: 0.6 s), and only the
 * step's history line needs it, so it runs beside the step's copy, walk and layer commit. The
 * caller guarantees that nothing writes the files a job reads until its summary has come back.
 */
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../../model/errors.js';
import { ReproError } from '../../model/errors.js';
import type { SummarySource } from './summary.js';

/** A summary source as it crosses to the thread: the attribute reader replaced by a flag. */
export type ThreadSource = (
  | { archive: string }
  | Omit<Extract<SummarySource, { directory: string }>, 'xattrs'>
  | Omit<Extract<SummarySource, { file: string }>, 'xattrs'>
) & { xattrs?: boolean };

export interface SummaryJob { id: number; source: ThreadSource }
export type SummaryDone = { id: number; summary: string } | { id: number; error: { code?: ErrorCode; message: string } };

/** One build's summary thread: started when made, stopped by `stop`. */
export class SummaryThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void }>();
  private next = 0;
  private stopping = false;

  constructor() {
    // Not the process's own Node options (`--input-type`, `--eval` and the like refuse a worker file).
    this.worker = new Worker(new URL('./summary-thread-worker.js', import.meta.url), { execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: SummaryDone) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('summary' in m) p.resolve(m.summary);
      else p.reject(m.error.code ? new ReproError(m.error.code, m.error.message) : new Error(m.error.message));
    });
    this.worker.on('error', (e) => this.failAll(new ReproError('E_IO', `cannot compute a content summary: ${e.message}`)));
    this.worker.on('exit', () => {
      if (!this.stopping) this.failAll(new ReproError('E_IO', 'the content summary thread stopped'));
    });
  }

  /** The summary of `source`, computed in the thread. */
  summary(source: ThreadSource): Promise<string> {
    const id = this.next++;
    const done = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Waited for: the process stays up until it has come back.
    this.worker.ref();
    this.worker.postMessage({ id, source } satisfies SummaryJob);
    return done;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.failAll(new ReproError('E_IO', 'the build stopped before its content summary was done'));
    await this.worker.terminate();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
