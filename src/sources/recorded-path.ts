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

/** The image path a recorded path names, or undefined when it leaves the root or loops. */
export function resolveRecorded(tree: LinkLookup, path: string): string | undefined {
  // Components still to walk, last first (so that taking the next one and prepending a link's
  // target are pops and pushes); the path resolved so far, as components and as a string.
  const pending = components(path).reverse();
  const resolved: string[] = [];
  let prefix = '';
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '..') {
      resolved.pop();
      prefix = resolved.join('/');
      continue;
    }
    const candidate = prefix === '' ? part : `${prefix}/${part}`;
    const target = pending.length > 0 ? tree.linkOf(candidate) : undefined;
    if (target === undefined) {
      resolved.push(part);
      prefix = candidate;
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    if (target.startsWith('/')) {
      resolved.length = 0;
      prefix = '';
    }
    const parts = components(target);
    for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
  }
  return prefix;
}

function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
