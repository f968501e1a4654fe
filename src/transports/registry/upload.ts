/**
 * Blob uploads per the OCI distribution spec: HEAD first (a blob the repository has is skipped),
 * a cross-repository mount when the blob is in another repository of the same registry, then a
 * monolithic upload (POST, then one PUT with the bytes and the digest) for small blobs, or a chunked
 * one (POST, PATCHes with Content-Range, a closing PUT with the digest) for large ones. A chunk that
 * fails is resumed from the offset the registry reports; anything else that fails restarts the blob
 * in a new upload session, up to the retry policy's attempts. The registry checks the digest at the
 * closing PUT, and the bytes pass our own verifier on the way out.
 */
import type { BlobSource } from '../../image/image.js';
import { fileSource } from '../../image/file-source.js';
import type { Descriptor } from '../../model/descriptor.js';
import { ReproError } from '../../model/errors.js';
import { DEFAULT_RETRY, retryDelay, sleep, type HttpResponse } from '../../fetch/http.js';
import { unexpected, type RegistryClient } from './client.js';
import { repositoryScope } from './challenge.js';

export const DEFAULT_MONOLITHIC_LIMIT = 32 << 20;
/**
 * Chunks read from a file are re-readable, so a broken one resumes at the registry's offset
 * whatever its size: they are large (a registry ingests one long PATCH faster than several).
 * Chunks of a streamed source are held in memory for a resend: they are small.
 */
export const DEFAULT_FILE_CHUNK_SIZE = 256 << 20;
export const DEFAULT_STREAM_CHUNK_SIZE = 16 << 20;

export type BlobOutcome = 'exists' | 'mounted' | 'uploaded';

const ONCE = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/** An upload that may be tried again in a new session (the network, a 5xx, a 429). */
class Transient extends Error {}

