/**
 * dir: skopeo's directory format (containers-transports(5) `dir:PATH`, containers/image
 * `directory/`): a `version` file ("Directory Transport Version: 1.1"), the top manifest (or
 * index) as `manifest.json`, the manifests of an index's images as `HEX.manifest.json`, and every
 * blob as a file named by the hex of its SHA-256 (version 1.0 named layers `HEX.tar`). The manifest
 * is kept byte for byte, so a copy through dir: keeps every digest.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readWholeFile } from '../../fs/read-whole.js';
import { fileSource } from '../../image/file-source.js';
import { bytesSource } from '../../image/image.js';
import type { BlobStore, OpenedImage } from '../../image/store.js';
import { MAX_DOCUMENT } from '../../image/verified.js';
import { digestHex, sha256, type Digest } from '../../model/digest.js';
import { ReproError, ioError } from '../../model/errors.js';
import { asObject, parseJsonBytes } from '../../model/json.js';
import { MediaType } from '../../model/media-types.js';

export const DIR_VERSION = 'Directory Transport Version: 1.1\n';
const KNOWN_VERSIONS = new Set(['Directory Transport Version: 1.0\n', DIR_VERSION]);

/** The media type of a manifest or index that may not say it (OCI makes `mediaType` optional). */
export function documentType(bytes: Buffer, where: string): string {
  const o = asObject(parseJsonBytes(bytes, where), where);
  if (typeof o['mediaType'] === 'string') return o['mediaType'];
  if (o['schemaVersion'] === 1) throw new ReproError('E_UNSUPPORTED', `${where}: a Docker schema 1 manifest (convert it with skopeo copy --format v2s2 first)`);
  if (Array.isArray(o['manifests'])) return MediaType.ociIndex;
  if (typeof o['config'] === 'object' && o['config'] !== null) return MediaType.ociManifest;
  throw new ReproError('E_BAD_JSON', `${where}: neither a manifest nor an index (no mediaType, config or manifests)`);
}

/**
 * What a file of the directory is: a regular file (its size), absent, or refused. A FIFO or a
 * device read as a blob would block the read forever, or never end.
 */
async function regularFile(dir: string, name: string, what: string): Promise<number | undefined> {
  let st;
  try {
    st = await stat(join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, `${dir}: ${what}`);
  }
  if (!st.isFile()) throw new ReproError('E_BAD_INPUT', `${dir}: ${what} (${name}) is not a regular file`);
  return st.size;
}

/** The version file is one line (manifest.json is a document: `MAX_DOCUMENT`, as every JSON document read whole). */
const VERSION_LIMIT = 4096;

export async function openDir(dir: string): Promise<OpenedImage> {
  let version: string;
  try {
    // Checked on the descriptor read (`readWholeFile`), not by a stat of the path before it.
    version = (await readWholeFile(join(dir, 'version'), VERSION_LIMIT)).toString('utf8');
  } catch (e) {
    throw ioError(e, `${dir}: not a dir: image (cannot read its version file)`);
  }
  if (!KNOWN_VERSIONS.has(version)) throw new ReproError('E_UNSUPPORTED', `${dir}/version: unknown directory transport version ${JSON.stringify(version.trim())}`);
  const manifestPath = join(dir, 'manifest.json');
  let manifest: Buffer;
  try {
    manifest = await readWholeFile(manifestPath, MAX_DOCUMENT);
  } catch (e) {
    throw ioError(e, `${dir}: cannot read manifest.json`);
  }
  const rootDigest = sha256(manifest);
  const store: BlobStore = {
    where: dir,
    async blob(digest: Digest) {
      for (const name of [digestHex(digest), `${digestHex(digest)}.tar`]) {
        const size = await regularFile(dir, name, `blob ${digest}`);
        if (size !== undefined) return { ...fileSource(join(dir, name)), storedSize: size };
      }
      throw new ReproError('E_NOT_FOUND', `${dir}: blob ${digest} is missing`);
    },
    async document(d) {
      if (d.digest === rootDigest) return bytesSource(manifest);
      const name = `${digestHex(d.digest)}.manifest.json`;
      if ((await regularFile(dir, name, `manifest ${d.digest}`)) !== undefined) return fileSource(join(dir, name));
      throw new ReproError('E_NOT_FOUND', `${dir}: manifest ${d.digest} is missing (no ${digestHex(d.digest)}.manifest.json)`);
    },
  };
  return { store, target: { mediaType: documentType(manifest, manifestPath), digest: rootDigest, size: manifest.length } };
}
