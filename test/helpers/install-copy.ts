/**
 * A copy of this checkout's installation (package.json, the compiled dist/src and node_modules) in
 * which some packages are missing or damaged, as on a host where `npm ci` could not build a native
 * addon. Pure-JS packages are symbolic links to the real ones; the packages named are real copies
 * that the caller then changes.
 */
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (tests run from dist/test/helpers). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface InstallCopy {
  root: string;
  /** The copy's CLI. */
  cli: string;
}

/** `copied`: packages copied (not linked), for the caller to damage; `left out`: not there at all. */
export function installCopy(dir: string, opts: { copied?: string[]; leftOut?: string[] } = {}): InstallCopy {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  // A real copy: node resolves a module's imports from its real path, so a link would use ours.
  cpSync(join(REPO, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    if (name.startsWith('.') || opts.leftOut?.includes(name)) continue;
    const from = join(REPO, 'node_modules', name);
    if (opts.copied?.includes(name)) cpSync(from, join(dir, 'node_modules', name), { recursive: true });
    else symlinkSync(from, join(dir, 'node_modules', name));
  }
  return { root: dir, cli: join(dir, 'dist', 'src', 'cli', 'main.js') };
}
