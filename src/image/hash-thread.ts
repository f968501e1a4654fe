/**
 * Hashing on another thread, for the big streams read on the main thread: a layer blob's sha256
 * (checked against its digest) and the md5 of every file in it, while the main thread parses the
 * tar. Bytes are copied into batches that move to the worker (the caller keeps its chunks), and
 * each hasher (a channel) hashes a sequence of items (a blob, or one file after another) in
 * order. The digests are those `createHash` gives on the main thread; only when they are ready
 * changes. One worker serves every channel open at a time (starting a thread costs about as much
 * as hashing 20 MB), and stops when the last is closed.
 *
 * `StreamHashes` is the interface; `inlineHashes` does the same work on the calling thread (used
 * for small streams, where starting a thread costs more than it saves).
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ReproError } from '../model/errors.js';

export type HashAlgorithm = 'md5' | 'sha256';

export interface StreamHashes {
  /** True when the hashing is done on the calling thread (a caller may then hash whole items itself). */
  readonly inline: boolean;
  /** Appends bytes to the current item (copied: the caller may reuse the chunk). */
  update(chunk: Uint8Array): void;
  /** Ends the current item; its hex digest comes once its bytes are hashed (after `flush`). */
  end(): Promise<string>;
  /** Hands what is batched to the hashing; call it before awaiting digests. */
  flush(): void;
  /** Resolves when the hashing has caught up enough to take more (bounds the memory in flight). */
  ready(): Promise<void> | undefined;
  /**
   * True when the hashing thread is behind (more than a few batches of every channel waiting):
   * a caller with independent items may then hash the next one itself, so that both threads work.
   */
  busy(): boolean;
  /** Stops this hasher (digests not yet come are abandoned). */
  close(): Promise<void>;
}

// One-shot hashing (Node 20.12 and later) skips the Hash object of createHash: cheaper for the
// many small files of an image.
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;

/** The hex digest of bytes at hand: what `createHash(algorithm).update(data).digest('hex')` gives. */
export function hexDigest(algorithm: HashAlgorithm, data: Uint8Array): string {
  return oneShot ? oneShot(algorithm, data, 'hex') : createHash(algorithm).update(data).digest('hex');
}

/** Below this many bytes a stream is hashed inline. */
export const THREAD_MIN_BYTES = 8 << 20;
const BATCH = 1 << 20;
/** Bytes a channel handed over and that are not yet hashed, beyond which `ready` waits. */
const MAX_IN_FLIGHT = 8 << 20;
/** Bytes of all channels not yet hashed beyond which the thread is `busy`. */
const BUSY = 3 * BATCH;

export function inlineHashes(algorithm: HashAlgorithm): StreamHashes {
  let h = createHash(algorithm);
  return {
    inline: true,
    update: (c) => void h.update(c),
    end: () => {
      const d = h.digest('hex');
      h = createHash(algorithm);
      return Promise.resolve(d);
    },
    flush: () => {},
    ready: () => undefined,
    busy: () => false,
    close: async () => {},
  };
}

/** What the worker says of a batch: the channel, the digests of the items it ended, its bytes and buffer back. */
export interface BatchDone { channel: number; digests: string[]; bytes: number; buf: ArrayBuffer }
/** What the worker is told: a channel opens (with its algorithm), gets a batch, or closes. */
export type HashMessage =
  | { op: 'open'; channel: number; algorithm: HashAlgorithm }
  | { op: 'batch'; channel: number; buf: ArrayBuffer; length: number; cuts: number[] }
  | { op: 'close'; channel: number };

/** The one hashing worker and its open channels. */
class Shared {
  readonly worker: Worker;
  readonly channels = new Map<number, ThreadHashes>();
  readonly free: ArrayBuffer[] = [];
  private next = 0;
  stopping = false;
  /** Bytes handed over by every channel and not yet hashed. */
  inFlight = 0;

  constructor() {
    // Not the process's own Node options (`--input-type`, `--eval` and the like refuse a worker file).
    this.worker = new Worker(new URL('./hash-thread-worker.js', import.meta.url), { execArgv: [] });
    this.worker.on('message', (m: BatchDone) => {
      this.free.push(m.buf);
      this.inFlight -= m.bytes;
      this.channels.get(m.channel)?.done(m);
    });
    this.worker.on('error', (e) => this.failAll(new ReproError('E_IO', `cannot hash: ${e.message}`)));
    this.worker.on('exit', () => {
      if (!this.stopping) this.failAll(new ReproError('E_IO', 'the hashing thread stopped'));
      if (shared === this) shared = undefined;
    });
  }

