/**
 * The Debian install step of a spec build: the locked packages unpacked onto a merged /usr, the
 * script effects reproduced, the dpkg database written and the merged-/usr links added.
 */
import { readEntryBytes } from '../../archive/content.js';
import type { DebianLock } from './lockfile.js';
import type { InstalledTree } from '../distribution.js';
import { dpkgDatabase } from './dpkg-db.js';
import { alternatives, baseFiles, basePasswd, caCertificates } from './effects.js';
import { addMergedUsrLinks, installPackages } from './install.js';
import { mergedUsrPath } from './merged-usr.js';

export async function debianTree(lock: DebianLock, files: ReadonlyMap<string, string>, tmp: string, sde: number): Promise<InstalledTree> {
  const installed = await installPackages(lock.packages.map((p) => ({
    name: p.name, version: p.version, architecture: p.architecture, debPath: files.get(p.name)!,
  })), tmp);
  try {
    const { entries } = installed;
    const read = (path: string): Buffer | undefined => {
      const e = entries.get(path);
      return e && e.type === 'file' && e.content ? readEntryBytes(e) : undefined;
    };
    // base-passwd first: base-files resolves group names through etc/group.
    const effects = [basePasswd(entries, read, sde), baseFiles(entries, installed.packages, read, sde), caCertificates(entries, read, sde), alternatives(entries, installed.packages, sde)];
    for (const e of dpkgDatabase(installed.packages, read, sde)) entries.set(e.path, e);
    addMergedUsrLinks(entries, sde);
    const reports: InstalledTree['reports'] = effects.filter((e) => e !== undefined).map((e) => ({ name: `effect ${e!.name}`, changed: e!.changed.length, examples: e!.changed.slice(0, 10), paths: e!.changed }));
    reports.push({ name: 'dpkg-database', changed: installed.packages.length, examples: installed.packages.slice(0, 10).map((p) => p.name), paths: installed.packages.map((p) => p.name) });
    return { entries, reports, destPath: (path) => mergedUsrPath(path), cleanup: installed.cleanup };
  } catch (e) {
    await installed.cleanup();
    throw e;
  }
}
