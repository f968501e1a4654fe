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
  chmodSync, closeSync, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, renameSync, rmSync,
  symlinkSync, writeSync,
} from 'node:fs';
import { constants, type BigIntStats } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { TypeFlag } from '../../archive/tar-header.js';
import type { TarMember } from '../../archive/tar-reader.js';
import { resolveInRoot } from '../../fs/confine.js';
import { ReproError, ioError } from '../../model/errors.js';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';
import { compareWalkOrder, nodeOfStat, statNode, type FsNode } from './tree.js';

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
  /**
   * For an entry below a directory moved whole (not a hard link): the inode as a walk of a plain
   * directory saw it (tree.ts `walkTree`: every attribute it has), nothing having changed it since;
   * it is then not looked up again.
   */
  seen?: FsNode;
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
  /**
   * Asks for the walk of the destination after the put (tree.ts `walkTree`'s nodes, same order),
   * read with this reader, which `putEntries` then gives where it can vouch for it without walking
   * the tree (see `putEntries`).
   */
  walk?: XattrReader;
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
function makeParents(root: string, rel: string, owner: { uid: number; gid: number }, where: string, known?: Set<string>): boolean {
  const parts = rel.split('/').slice(0, -1);
  let at = root;
  let made = false;
  for (const p of parts) {
    at = join(at, p);
    if (known?.has(at)) continue;
    const st = exists(at);
    if (st && !st.isDirectory()) throw new ReproError('E_BAD_INPUT', `${where}: ${at.slice(root.length)} is in the way of ${rel} (not a directory)`);
    if (!st) {
      mkdirSync(at, { mode: 0o755 });
      chmodSync(at, 0o755);
      lchownSync(at, owner.uid, owner.gid);
      made = true;
    }
    known?.add(at);
  }
  return made;
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

/** Whether an inode found in place is of the entry's kind. */
function kindMatches(e: PutEntry, seen: FsNode): boolean {
  return seen.kind === (e.kind === 'hardlink' ? 'file' : e.kind);
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
 * What the inode is before is looked up (`lstat`, its attribute names), or taken from the entry's
 * `seen` (a walk of a plain directory since which nothing changed it) — but for a directory just
 * `renamed` here (a file system may give it a new time). With `opts.walk`, gives what a walk
 * shows of it after (`placedNode`).
 */
function placeInPlace(xattr: XattrLib, root: string, e: PutEntry, abs: string, dirTimes: Map<string, number>, opts: PutOptions, renamed = false): FsNode | undefined {
  let seen: FsNode | undefined;
  if (e.seen && e.kind !== 'hardlink' && !renamed) seen = { ...e.seen, path: e.path, abs };
  else {
    const st = existsNs(abs);
    seen = st && nodeOfStat(st, e.path, abs);
  }
  if (!seen || !kindMatches(e, seen)) throw new Error(`internal: ${opts.where}: ${e.path} is not in place below a directory moved whole`);
  if (e.kind === 'hardlink') {
    const target = existsNs(resolveInRoot(root, e.linkname!, `${opts.where}: ${e.path}`, false));
    if (!target || `${target.dev}:${target.ino}` !== seen.inode) throw new Error(`internal: ${opts.where}: ${e.path} is not the hard link to ${e.linkname} it should be`);
  }
  const mtime = opts.storageTimes && e.mtime < 0 ? 0 : e.mtime;
  let names: string[] = [];
  if (e.kind !== 'symlink') {
    // Removes what a reused inode has and a new one would not (`droppedXattr`).
    names = e.seen && !renamed ? [...(e.seen.xattrs?.keys() ?? [])] : xattr.listAttributesSync(abs);
    for (const k of names) if (droppedXattr(k)) xattr.removeAttributeSync(abs, k);
  }
  const chown = seen.uid !== e.uid || seen.gid !== e.gid || names.includes('security.capability');
  if (chown) lchownSync(abs, e.uid, e.gid);
  if (e.kind !== 'symlink') {
    if (chown || seen.mode !== (e.mode & 0o7777)) chmodSync(abs, e.mode);
    for (const [k, v] of e.xattrs ?? []) if (keptXattr(k)) xattr.setAttributeSync(abs, k, v);
  }
  // Only whole seconds are compared.
  const timed = !(Number.isInteger(mtime) && seen.mtimeSec === mtime && seen.mtimeNsec === 0);
  if (timed) {
    if (e.kind === 'dir') dirTimes.set(abs, mtime);
    else lutimesSync(abs, new Date(mtime * 1000), new Date(mtime * 1000));
  }
  return opts.walk ? placedNode(e, seen, names, chown, timed ? mtime : undefined, opts.walk) : undefined;
}

/**
 * What a walk shows of an entry `placeInPlace` set up, from what it knew and did (`seen` and
 * `names`: the inode before; `chown`: whether it was chowned; `mtime`: the time it set, if it set
 * one) — or, where that leaves a field open, read from the inode: an attribute the entry does not
 * set (a host's label), and a time that is not whole seconds (set through a Date, in
 * milliseconds) or that a file system may clamp (before 1970, from 2038 on). Valid once
 * everything is written: a directory's time is set last, as here, and no later entry changes the
 * inode (a file with more than one name, which a later entry may set up again, is left to be
 * looked up: undefined; so is one a later link gives a second name: putEntries sees to that).
 */
function placedNode(e: PutEntry, seen: FsNode, names: readonly string[], chown: boolean, mtime: number | undefined, reader: XattrReader): FsNode | undefined {
  if (seen.inode !== undefined) return undefined;
  // A time a file system may not hold as it is (before 1970, or past 2038 where it keeps 32 bits) is looked up.
  if (mtime !== undefined && (!Number.isSafeInteger(mtime) || mtime < 0 || mtime >= 2 ** 31)) return undefined;
  const node: FsNode = { ...seen, uid: e.uid, gid: e.gid };
  delete node.xattrs;
  if (mtime !== undefined) {
    node.mtimeSec = mtime;
    node.mtimeNsec = 0;
  }
  if (node.kind === 'symlink') {
    node.linkTarget = e.linkname ?? '';
    return node;
  }
  node.mode = e.mode & 0o7777;
  // The attributes now: those it had but the dropped ones (and, for a chowned non-directory, the
  // capability the kernel removed), then the entry's kept ones set. Each value is known when the
  // entry set it; any other is read.
  const set = new Map([...(e.xattrs ?? [])].filter(([k]) => keptXattr(k)));
  const left = names.filter((k) => !droppedXattr(k) && !(chown && node.kind !== 'dir' && k === 'security.capability'));
  if (left.some((k) => !set.has(k)) || (chown && names.includes('security.capability'))) {
    const read = reader.read(node.abs, node.abs);
    if (read) node.xattrs = read;
    return node;
  }
  if (set.size > 0) node.xattrs = new Map([...set].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return node;
}

/**
 * Applies entries to `root` (the destination directory) in order. With `opts.walk`, gives the
 * walk of `root` after, where it can vouch for it without walking the tree: `root` was empty, each
 * entry named a path of its own whose parent an earlier entry made (nothing made on the way, or
 * replaced), and each hard link made named an earlier entry; then each entry found in place below
 * a directory moved whole is known from what `placeInPlace` saw and did (but one that a link made
 * here gave a name more), and the others are looked up once everything is written (`statNode`).
 * Otherwise undefined.
 */
export async function putEntries(root: string, entries: AsyncIterable<PutEntry> | Iterable<PutEntry>, opts: PutOptions): Promise<FsNode[] | undefined> {
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
  // The walk after, as far as it is known (a path: looked up at the end), while it can be vouched for.
  let walk: Array<FsNode | string> | undefined;
  // Where each path is in it.
  const named = new Map<string, number>();
  if (opts.walk) {
    try {
      if (readdirSync(root).length === 0) walk = [];
    } catch (e) {
      throw ioError(e, `${opts.where}: cannot list ${root}`);
    }
  }
  for await (const e of entries) {
    const abs = e.path === '' ? root : join(root, e.path);
    if (walk && e.path !== '') {
      if (named.has(e.path)) walk = undefined;
      else if (e.kind === 'hardlink' && !inMoved(e.path)) {
        // The inode gets a name more: what was known of it (one name) is looked up at the end.
        const at = named.get(e.linkname!);
        if (at === undefined) walk = undefined;
        else walk[at] = e.linkname!;
      }
      if (walk) named.set(e.path, walk.length);
    }
    if (inMoved(e.path)) {
      let node: FsNode | undefined;
      try {
        node = placeInPlace(xattr, root, e, abs, dirTimes, opts);
      } catch (err) {
        if (err instanceof ReproError || !(err as NodeJS.ErrnoException).code) throw err;
        throw ioError(err, `${opts.where}: cannot write ${e.path}`);
      }
      walk?.push(node ?? e.path);
      opts.onPlaced?.(e, abs);
      continue;
    }
    if (e.path !== '' && makeParents(root, e.path, owner, opts.where, known)) walk = undefined;
    if (e.path !== '') walk?.push(e.path);
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
          const node = placeInPlace(xattr, root, e, abs, dirTimes, opts, true);
          if (walk && node) walk[walk.length - 1] = node;
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
  if (!walk || !opts.walk) return undefined;
  const nodes: FsNode[] = [];
  for (const n of walk) {
    const node = typeof n === 'string' ? statNode(root, n, opts.walk) : n;
    if (node) nodes.push(node);
  }
  // In the walk's order (the entries of a layer come in path order, where `a-b` is before `a/b`).
  for (let i = 1; i < nodes.length; i++) {
    if (compareWalkOrder(nodes[i - 1]!.path, nodes[i]!.path) > 0) return nodes.sort((a, b) => compareWalkOrder(a.path, b.path));
  }
  return nodes;
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
