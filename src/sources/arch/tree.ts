/**
 * The Arch install step of a spec build: the locked packages installed in order, pacman's local
 * database written for them, and pacman's state directories as a fresh pacstrap leaves them minus
 * what the Arch repro image also leaves out (sync databases, the package cache, the keyring in
 * `etc/pacman.d/gnupg`: run `pacman-key --init && pacman-key --populate archlinux` before using
 * pacman in the image).
 */
import { readEntryBytes } from '../../archive/content.js';
import type { Entry } from '../../archive/entry.js';
import type { ArchLock } from './lockfile.js';
import type { InstalledTree } from '../distribution.js';
import { installArchPackages, landingPath } from './install.js';
import { localDatabase, validationOf, type LocalPackage } from './local-db.js';

/** Directories pacman makes in a new root (its database and cache), kept empty. */
const PACMAN_DIRS = ['var', 'var/lib', 'var/lib/pacman', 'var/lib/pacman/sync', 'var/cache', 'var/cache/pacman', 'var/cache/pacman/pkg'];
const KEYRING_DIR = 'etc/pacman.d/gnupg';

export async function archTree(lock: ArchLock, files: ReadonlyMap<string, string>, tmp: string, sde: number): Promise<InstalledTree> {
  const installed = await installArchPackages(lock.packages.map((p) => ({ name: p.name, version: p.version, path: files.get(p.name)! })), tmp);
  try {
    const { entries } = installed;
    for (const d of PACMAN_DIRS) {
      if (!entries.has(d)) entries.set(d, { path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: sde, size: 0 });
    }
    const packages: LocalPackage[] = installed.packages.map(({ input, file, installed: landed }, i) => {
      const locked = lock.packages[i]!;
      return {
        name: input.name, version: input.version, file, reason: locked.reason,
        validation: validationOf(lock.source.signatures, locked.signature.in),
        read: (path: string): Buffer | undefined => {
          const e: Entry | undefined = entries.get(landed.get(path) ?? '');
          return e?.type === 'file' ? readEntryBytes(e) : undefined;
        },
      };
    });
    for (const e of localDatabase(packages, sde)) entries.set(e.path, e);

    // No package ships the keyring (pacman-key makes it); should one, it stays out.
    const keyring = [...entries.keys()].filter((p) => p === KEYRING_DIR || p.startsWith(`${KEYRING_DIR}/`)).sort();
    for (const p of keyring) entries.delete(p);

    const reports: InstalledTree['reports'] = [{ name: 'pacman-database', changed: packages.length, examples: packages.slice(0, 10).map((p) => p.name), paths: packages.map((p) => p.name) }];
    if (keyring.length > 0) reports.push({ name: 'pacman keyring left out', changed: keyring.length, examples: keyring.slice(0, 10), paths: keyring });
    return { entries, reports, destPath: (path, where) => landingPath(entries, path, where), cleanup: installed.cleanup };
  } catch (e) {
    await installed.cleanup();
    throw e;
  }
}
