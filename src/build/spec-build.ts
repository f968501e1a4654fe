/**
 * Builds an image from a spec and its lock: the locked packages (from the cache, fetched first
 * unless offline), installed without running anything by the distribution's install step (its
 * package database, and for Debian the script effects), the spec's files added, then the shared
 * build steps.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parentOf, type Entry } from '../archive/entry.js';
import { cleanMemberPath } from '../archive/paths.js';
import { Cache } from '../fetch/cache.js';
import { inOrder } from '../fetch/pool.js';
import type { ContainerConfig } from '../model/config.js';
import { ReproError, ioError } from '../model/errors.js';
import type { Platform } from '../model/platform.js';
import { archLockedFiles, type LockedFile } from '../sources/arch/fetch.js';
import { archTree } from '../sources/arch/tree.js';
import { debianMirrors } from '../sources/debian/lock.js';
import { debianTree } from '../sources/debian/tree.js';
import type { InstalledTree } from '../sources/installed-tree.js';
import { loadSpec, type LoadedSpec } from '../spec/load.js';
import { checkLockMatches, isDebianLock, lockPathFor, readLock, type DebianLock, type LockFile } from '../spec/lockfile.js';
import { isArchSpec, isDebianSpec, type DebianSpec, type ImageSpec } from '../spec/schema.js';
import { parseImageRef, type ImageRef } from '../transports/reference.js';
import type { PassReport } from './passes.js';
import { PASS_NAMES } from './passes.js';
import { buildFromTree, type BuildResult, type RootfsBuildOptions } from './rootfs-build.js';

export interface FetchOptions {
  cache: Cache;
  offline?: boolean;
  aptDir?: string;
  concurrency?: number;
  onProgress?: (done: number, total: number, name: string) => void;
  onRetry?: (message: string) => void;
}

/** A lock's Debian packages and where they can come from (mirrors looked up only when needed). */
function debianLockedFiles(spec: DebianSpec, lock: DebianLock, aptDir: string | undefined): LockedFile[] {
  let mirrors: string[] | undefined;
  return lock.packages.map((p) => ({
    key: p.name, filename: p.filename, size: p.size, sha256: p.sha256,
    urls: () => (mirrors ??= debianMirrors(spec, aptDir)).map((m) => `${m}/${p.filename}`),
  }));
}

export function lockedFiles(spec: ImageSpec, lock: LockFile, aptDir?: string): LockedFile[] {
  if (isDebianLock(lock)) {
    if (!isDebianSpec(spec)) throw new ReproError('E_LOCK_STALE', `the lock is for Debian, the spec for ${spec.source.distro}; run 'repro-image lock' again`);
    return debianLockedFiles(spec, lock, aptDir);
  }
  if (!isArchSpec(spec)) throw new ReproError('E_LOCK_STALE', `the lock is for Arch Linux, the spec for ${spec.source.distro}; run 'repro-image lock' again`);
  return archLockedFiles(spec, lock);
}

/** Every locked file's verified copy in the cache (downloaded first unless offline), by key. */
export async function fetchLocked(spec: ImageSpec, lock: LockFile, opts: FetchOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing: LockedFile[] = [];
  for (const p of lockedFiles(spec, lock, opts.aptDir)) {
    if (await opts.cache.has(p)) out.set(p.key, opts.cache.path(p.sha256));
    else missing.push(p);
  }
  if (missing.length > 0 && opts.offline) {
    throw new ReproError('E_NOT_FOUND', `--offline: ${missing.length} locked file${missing.length === 1 ? ' is' : 's are'} not in the cache ${opts.cache.dir} (first: ${missing[0]!.filename}); run 'repro-image fetch' first`);
  }
  if (missing.length === 0) return out;
  let done = 0;
  const bytes = missing.reduce((n, p) => n + p.size, 0);
  let doneBytes = 0;
  await inOrder(missing.length, opts.concurrency ?? 4, async (i) => {
    const p = missing[i]!;
    const { path } = await opts.cache.ensure(p.filename, p.urls(), p, {
      ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
    });
    out.set(p.key, path);
    done++;
    doneBytes += p.size;
    opts.onProgress?.(doneBytes, bytes, `${done}/${missing.length} ${p.key}`);
  });
  return out;
}

