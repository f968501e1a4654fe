/**
 * A run's scratch: every temporary file of a run lives in one place that can be removed at once,
 * and that a later run recognises as stale when the run was killed.
 *
 * - In the temp dir: one directory per run and temp dir, `repro-image-run-OWNER-XXXXXX` (OWNER is
 *   the process as `ownerTag` spells it: pid, start time, boot id, pid namespace), holding
 *   `owner.json` (the full owner record) and the per-task directories `makeScratchDir` makes.
 * - Beside or inside an output (only where a rename must stay on one file system): temporary
 *   names `.NAME.tmp-OWNER-N` (`tempNameFor` in atomic.ts), registered here while they exist.
 *
 * `removeScratchNow` removes, synchronously, the run's scratch directories and every registered
 * partial output: at process exit (always) and from the CLI's SIGINT/SIGTERM/SIGHUP handler.
 * `removeStaleTemps` and the sweep done when a run directory is made remove what killed runs left:
 * only names of this form whose owner is certainly dead (same boot and pid namespace, process gone
 * or replaced) — never a live run's, never one from another host or namespace. Whatever is
 * mounted below such a directory (a stage root's overlay) is unmounted before it is removed.
 */
import { lstatSync, readFileSync, renameSync, rmSync, rmdirSync, unlinkSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { ioError } from '../model/errors.js';
import { unmountBelow } from './mounts.js';
import { OWNER_TAG, currentOwner, ownerAlive, ownerTag, parseOwner, tagAlive } from './owner.js';

const RUN_PREFIX = 'repro-image-run-';
const RUN_DIR = new RegExp(`^${RUN_PREFIX}${OWNER_TAG}-[A-Za-z0-9]{6}(?:-removing)?$`);
/** A temporary name: `.NAME.tmp-OWNER-N` (groups: NAME, then the owner tag's four). */
export const TEMP_NAME = new RegExp(`^\\.(.+)\\.tmp-${OWNER_TAG}-[0-9]+(?:-removing)?$`);

const runDirs = new Map<string, Promise<string>>();
const madeRunDirs = new Set<string>();
const partials = new Set<string>();
const emptyDirs = new Map<string, number>();
const tickets = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => removeScratchNow());
}

function removePath(p: string): boolean {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return false;
  }
  try {
    if (!st.isDirectory()) unlinkSync(p);
    else {
      // A stage root mounted there (an overlay) is unmounted first: removing through it would
      // only hide the files of its lower layers, and its mount point could not go.
      unmountBelow(p);
      // Renamed first, then removed: a rename of the directory into place (a new layout) that is
      // under way in another thread either wins whole or fails; never a half-removed output.
      const tomb = `${p}-removing`;
      renameSync(p, tomb);
      rmSync(tomb, { recursive: true, force: true });
    }
  } catch { /* gone meanwhile, or renamed into place: a later run removes what is left */ }
  return true;
}

const sleepSync = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

/**
 * Removes the run's scratch directories and every registered partial output, synchronously (for a
 * signal handler or the exit hook). Directories registered by `registerEmptyDir` are removed when
 * empty. With `settleMs`, file operations already under way in other threads (a copy that creates
 * its file a moment later) are given that long to finish, blocking this thread so that no new one
 * starts, and what they made is removed too.
 */
export function removeScratchNow(settleMs = 0): void {
  const paths = [...partials, ...madeRunDirs];
  const held = [...tickets];
  const empties = [...emptyDirs.keys()];
  partials.clear();
  madeRunDirs.clear();
  tickets.clear();
  emptyDirs.clear();
  runDirs.clear();
  const pass = (): boolean => {
    let found = false;
    for (const p of paths) found = removePath(p) || found;
    return found;
  };
  pass();
  const until = Date.now() + settleMs;
  while (Date.now() < until) {
    sleepSync(Math.min(20, settleMs));
    if (!pass()) break;
  }
  // Locks last: a write under the lock that was under way has finished or failed by now.
  for (const t of held) removePath(t);
  for (const d of empties) {
    try {
      rmdirSync(d);
    } catch { /* not empty or gone */ }
  }
}

/** A temporary file or directory of this run outside its scratch directory, removed on a signal. */
export function registerPartial(path: string): void {
  hook();
  partials.add(path);
}

/** `path` was renamed into place or removed: no longer this run's to remove. */
export function releasePartial(path: string): void {
  partials.delete(path);
}

