import { ReproError } from '../model/errors.js';
import { NAME_MAX, PATH_MAX } from './tar-header.js';

/**
 * Refuses what no Linux file system can hold: a name longer than PATH_MAX or with a component
 * longer than NAME_MAX, a link target longer than PATH_MAX. A longer name could only be written by
 * inventing parents for it, which is how one small archive became gigabytes of output.
 */
export function checkPathLimits(name: string, linkname: string, at: string): void {
  const n = Buffer.byteLength(name);
  if (n > PATH_MAX) throw new ReproError('E_BAD_INPUT', `${at}: the name is ${n} bytes, longer than PATH_MAX (${PATH_MAX})`);
  let start = 0;
  for (;;) {
    const slash = name.indexOf('/', start);
    const end = slash < 0 ? name.length : slash;
    if ((end - start) * 3 > NAME_MAX && Buffer.byteLength(name.slice(start, end)) > NAME_MAX) {
      throw new ReproError('E_BAD_INPUT', `${at}: the name ${JSON.stringify(name.slice(0, 80))}${name.length > 80 ? '...' : ''} has a component longer than NAME_MAX (${NAME_MAX} bytes)`);
    }
    if (slash < 0) break;
    start = slash + 1;
  }
  const l = Buffer.byteLength(linkname);
  if (l > PATH_MAX) throw new ReproError('E_BAD_INPUT', `${at} (${JSON.stringify(name.slice(0, 80))}): the link target is ${l} bytes, longer than PATH_MAX (${PATH_MAX})`);
}


/**
 * Normalises an archive member name to our relative form, refusing names that escape the root.
 * Returns '' for the root itself (`.`, `./`).
 */
export function cleanMemberPath(name: string, where: string): string {
  checkPathLimits(name, '', where);
  if (name.startsWith('/')) {
    throw new ReproError('E_PATH_ESCAPE', `${where}: absolute path ${JSON.stringify(name)} refused`);
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new ReproError('E_PATH_ESCAPE', `${where}: path ${JSON.stringify(name)} escapes the root ('..') and is refused`);
    }
    parts.push(part);
  }
  return parts.join('/');
}

/** Resolves a hard link name in the archive the same way (hard link names are archive-relative). */
export function cleanLinkTarget(name: string, where: string): string {
  const p = cleanMemberPath(name, where);
  if (p === '') throw new ReproError('E_TAR_FORMAT', `${where}: hard link to the root directory`);
  return p;
}

/**
 * The path an entry is matched by: no leading `/` or `./`, no empty or `.` segments, no trailing
 * slash. Lenient on purpose (a diff reports odd names, it does not refuse them): `..` stays as is.
 */
export function matchPath(name: string): string {
  const n = name.endsWith('/') && !name.endsWith('//') ? name.slice(0, -1) : name;
  // Most names are already clean: no need to split them.
  if (n !== '' && n !== '.' && n[0] !== '/' && !n.startsWith('./') && !n.includes('//') && !n.includes('/./') && !n.endsWith('/.')) return n;
  return name.split('/').filter((p) => p !== '' && p !== '.').join('/') || '.';
}
