/**
 * The hashing thread of `ThreadHashes`: per channel, batches of bytes arrive in order, each with
 * the offsets where an item (a blob, a file) ends; the digests of the items ended go back with
 * the count of bytes hashed (so that the sender can bound what it has in flight) and the batch's
 * buffer, to be filled again.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { BatchDone, HashAlgorithm, HashMessage } from './hash-thread.js';

const channels = new Map<number, { algorithm: HashAlgorithm; h: Hash }>();

parentPort!.on('message', (m: HashMessage) => {
  if (m.op === 'open') {
    channels.set(m.channel, { algorithm: m.algorithm, h: createHash(m.algorithm) });
    return;
  }
  if (m.op === 'close') {
    channels.delete(m.channel);
    return;
  }
  const c = channels.get(m.channel)!;
  const bytes = new Uint8Array(m.buf, 0, m.length);
  const digests: string[] = [];
  let at = 0;
  for (const cut of m.cuts) {
    if (cut > at) c.h.update(bytes.subarray(at, cut));
    at = cut;
    digests.push(c.h.digest('hex'));
    c.h = createHash(c.algorithm);
  }
  if (m.length > at) c.h.update(bytes.subarray(at, m.length));
  parentPort!.postMessage({ channel: m.channel, digests, bytes: m.length, buf: m.buf } satisfies BatchDone, [m.buf]);
});
