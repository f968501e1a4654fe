/**
 * The thread of `gunzipDigestOnThread`: the compressed chunks arrive in order; `strictGunzip`
 * reads them as its source, its output is hashed; the digest (or the error, as code and message)
 * goes back, and every chunk taken is counted back so the sender can bound what is in flight.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { ReproError } from '../model/errors.js';
import { strictGunzip } from './gzip-strict.js';
import type { GunzipMessage, GunzipReply } from './gunzip-thread.js';

const { where } = workerData as { where: string };
const queue: Array<Buffer | null> = [];
let waiting: (() => void) | undefined;

parentPort!.on('message', (m: GunzipMessage) => {
  queue.push(m.op === 'chunk' ? Buffer.from(m.buf) : null);
  waiting?.();
});

async function* chunks(): AsyncGenerator<Buffer> {
  for (;;) {
    while (queue.length === 0) await new Promise<void>((ok) => { waiting = ok; });
    waiting = undefined;
    const c = queue.shift()!;
    if (c === null) return;
    parentPort!.postMessage({ op: 'taken', bytes: c.length } satisfies GunzipReply);
    yield c;
  }
}

const hash = createHash('sha256');
try {
  for await (const c of strictGunzip(chunks(), where)) hash.update(c);
  parentPort!.postMessage({ op: 'digest', digest: `sha256:${hash.digest('hex')}` } satisfies GunzipReply);
} catch (e) {
  const r = e instanceof ReproError ? { code: e.code, message: e.message } : { code: 'E_IO', message: `${where}: cannot decompress: ${(e as Error).message}` };
  parentPort!.postMessage({ op: 'error', ...r } satisfies GunzipReply);
}