function octets(n: number): Record<string, string> {
  return { 'content-type': 'application/octet-stream', 'content-length': String(n) };
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Bytes [start, end) of a source: straight from its file when it has one, else from a buffer. */
function slice(src: BlobSource, start: number, end: number): (() => AsyncIterable<Buffer>) | undefined {
  const ref = src.ref;
  if (ref?.kind === 'file') return () => fileSource(ref.path, start, end - start).open();
  if (ref?.kind === 'range') return () => fileSource(ref.path, ref.offset + start, end - start).open();
  if (ref?.kind === 'bytes') return async function* () { yield ref.data.subarray(start, end); };
  return undefined;
}

/** A body that reports `base + bytes sent so far` as it is read. */
function counted(body: () => AsyncIterable<Buffer>, base: number, report: ((n: number) => void) | undefined): () => AsyncIterable<Buffer> {
  if (!report) return body;
  return async function* () {
    let n = base;
    for await (const c of body()) {
      n += c.length;
      report(n);
      yield c;
    }
  };
}

/** Reads a stream in pieces of exactly `size` bytes (the last one shorter). */
async function* pieces(chunks: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const c of chunks) {
    let rest = c;
    while (rest.length > 0) {
      const take = Math.min(size - n, rest.length);
      parts.push(rest.subarray(0, take));
      n += take;
      rest = rest.subarray(take);
      if (n === size) {
        yield Buffer.concat(parts);
        parts = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield Buffer.concat(parts);
}

export class BlobUploader {
  private readonly client: RegistryClient;
  private readonly repository: string;
  private readonly scopes: string[];

  /** Aborted when the upload is no longer wanted (another blob of the push failed). */
  private readonly signal: AbortSignal | undefined;

  constructor(client: RegistryClient, repository: string, mountFrom?: string, signal?: AbortSignal) {
    this.client = client;
    this.repository = repository;
    this.signal = signal;
    this.scopes = [repositoryScope(repository, ['pull', 'push'])];
    if (mountFrom !== undefined && mountFrom !== repository) this.scopes.push(repositoryScope(mountFrom, ['pull']));
  }

  private progress(d: Descriptor, done: number): void {
    this.client.options.onProgress?.(d.digest, done, d.size);
  }

  private reporter(d: Descriptor): ((n: number) => void) | undefined {
    return this.client.options.onProgress ? (n) => this.progress(d, n) : undefined;
  }

  private get abort(): { signal?: AbortSignal } {
    return this.signal ? { signal: this.signal } : {};
  }

  /** Waits before a retry; an abandoned upload stops waiting (and retrying) at once. */
  private async wait(ms: number): Promise<void> {
    await sleep(ms, this.signal).catch(() => {
      throw new ReproError('E_NETWORK', 'abandoned: another blob of this push failed');
    });
  }

  private where(d: Descriptor): string {
    return `${this.client.registry}/${this.repository}@${d.digest}`;
  }

  async exists(d: Descriptor): Promise<boolean> {
    const res = await this.client.send({ method: 'HEAD', url: `/v2/${this.repository}/blobs/${d.digest}`, scopes: this.scopes, ...this.abort });
    res.discard();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await unexpected(res, `${this.where(d)}: cannot check whether the blob exists`);
  }

  /** Pushes one blob unless the repository has it; `mountFrom` names a repository of the same registry holding it. */
  async push(d: Descriptor, src: BlobSource, mountFrom?: string): Promise<BlobOutcome> {
    if (await this.exists(d)) {
      this.progress(d, d.size);
      return 'exists';
    }
    const policy = this.client.options.retry ?? DEFAULT_RETRY;
    for (let attempt = 1; ; attempt++) {
      let location: string | undefined;
      try {
        const started = await this.start(d, mountFrom !== this.repository ? mountFrom : undefined);
        if (started === 'mounted') {
          this.progress(d, d.size);
          return 'mounted';
        }
        location = started;
        const limit = this.client.options.monolithicLimit ?? DEFAULT_MONOLITHIC_LIMIT;
        if (d.size <= limit) await this.monolithic(d, src, location);
        else await this.chunked(d, src, location);
        return 'uploaded';
      } catch (e) {
        if (location !== undefined) await this.cancel(location);
        if (this.signal?.aborted) throw e;
        if (!(e instanceof Transient) || attempt >= policy.attempts) {
          if (e instanceof Transient) throw new ReproError('E_NETWORK', `${this.where(d)}: upload failed: ${e.message} (after ${attempt} attempts)`);
          throw e;
        }
        const delay = retryDelay(policy, attempt);
        this.client.options.onRetry?.(`${this.where(d)}: upload failed (${e.message}); starting again in ${delay} ms`);
        await this.wait(delay);
      }
    }
  }

  /** POSTs a new upload session (or a mount): the upload URL, or 'mounted'. */
  private async start(d: Descriptor, mountFrom: string | undefined): Promise<string | 'mounted'> {
    const query = mountFrom ? `?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(mountFrom)}` : '';
    const res = await this.client.send({ method: 'POST', url: `/v2/${this.repository}/blobs/uploads/${query}`, headers: { 'content-length': '0' }, scopes: this.scopes, ...this.abort });
    res.discard();
    if (res.status === 201 && mountFrom) return 'mounted';
    if (res.status !== 202) {
      if (isRetryableStatus(res.status)) throw new Transient(`POST answered HTTP ${res.status}`);
      throw await unexpected(res, `${this.where(d)}: cannot start an upload`);
    }
    return this.location(res, d);
  }

  private async location(res: HttpResponse, d: Descriptor): Promise<string> {
    const loc = res.headers.location;
    if (!loc) throw new ReproError('E_NETWORK', `${this.where(d)}: the registry gave no upload Location (HTTP ${res.status})`);
    return new URL(loc, res.url).toString();
  }

  private async send(method: string, url: string, headers: Record<string, string>, body: Buffer | (() => AsyncIterable<Uint8Array>) | undefined): Promise<HttpResponse> {
    try {
      return await this.client.send({ method, url, headers, ...(body !== undefined ? { body } : {}), scopes: this.scopes, retry: ONCE, ...this.abort });
    } catch (e) {
      if (e instanceof ReproError && e.code === 'E_NETWORK') throw new Transient(e.message);
      throw e;
    }
  }

  private async monolithic(d: Descriptor, src: BlobSource, location: string): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', d.digest);
    this.progress(d, 0);
    const res = await this.send('PUT', url.toString(), octets(d.size), counted(() => src.open(), 0, this.reporter(d)));
    await this.finished(res, d);
  }

  private async finished(res: HttpResponse, d: Descriptor): Promise<void> {
    if (res.status !== 201 && res.status !== 204) {
      if (isRetryableStatus(res.status)) {
        res.discard();
        throw new Transient(`PUT answered HTTP ${res.status}`);
      }
      throw await unexpected(res, `${this.where(d)}: the registry refused the blob`);
    }
    res.discard();
    const stored = res.headers['docker-content-digest'];
    if (typeof stored === 'string' && stored.startsWith('sha256:') && stored !== d.digest) {
      throw new ReproError('E_DIGEST_MISMATCH', `${this.where(d)}: the registry stored the blob as ${stored}`);
    }
    this.progress(d, d.size);
  }

  private async chunked(d: Descriptor, src: BlobSource, first: string): Promise<void> {
    const fromFile = slice(src, 0, 0) !== undefined;
    const chunkSize = this.client.options.chunkSize ?? (fromFile ? DEFAULT_FILE_CHUNK_SIZE : DEFAULT_STREAM_CHUNK_SIZE);
    let location = first;
    let offset = 0;
    // A source without a file is read once, a chunk at a time, and the chunk kept for a resend.
    const stream = fromFile ? undefined : pieces(src.open(), chunkSize)[Symbol.asyncIterator]();
    try {
      while (offset < d.size) {
        const start = offset;
        const end = Math.min(d.size, start + chunkSize);
        let buffered: Buffer | undefined;
        if (stream) {
          const next = await stream.next();
          if (next.done || next.value.length !== end - start) throw new ReproError('E_SIZE_MISMATCH', `${this.where(d)}: the source ended after ${start + (next.value?.length ?? 0)} of ${d.size} bytes`);
          buffered = next.value;
        }
        // Send [offset, end); on a broken chunk ask the registry how far it got and send the rest.
        for (let tries = 1; offset < end; tries++) {
          const body = buffered ? buffered.subarray(offset - start) : counted(slice(src, offset, end)!, offset, this.reporter(d));
          let res: HttpResponse | undefined;
          let failure: string | undefined;
          try {
            res = await this.send('PATCH', location, { ...octets(end - offset), 'content-range': `${offset}-${end - 1}` }, body);
          } catch (e) {
            if (!(e instanceof Transient)) throw e;
            failure = e.message;
          }
          if (res && res.status === 202) {
            location = await this.location(res, d);
            res.discard();
            offset = end;
            this.progress(d, offset);
            break;
          }
          if (res) {
            if (!isRetryableStatus(res.status) && res.status !== 416) throw await unexpected(res, `${this.where(d)}: chunk ${offset}-${end - 1} refused`);
            failure = `PATCH answered HTTP ${res.status}`;
            res.discard();
          }
          const policy = this.client.options.retry ?? DEFAULT_RETRY;
          if (tries >= policy.attempts || this.signal?.aborted) throw new Transient(`${failure} (chunk ${offset}-${end - 1}, ${tries} tries)`);
          await this.wait(retryDelay(policy, tries));
          const st = await this.status(location);
          if (st === undefined || st.offset < start || st.offset > end) throw new Transient(`${failure}; the upload cannot be resumed`);
          this.client.options.onRetry?.(`${this.where(d)}: ${failure}; resuming the upload at byte ${st.offset}`);
          offset = st.offset;
          location = st.location;
        }
      }
      if (stream) {
        const extra = await stream.next();
        if (!extra.done) throw new ReproError('E_SIZE_MISMATCH', `${this.where(d)}: the source is longer than ${d.size} bytes`);
      }
    } finally {
      await stream?.return?.(undefined);
    }
    const url = new URL(location);
    url.searchParams.set('digest', d.digest);
    const res = await this.send('PUT', url.toString(), { 'content-length': '0' }, undefined);
    await this.finished(res, d);
  }

  /** How many bytes an upload session holds (its Range header) and its current URL; undefined when it is gone. */
  private async status(location: string): Promise<{ offset: number; location: string } | undefined> {
    let res: HttpResponse;
    try {
      res = await this.send('GET', location, {}, undefined);
    } catch {
      return undefined;
    }
    res.discard();
    if (res.status !== 204 && res.status !== 200) return undefined;
    const next = res.headers.location ? new URL(res.headers.location, res.url).toString() : location;
    const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ''));
    const last = m ? Number(m[1]) : 0;
    // "0-0" means nothing (or one byte): resume from 0 and let a 416 sort out the rare second case.
    return { offset: last === 0 ? 0 : last + 1, location: next };
  }

  private async cancel(location: string): Promise<void> {
    try {
      const res = await this.client.send({ method: 'DELETE', url: location, scopes: this.scopes, retry: ONCE });
      res.discard();
    } catch {
      // best effort: the registry expires abandoned sessions
    }
  }
}
