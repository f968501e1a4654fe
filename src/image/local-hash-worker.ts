/**
 * The hashing thread of local-hashes.ts. It is sent a job (a blob's byte range in a file: the
 * descriptor is the main thread's, as descriptors belong to the process) and hashes its sha256
 * (posted back at once), then the files of the table it is sent next, claimed with the main
 * thread. It may be started before its job is known (spare-thread.ts).
 */
import { parentPort } from 'node:worker_threads';
import { Reader, type FileTableBuffers } from './local-hash-core.js';

export interface LocalHashJob { fd: number; position: number; length: number }
export type LocalHashReply = { sha256: string } | { hashed: number } | { error: string; code?: string };

const port = parentPort!;

const fail = (e: unknown): void => {
  const err = e as NodeJS.ErrnoException;
  port.postMessage({ error: err.message ?? String(e), ...(err.code ? { code: err.code } : {}) } satisfies LocalHashReply);
};

port.once('message', (job: LocalHashJob) => {
  try {
    const reader = new Reader(job.fd);
    port.postMessage({ sha256: reader.sha256(job.position, job.length) } satisfies LocalHashReply);
    port.once('message', (table: FileTableBuffers) => {
      try {
        port.postMessage({ hashed: reader.hashFiles(table) } satisfies LocalHashReply);
      } catch (e) {
        fail(e);
      }
    });
  } catch (e) {
    fail(e);
  }
});
