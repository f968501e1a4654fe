/**
 * ADD and COPY into a stage's root directory, with the system calls buildah's `copier.Put` makes
 * and in its order, so that what the kernel does as a side effect happens here too (docs/
 * podman-compat-facts.md §2.10, §2.11):
 * - an archive's entries are applied in archive order; the last one naming a path wins;
 * - missing parent directories are made 0755 root:root (or the --chown owner for COPY);
 * - a directory's own header sets its mode, owner and xattrs when it comes, and every directory's
 *   time is set once everything is written;
 * - a file: its content, then lchown, chmod, its xattrs, its times; a hard link: link(2), then
 *   lchown (which makes the kernel drop security.capability from the shared inode), chmod (set-id
 *   bits back), its own header's xattrs and times — so the inode ends with the link header's
 *   metadata and without a capability, as with podman.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, renameSync, rmSync,
  symlinkSync, writeSync,
} from 'node:fs';
import { constants, type BigIntStats } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { TypeFlag } from '../../archive/tar-header.js';
import type { TarMember } from '../../archive/tar-reader.js';
import { resolveInRoot } from '../../fs/confine.js';
import { ReproError, ioError } from '../../model/errors.js';

/** What lands at one path. */
export interface PutEntry {
  /** Relative to the destination directory; '' is the destination itself. */
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  /** Seconds, with a fraction. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
  /** For files: the content, as chunks. */
  body?: () => AsyncIterable<Buffer>;
  /** For files: a file to copy the content from instead (the kernel copies: copy_file_range). */
  copyFrom?: string;
  /**
   * With copyFrom: move that file here instead of copying it (a scratch copy nothing reads again).
   * The inode is then set up exactly as a copy would be (owner, mode, kept attributes, times).
   */
  move?: boolean;
  /**
   * For a directory: where it is, whole, in a directory nothing reads again. When the destination
   * does not exist it is renamed there in one step, and the entries below it (which the caller
   * guarantees follow in this sequence, one for each thing below it, nothing else applied below it)
   * are found in place: each only gets its attributes as the entry would set them.
   */
  moveFrom?: string;
}

export interface PutOptions {
  /** Owner of the directories made on the way (default 0:0). */
  parentOwner?: { uid: number; gid: number };
  /** The stage's root, when the destination is below it: missing directories down to the destination are made (0755, parentOwner). */
  stageRoot?: string;
  /**
   * Times as containers/storage sets them when it applies a layer (pkg/system Chtimes): before
   * 1970 becomes 1970-01-01T00:00:00Z. (buildah's copier, for ADD and COPY, keeps them.)
   */
  storageTimes?: boolean;
  /** Where messages say it happens (`Containerfile:7: ADD`). */
  where: string;
  /**
   * Directories known to be there, shared with a caller that removes paths between entries (it
   * clears the set when it does); default: a set of this call's own.
   */
  knownDirs?: Set<string>;
  /** Told where each entry is once it is in place (its name in the destination, as written). */
  onPlaced?: (e: PutEntry, abs: string) => void;
}

/** Forgets `abs` and everything below it. */
function forget(known: Set<string>, abs: string): void {
  for (const k of known) if (k === abs || k.startsWith(`${abs}/`)) known.delete(k);
}

/** The xattrs a layer can carry (the rest would be dropped at commit; trusted.* are the host's). */
export function keptXattr(name: string): boolean {
  return name === 'security.capability' || name === 'security.ima' || (name.startsWith('user.') && !name.startsWith('user.overlay.'));
}

/**
 * An attribute of an inode that is reused (moved, or found in place below a directory moved
 * whole) that a new one would not have: one an apply never writes (trusted.*, user.overlay.*),
 * which the reuse removes. (security.* and system.* ones other than those a layer keeps are host
 * policy, an LSM's label or an ACL, which a new inode gets from the host too: they are left
 * alone, and a directory that has them is not moved whole.)
 */
export function droppedXattr(name: string): boolean {
  return !keptXattr(name) && (name.startsWith('trusted.') || name.startsWith('user.'));
}

type XattrLib = typeof import('fs-xattr');
let xattrLib: Promise<XattrLib> | undefined;

