/**
 * The packages an image says it has: its layers flattened through the image model (whiteouts and
 * replaced directories applied, every layer checked against its digest as it is read), the
 * package database files of every distribution kept, and each distribution reading its own. A
 * spec is read from its lock instead.
 */
import { flattenLayers } from '../image/flatten.js';
import { readImage } from '../image/read.js';
import { checkDatabaseFiles, isDatabaseFile } from '../sources/database-files.js';
import type { Platform } from '../model/platform.js';
import type { InstalledPackage } from '../sources/distribution.js';
import { DISTRIBUTIONS, distributionFor } from '../sources/index.js';
import type { LockFile } from '../spec/lockfile.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, type ImageRef } from '../transports/reference.js';


/**
 * The package database files of an image's flattened layers (path → bytes), read as audit and
 * sbom read theirs (flattenLayers: a file past the read of a database file is bad input; one that
 * is not a regular file too: checkDatabaseFiles).
 */
export async function databaseFiles(ref: ImageRef, opts: { platform?: Platform; transport?: TransportOptions } = {}): Promise<ReadonlyMap<string, Buffer>> {
  const image = await readImage(await openImage(ref, opts.transport), formatImageRef(ref), opts.platform);
  const flat = await flattenLayers(image.layers, { keep: isDatabaseFile });
  // A status or desc that is not a regular file is bad input, not an image without packages.
  checkDatabaseFiles(flat.entries, flat.kept);
  return flat.kept;
}

const byName = (a: InstalledPackage, b: InstalledPackage): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export async function imagePackages(ref: ImageRef, opts: { platform?: Platform; transport?: TransportOptions } = {}): Promise<InstalledPackage[]> {
  const files = await databaseFiles(ref, opts);
  return DISTRIBUTIONS.flatMap((d) => d.installedPackages(files)).sort(byName);
}

export function lockPackages(lock: LockFile): InstalledPackage[] {
  return distributionFor(lock.source.distro).lockedPackages(lock).sort(byName);
}
