/**
 * The hashing thread of local-hashes.ts: the sha256 of the blob's byte range first (posted
 * back at once), then the files of the table it is sent, claimed with the main thread. The file
 * descriptor is the main thread's (descriptors belong to the process).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Reader, type FileTableBuffers } from './local-hash-core.js';

export interface LocalHashJob { fd: number; position: number; length: number }
export type LocalHashReply = { sha256: string } | { hashed: number } | { error: string; code?: string };

const job = workerData as LocalHashJob;
const port = parentPort!;
const reader = new Reader(job.fd);

const fail = (e: unknown): void => {
  const err = e as NodeJS.ErrnoException;
  port.postMessage({ error: err.message ?? String(e), ...(err.code ? { code: err.code } : {}) } satisfies LocalHashReply);
};

try {
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
