/**
 * The packages an image says it has, read from its package databases: pacman's local database
 * (`var/lib/pacman/local/NAME-VERSION/desc`) and dpkg's status file (`var/lib/dpkg/status`,
 * installed packages only). Layers are applied in order, whiteouts included, and every layer is
 * checked against its digest while it is read. A spec is read from its lock instead.
 */
import { createHash } from 'node:crypto';
import { decompressStream } from '../archive/compress.js';
import { readTar } from '../archive/tar-reader.js';
import { TypeFlag } from '../archive/tar-header.js';
import type { Digest } from '../model/digest.js';
import { ReproError } from '../model/errors.js';
import { parseManifest } from '../model/manifest.js';
import { isIndexType, layerCompression } from '../model/media-types.js';
import { parseIndex } from '../model/oci-index.js';
import { descValue, parseDesc } from '../sources/arch/desc.js';
import { field, parseParagraphs } from '../sources/debian/control.js';
import { isDebianLock, type LockFile } from '../spec/lockfile.js';
import { openImage } from '../transports/index.js';
import type { ImageRef } from '../transports/reference.js';
import type { BlobStore } from '../image/store.js';

/** rebuilderd's names of the distributions. */
export type Distribution = 'archlinux' | 'debian';

export interface InstalledPackage {
  distribution: Distribution;
  name: string;
  version: string;
  /** Debian: the source package, which rebuilders may list instead of the binary. */
  source?: { name: string; version: string };
}

const PACMAN_DESC = /^var\/lib\/pacman\/local\/[^/]+\/desc$/;
const DPKG_STATUS = 'var/lib/dpkg/status';
/** The directories the database files live in (and their parents). */
const DATABASE_DIRS = /^var(\/lib(\/(pacman(\/local(\/[^/]+)?)?|dpkg))?)?$/;

async function readAll(body: () => AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body()) parts.push(c);
  return Buffer.concat(parts);
}

async function blobBytes(store: BlobStore, digest: Digest, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of (await store.blob(digest)).open()) {
    n += c.length;
    if (n > 64 << 20) throw new ReproError('E_BAD_INPUT', `${store.where}: ${what} ${digest} is larger than 64 MiB`);
    parts.push(c);
  }
  const data = Buffer.concat(parts);
  const got = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (got !== digest) throw new ReproError('E_DIGEST_MISMATCH', `${store.where}: ${what} ${digest} hashes to ${got}`);
  return data;
}

/** The package database files of an image's merged layers (path → bytes). */
async function databaseFiles(ref: ImageRef): Promise<Map<string, Buffer>> {
  const opened = await openImage(ref);
  const { store } = opened;
  let target = opened.target;
  if (isIndexType(target.mediaType)) {
    const index = parseIndex(await blobBytes(store, target.digest, 'index'), `index ${target.digest}`).value;
    if (index.manifests.length !== 1) throw new ReproError('E_USAGE', `${store.where}: the image is an index of ${index.manifests.length} manifests; name one platform's image`);
    target = index.manifests[0]!;
  }
  const manifestBytes = opened.syntheticManifest ?? await blobBytes(store, target.digest, 'manifest');
  const manifest = parseManifest(manifestBytes, `manifest ${target.digest}`, target.mediaType).value;
  const files = new Map<string, Buffer>();
  for (const [i, layer] of manifest.layers.entries()) {
    const where = `${store.where}: layer ${i + 1} ${layer.digest}`;
    const compression = layerCompression(layer.mediaType);
    if (compression === undefined) throw new ReproError('E_UNSUPPORTED', `${where}: media type ${layer.mediaType} is not a layer we can read`);
    const hash = createHash('sha256');
    const src = await store.blob(layer.digest);
    async function* tap(): AsyncGenerator<Buffer> {
      for await (const c of src.open()) {
        hash.update(c);
        yield c;
      }
    }
    for await (const { member, body } of readTar(decompressStream(compression, tap(), where), where)) {
      const path = member.name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      if (base.startsWith('.wh.')) {
        // A whiteout hides a path of the layers below; an opaque one, a directory's whole content.
        const dir = path.slice(0, slash + 1);
        const hidden = base === '.wh..wh..opq' ? dir : `${dir}${base.slice(4)}`;
        for (const p of [...files.keys()]) if (p === hidden || p.startsWith(hidden.endsWith('/') ? hidden : `${hidden}/`)) files.delete(p);
        continue;
      }
      if (PACMAN_DESC.test(path) || path === DPKG_STATUS) {
        if (member.typeflag === TypeFlag.file || member.typeflag === TypeFlag.oldFile) files.set(path, await readAll(body));
        else files.delete(path);
      } else if (DATABASE_DIRS.test(path) && member.typeflag !== TypeFlag.dir) {
        // A non-directory in place of a database directory removes what was below it.
        for (const p of [...files.keys()]) if (p.startsWith(`${path}/`)) files.delete(p);
      }
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== layer.digest) throw new ReproError('E_DIGEST_MISMATCH', `${where}: content hashes to ${got}`);
  }
  return files;
}

export function pacmanPackages(files: ReadonlyMap<string, Buffer>): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const [path, data] of files) {
    if (!PACMAN_DESC.test(path)) continue;
    const d = parseDesc(data.toString('utf8'), path);
    const name = descValue(d, 'NAME');
    const version = descValue(d, 'VERSION');
    if (!name || !version) throw new ReproError('E_BAD_INPUT', `${path}: no %NAME% or %VERSION%`);
    out.push({ distribution: 'archlinux', name, version });
  }
  return out;
}

export function dpkgPackages(status: Buffer, where: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const p of parseParagraphs(status.toString('utf8'), where)) {
    const name = field(p, 'Package');
    const version = field(p, 'Version');
    if (!name || !version || !/ installed$/.test(field(p, 'Status') ?? '')) continue;
    // Source: NAME or NAME (VERSION); without one, the source is the binary of the same version.
    const m = /^(\S+)(?:\s+\((.+)\))?$/.exec(field(p, 'Source') ?? name);
    out.push({ distribution: 'debian', name, version, source: { name: m?.[1] ?? name, version: m?.[2] ?? version } });
  }
  return out;
}

const byName = (a: InstalledPackage, b: InstalledPackage): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export async function imagePackages(ref: ImageRef): Promise<InstalledPackage[]> {
  const files = await databaseFiles(ref);
  const status = files.get(DPKG_STATUS);
  return [...pacmanPackages(files), ...(status ? dpkgPackages(status, DPKG_STATUS) : [])].sort(byName);
}

export function lockPackages(lock: LockFile): InstalledPackage[] {
  const out: InstalledPackage[] = isDebianLock(lock)
    ? lock.packages.map((p) => ({ distribution: 'debian', name: p.name, version: p.version, source: { name: p.source, version: p.sourceVersion } }))
    : lock.packages.map((p) => ({ distribution: 'archlinux', name: p.name, version: p.version }));
  return out.sort(byName);
}
