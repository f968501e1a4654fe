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

/**
 * `resolveRecorded` over many paths of one tree (a package database's thousands): each directory
 * is followed once, and a path in it is the directory's resolution and its last component.
 */
export function recordedResolver(tree: LinkLookup): (path: string) => string | undefined {
  // A directory's resolution, with a trailing slash unless it is the root (''); null when it
  // leaves the root or loops.
  const dirs = new Map<string, string | null>();
  return (path) => {
    const cut = path.lastIndexOf('/');
    const last = path.slice(cut + 1);
    if (cut < 0 || last === '' || last === '.' || last === '..') return resolveRecorded(tree, path);
    const dir = path.slice(0, cut);
    let resolved = dirs.get(dir);
    if (resolved === undefined) {
      // The last component is never followed, so a name no tree has stands for any.
      const r = resolveRecorded(tree, `${dir}/\0`);
      resolved = r === undefined ? null : r.slice(0, -1);
      dirs.set(dir, resolved);
    }
    return resolved === null ? undefined : resolved + last;
  };
}

function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
