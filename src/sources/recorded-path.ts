/**
 * Where a path a package database records lies in an image: its directories followed through
 * the image's symlinks (a merged /usr: `bin/ls` is `usr/bin/ls`), the last component not
 * followed, as dpkg and pacman see their own paths. Pure.
 */

const MAX_LINKS = 40;

export interface LinkLookup {
  /** The symlink target of a path, or undefined when it is not a symlink. */
  linkOf(path: string): string | undefined;
}

function join(parts: string[]): string {
  return parts.join('/');
}

/** The image path a recorded path names, or undefined when it leaves the root or loops. */
export function resolveRecorded(tree: LinkLookup, path: string): string | undefined {
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending[0]!;
    pending = pending.slice(1);
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join([...resolved, part]);
    const target = pending.length > 0 ? tree.linkOf(candidate) : undefined;
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    const parts = target.split('/').filter((p) => p !== '' && p !== '.');
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...parts, ...pending];
  }
  return join(resolved);
}
