/**
 * Which files of an installed tree pacman's readers read (records.ts): each package's desc, files
 * and mtree in the local database. Asked of every path while an image is read, so kept apart from
 * the readers: small, and pure.
 */
import type { RecordOptions } from '../distribution.js';

const LOCAL = /^var\/lib\/pacman\/local\/([^/]+)\/(desc|files|mtree)$/;

const DESC = /^var\/lib\/pacman\/local\/[^/]+\/desc$/;

/** pacman's database proper: a package's desc (without it, or unread, the package is not there). */
export function isArchDatabaseFile(path: string): boolean {
  return path.startsWith('var/lib/pacman/local/') && DESC.test(path);
}

export function isArchRecordFile(path: string, opts: RecordOptions = {}): boolean {
  // Asked of every file of an image: the prefix first, the pattern only under it.
  return path.startsWith('var/lib/pacman/local/') && (opts.files === false ? DESC : LOCAL).test(path);
}
