/**
 * Hashes a file front to back on its own thread while the writer is still busy further on: the
 * writer posts how far the file is final and which ranges in that stretch it wrote (the rest are
 * holes, hashed as zeros without being read); the digest comes back when the end is posted.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface Upto { end: number; ranges: Array<[number, number]>; last: boolean }

const { path } = workerData as { path: string };
const fd = openSync(path, 'r');
const h = createHash('sha256');
const buf = Buffer.allocUnsafe(4 << 20);
const zeros = Buffer.alloc(4 << 20);
let pos = 0;

function zero(n: number): void {
  for (let left = n; left > 0; left -= zeros.length) h.update(zeros.subarray(0, Math.min(left, zeros.length)));
}

function read(start: number, end: number): void {
  for (let at = start; at < end;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - at), at);
    if (n === 0) throw new Error(`${path}: ended at ${at} while hashing`);
    h.update(buf.subarray(0, n));
    at += n;
  }
}

parentPort!.on('message', (m: Upto) => {
  try {
    for (const [s, e] of m.ranges) {
      const start = Math.max(s, pos);
      const end = Math.min(e, m.end);
      if (end <= start) continue;
      zero(start - pos);
      read(start, end);
      pos = end;
    }
    if (m.end > pos) zero(m.end - pos);
    pos = m.end;
    if (m.last) {
      closeSync(fd);
      parentPort!.postMessage({ sha256: `sha256:${h.digest('hex')}` });
    }
  } catch (e) {
    parentPort!.postMessage({ error: String((e as Error).message) });
  }
});
