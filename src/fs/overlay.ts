/**
 * Overlay file systems for stage roots: a read-only lower tree (an unpacked base image, kept in the
 * store) under a per-run upper directory, so that a stage starts from its base without writing the
 * base's files. Root only (mount(2) through mount(8)); where it cannot be used — not root, no
 * overlay in the kernel, a path the option string cannot carry, a mount refused — callers write
 * the tree instead (`mountOverlay` returns false).
 *
 * Options: `index=on` keeps hard links whole when one name is written (a copy-up of a hard-linked
 * file links every name to the copy, as a plain directory behaves); `redirect_dir=on` lets a
 * directory of the lower tree be renamed (else rename(2) fails with EXDEV); `metacopy=off`: a
 * chmod or chown copies the whole file up (the upper dir then holds every changed file whole);
 * `volatile` (Linux 5.10+; tried first): no sync of the upper file system, at the unmount either
 * (0.6 s for a 145 MB upper directory here) — the upper directory is scratch, never mounted again.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { superOptions, unmountSync } from './mounts.js';

let available: boolean | undefined;

/** Root, a kernel with overlay, and mount(8) that runs. */
export function overlayAvailable(): boolean {
  if (available === undefined) {
    let fs = '';
    try {
      fs = readFileSync('/proc/filesystems', 'utf8');
    } catch { /* no /proc */ }
    available = process.getuid?.() === 0 && /\toverlay$/m.test(fs) && spawnSync('mount', ['--version'], { stdio: 'ignore' }).status === 0;
  }
  return available;
}

let works: boolean | undefined;

/**
 * `overlayAvailable`, and an overlay mount that can really be made (tried once per process, in
 * `scratch`, unless `mountOverlay` made one already): root in a container without the right to
 * mount passes the first test, not this one.
 */
export function overlayWorks(scratch: string): boolean {
  if (works === undefined) {
    works = false;
    if (overlayAvailable()) {
      const dir = join(scratch, 'overlay-probe');
      try {
        mkdirSync(join(dir, 'lower'), { recursive: true });
        mkdirSync(join(dir, 'mount'));
        works = mountOverlay(join(dir, 'mount'), { lower: [join(dir, 'lower')], upper: join(dir, 'upper'), work: join(dir, 'work') }, { mode: 0o755, uid: 0, gid: 0 });
        if (works) unmountSync(join(dir, 'mount'));
      } catch {
        works = false;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return works;
}

export interface OverlayDirs {
  /** Lower trees, top first. */
  lower: string[];
  upper: string;
  work: string;
}

/** Characters the mount option string gives a meaning to (and a newline). */
const UNSAFE = /[,:\\\n]/;

/**
 * Mounts an overlay at `target` (which must exist) with a new, empty `upper` and `work` (made here
 * with `upperRoot`'s mode and owner, which the mount's root shows). `target` must lie in a scratch
 * directory: their removal (at exit, on a signal, or by a later run when this one was killed)
 * unmounts what is below them first (scratch.ts). False when it cannot be made.
 */
export function mountOverlay(target: string, dirs: OverlayDirs, upperRoot: { mode: number; uid: number; gid: number }): boolean {
  if (!overlayAvailable() || [target, dirs.upper, dirs.work, ...dirs.lower].some((p) => UNSAFE.test(p))) return false;
  mkdirSync(dirs.upper, { mode: 0o700 });
  mkdirSync(dirs.work, { mode: 0o700 });
  chownSync(dirs.upper, upperRoot.uid, upperRoot.gid);
  chmodSync(dirs.upper, upperRoot.mode & 0o7777);
  const options = `lowerdir=${dirs.lower.join(':')},upperdir=${dirs.upper},workdir=${dirs.work},index=on,redirect_dir=on,metacopy=off`;
  if (![`${options},volatile`, options].some((o) => spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', o, target], { stdio: 'ignore' }).status === 0)) return false;
  // The kernel turns index (and redirect_dir) off with only a log line where a layer's file system
  // cannot give file handles (a lower tree on an overlay or FUSE): a hard link would then split at
  // its first write, which a plain directory never does. Such a mount is not used.
  const got = superOptions(target);
  if (got !== undefined && turnedOn(got, 'index') && turnedOn(got, 'redirect_dir') && !got.includes('metacopy=on')) {
    // A mount made is as good a proof as the probe's.
    works = true;
    return true;
  }
  unmountSync(target);
  return false;
}

/**
 * Whether a mount's option is on: the kernel shows an option only where it is not the module's
 * default (/sys/module/overlay/parameters/NAME).
 */
function turnedOn(options: readonly string[], name: 'index' | 'redirect_dir'): boolean {
  if (options.includes(`${name}=on`)) return true;
  if (options.some((o) => o.startsWith(`${name}=`))) return false;
  try {
    return readFileSync(`/sys/module/overlay/parameters/${name}`, 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}
