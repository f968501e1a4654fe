/**
 * The merged /usr: the top-level directories that live under /usr, and where a path a package
 * ships lands. Apart from install.ts so that readers of an installed tree (the audit's
 * predictions) need not load the installer. Pure.
 */

/** Top-level directories that live under /usr on a merged-/usr system. */
export const MERGED_USR_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'libo32'];

export function mergedUsrPath(path: string): string {
  const slash = path.indexOf('/');
  const top = slash < 0 ? path : path.slice(0, slash);
  return MERGED_USR_DIRS.includes(top) ? `usr/${path}` : path;
}
