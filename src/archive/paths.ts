import { ReproError } from '../model/errors.js';

/**
 * Normalises an archive member name to our relative form, refusing names that escape the root.
 * Returns '' for the root itself (`.`, `./`).
 */
export function cleanMemberPath(name: string, where: string): string {
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
