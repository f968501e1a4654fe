/**
 * A root filesystem from a directory: lstat only (symlinks are never followed), hard links by
 * (dev, ino), owners, all mode bits, extended attributes (see xattrs.ts: read, or refused with a
 * clear error, never dropped silently), devices and fifos; sockets are skipped with a warning.
 * Content is referenced by path and read when the layer is written.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { ReproError, ioError, option } from '../../model/errors.js';
import type { Entry } from '../../archive/entry.js';
import type { RootfsTree } from './tarball.js';
import { xattrReader, type XattrReader } from './xattrs.js';

const S_IFMT = 0o170000n;
const S_IFREG = 0o100000n;
const S_IFDIR = 0o040000n;
const S_IFLNK = 0o120000n;
const S_IFCHR = 0o020000n;
const S_IFBLK = 0o060000n;
const S_IFIFO = 0o010000n;
const S_IFSOCK = 0o140000n;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function seconds(ns: bigint): number {
  // Floor division, also for times before 1970.
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}

function devNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  return {
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

export interface DirectoryOptions {
  /** false: extended attributes are not read at all (and fs-xattr is not needed). Default true. */
  xattrs?: boolean;
  /** How the caller's user leaves attributes out, for the error when they cannot be read. */
  skipXattrs?: string;
}

export async function readDirectory(root: string, opts: DirectoryOptions = {}): Promise<RootfsTree> {
  let st: BigIntStats;
  try {
    st = lstatSync(root, { bigint: true });
  } catch (e) {
    throw ioError(e, `${option('rootfs')} ${root}`);
  }
  if ((st.mode & S_IFMT) !== S_IFDIR) throw new ReproError('E_BAD_INPUT', `${option('rootfs')} ${root}: not a directory or tar archive`);
  const xattrs: XattrReader | undefined = opts.xattrs === false ? undefined : await xattrReader(root, opts.skipXattrs ?? '');
  const entries = new Map<string, Entry>();
  const warnings: string[] = [];

  // Metadata calls are made synchronously: for a tree in the page cache one direct system call per
  // entry is several times faster than a round trip through the thread pool.
  function visit(absDir: string, relDir: string): void {
    let names: Buffer[];
    try {
      names = readdirSync(absDir, { encoding: 'buffer' });
    } catch (e) {
      throw ioError(e, `${root}: cannot list ${relDir || '.'}`);
    }
    const subdirs: Array<[string, string]> = [];
    for (const raw of names) {
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch {
        throw new ReproError('E_BAD_INPUT', `${root}: ${relDir || '.'} holds a name that is not valid UTF-8 (${raw.toString('hex')})`);
      }
      const abs = join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      let s: BigIntStats;
      try {
        s = lstatSync(abs, { bigint: true });
      } catch (e) {
        throw ioError(e, `${root}: cannot stat ${rel}`);
      }
      const fmt = s.mode & S_IFMT;
      const e: Entry = {
        path: rel, type: 'file', mode: Number(s.mode) & 0o7777, uid: Number(s.uid), gid: Number(s.gid),
        mtime: seconds(s.mtimeNs), size: 0,
      };
      if (fmt === S_IFREG) {
        e.size = Number(s.size);
        e.content = { kind: 'file', path: abs };
        if (s.nlink > 1n) e.inode = `${s.dev}:${s.ino}`;
      } else if (fmt === S_IFDIR) {
        e.type = 'dir';
        subdirs.push([abs, rel]);
      } else if (fmt === S_IFLNK) {
        e.type = 'symlink';
        let target: Buffer;
        try {
          target = readlinkSync(abs, { encoding: 'buffer' });
        } catch (err) {
          throw ioError(err, `${root}: cannot read link ${rel}`);
        }
        try {
          e.linkname = utf8.decode(target);
        } catch {
          throw new ReproError('E_BAD_INPUT', `${root}: ${rel} is a symlink whose target is not valid UTF-8 (${target.toString('hex')})`);
        }
      } else if (fmt === S_IFCHR || fmt === S_IFBLK) {
        e.type = fmt === S_IFCHR ? 'char' : 'block';
        Object.assign(e, devNumbers(s.rdev));
      } else if (fmt === S_IFIFO) {
        e.type = 'fifo';
      } else if (fmt === S_IFSOCK) {
        warnings.push(`${rel}: socket skipped (sockets cannot be stored in an image)`);
        continue;
      } else {
        throw new ReproError('E_UNSUPPORTED', `${root}: ${rel}: unknown file type`);
      }
      if (xattrs && e.type !== 'symlink') {
        const x = xattrs.read(abs, `${root}: ${rel}`);
        if (x) e.xattrs = x;
      }
      entries.set(rel, e);
    }
    for (const [abs, rel] of subdirs) visit(abs, rel);
  }

  visit(root, '');
  return { entries, warnings, cleanup: async () => {} };
}
