/**
 * The hashing of a layer read where it lies, uncompressed, in a local file (flatten.ts): the
 * blob's sha256 (its digest check) and the digests of its files. With a second core, a thread
 * starts at once on the sha256 while this thread reads the tar's headers; then both threads
 * hash the files, each claiming the next as it is free (local-hash-core.ts). Neither copies
 * bytes to the other: each reads what it hashes from the page cache, at its offset. On one core,
 * or for a small layer (a thread's start costs about what hashing 20 MB does), all of it is
 * done here.
 *
 * The file is read twice (the headers and the files here, the whole blob there), so a file
 * changed in place while it is read could show one content to the digest and another to the
 * files: its size, change time and inode are compared before and after, and a change is E_IO.
 */
import { fstatSync, type Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ioError, ReproError } from '../model/errors.js';
import { hashThreadMode, THREAD_MIN_BYTES } from './hash-thread.js';
import { Reader, type FileTableBuffers } from './local-hash-core.js';
import { takeHashThread } from './spare-thread.js';
import type { LocalHashJob, LocalHashReply } from './local-hash-worker.js';

export interface LocalHashes {
  /** Hands the table's files to the hashing thread, which starts on them once the blob's sha256 is done. */
  begin(table: FileTableBuffers): void;
  /**
   * Hashes the files of the table `begin` was given that are not yet claimed (this thread takes
   * its share, synchronously) and resolves with the blob's hex sha256 once everything is hashed.
   */
  finish(table: FileTableBuffers): Promise<string>;
  /** Stops the thread, if any (after `finish`, or to abandon the work). */
  close(): Promise<void>;
}

const identity = (s: Stats): string => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

/** Where the bytes are, and what names them in messages. */
export interface LocalBlob { fd: number; path: string; position: number; length: number; where: string }

function failure(blob: LocalBlob, e: unknown): ReproError {
  if (e instanceof ReproError) return e;
  return ioError(e, `${blob.where}: cannot read ${blob.path}`);
}

export function startLocalHashes(blob: LocalBlob): LocalHashes {
  const before = identity(fstatSync(blob.fd));
  const changed = (): void => {
    if (identity(fstatSync(blob.fd)) !== before) throw new ReproError('E_IO', `${blob.where}: ${blob.path} changed while it was read`);
  };
  const reader = new Reader(blob.fd);
  const mode = hashThreadMode();
  const thread = mode === 'always' || (mode === 'auto' && blob.length >= THREAD_MIN_BYTES && availableParallelism() >= 2);
  if (!thread) {
    return {
      begin: () => {},
      finish: async (table) => {
        try {
          const sha = reader.sha256(blob.position, blob.length);
          reader.hashFiles(table);
          changed();
          return sha;
        } catch (e) {
          throw failure(blob, e);
        }
      },
      close: async () => {},
    };
  }
  const job: LocalHashJob = { fd: blob.fd, position: blob.position, length: blob.length };
  const worker = takeHashThread();
  // The replies, in order: the sha256, then the count of files the thread hashed.
  const replies: LocalHashReply[] = [];
  let waiting: ((r: LocalHashReply) => void) | undefined;
  let stopped: Error | undefined;
  const deliver = (r: LocalHashReply): void => {
    const w = waiting;
    waiting = undefined;
    if (w) w(r);
    else replies.push(r);
  };
  worker.on('message', deliver);
  worker.on('error', (e) => deliver({ error: e.message }));
  worker.on('exit', () => {
    stopped ??= new Error('the hashing thread stopped');
    deliver({ error: stopped.message });
  });
  worker.postMessage(job);
  const reply = async (): Promise<LocalHashReply & { sha256?: string }> => {
    const r = replies.shift() ?? (await new Promise<LocalHashReply>((resolve) => (waiting = resolve)));
    if ('error' in r) throw Object.assign(new Error(r.error), r.code ? { code: r.code } : {});
    return r;
  };
  let begun = false;
  return {
    begin: (table) => {
      if (!begun) worker.postMessage(table);
      begun = true;
    },
    finish: async (table) => {
      try {
        if (!begun) worker.postMessage(table);
        begun = true;
        reader.hashFiles(table);
        const sha = await reply();
        await reply();
        changed();
        if (sha.sha256 === undefined) throw new Error('internal: the hashing thread answered out of order');
        return sha.sha256;
      } catch (e) {
        throw failure(blob, e);
      }
    },
    close: async () => {
      stopped = new Error('the hashing thread was stopped');
      await worker.terminate();
    },
  };
}
