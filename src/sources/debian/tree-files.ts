/**
 * Which files of an installed tree Debian's readers read: dpkg's database and the records beside
 * it (records.ts), and the inputs of the entries its install step generates (generated.ts). Asked
 * of every path while an image is read, so kept apart from those readers: small, and pure.
 */
import type { RecordOptions } from '../distribution.js';

export const DPKG_STATUS = 'var/lib/dpkg/status';
export const INFO = 'var/lib/dpkg/info/';
export const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];

/** dpkg's database proper: without it (or unread) an image would have no packages. */
export function isDebianDatabaseFile(path: string): boolean {
  return path === DPKG_STATUS;
}

export function isDebianRecordFile(path: string, opts: RecordOptions = {}): boolean {
  if (path === DPKG_STATUS || OS_RELEASE.includes(path)) return true;
  if (path.startsWith(INFO)) return opts.files !== false && (path.endsWith('.list') || path.endsWith('.md5sums'));
  if (opts.licenses === false) return false;
  // Asked of every file of an image: the suffix first, the pattern only where it fits.
  return path.endsWith('/copyright') && /^usr\/share\/doc\/[^/]+\/copyright$/.test(path);
}

export function isDebianGeneratorInput(path: string): boolean {
  return path.startsWith('usr/share/base-passwd/') || path.startsWith('usr/share/base-files/') || path.startsWith('usr/share/ca-certificates/')
    || (path.startsWith(INFO) && path.endsWith('.postinst'));
}
