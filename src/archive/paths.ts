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
