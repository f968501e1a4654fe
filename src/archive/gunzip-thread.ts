/**
 * The sha256 of what one strict gzip member decompresses to, worked out on a thread of its own:
 * the main thread only hands the compressed chunks over (copied: the caller's chunks may share a
 * pool), so the inflating (about 1 s of CPU for a 145 MB layer here) goes on while the main thread
 * is busy with long synchronous work — verify's rebuild walks and writes trees between its awaits,
 * and a decompression driven from the main thread's event loop waits for every one of them.
 * Same checks as `strictGunzip` (it runs there), same digest; at most IN_FLIGHT bytes are handed
 * over and not yet inflated.
 */
import { Worker } from 'node:worker_threads';
import { ReproError, type ErrorCode } from '../model/errors.js';

/** What the thread is sent: a chunk, or the end of the blob. */
export type GunzipMessage = { op: 'chunk'; buf: ArrayBuffer } | { op: 'end' };
/** What it says: bytes taken (to bound what is in flight), then the digest or an error. */
export type GunzipReply =
  | { op: 'taken'; bytes: number }
  | { op: 'digest'; digest: string }
  | { op: 'error'; code: string; message: string };

const IN_FLIGHT = 32 << 20;

export async function gunzipDigestOnThread(source: AsyncIterable<Buffer>, where: string): Promise<string> {
  // Not the process's own Node options (`--input-type`, `--eval` and the like refuse a worker file).
  const worker = new Worker(new URL('./gunzip-thread-worker.js', import.meta.url), { execArgv: [], workerData: { where } });
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let settle!: { ok: (d: string) => void; fail: (e: Error) => void };
  const result = new Promise<string>((ok, fail) => { settle = { ok, fail }; });
  let failed: Error | undefined;
  const fail = (e: Error): void => {
    failed ??= e;
    settle.fail(e);
    wake?.();
  };
  worker.on('message', (m: GunzipReply) => {
    if (m.op === 'taken') {
      inFlight -= m.bytes;
      if (inFlight < IN_FLIGHT) wake?.();
    } else if (m.op === 'digest') settle.ok(m.digest);
    else fail(new ReproError(m.code as ErrorCode, m.message));
  });
  worker.on('error', (e) => fail(new ReproError('E_IO', `${where}: cannot decompress: ${e.message}`)));
  worker.on('exit', () => fail(new ReproError('E_IO', `${where}: the decompressing thread stopped`)));
  try {
    for await (const chunk of source) {
      if (failed) break;
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      inFlight += copy.length;
      worker.postMessage({ op: 'chunk', buf: copy.buffer } satisfies GunzipMessage, [copy.buffer]);
      while (inFlight >= IN_FLIGHT && !failed) await new Promise<void>((ok) => { wake = ok; });
    }
    if (!failed) worker.postMessage({ op: 'end' } satisfies GunzipMessage);
    return await result;
  } catch (e) {
    // The source failed (a blob that is not its descriptor): that is the error to report.
    fail(e as Error);
    throw e;
  } finally {
    result.catch(() => {});
    await worker.terminate();
  }
}