  open(h: ThreadHashes, algorithm: HashAlgorithm): number {
    const channel = this.next++;
    this.channels.set(channel, h);
    this.worker.postMessage({ op: 'open', channel, algorithm } satisfies HashMessage);
    return channel;
  }

  buffer(): Buffer {
    const again = this.free.pop();
    return again ? Buffer.from(again) : Buffer.allocUnsafeSlow(BATCH);
  }

  async close(channel: number): Promise<void> {
    if (!this.channels.delete(channel)) return;
    if (this.channels.size > 0) {
      this.worker.postMessage({ op: 'close', channel } satisfies HashMessage);
      return;
    }
    this.stopping = true;
    if (shared === this) shared = undefined;
    await this.worker.terminate();
  }

  private failAll(e: Error): void {
    for (const h of this.channels.values()) h.fail(e);
  }
}

let shared: Shared | undefined;

export class ThreadHashes implements StreamHashes {
  readonly inline = false;
  private readonly pool: Shared;
  private readonly channel: number;
  private batch: Buffer;
  private used = 0;
  /** Offsets in the current batch where an item ends. */
  private cuts: number[] = [];
  private readonly pending: Array<{ resolve: (d: string) => void; reject: (e: Error) => void }> = [];
  private inFlight = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(algorithm: HashAlgorithm, private readonly where: string) {
    shared ??= new Shared();
    this.pool = shared;
    this.channel = this.pool.open(this, algorithm);
    this.batch = this.pool.buffer();
  }

  /** From the worker: a batch is hashed. */
  done(m: BatchDone): void {
    this.inFlight -= m.bytes;
    for (const d of m.digests) this.pending.shift()?.resolve(d);
    if (this.inFlight <= MAX_IN_FLIGHT) this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  fail(e: Error): void {
    if (this.failure) return;
    this.failure = e.message.startsWith(this.where) ? e : new ReproError('E_IO', `${this.where}: ${e.message}`);
    for (const p of this.pending.splice(0)) p.reject(this.failure);
    this.wakeUp();
  }

  update(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, BATCH - this.used);
      this.batch.set(chunk.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === BATCH) this.flush();
    }
  }

  end(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    this.cuts.push(this.used);
    const p = new Promise<string>((resolve, reject) => this.pending.push({ resolve, reject }));
    p.catch(() => {}); // abandoned digests (a read stopped early) are no unhandled rejection
    return p;
  }

  flush(): void {
    if (this.failure) throw this.failure;
    if (this.used === 0 && this.cuts.length === 0) return;
    const buf = this.batch.buffer as ArrayBuffer;
    this.pool.worker.postMessage({ op: 'batch', channel: this.channel, buf, length: this.used, cuts: this.cuts } satisfies HashMessage, [buf]);
    this.inFlight += this.used;
    this.pool.inFlight += this.used;
    this.batch = this.pool.buffer();
    this.used = 0;
    this.cuts = [];
  }

  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise((resolve, reject) => {
      this.wake = () => (this.failure ? reject(this.failure) : resolve());
    });
  }

  busy(): boolean {
    return this.pool.inFlight > BUSY;
  }

  async close(): Promise<void> {
    this.fail(new ReproError('E_IO', `${this.where}: hashing stopped before its end`));
    await this.pool.close(this.channel);
  }
}

/**
 * Cores below which nothing is hashed on the thread. Measured on a 2-core machine shared with
 * other work (bench/audit, 10 alternating runs): the thread's start, copies and messages cost
 * about 0.3 s of CPU over inline hashing, and with no core to spare the audit took 2.9 s
 * instead of 2.5 s (medians). Again on a quiet 2-core machine (20 alternating runs): 0.765 s
 * with the thread against 0.745 s without, 0.17 s more CPU (the second core already runs Node's
 * reads, collector and compiler). With cores to spare the hashing overlaps the parsing instead.
 */
export const THREAD_MIN_CORES = 4;

let mode: 'auto' | 'always' | 'never' = 'auto';

/** Overrides the choice (tests: the thread path on any machine). Local layers (local-hashes.ts) follow it too. */
export function setHashThreads(m: 'auto' | 'always' | 'never'): void {
  mode = m;
}

export function hashThreadMode(): 'auto' | 'always' | 'never' {
  return mode;
}

/** A hasher for a stream of about `size` bytes: on the hashing thread when it is big enough to pay and a core is to spare. */
export function streamHashes(algorithm: HashAlgorithm, size: number, where: string): StreamHashes {
  const thread = mode === 'always' || (mode === 'auto' && size >= THREAD_MIN_BYTES && availableParallelism() >= THREAD_MIN_CORES);
  return thread ? new ThreadHashes(algorithm, where) : inlineHashes(algorithm);
}
