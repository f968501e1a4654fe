/**
 * The package database of an image is read only from regular files: each file a distribution's
 * `isDatabaseFile` selects (dpkg's status, each pacman desc) must be one whose bytes were kept (a
 * hard link to a file is that file, its bytes kept with it: see flatten.ts). One that is a
 * directory, a symlink, a device or a hard link that names no file would read as absent, and its
 * packages would silently be missing (an SBOM without them, their files unexplained): it is bad
 * input, naming it. Pure.
 */
import { escapeName, ReproError } from '../model/errors.js';
import { TREE_READERS } from './trees.js';

/** A database file of any distribution (dpkg's status, a pacman desc). */
export function isDatabaseFile(path: string): boolean {
  return TREE_READERS.some((d) => d.isDatabaseFile(path));
}

export interface EntryKind {
  type: string;
  linkname?: string;
}

export function checkDatabaseFiles(entries: ReadonlyMap<string, EntryKind>, kept: ReadonlyMap<string, Buffer>): void {
  for (const [path, e] of entries) {
    if (kept.has(path) || !isDatabaseFile(path)) continue;
    const what = e.type === 'symlink' ? `a symlink to ${escapeName((e.linkname ?? '').slice(0, 200))}`
      : e.type === 'hardlink' ? `a hard link to ${escapeName((e.linkname ?? '').slice(0, 200))}, which names no file`
      : e.type === 'file' ? 'a file whose bytes were not read'
      : e.type === 'dir' ? 'a directory' : e.type === 'char' || e.type === 'block' ? `a ${e.type} device` : `a ${e.type}`;
    throw new ReproError('E_BAD_INPUT', `${escapeName(path)}: ${what}; a package database file must be a regular file`);
  }
}