/** Re-hashes a cached file before use: the cache is trusted only as far as it checks out. */
function verifyCached(path: string, p: { size: number; sha256: string; filename: string }, buf: Buffer): void {
  const hash = createHash('sha256');
  let size = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; size += n) hash.update(buf.subarray(0, n));
  } catch (e) {
    throw ioError(e, `cannot read ${path}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const got = hash.digest('hex');
  if (size !== p.size || got !== p.sha256) {
    throw new ReproError('E_DIGEST_MISMATCH', `${path} (${p.filename}) in the cache has sha256:${got} (${size} bytes), the lock says sha256:${p.sha256} (${p.size} bytes); delete it and fetch again`);
  }
}

const OCI_ARCH: Record<string, Platform> = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  armhf: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armel: { os: 'linux', architecture: 'arm', variant: 'v5' },
  i386: { os: 'linux', architecture: '386' },
  ppc64el: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  mips64el: { os: 'linux', architecture: 'mips64le' },
};

/** pacman's architecture names (Arch Linux and its ports). */
const PACMAN_OCI_ARCH: Record<string, Platform> = {
  x86_64: { os: 'linux', architecture: 'amd64' },
  aarch64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  armv7h: { os: 'linux', architecture: 'arm', variant: 'v7' },
  i686: { os: 'linux', architecture: '386' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

/** The OCI platform of a spec's image: `platform`, else the one of its distribution's architecture. */
export function specPlatform(spec: ImageSpec): Platform {
  if (spec.platform) {
    const [os, architecture, variant] = spec.platform.split('/') as [string, string, string | undefined];
    return variant ? { os, architecture, variant } : { os, architecture };
  }
  const p = (spec.source.distro === 'debian' ? OCI_ARCH : PACMAN_OCI_ARCH)[spec.source.architecture];
  if (!p) throw new ReproError('E_SPEC', `source.architecture ${spec.source.architecture}: no OCI platform known for it; set platform:`);
  return p;
}

function containerConfig(spec: ImageSpec): ContainerConfig {
  const c = spec.config;
  const out: ContainerConfig = {};
  if (c.env) out.Env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  if (c.entrypoint) out.Entrypoint = c.entrypoint;
  if (c.cmd) out.Cmd = c.cmd;
  if (c.workdir) out.WorkingDir = c.workdir;
  if (c.user) out.User = c.user;
  if (c.labels) out.Labels = Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
  return out;
}

function addSpecFiles(entries: Map<string, Entry>, loaded: LoadedSpec, mtime: number, destPath: InstalledTree['destPath']): string[] {
  const added: string[] = [];
  for (const [i, f] of loaded.spec.files.entries()) {
    const where = `${loaded.file}: files[${i}]`;
    const src = isAbsolute(f.src) ? f.src : join(loaded.dir, f.src);
    let st;
    try {
      st = statSync(src);
    } catch (e) {
      throw ioError(e, `${where}: cannot read ${src}`);
    }
    if (!st.isFile()) throw new ReproError('E_SPEC', `${where}: ${src} is not a regular file`);
    const path = destPath(cleanMemberPath(f.dest.replace(/^\/+/, ''), where), where);
    const mode = f.mode === undefined ? (st.mode & 0o111 ? 0o755 : 0o644) : typeof f.mode === 'number' ? f.mode : parseInt(f.mode, 8);
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
      const parent = entries.get(p);
      if (!parent) entries.set(p, { path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 });
      else if (parent.type !== 'dir') throw new ReproError('E_SPEC', `${where}: dest ${f.dest} goes through /${p}, which is a ${parent.type} in the image`);
    }
    entries.set(path, { path, type: 'file', mode, uid: f.uid, gid: f.gid, mtime, size: st.size, content: { kind: 'file', path: src } });
    added.push(path);
  }
  return added;
}

export interface SpecBuildOptions extends Omit<RootfsBuildOptions, 'rootfs' | 'output' | 'compression' | 'normalize' | 'config' | 'platform' | 'xattrs'> {
  spec: string;
  output: ImageRef | string;
  cacheDir: string;
  offline?: boolean;
  aptDir?: string;
  onFetchProgress?: FetchOptions['onProgress'];
}

export async function buildSpec(opts: SpecBuildOptions): Promise<BuildResult & { lock: { path: string; digest: string } }> {
  const ref = typeof opts.output === 'string' ? parseImageRef(opts.output, '--output') : opts.output;
  const loaded = loadSpec(opts.spec);
  const { spec } = loaded;
  const lockPath = lockPathFor(loaded.file);
  const lock = readLock(lockPath);
  checkLockMatches(lock, spec, lockPath, opts.spec);
  const lockDigest = `sha256:${createHash('sha256').update(readFileSync(lockPath)).digest('hex')}`;
  const cache = new Cache(opts.cacheDir);
  const files = await fetchLocked(spec, lock, {
    cache, ...(opts.offline ? { offline: true } : {}), ...(opts.aptDir ? { aptDir: opts.aptDir } : {}),
    ...(opts.onFetchProgress ? { onProgress: opts.onFetchProgress } : {}),
  });
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const p of lockedFiles(spec, lock, opts.aptDir)) verifyCached(files.get(p.key)!, p, buf);

  const sde = opts.sourceDateEpoch ?? lock.source.sourceDateEpoch;
  const tmp = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'repro-image-')).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
  let cleanup: (() => Promise<void>) | undefined;
  try {
    // Step: install packages (with the distribution's package database and script effects)
    const installed = isDebianLock(lock) ? await debianTree(lock, files, tmp, sde) : await archTree(lock, files, tmp, sde);
    cleanup = installed.cleanup;
    const { entries } = installed;

    // Step: the spec's files
    const added = addSpecFiles(entries, loaded, sde, installed.destPath);
    const reports: PassReport[] = [...installed.reports];
    if (added.length > 0) reports.push({ name: 'spec files', changed: added.length, examples: added.slice(0, 10) });

    const normalize = spec.normalize === 'all' ? [...PASS_NAMES] : spec.normalize === 'none' ? [] : spec.normalize;
    const result = await buildFromTree(entries, ref, tmp, {
      ...opts,
      compression: spec.compression,
      normalize,
      platform: specPlatform(spec),
      config: containerConfig(spec),
      sourceDateEpoch: sde,
      sourceDateEpochFrom: opts.sourceDateEpoch !== undefined ? 'option' : isDebianLock(lock) ? 'release-date' : 'snapshot-date',
      label: opts.spec,
      warnings: [],
      extraReports: reports,
    });
    return { ...result, lock: { path: lockPath, digest: lockDigest } };
  } finally {
    await cleanup?.();
    await rm(tmp, { recursive: true, force: true });
  }
}
