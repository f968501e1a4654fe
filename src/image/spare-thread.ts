/**
 * The hashing thread of local-hashes.ts, started before it is needed: a thread's start (about
 * 60 to 100 ms on the machines measured) then overlaps the loading of a command's modules and the
 * reading of the manifest, instead of delaying the blob's sha256. It waits unreferenced until it
 * is taken, so a process that never takes it (a registry image, a compressed layer, an error)
 * exits as if it were not there. Only where a second core can run it, and only once; where none
 * waits, `takeHashThread` starts one (the one place hashing threads of local layers are made).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

let spare: Worker | undefined;

/** A new hashing thread. Not the process's own Node options (`--input-type`, `--eval` and the like refuse a worker file). */
function newHashThread(): Worker {
  return new Worker(new URL('./local-hash-worker.js', import.meta.url), { execArgv: [] });
}

/** Starts the thread now, if a second core is there to run it and none is waiting. */
export function startSpareHashThread(): void {
  if (spare || availableParallelism() < 2) return;
  const w = newHashThread();
  w.unref();
  // A thread that fails to start is not our concern until it is taken: a new one is started then.
  w.on('error', () => { if (spare === w) spare = undefined; });
  w.on('exit', () => { if (spare === w) spare = undefined; });
  spare = w;
}

/** The waiting thread (referenced again: the process now waits for its work), else a new one. */
export function takeHashThread(): Worker {
  const w = spare;
  spare = undefined;
  if (!w) return newHashThread();
  w.ref();
  return w;
}
