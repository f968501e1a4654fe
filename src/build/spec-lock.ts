/** `lock` for any spec: dispatched to its distribution's resolver. */
import type { Cache } from '../fetch/cache.js';
import { ReproError } from '../model/errors.js';
import { lockArch } from '../sources/arch/lock.js';
import { lockDebian } from '../sources/debian/lock.js';
import type { LoadedSpec } from '../spec/load.js';
import type { LockFile } from '../spec/lockfile.js';
import { isArchSpec, isDebianSpec } from '../spec/schema.js';

export interface SpecLockOptions {
  cache: Cache;
  /** Arch: pin packages without checking their signatures (never the default). */
  noVerifySignatures?: boolean;
  log?: (line: string) => void;
}

export async function lockSpec(loaded: LoadedSpec, opts: SpecLockOptions): Promise<LockFile> {
  const { spec } = loaded;
  const log = opts.log ? { log: opts.log } : {};
  if (isDebianSpec(spec)) {
    if (opts.noVerifySignatures) throw new ReproError('E_USAGE', `--no-verify-signatures: a Debian suite is always checked through its signed InRelease`);
    return lockDebian(spec, { specDir: loaded.dir, cache: opts.cache, ...log });
  }
  if (!isArchSpec(spec)) throw new ReproError('E_SPEC', `${loaded.file}: source.distro ${JSON.stringify(spec.source.distro)} cannot be locked`);
  return lockArch(spec, { specDir: loaded.dir, cache: opts.cache, verifySignatures: opts.noVerifySignatures !== true, ...log });
}

/** One line saying what a lock holds. */
export function describeLock(lock: LockFile): string {
  const s = lock.source;
  return s.distro === 'debian'
    ? `${lock.packages.length} packages from ${s.suite} (${s.date})`
    : `${lock.packages.length} packages from the ${s.snapshot} snapshot (${s.repositories.map((r) => r.name).join(', ')})${s.signatures === 'verified' ? '' : ', signatures not checked'}`;
}
