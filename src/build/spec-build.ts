/**
 * Builds an image from a spec and its lock: the locked packages (from the cache, fetched first
 * unless offline), installed without running anything, the script effects reproduced, the dpkg
 * database written, the spec's files added, then the shared build steps.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ContentReader } from '../archive/content.js';
import { parentOf, type Entry } from '../archive/entry.js';
import { cleanMemberPath } from '../archive/paths.js';
import { Cache } from '../fetch/cache.js';
import type { ContainerConfig } from '../model/config.js';
import { ReproError, ioError } from '../model/errors.js';
import type { Platform } from '../model/platform.js';
import { dpkgDatabase } from '../sources/debian/dpkg-db.js';
import { alternatives, baseFiles, basePasswd, caCertificates } from '../sources/debian/effects.js';
import { addMergedUsrLinks, installPackages, mergedUsrPath } from '../sources/debian/install.js';
import { debianMirrors } from '../sources/debian/lock.js';
import { loadSpec, type LoadedSpec } from '../spec/load.js';
import { checkLockMatches, lockPathFor, readLock, type LockFile } from '../spec/lockfile.js';
import type { ImageSpec } from '../spec/schema.js';
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

/** Every locked package's verified file in the cache (downloaded first unless offline). */
export async function fetchLocked(spec: ImageSpec, lock: LockFile, opts: FetchOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing: LockFile['packages'] = [];
  for (const p of lock.packages) {
    if (await opts.cache.has(p)) out.set(p.name, opts.cache.path(p.sha256));
    else missing.push(p);
  }
  if (missing.length > 0 && opts.offline) {
    throw new ReproError('E_NOT_FOUND', `--offline: ${missing.length} locked package${missing.length === 1 ? ' is' : 's are'} not in the cache ${opts.cache.dir} (first: ${missing[0]!.filename}); run 'repro-image fetch' first`);
  }
  if (missing.length === 0) return out;
  const mirrors = debianMirrors(spec, opts.aptDir);
  let next = 0;
  let done = 0;
  const bytes = missing.reduce((n, p) => n + p.size, 0);
  let doneBytes = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const p = missing[next++]!;
      const { path } = await opts.cache.ensure(p.filename, mirrors.map((m) => `${m}/${p.filename}`), p, {
        ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
      });
      out.set(p.name, path);
      done++;
      doneBytes += p.size;
      opts.onProgress?.(doneBytes, bytes, `${done}/${missing.length} ${p.name}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(missing.length, opts.concurrency ?? 4) }, worker));
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

/** The OCI platform of a spec's image: `platform`, else the one of its Debian architecture. */
export function specPlatform(spec: ImageSpec): Platform {
  if (spec.platform) {
    const [os, architecture, variant] = spec.platform.split('/') as [string, string, string | undefined];
    return variant ? { os, architecture, variant } : { os, architecture };
  }
  const p = OCI_ARCH[spec.source.architecture];
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

function addSpecFiles(entries: Map<string, Entry>, loaded: LoadedSpec, mtime: number): string[] {
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
    const path = mergedUsrPath(cleanMemberPath(f.dest.replace(/^\/+/, ''), where));
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

export interface SpecBuildOptions extends Omit<RootfsBuildOptions, 'rootfs' | 'output' | 'compression' | 'normalize' | 'config' | 'platform'> {
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
  for (const p of lock.packages) verifyCached(files.get(p.name)!, p, buf);

  const sde = opts.sourceDateEpoch ?? lock.source.sourceDateEpoch;
  const tmp = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'repro-image-')).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
  let cleanup: (() => Promise<void>) | undefined;
  try {
    // Step: install packages
    const installed = await installPackages(lock.packages.map((p) => ({
      name: p.name, version: p.version, architecture: p.architecture, debPath: files.get(p.name)!,
    })), tmp);
    cleanup = installed.cleanup;
    const { entries } = installed;
    const reader = new ContentReader();
    const read = (path: string): Buffer | undefined => {
      const e = entries.get(path);
      if (!e || e.type !== 'file' || !e.content) return undefined;
      const buf = Buffer.alloc(e.size);
      try {
        reader.begin(e.content, e.size, path);
        if (e.size > 0) reader.read(buf, 0, e.size);
        reader.end();
      } finally {
        reader.close();
      }
      return buf;
    };

    // Step: script effects, the dpkg database, merged /usr, the spec's files
    // base-passwd first: base-files resolves group names through etc/group.
    const effects = [basePasswd(entries, read, sde), baseFiles(entries, installed.packages, read, sde), caCertificates(entries, read, sde), alternatives(entries, installed.packages, sde)];
    for (const e of dpkgDatabase(installed.packages, read, sde)) entries.set(e.path, e);
    addMergedUsrLinks(entries, sde);
    const added = addSpecFiles(entries, loaded, sde);
    const reports: PassReport[] = effects.filter((e) => e !== undefined).map((e) => ({ name: `effect ${e!.name}`, changed: e!.changed.length, examples: e!.changed.slice(0, 10) }));
    reports.push({ name: 'dpkg-database', changed: installed.packages.length, examples: installed.packages.slice(0, 10).map((p) => p.name) });
    if (added.length > 0) reports.push({ name: 'spec files', changed: added.length, examples: added.slice(0, 10) });

    const normalize = spec.normalize === 'all' ? [...PASS_NAMES] : spec.normalize === 'none' ? [] : spec.normalize;
    const result = await buildFromTree(entries, ref, tmp, {
      ...opts,
      compression: spec.compression,
      normalize,
      platform: specPlatform(spec),
      config: containerConfig(spec),
      sourceDateEpoch: sde,
      sourceDateEpochFrom: opts.sourceDateEpoch === undefined ? 'release-date' : 'option',
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
