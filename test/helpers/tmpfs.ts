/** A tiny tmpfs for full-disk tests (root only): mounted at DIR/small, or undefined where it cannot be. */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function mountSmallTmpfs(work: string, size = '1m'): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = join(work, 'small');
  mkdirSync(dir);
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0 ? dir : undefined;
}

export function unmount(dir: string | undefined): void {
  if (dir) spawnSync('umount', [dir]);
}
