/**
 * Warms the page cache for the content a disk writer is about to read: a worker thread reads the
 * files ahead of it, in the order it will read them, so that reading from a cold disk overlaps with
 * the writer's own work. It changes no output byte; it only makes the synchronous reads cheaper.
 */
import { Worker } from 'node:worker_threads';
import type { FsTree } from './tree.js';

export interface Prefetch {
  stop(): Promise<void>;
}

/** The content ranges of these trees' files, in node order, tree by tree. */
export function prefetchList(trees: FsTree[]): Array<[string, number, number]> {
  const out: Array<[string, number, number]> = [];
  for (const t of trees) {
    for (const n of t.nodes) {
      const c = n.content;
      if (n.type !== 'file' || !c || n.size === 0) continue;
      if (c.kind === 'file') out.push([c.path, 0, n.size]);
      else if (c.kind === 'range') out.push([c.path, c.offset, n.size]);
    }
  }
  return out;
}

export function startPrefetch(items: Array<[string, number, number]>): Prefetch {
  if (items.length === 0) return { stop: async () => {} };
  const worker = new Worker(new URL('./prefetch-worker.js', import.meta.url), { workerData: items });
  worker.unref();
  const done = new Promise<void>((resolve) => {
    worker.once('exit', () => resolve());
    worker.once('error', () => resolve());
  });
  return {
    stop: async () => {
      await worker.terminate();
      await done;
    },
  };
}
