/**
 * Reads file ranges in order and throws the bytes away, on its own thread: the page cache is warm
 * by the time the writer reads the same ranges. Errors are ignored (the writer reports them).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const items = workerData as Array<[string, number, number]>;
const buf = Buffer.allocUnsafe(1 << 20);
const shared = new Int32Array(new SharedArrayBuffer(4));
let fd = -1;
let fdPath = '';
for (const [path, offset, length] of items) {
  if (Atomics.load(shared, 0) !== 0) break;
  try {
    if (path !== fdPath) {
      if (fd >= 0) closeSync(fd);
      fd = openSync(path, 'r');
      fdPath = path;
    }
    for (let done = 0; done < length;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
      if (n === 0) break;
      done += n;
    }
  } catch {
    fd = -1;
    fdPath = '';
  }
}
if (fd >= 0) closeSync(fd);
parentPort?.postMessage('done');
