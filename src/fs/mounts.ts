/**
 * Mounts a run makes (overlay file systems for stage roots) and their removal: what is mounted below
 * a directory (from /proc/self/mountinfo) and unmounting it, synchronously, so that the exit hook
 * and a signal handler can do it before the scratch directory is removed. No dependencies on the
 * rest of fs/: scratch.ts calls into this file.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sep } from 'node:path';

/**
 * node:child_process, loaded (synchronously: the exit hook cannot wait) the first time something is
 * to be unmounted. Every command loads this file for its scratch cleanup; few ever unmount, and the
 * module costs milliseconds of every start.
 */
function childProcess(): typeof import('node:child_process') {
  return createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount points in a mountinfo text (field 5 of each line). */
export function mountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.push(unescapeMountPath(f[4]!));
  }
  return out;
}

/** This process's mountinfo ('' where there is no /proc). */
function ownMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/** The mount points at or below `dir`, deepest first (the order they can be unmounted in). */
export function mountsBelow(dir: string, mountinfo: string = ownMountinfo()): string[] {
  // mount(8) canonicalises its target, and mountinfo names mounts by their real path: a directory
  // reached through a symlink (a TMPDIR or --tmp-dir that is one) is looked for by both names.
  const dirs = new Set([dir]);
  try {
    dirs.add(realpathSync(dir));
  } catch { /* gone: its own name only */ }
  const found = mountPoints(mountinfo).filter((m) => [...dirs].some((d) => m === d || m.startsWith(d + sep)));
  return [...new Set(found)].sort((a, b) => b.length - a.length || (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * The super block options of what is mounted at `target` (the last mount there: the one in view),
 * from mountinfo (the fields after ` - `: type, source, options); undefined when nothing is.
 */
export function superOptions(target: string, mountinfo: string = ownMountinfo()): string[] | undefined {
  let real = target;
  try {
    real = realpathSync(target);
  } catch { /* its own name */ }
  let found: string[] | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length <= 4 || unescapeMountPath(f[4]!) !== real) continue;
    const after = line.split(' - ')[1]?.split(' ');
    found = after?.[2]?.split(',') ?? [];
  }
  return found;
}

/**
 * Unmounts `target`; when it is busy (a process of a killed run still inside), detaches it (lazy
 * unmount: gone from the tree now, freed when the last user leaves). True when it is gone.
 */
export function unmountSync(target: string): boolean {
  const { spawnSync } = childProcess();
  if (spawnSync('umount', [target], { stdio: 'ignore' }).status === 0) return true;
  return spawnSync('umount', ['--lazy', target], { stdio: 'ignore' }).status === 0;
}

/** Unmounts everything mounted at or below `dir` (deepest first); returns what could not be. */
export function unmountBelow(dir: string): string[] {
  const left: string[] = [];
  for (const m of mountsBelow(dir)) if (!unmountSync(m)) left.push(m);
  return left;
}
