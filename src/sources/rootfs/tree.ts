import { ReproError } from '../../model/errors.js';
import { parentOf, type Entry } from '../../archive/entry.js';

/**
 * How many bytes of tar headers the directories an input leaves out may add to a layer (a header
 * block plus, for a long name, a pax record holding it). Real archives that omit their directories
 * imply a few thousand short ones; a few deep made-up paths would otherwise imply millions of bytes
 * each, and a small archive would become a huge layer.
 */
export const IMPLIED_DIRS_BUDGET = 64 << 20;

/**
 * Checks that every entry's ancestors are real directories and adds implied ones (mode 0755,
 * owner 0:0, mtime 0) for archives that omit them. A symlinked parent would let an entry escape
 * the root on extraction and is refused.
 */
export function completeTree(entries: Map<string, Entry>, where: string, budget = IMPLIED_DIRS_BUDGET): void {
  let added = 0;
  let cost = 0;
  for (const path of [...entries.keys()]) {
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
      const parent = entries.get(p);
      if (!parent) {
        added++;
        cost += 512 + (p.length > 100 ? 1024 + 2 * Buffer.byteLength(p) : 0);
        if (cost > budget) {
          throw new ReproError('E_BAD_INPUT', `${where}: leaves out more than ${added} parent directories (such as ${JSON.stringify(p.slice(0, 80))}${p.length > 80 ? '...' : ''}), which would add more than ${budget >> 20} MiB of headers; put the directories in the input`);
        }
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
