/**
 * The packages an image says it has: its layers flattened through the image model (whiteouts and
 * replaced directories applied, every layer checked against its digest as it is read), the
 * package database files of every distribution kept, and each distribution reading its own. A
 * spec is read from its lock instead.
 */
import { matchPath } from '../archive/paths.js';
import { TypeFlag } from '../archive/tar-header.js';
import { readImage } from '../image/read.js';
import { FlatFileSystem, whiteoutOf, type LayerChanges } from '../image/whiteouts.js';
import { ReproError } from '../model/errors.js';
import { layerCompression } from '../model/media-types.js';
import type { Platform } from '../model/platform.js';
import type { InstalledPackage } from '../sources/distribution.js';
import { DISTRIBUTIONS, distributionFor } from '../sources/index.js';
import type { LockFile } from '../spec/lockfile.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, type ImageRef } from '../transports/reference.js';

const isDatabaseFile = (p: string): boolean => DISTRIBUTIONS.some((d) => d.isDatabaseFile(p));

async function readAll(body: () => AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body()) parts.push(c);
  return Buffer.concat(parts);
}

/** The package database files of an image's flattened layers (path → bytes). */
export async function databaseFiles(ref: ImageRef, opts: { platform?: Platform; transport?: TransportOptions } = {}): Promise<Map<string, Buffer>> {
  const image = await readImage(await openImage(ref, opts.transport), formatImageRef(ref), opts.platform);
  const fs = new FlatFileSystem<Buffer>();
  for (const layer of image.layers) {
    if (layerCompression(layer.descriptor!.mediaType) === undefined) {
      throw new ReproError('E_UNSUPPORTED', `${layer.where}: media type ${layer.descriptor!.mediaType} is not a layer we can read`);
    }
    const changes: LayerChanges<Buffer> = { whiteouts: [], entries: [] };
    for await (const { member, body } of layer.members()) {
      const path = matchPath(member.name);
      const w = whiteoutOf(path);
      if (w) {
        changes.whiteouts.push(w);
        continue;
      }
      const file = member.typeflag === TypeFlag.file || member.typeflag === TypeFlag.oldFile;
      const value = file && isDatabaseFile(path) ? await readAll(body) : undefined;
      changes.entries.push({ path, dir: member.typeflag === TypeFlag.dir, value });
    }
    fs.apply(changes);
  }
  return fs.files;
}

const byName = (a: InstalledPackage, b: InstalledPackage): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export async function imagePackages(ref: ImageRef, opts: { platform?: Platform; transport?: TransportOptions } = {}): Promise<InstalledPackage[]> {
  const files = await databaseFiles(ref, opts);
  return DISTRIBUTIONS.flatMap((d) => d.installedPackages(files)).sort(byName);
}

export function lockPackages(lock: LockFile): InstalledPackage[] {
  return distributionFor(lock.source.distro).lockedPackages(lock).sort(byName);
}
