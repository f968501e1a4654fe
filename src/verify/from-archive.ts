/**
 * `verify --from-archive DIR`: repeat a proof that `verify SPEC --archive DIR` kept, from the
 * directory alone and without a network. The layout holds the published index/manifest/config as
 * they were served (their digests are checked as they are read, so a changed byte is refused), the
 * inputs archive (spec, lock and every locked package) as a referrer of the published manifest,
 * and annotations on the root's index.json entry naming that inputs archive and any
 * SOURCE_DATE_EPOCH or --annotation the rebuild was given (ARCHIVE_ANNOTATION). The spec and lock
 * are taken from the inputs archive (or, with `spec`, from the caller: a spec that copies files
 * from its folder needs them), the cache is filled from it (each file checked against the lock, as
 * `fetch --from` does), and the ordinary `verify` rebuilds offline against the archived documents.
 * See docs/verify-archive.md.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cache } from '../fetch/cache.js';
import { makeScratchDir } from '../fs/scratch.js';
import { readBlob, readDocument } from '../image/verified.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { ReproError } from '../model/errors.js';
import { parseManifest } from '../model/manifest.js';
import { parseIndex } from '../model/oci-index.js';
import { parseSourceDateEpoch } from '../pipeline/epoch.js';
import { openLayout, readInside } from '../transports/layout/read.js';
import type { ImageRef } from '../transports/reference.js';
import { loadSpec } from '../spec/load.js';
import { parsePlatform } from '../model/platform.js';
import { specPlatforms } from '../pipeline/spec.js';
import { lockPathFor, readLockFile } from '../spec/lockfile.js';
import { ARCHIVE_ANNOTATION } from './published.js';
import { verify, type VerifyResult } from './verify.js';

export interface VerifyFromArchiveOptions {
  /** The layout `verify SPEC --archive DIR` wrote. */
  archive: string;
  /**
   * Rebuild from this spec (its lock beside it) instead of the one the archive keeps: needed when
   * the spec copies files from its folder (`files:`), which the inputs archive does not hold.
   */
  spec?: string;
  /** The cache the archive's packages are put into (files already there are not read again). */
  cacheDir: string;
  tmpDir?: string;
  deepDiff?: boolean;
  maxDifferences?: number;
  onWarning?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyFromArchiveResult extends VerifyResult {
  fromArchive: {
    dir: string;
    /** The inputs archive the packages (and, without `spec`, the spec and lock) came from. */
    inputs: Digest;
    /** Where the spec and lock came from. */
    spec: 'archived' | 'given';
  };
}

const NAME = /^[A-Za-z0-9._+-]{1,200}$/;

/** The proof's entry in the archive's index.json: the one entry annotated by `verify --archive`. */
function proofEntry(dir: string, bytes: Buffer): Descriptor {
  const where = join(dir, 'index.json');
  const entries = parseIndex(bytes, where).value.manifests.filter((m) => m.annotations?.[ARCHIVE_ANNOTATION.rebuild] !== undefined);
  if (entries.length === 0) {
    throw new ReproError('E_BAD_INPUT', `${where}: no entry annotated ${ARCHIVE_ANNOTATION.rebuild}: not a proof kept by 'verify SPEC --archive DIR' (a layout without it is re-checked with 'verify SPEC --against oci:${dir}')`);
  }
  if (entries.length > 1) throw new ReproError('E_BAD_INPUT', `${where}: holds ${entries.length} proofs (${entries.map((e) => e.digest).join(', ')}); keep one proof per directory`);
  return entries[0]!;
}

