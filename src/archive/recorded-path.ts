/**
 * Where a path a package database records lies in an image: its directories followed through
 * the image's symlinks (a merged /usr: `bin/ls` is `usr/bin/ls`), the last component not
 * followed, as dpkg and pacman see their own paths, and as link(2) sees a hard link's target
 * (flatten.ts). Pure.
 */
import { parentOf } from './entry.js';

/** As the kernel's ELOOP: a path that takes more links than this (in all) resolves to nothing. */
const MAX_LINKS = 40;

export interface LinkLookup {
  /** The symlink target of a path, or undefined when it is not a symlink. */
  linkOf(path: string): string | undefined;
}

/** A resolved path ('' is the root) and how many links it took. */
interface Walked {
  path: string;
  links: number;
}

/** Links nested past MAX_LINKS at this depth: from less deep, the same link may still resolve. */
const DEEP = Symbol('deep');
type Step = Walked | undefined | typeof DEEP;

/** The image path a recorded path names, or undefined when it loops or takes more than 40 links. */
export function resolveRecorded(tree: LinkLookup, path: string): string | undefined {
  return recordedResolver(tree)(path);
}

/**
 * `resolveRecorded` over many paths of one tree (a package database's thousands): each recorded
 * directory is followed once, and each symlink once (with the links it takes, so that a path's
 * count is the kernel's: the sum over its components). Before, every directory was followed from
 * the root, each link through its whole target: a link to 2,000 links, each to 2,000 components,
 * made each of a .list's directories below it cost up to 40 × 2,000 steps (100,000 lines of 1 MB:
 * 11 s).
 */
export function recordedResolver(tree: LinkLookup): (path: string) => string | undefined {
  // A symlink's path → its target resolved (undefined: it loops or takes too many links), or the
  // depth from which it was found nested too deep.
  const links = new Map<string, Walked | undefined | { deepAt: number }>();
  const busy = new Set<string>();
  const dirs = new Map<string, string | undefined>();

  // `name` in the resolved directory `dir`, followed when it is a symlink.
  const step = (dir: string, name: string, depth: number): Step => {
    if (name === '..') return { path: parentOf(dir), links: 0 };
    const path = dir === '' ? name : `${dir}/${name}`;
    const target = tree.linkOf(path);
    if (target === undefined) return { path, links: 0 };
    if (links.has(path)) {
      const known = links.get(path);
      if (known === undefined || !('deepAt' in known)) return known;
      if (depth >= known.deepAt) return DEEP;
    }
    if (busy.has(path)) return undefined; // a loop: every link on it loops
    if (depth >= MAX_LINKS) return DEEP;
    busy.add(path);
    const r = walk(target.startsWith('/') ? '' : dir, components(target), depth + 1);
    busy.delete(path);
    if (r === DEEP && depth > 0) {
      links.set(path, { deepAt: depth });
      return DEEP;
    }
    const out = r === DEEP || r === undefined || r.links + 1 > MAX_LINKS ? undefined : { path: r.path, links: r.links + 1 };
    links.set(path, out);
    return out;
  };
  const walk = (base: string, parts: readonly string[], depth: number): Step => {
    let at = base;
    let n = 0;
    for (const part of parts) {
      const r = step(at, part, depth);
      if (r === undefined || r === DEEP) return r;
      n += r.links;
      if (n > MAX_LINKS) return undefined;
      at = r.path;
    }
    return { path: at, links: n };
  };
  return (path) => {
    // A path in its plain form (no empty, `.` or `..` component; a leading `/` at most), as nearly
    // every recorded path is: its directory is a slice, not split and joined again.
    let last: string | undefined;
    let dir: string;
    let parts: string[] | undefined;
    if (UNUSUAL.test(path)) {
      parts = components(path);
      last = parts.pop();
      if (last === undefined) return '';
      dir = parts.join('/');
    } else {
      const from = path.charCodeAt(0) === 0x2f ? 1 : 0;
      const slash = path.lastIndexOf('/');
      if (slash < from) {
        last = path.slice(from);
        dir = '';
      } else {
        last = path.slice(slash + 1);
        dir = path.slice(from, slash);
      }
    }
    let resolved = dirs.get(dir);
    if (resolved === undefined && !dirs.has(dir)) {
      const r = walk('', parts ?? components(dir), 0);
      resolved = r === undefined || r === DEEP ? undefined : r.path;
      dirs.set(dir, resolved);
    }
    if (resolved === undefined) return undefined;
    if (last === '..') return parentOf(resolved);
    // Through no symlink: the path itself, not a copy made of its parts (a map keyed by it hashes it once).
    if (parts === undefined && resolved === dir) return path.charCodeAt(0) === 0x2f ? path.slice(1) : path;
    return resolved === '' ? last : `${resolved}/${last}`;
  };
}

/** An empty component (`//`, a trailing `/`), or a `.` or `..` component: split and joined. */
const UNUSUAL = /\/\/|(?:^|\/)\.\.?(?:\/|$)|\/$/;

function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
