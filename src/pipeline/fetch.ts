/** `fetch`: every input a spec's lock pins, downloaded into the verified cache (the only step besides `lock` that uses the network). */
import { Cache } from '../fetch/cache.js';
import { ReproError, option } from '../model/errors.js';
import { loadSpec } from '../spec/load.js';
import { checkLockMatches, lockPathFor, readLockFile } from '../spec/lockfile.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import type { ImageRef } from '../transports/reference.js';
import { fetchFromArchive } from './inputs-archive.js';
import { fetchBase } from './base.js';
import { fetchLocked, type FetchOptions as LockedFetchOptions } from './spec.js';

export interface FetchOptions {
  /** The image.yaml; its lock is SPEC.lock.json beside it. */
  spec: string;
  /** The content-addressed cache (see defaultCacheDir). */
  cacheDir: string;
  /** Parallel downloads, or blobs read at a time from an inputs archive (default 4, at most 64). */
  jobs?: number;
  /** Debian: where the host's apt sources are read when the spec names no mirror. */
  aptDir?: string;
  /**
   * Take every file from this inputs archive (see `archive`) instead of the mirrors: the artifact
   * itself, or an image with one among its referrers. Nothing is downloaded from a mirror.
   */
  from?: ImageRef | string;
  /** Registry settings for a docker:// `from` and a docker:// base. */
  registry?: RegistryOptions;
  onProgress?: LockedFetchOptions['onProgress'];
  onRetry?: (message: string) => void;
}

export interface FetchResult {
  cacheDir: string;
  /** Every locked file's key and its verified path in the cache. */
  files: Map<string, string>;
}

export async function fetch(opts: FetchOptions): Promise<FetchResult> {
  const jobs = opts.jobs ?? 4;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ReproError('E_USAGE', `${option('jobs')}: expected 1 to 64, got ${JSON.stringify(opts.jobs)}`);
  const loaded = loadSpec(opts.spec);
  const lockPath = lockPathFor(loaded.file);
  const { lock, bytes: lockBytes } = readLockFile(lockPath);
  checkLockMatches(lock, loaded.spec, lockPath, opts.spec);
  const cache = new Cache(opts.cacheDir);
  if (opts.from !== undefined) {
    const files = await fetchFromArchive(loaded.spec, lock, lockBytes, cache, {
      from: opts.from, jobs, ...(opts.registry ? { registry: opts.registry } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    if (lock.base) await fetchBase(lock.base, cache, opts.registry ? { transport: { registry: opts.registry } } : {});
    return { cacheDir: cache.dir, files };
  }
  const files = await fetchLocked(loaded.spec, lock, {
    cache, concurrency: jobs,
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.aptDir ? { aptDir: opts.aptDir } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
  });
  return { cacheDir: cache.dir, files };
}
