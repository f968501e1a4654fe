/** `lock` for any spec: resolved by its distribution, written beside the spec. */
import { Cache } from '../fetch/cache.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { baseImageOf, lockBase } from './base.js';
import { specPlatform } from './spec.js';
import { distributionFor } from '../sources/index.js';
import { loadSpec, type LoadedSpec } from '../spec/load.js';
import { lockPathFor, specDigest, writeLock, type LockFile } from '../spec/lockfile.js';

export interface SpecLockOptions {
  cache: Cache;
  /** Pin packages without checking their signatures (never the default; Arch only). */
  noVerifySignatures?: boolean;
  /** Debian: where the host's apt sources are read when the spec names no mirror (default /etc/apt). */
  aptDir?: string;
  /** Lock at this snapshot (`latest` or a timestamp such as 20250520T000000Z) instead of the spec's source.snapshot (Debian). */
  snapshot?: string;
  log?: (line: string) => void;
  /** Registry settings for a docker:// base. */
  registry?: RegistryOptions;
}

export async function lockSpec(loaded: LoadedSpec, opts: SpecLockOptions): Promise<LockFile> {
  const { spec } = loaded;
  const d = distributionFor(spec.source.distro);
  // The base first: a tag is refused before any index is read.
  const base = spec.base === undefined ? undefined : await lockBase(baseImageOf(spec.base), specPlatform(spec), opts.registry ? { registry: opts.registry } : {});
  const lockFile = await d.lock(spec, {
    specDir: loaded.dir, cache: opts.cache, specDigest: specDigest(spec),
    ...(opts.noVerifySignatures ? { noVerifySignatures: true } : {}),
    ...(opts.aptDir ? { aptDir: opts.aptDir } : {}),
    ...(opts.snapshot !== undefined ? { snapshot: opts.snapshot } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  }) as LockFile;
  return base === undefined ? lockFile : { ...lockFile, base } as LockFile;
}

/** One line saying what a lock holds. */
export function describeLock(lock: LockFile): string {
  return distributionFor(lock.source.distro).describeLock(lock);
}

export interface LockOptions extends Omit<SpecLockOptions, 'cache'> {
  /** The image.yaml. */
  spec: string;
  /** The content-addressed cache (see defaultCacheDir); index files and Arch packages are kept there. */
  cacheDir: string;
  /** Write SPEC.lock.json beside the spec (default true). */
  write?: boolean;
}

export interface LockResult {
  /** Where the lock was written (or would be). */
  path: string;
  lock: LockFile;
  /** One line saying what it holds. */
  summary: string;
}

/** Resolves a spec once and writes its lock beside it: `repro-image lock`. */
export async function lock(opts: LockOptions): Promise<LockResult> {
  const loaded = loadSpec(opts.spec);
  const { cacheDir: _c, spec: _s, write: _w, ...rest } = opts;
  const lockFile = await lockSpec(loaded, { ...rest, cache: new Cache(opts.cacheDir) });
  const path = lockPathFor(loaded.file);
  if (opts.write !== false) await writeLock(path, lockFile);
  return { path, lock: lockFile, summary: describeLock(lockFile) };
}