function exists(abs: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(abs);
  } catch {
    return undefined;
  }
}

/** `exists` with nanosecond times (what an entry found in place is compared with). */
function existsNs(abs: string): BigIntStats | undefined {
  return lstatSync(abs, { bigint: true, throwIfNoEntry: false });
}

/**
 * Makes the missing directories of `rel` under `root` (0755, the given owner, time now). `known`:
 * directories already seen to be there (not looked up again; whoever removes a path forgets it).
 */
function makeParents(root: string, rel: string, owner: { uid: number; gid: number }, where: string, known?: Set<string>): void {
  const parts = rel.split('/').slice(0, -1);
  let at = root;
  for (const p of parts) {
    at = join(at, p);
    if (known?.has(at)) continue;
    const st = exists(at);
    if (st && !st.isDirectory()) throw new ReproError('E_BAD_INPUT', `${where}: ${at.slice(root.length)} is in the way of ${rel} (not a directory)`);
    if (!st) {
      mkdirSync(at, { mode: 0o755 });
      chmodSync(at, 0o755);
      lchownSync(at, owner.uid, owner.gid);
    }
    known?.add(at);
  }
}

function mknod(abs: string, type: 'c' | 'b' | 'p', major: number, minor: number, where: string): void {
  const args = type === 'p' ? [abs, 'p'] : [abs, type, String(major), String(minor)];
  const r = spawnSync('mknod', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new ReproError('E_IO', `${where}: cannot make ${abs}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/**
 * Removes what a reused inode has and a new one would not (`droppedXattr`), read from the inode
 * itself, not from a walk: one moved out of an overlay's upper directory carries the overlay's own
 * (trusted.overlay.*), which a walk through the mount never showed. Gives the names it listed.
 */
function dropXattrs(xattr: XattrLib, abs: string): string[] {
  const names = xattr.listAttributesSync(abs);
  for (const k of names) if (droppedXattr(k)) xattr.removeAttributeSync(abs, k);
  return names;
}

const KIND_OF_STAT: Array<[PutEntry['kind'], (st: BigIntStats) => boolean]> = [
  ['dir', (st) => st.isDirectory()], ['file', (st) => st.isFile()], ['hardlink', (st) => st.isFile()], ['symlink', (st) => st.isSymbolicLink()],
  ['char', (st) => st.isCharacterDevice()], ['block', (st) => st.isBlockDevice()], ['fifo', (st) => st.isFIFO()],
];

/** Whether an inode's mtime is already exactly `seconds` (only whole seconds are compared). */
function mtimeIs(st: BigIntStats, seconds: number): boolean {
  return Number.isInteger(seconds) && st.mtimeNs === BigInt(seconds) * 1_000_000_000n;
}

/**
 * An entry below a directory moved in whole: the inode is there already (the same one the entry's
 * own move or link would have put there); it ends with the attributes the entry sets, as if set in
 * the same order. A call that would change nothing is left out (half the time of a move went to
 * them; on a rootfs unpacked as root most owners and modes are already the entry's):
 * - lchown, when the owner is already the entry's and the inode has no security.capability: the
 *   kernel's side effects of a chown are then only to clear set-id bits (of a non-directory),
 *   which the chmod after it sets again — so it is done whenever a chown was;
 * - chmod, when no chown was done and the mode bits are already the entry's;
 * - the times, when the mtime already is the entry's to the nanosecond. (The atime the call would
 *   also set is left as it is: no layer, walk or tar of a stage reads an atime, and reading a file
 *   changes it anyway.)
 */
function placeInPlace(xattr: XattrLib, root: string, e: PutEntry, abs: string, st: BigIntStats | undefined, dirTimes: Map<string, number>, opts: PutOptions): void {
  if (!st || !KIND_OF_STAT.find(([k]) => k === e.kind)![1](st)) throw new Error(`internal: ${opts.where}: ${e.path} is not in place below a directory moved whole`);
  if (e.kind === 'hardlink') {
    const target = existsNs(resolveInRoot(root, e.linkname!, `${opts.where}: ${e.path}`, false));
    if (!target || target.ino !== st.ino || target.dev !== st.dev) throw new Error(`internal: ${opts.where}: ${e.path} is not the hard link to ${e.linkname} it should be`);
  }
  const mtime = opts.storageTimes && e.mtime < 0 ? 0 : e.mtime;
  const names = e.kind !== 'symlink' ? dropXattrs(xattr, abs) : [];
  const chown = st.uid !== BigInt(e.uid) || st.gid !== BigInt(e.gid) || names.includes('security.capability');
  if (chown) lchownSync(abs, e.uid, e.gid);
  if (e.kind !== 'symlink') {
    if (chown || Number(st.mode & 0o7777n) !== (e.mode & 0o7777)) chmodSync(abs, e.mode);
    for (const [k, v] of e.xattrs ?? []) if (keptXattr(k)) xattr.setAttributeSync(abs, k, v);
  }
  if (mtimeIs(st, mtime)) return;
  if (e.kind === 'dir') dirTimes.set(abs, mtime);
  else lutimesSync(abs, new Date(mtime * 1000), new Date(mtime * 1000));
}

/** Applies entries to `root` (the destination directory) in order. */
export async function putEntries(root: string, entries: AsyncIterable<PutEntry> | Iterable<PutEntry>, opts: PutOptions): Promise<void> {
  const xattr = await (xattrLib ??= import('fs-xattr'));
  const owner = opts.parentOwner ?? { uid: 0, gid: 0 };
  const dirTimes = new Map<string, number>();
  const known = opts.knownDirs ?? new Set<string>();
  // Directories moved in whole (relative paths): what is below them is in place.
  const movedIn = new Set<string>();
  const inMoved = (path: string): boolean => {
    if (movedIn.size === 0) return false;
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) if (movedIn.has(path.slice(0, i))) return true;
    return false;
  };
  if (opts.stageRoot !== undefined && root !== opts.stageRoot) makeParents(opts.stageRoot, `${relative(opts.stageRoot, root)}/.`, owner, opts.where);
  else mkdirSync(root, { recursive: true });
  for await (const e of entries) {
    const abs = e.path === '' ? root : join(root, e.path);
    if (inMoved(e.path)) {
      try {
        placeInPlace(xattr, root, e, abs, existsNs(abs), dirTimes, opts);
      } catch (err) {
        if (err instanceof ReproError || !(err as NodeJS.ErrnoException).code) throw err;
        throw ioError(err, `${opts.where}: cannot write ${e.path}`);
      }
      opts.onPlaced?.(e, abs);
      continue;
    }
    if (e.path !== '') makeParents(root, e.path, owner, opts.where, known);
    try {
      const st = exists(abs);
      if (e.kind === 'dir') {
        const mtime = opts.storageTimes && e.mtime < 0 ? 0 : e.mtime;
        if (st && !st.isDirectory()) {
          rmSync(abs, { recursive: true, force: true });
          forget(known, abs);
        }
        let moved = false;
        if (!st && e.moveFrom !== undefined && e.path !== '') {
          try {
            renameSync(e.moveFrom, abs);
            moved = true;
            movedIn.add(e.path);
          } catch (err) {
            // Another file system: made and filled entry by entry, as without moveFrom.
            if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          }
        }
        if (moved) {
          placeInPlace(xattr, root, e, abs, existsNs(abs), dirTimes, opts);
          opts.onPlaced?.(e, abs);
          continue;
        }
        if (!st || !st.isDirectory()) mkdirSync(abs, { mode: 0o755 });
        lchownSync(abs, e.uid, e.gid);
        chmodSync(abs, e.mode);
        for (const [k, v] of e.xattrs ?? []) if (keptXattr(k)) xattr.setAttributeSync(abs, k, v);
        dirTimes.set(abs, mtime);
        opts.onPlaced?.(e, abs);
        continue;
      }
      if (st) {
        rmSync(abs, { recursive: true, force: true });
        if (st.isDirectory()) forget(known, abs);
      }
      switch (e.kind) {
        case 'file': {
          if (e.copyFrom !== undefined) {
            if (e.move) {
              moveFile(e.copyFrom, abs);
              dropXattrs(xattr, abs);
            } else copyFileSync(e.copyFrom, abs, constants.COPYFILE_EXCL);
            break;
          }
          const fd = openSync(abs, 'wx', 0o600);
          try {
            for await (const c of e.body?.() ?? []) {
              for (let off = 0; off < c.length;) off += writeSync(fd, c, off, c.length - off);
            }
          } finally {
            closeSync(fd);
          }
          break;
        }
        case 'hardlink': {
          // Looked up inside the root as a chroot would (a symlink on the way cannot lead out).
          const target = resolveInRoot(root, e.linkname!, `${opts.where}: ${e.path}`, false);
          if (!exists(target)) throw new ReproError('E_BAD_INPUT', `${opts.where}: ${e.path} is a hard link to ${e.linkname}, which is not there`);
          linkSync(target, abs);
          break;
        }
        case 'symlink':
          symlinkSync(e.linkname!, abs);
          break;
        case 'char':
        case 'block':
          mknod(abs, e.kind === 'char' ? 'c' : 'b', e.devmajor ?? 0, e.devminor ?? 0, opts.where);
          break;
        case 'fifo':
          mknod(abs, 'p', 0, 0, opts.where);
          break;
      }
      lchownSync(abs, e.uid, e.gid);
      if (e.kind !== 'symlink') {
        chmodSync(abs, e.mode);
        for (const [k, v] of e.xattrs ?? []) if (keptXattr(k)) xattr.setAttributeSync(abs, k, v);
      }
      const t = new Date((opts.storageTimes && e.mtime < 0 ? 0 : e.mtime) * 1000);
      lutimesSync(abs, t, t);
      opts.onPlaced?.(e, abs);
    } catch (err) {
      if (err instanceof ReproError) throw err;
      throw ioError(err, `${opts.where}: cannot write ${e.path || '.'}`);
    }
  }
  // Directory times last: writing into a directory changes its time. (Dates, not numbers: Node
  // takes a negative number of seconds for "now", a Date before 1970 as it is.)
  for (const [abs, t] of dirTimes) lutimesSync(abs, new Date(t * 1000), new Date(t * 1000));
}

/** Moves a file; into or out of another file system (a stage root on an overlay), copies it and removes the original. */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(from, to, constants.COPYFILE_EXCL);
    rmSync(from, { force: true });
  }
}

/** A tar member as an entry to put (names cleaned as buildah cleans them: no leading `./` or `/`). */
export function entryOfMember(m: TarMember, body: () => AsyncIterable<Buffer>, where: string): PutEntry | undefined {
  const parts: string[] = [];
  for (const p of m.name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new ReproError('E_PATH_ESCAPE', `${where}: ${JSON.stringify(m.name)} escapes the destination`);
    parts.push(p);
  }
  const path = parts.join('/');
  const kinds: Record<number, PutEntry['kind']> = {
    [TypeFlag.file]: 'file', [TypeFlag.oldFile]: 'file', [TypeFlag.hardlink]: 'hardlink', [TypeFlag.symlink]: 'symlink',
    [TypeFlag.char]: 'char', [TypeFlag.block]: 'block', [TypeFlag.dir]: 'dir', [TypeFlag.fifo]: 'fifo',
  };
  const kind = kinds[m.typeflag];
  if (!kind) return undefined;
  const e: PutEntry = { path, kind, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime };
  const frac = m.pax.get('mtime')?.toString('utf8');
  if (frac && /^-?\d+\.\d+$/.test(frac)) e.mtime = Number(frac);
  if (kind === 'hardlink') {
    const link = m.linkname.split('/').filter((p) => p !== '' && p !== '.');
    if (link.includes('..')) throw new ReproError('E_PATH_ESCAPE', `${where}: hard link ${JSON.stringify(m.name)} to ${JSON.stringify(m.linkname)} escapes the destination`);
    e.linkname = link.join('/');
  } else if (kind === 'symlink') e.linkname = m.linkname;
  if (kind === 'char' || kind === 'block') {
    e.devmajor = m.devmajor;
    e.devminor = m.devminor;
  }
  if (m.xattrs.size > 0) e.xattrs = m.xattrs;
  if (kind === 'file') e.body = body;
  return e;
}

/** Copies one file's content (a COPY source that is a plain file). */
export function copyFileContent(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}
