/**
 * The thread of `SummaryThread`: computes content summaries (summary.ts) of the jobs it is sent,
 * each as it comes (their reads interleave), and says for each its summary or its error.
 */
import { parentPort } from 'node:worker_threads';
import { ReproError } from '../../model/errors.js';
import { xattrReader, type XattrReader } from '../../sources/rootfs/xattrs.js';
import { contentSummary } from './summary.js';
import type { SummaryDone, SummaryJob } from './summary-thread.js';

let reader: Promise<XattrReader> | undefined;

parentPort!.on('message', (job: SummaryJob) => {
  void (async () => {
    let done: SummaryDone;
    try {
      const { xattrs, ...source } = job.source;
      const x = xattrs ? await (reader ??= xattrReader('', '')) : undefined;
      done = { id: job.id, summary: await contentSummary({ ...source, ...(x ? { xattrs: x } : {}) }) };
    } catch (e) {
      done = { id: job.id, error: e instanceof ReproError ? { code: e.code, message: e.template } : { message: String((e as Error)?.message ?? e) } };
    }
    parentPort!.postMessage(done);
  })();
});
