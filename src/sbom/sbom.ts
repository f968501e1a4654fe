/**
 * `sbom REF|SPEC`: the packages of an image (its dpkg or pacman database, read through the image
 * model) or of a spec's lock, as SPDX 2.3 or CycloneDX 1.6 JSON (see spdx.ts, cyclonedx.ts).
 * The time is SOURCE_DATE_EPOCH: the option, else the image config's `created`, else the lock's.
 */
import { createHash } from 'node:crypto';
import { flattenLayers } from '../image/flatten.js';
import { readImage } from '../image/read.js';
import { ReproError, option } from '../model/errors.js';
import type { Platform } from '../model/platform.js';
import { checkPlatform } from '../pipeline/validate.js';
import { checkDatabaseFiles } from '../sources/database-files.js';
import type { PackageRecord, RecordOptions } from '../sources/distribution.js';
import { DISTRIBUTIONS, distributionFor } from '../sources/index.js';
import { loadSpec } from '../spec/load.js';
import { lockPathFor, readLockFile } from '../spec/lockfile.js';
import { openImage } from '../transports/index.js';
import { formatImageRef, isImageReference, parseImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { encodeCycloneDx } from './cyclonedx.js';
import { SBOM_FORMATS, SBOM_MEDIA_TYPE, type SbomDocument, type SbomFormat, type SbomSubject } from './document.js';
import { encodeSpdx } from './spdx.js';

export interface SbomOptions {
  /** An image reference, or an image spec (its lock is read). */
  target: string;
  /** Default spdx-json. */
  format?: SbomFormat;
  sourceDateEpoch?: number;
  platform?: Platform;
  registry?: RegistryOptions;
}

export interface SbomResult {
  format: SbomFormat;
  mediaType: string;
  /** The document (canonical JSON). */
  bytes: Buffer;
  digest: string;
  subject: SbomSubject;
  packages: number;
  /** The package database's warnings (a name or version its own tools would not have written): each package is in the document as written. */
  warnings: string[];
}

export const TITLE = 'org.opencontainers.image.title';

export function checkFormat(format: string | undefined): SbomFormat {
  const f = format ?? 'spdx-json';
  if (!SBOM_FORMATS.includes(f as SbomFormat)) throw new ReproError('E_USAGE', `${option('format')}: expected ${SBOM_FORMATS.join(' or ')}, got ${JSON.stringify(format)}`);
  return f as SbomFormat;
}

export function encodeSbom(format: SbomFormat, doc: SbomDocument): SbomResult {
  const bytes = format === 'spdx-json' ? encodeSpdx(doc) : encodeCycloneDx(doc);
  return {
    format, mediaType: SBOM_MEDIA_TYPE[format], bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, subject: doc.subject,
    packages: doc.packages.length, warnings: doc.packages.flatMap((p) => p.warnings ?? []),
  };
}

/** An SBOM lists packages, not the paths they installed: the file lists are not read. */
const SBOM_RECORDS: RecordOptions = { files: false };

/** Every distribution's packages in a set of record files (see `Distribution.isRecordFile`), without their files. */
export function recordsOf(files: ReadonlyMap<string, Buffer>): PackageRecord[] {
  return DISTRIBUTIONS.flatMap((d) => d.packageRecords(files, SBOM_RECORDS));
}

/** The files `recordsOf` reads. */
export const isRecordFile = (path: string): boolean => DISTRIBUTIONS.some((d) => d.isRecordFile(path, SBOM_RECORDS));

function epochOf(created: string | undefined, where: string): number {
  const t = created === undefined ? NaN : Date.parse(created);
  if (!Number.isFinite(t)) throw new ReproError('E_USAGE', `${where}: the config has no usable created time; give ${option('sourceDateEpoch')}`);
  return Math.floor(t / 1000);
}

export async function sbom(opts: SbomOptions): Promise<SbomResult> {
  const format = checkFormat(opts.format);
  if (isImageReference(opts.target)) {
    const ref = parseImageRef(opts.target);
    const image = await readImage(await openImage(ref, opts.registry ? { registry: opts.registry } : {}), formatImageRef(ref), opts.platform ? checkPlatform(opts.platform) : undefined);
    const flat = await flattenLayers(image.layers, { keep: isRecordFile });
    checkDatabaseFiles(flat.entries, flat.kept);
    const subject: SbomSubject = { kind: 'image', name: image.manifest.value.annotations?.[TITLE] ?? 'image', digest: image.descriptor.digest, platform: image.platform };
    const created = opts.sourceDateEpoch ?? epochOf(image.config.value.created, image.where);
    return encodeSbom(format, { subject, created, packages: recordsOf(flat.kept) });
  }
  const loaded = loadSpec(opts.target);
  const lockPath = lockPathFor(loaded.file);
  const { lock, digest } = readLockFile(lockPath);
  const subject: SbomSubject = { kind: 'lock', name: loaded.spec.name, digest };
  const packages = distributionFor(lock.source.distro).lockRecords(lock as never);
  return encodeSbom(format, { subject, created: opts.sourceDateEpoch ?? lock.source.sourceDateEpoch, packages });
}