export async function verifyFromArchive(opts: VerifyFromArchiveOptions): Promise<VerifyFromArchiveResult> {
  const dir = opts.archive;
  const entry = proofEntry(dir, await readInside(dir, 'index.json'));
  const a = entry.annotations!;
  const kind = a[ARCHIVE_ANNOTATION.rebuild];
  if (kind !== 'spec') {
    const how = kind === 'rootfs' ? ['a root filesystem', 'verify --rootfs PATH [build options]']
      : kind === 'containerfile' ? ['a Containerfile', `verify --containerfile FILE${a[ARCHIVE_ANNOTATION.compat] === 'repro-image' ? '' : ' --compat podman'} [options]`]
        : [JSON.stringify(kind), 'verify'];
    throw new ReproError('E_USAGE', `${dir}: this proof was rebuilt from ${how[0]}, whose inputs the archive does not keep; re-check it with '${how[1]} --against oci:${dir}'`);
  }
  const inputs = a[ARCHIVE_ANNOTATION.inputs];
  if (inputs === undefined || !/^sha256:[0-9a-f]{64}$/.test(inputs)) throw new ReproError('E_BAD_INPUT', `${dir}: index.json entry ${entry.digest}: ${ARCHIVE_ANNOTATION.inputs} is ${JSON.stringify(inputs)}, not a digest`);
  const sde = a[ARCHIVE_ANNOTATION.sourceDateEpoch] !== undefined ? parseSourceDateEpoch(a[ARCHIVE_ANNOTATION.sourceDateEpoch]!, `${dir}: ${ARCHIVE_ANNOTATION.sourceDateEpoch}`) : undefined;
  const annotations = a[ARCHIVE_ANNOTATION.annotations] !== undefined ? parseAnnotations(a[ARCHIVE_ANNOTATION.annotations]!, dir) : undefined;

  const inputsRef: ImageRef = { transport: 'oci', path: dir, digest: inputs as Digest };
  const opened = await openLayout(dir, { digest: inputs as Digest });
  const where = `${dir}: inputs archive ${inputs}`;
  // Read through the verifying store: the manifest and every blob must hash to their digests.
  const manifest = parseManifest(await readDocument(opened.store, opened.target), where, opened.target.mediaType).value;
  const { INPUTS_ARTIFACT_TYPE, TITLE, fetchFromArchive } = await import('../pipeline/inputs-archive.js');
  if (manifest.artifactType !== INPUTS_ARTIFACT_TYPE) throw new ReproError('E_BAD_INPUT', `${where}: artifactType ${JSON.stringify(manifest.artifactType)}, not ${INPUTS_ARTIFACT_TYPE}`);
  const [specLayer, lockLayer] = manifest.layers;
  if (!specLayer || !lockLayer) throw new ReproError('E_BAD_INPUT', `${where}: holds no spec and lock`);

  const tmp = await makeScratchDir(opts.tmpDir, 'repro-image-from-archive-');
  try {
    let spec = opts.spec;
    if (spec === undefined) {
      const specName = specLayer.annotations?.[TITLE] ?? 'image.yaml';
      if (!NAME.test(specName) || specName.startsWith('.') || !/\.ya?ml$/.test(specName)) throw new ReproError('E_BAD_INPUT', `${where}: the spec's title ${JSON.stringify(specName)} is not a plain .yaml file name`);
      await mkdir(join(tmp, 'spec'));
      spec = join(tmp, 'spec', specName);
      await writeFile(spec, await readBlob(opened.store, specLayer));
      await writeFile(lockPathFor(spec), await readBlob(opened.store, lockLayer));
    }
    const loaded = loadSpec(spec);
    if (opts.spec === undefined && loaded.spec.files.length > 0) {
      throw new ReproError('E_USAGE', `${dir}: the archived spec copies files from its folder (files:), which the inputs archive does not keep; give the spec: 'verify SPEC --from-archive ${dir}'`);
    }
    // A proof of one platform's image names it (also for a spec of several architectures); a
    // proof that names none, of a spec of several, is about the index, verified again as one.
    const recordedPlatform = a[ARCHIVE_ANNOTATION.platform];
    if (recordedPlatform === undefined && specPlatforms(loaded.spec) === undefined) {
      // Verified as one image, it would answer for one platform of a proof about the whole index.
      throw new ReproError('E_USAGE', `${dir}: the proof is about the index ${entry.digest} (its entry names no platform), but ${opts.spec ?? 'the archived spec'} builds one platform: give the spec of several architectures it was rebuilt from`);
    }
    const lockPath = lockPathFor(loaded.file);
    const { lock, bytes } = readLockFile(lockPath);
    await fetchFromArchive(loaded.spec, lock, bytes, new Cache(opts.cacheDir), { from: inputsRef });
    const platform = specPlatforms(loaded.spec) !== undefined && recordedPlatform !== undefined ? parsePlatform(recordedPlatform) : undefined;
    const r = await verify({
      spec: {
        spec, cacheDir: opts.cacheDir, offline: true, tmpDir: tmp,
        ...(platform ? { platform } : {}),
        ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
        ...(annotations ? { annotations } : {}),
        ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      against: { transport: 'oci', path: dir, digest: entry.digest },
      ...(opts.deepDiff !== undefined ? { deepDiff: opts.deepDiff } : {}),
      ...(opts.maxDifferences !== undefined ? { maxDifferences: opts.maxDifferences } : {}),
    });
    const recorded = a[ARCHIVE_ANNOTATION.manifest];
    if (recorded !== undefined && recorded !== r.published.manifest) {
      throw new ReproError('E_BAD_INPUT', `${dir}: the proof is about manifest ${recorded}, but ${r.inputs.platform} selects ${r.published.manifest} from the archived index`);
    }
    if (opts.spec === undefined) {
      // Paths in the scratch directory mean nothing once it is gone: name the archive instead.
      r.inputs.spec = `oci:${dir}:@${inputs}#${loaded.file.slice(loaded.file.lastIndexOf('/') + 1)}`;
      if (r.inputs.lock) r.inputs.lock.path = `oci:${dir}:@${inputs}#${lockPath.slice(lockPath.lastIndexOf('/') + 1)}`;
    }
    return { ...r, fromArchive: { dir, inputs: inputs as Digest, spec: opts.spec === undefined ? 'archived' : 'given' } };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function parseAnnotations(text: string, dir: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new ReproError('E_BAD_INPUT', `${dir}: ${ARCHIVE_ANNOTATION.annotations} is not a JSON object of strings`);
  }
  return v as Record<string, string>;
}