/** A lock ticket this run holds: removed on a signal after everything else. */
export function registerTicket(path: string): void {
  hook();
  tickets.add(path);
}

export function releaseTicket(path: string): void {
  tickets.delete(path);
}

/** A directory (a lock's) to remove on a signal if it is empty then. Counted: release as often. */
export function registerEmptyDir(path: string): void {
  hook();
  emptyDirs.set(path, (emptyDirs.get(path) ?? 0) + 1);
}

export function releaseEmptyDir(path: string): void {
  const n = (emptyDirs.get(path) ?? 1) - 1;
  if (n <= 0) emptyDirs.delete(path);
  else emptyDirs.set(path, n);
}

function runDirAlive(dir: string, m: RegExpExecArray): boolean {
  let text: string | undefined;
  try {
    text = readFileSync(join(dir, 'owner.json'), 'utf8');
  } catch { /* killed before it was written: the name says enough */ }
  const owner = text === undefined ? undefined : parseOwner(text);
  return owner ? ownerAlive(owner) : tagAlive(m[1]!, m[2]!, m[3]!, m[4]!);
}

/** Removes the run directories in `base` whose owner is certainly dead; returns their names. */
export async function removeStaleRunDirs(base: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = RUN_DIR.exec(name);
    if (!m) continue;
    const dir = join(base, name);
    if (madeRunDirs.has(dir) || runDirAlive(dir, m)) continue;
    await removeScratchDir(dir).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/** The run's directory in the temp dir `base`: made on first use, after removing stale ones. */
export function runScratchDir(base: string = tmpdir()): Promise<string> {
  const key = resolve(base);
  let p = runDirs.get(key);
  if (!p) {
    p = (async () => {
      await removeStaleRunDirs(key);
      const dir = await mkdtemp(join(key, `${RUN_PREFIX}${ownerTag()}-`)).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
      hook();
      madeRunDirs.add(dir);
      await writeFile(join(dir, 'owner.json'), `${JSON.stringify(currentOwner())}\n`).catch((e) => { throw ioError(e, `cannot write ${dir}`); });
      return dir;
    })();
    p.catch(() => runDirs.delete(key));
    runDirs.set(key, p);
  }
  return p;
}

const insideRunDir = (dir: string): boolean => [...madeRunDirs].some((d) => dir === d || dir.startsWith(d + sep));

/**
 * A new private directory for one task of the run: inside the run's directory in `base` (default:
 * the OS temp dir), or directly in `base` when that is already inside it.
 */
export async function makeScratchDir(base: string | undefined, prefix = 'repro-image-'): Promise<string> {
  const b = resolve(base ?? tmpdir());
  const parent = insideRunDir(b) ? b : await runScratchDir(b);
  return mkdtemp(join(parent, prefix)).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
}

/** Runs `fn` with a new scratch directory and removes it afterwards, whatever happens. */
export async function withScratchDir<T>(base: string | undefined, fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeScratchDir(base, prefix);
  try {
    return await fn(dir);
  } finally {
    await removeScratchDir(dir);
  }
}

/** Removes a scratch directory now: what is mounted below it first, then its files. */
export async function removeScratchDir(dir: string): Promise<void> {
  unmountBelow(dir);
  await rm(dir, { recursive: true, force: true });
}

/**
 * Removes `dir` when the process exits or is interrupted (see `removeScratchNow`): for scratch files
 * whose readers live as long as the run (an image read from a container store). `release` removes
 * it earlier.
 */
export function removeOnExit(dir: string): { release: () => void } {
  registerPartial(dir);
  return {
    release() {
      releasePartial(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes the temporary names (`.NAME.tmp-OWNER-N`, files or directories) in `dir` whose owner is
 * certainly dead; with `only`, just those of that NAME. Returns the names removed.
 */
export async function removeStaleTemps(dir: string, only?: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP_NAME.exec(name);
    if (!m || (only !== undefined && m[1] !== only)) continue;
    if (tagAlive(m[2]!, m[3]!, m[4]!, m[5]!)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => {});
    removed.push(name);
  }
  return removed;
}

const swept = new Set<string>();
/** `removeStaleTemps` once per process and directory (for places written often, like the cache). */
export async function removeStaleTempsOnce(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  await removeStaleTemps(dir);
}
