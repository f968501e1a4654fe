import { ReproError } from '../../model/errors.js';
import { parentOf, type Entry } from '../../archive/entry.js';

/**
 * Checks that every entry's ancestors are real directories and adds implied ones (mode 0755,
 * owner 0:0, mtime 0) for archives that omit them. A symlinked parent would let an entry escape
 * the root on extraction and is refused.
 */
export function completeTree(entries: Map<string, Entry>, where: string): void {
  for (const path of [...entries.keys()]) {
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
      const parent = entries.get(p);
      if (!parent) {
        entries.set(p, { path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
        continue;
      }
      if (parent.type === 'symlink') {
        throw new ReproError('E_PATH_ESCAPE', `${where}: entry ${JSON.stringify(path)} goes through the symlinked parent ${JSON.stringify(p)} and is refused`);
      }
      if (parent.type !== 'dir') {
        throw new ReproError('E_TAR_FORMAT', `${where}: entry ${JSON.stringify(path)} has a parent ${JSON.stringify(p)} that is not a directory`);
      }
      break; // this parent was checked (or will be) on its own
    }
  }
}

/** The newest mtime in a tree, or undefined when it is empty. */
export function newestMtime(entries: Iterable<Entry>): number | undefined {
  let max: number | undefined;
  for (const e of entries) if (max === undefined || e.mtime > max) max = e.mtime;
  return max;
}
