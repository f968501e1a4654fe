/**
 * A scratch directory in memory: a private tmpfs mounted on it (root only), for work whose files
 * are all thrown away — a Containerfile rebuild's stage trees, runc bundles and layer tars. On
 * this kind of machine a tmpfs makes a file about ten times faster than ext4 does, and removing
 * the whole of it is one unmount instead of a walk that deletes every file.
 *
 * The mount is limited to half of the memory available when it is made (MemAvailable in
 * /proc/meminfo), and not made at all below `MIN_MEMORY_SCRATCH` of it, so that a build can never
 * take the machine's last memory: where the limit is reached, the work fails with ENOSPC and
 * `memoryScratchFull` says so, and the caller does it again on disk. Like the overlays of stage
 * roots, the mount lies in the run's scratch directory: its removal, at exit, on a signal or by a
 * later run after a kill, unmounts it first (scratch.ts, mounts.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';

/** Below this much available memory no scratch is put in memory. */
export const MIN_MEMORY_SCRATCH = 2 * 1024 ** 3;

/** MemAvailable (bytes) in a /proc/meminfo text, or undefined. */
export function availableMemory(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The size limit of a scratch tmpfs given the memory available: half of it, in whole MiB; undefined below the minimum. */
export function memoryScratchLimit(available: number | undefined): number | undefined {
  if (available === undefined || available < MIN_MEMORY_SCRATCH) return undefined;
  return Math.floor(available / 2 / 1024 ** 2) * 1024 ** 2;
}

/**
 * Mounts a tmpfs on the (empty) scratch directory `dir`, mode 0700 as the directory was, of at
 * most `size` bytes (default: `memoryScratchLimit` of the memory available now); returns its size
 * limit, or undefined when none was mounted (not root, too little memory, no right to mount: the
 * directory stays on its own file system).
 */
export function mountMemoryScratch(dir: string, size?: number): number | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let meminfo = '';
  try {
    meminfo = readFileSync('/proc/meminfo', 'utf8');
  } catch { /* no /proc: not known, so not used */ }
  const half = memoryScratchLimit(availableMemory(meminfo));
  const limit = half === undefined ? undefined : size === undefined ? half : Math.min(half, Math.max(1024 ** 2, Math.floor(size / 1024 ** 2) * 1024 ** 2));
  if (limit === undefined || /[,\n]/.test(dir)) return undefined;
  const options = `mode=0700,size=${limit / 1024}k,huge=never`;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'repro-image-scratch', dir], { stdio: 'ignore' }).status === 0 ? limit : undefined;
}

/**
 * Whether a failure of work in the scratch tmpfs on `dir` may be for want of room there, and is
 * worth doing again on disk: the error (or one it was caused by) is ENOSPC, or the tmpfs is full
 * or nearly (less than 1/64 of its size, at most 64 MiB, left) — a RUN's command reports ENOSPC
 * only in its output, and fails.
 */
export function memoryScratchFull(dir: string, limit: number, error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return true;
  }
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize < Math.min(limit / 64, 64 * 1024 ** 2);
  } catch {
    return false;
  }
}
