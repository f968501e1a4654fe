/**
 * `build SPEC --provenance` (or `build --rootfs ARCHIVE --provenance`): an in-toto Statement v1 with an SLSA Provenance v1 predicate
 * (https://slsa.dev/provenance/v1) for the image a spec build made: the build type (ours, see
 * docs/provenance.md), the spec and lock digests, SOURCE_DATE_EPOCH and the output options as
 * external parameters, every locked file (package, signature) with its SHA-256 as a resolved
 * dependency, the builder's id and version. It has no wall-clock time (no runDetails.metadata),
 * no path and no host: the same spec, lock, epoch and tool version give the same bytes. It travels
 * beside the image as an OCI 1.1 referrer, as the SBOM does (see attach.ts), and/or as a file.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { confinedPath } from '../fs/confine.js';
import type { Attachment } from '../image/referrer.js';
import { ReproError, ioError, option } from '../model/errors.js';
import { formatPlatform, type Platform } from '../model/platform.js';
import type { BuiltImage } from '../pipeline/tree-steps.js';
import { lockedFiles } from '../pipeline/spec.js';
import { distributionFor } from '../sources/index.js';
import { loadSpec } from '../spec/load.js';
import { checkLockMatches, lockPathFor, readLockFile } from '../spec/lockfile.js';
import { rfc3339 } from './document.js';
import { INTOTO_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION, STATEMENT_TYPE, checkUri, digestSet, encodeStatement, sha256Hex, type ResourceDescriptor, type Statement } from './intoto.js';

export const PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';
/** Our build type: a spec and its lock built by repro-image (its parameters: docs/provenance.md). */
export const SPEC_BUILD_TYPE = 'urn:repro-image:build-type:spec:v1';
/** Our build type: a root filesystem archive built by repro-image (docs/provenance.md). */
export const ROOTFS_BUILD_TYPE = 'urn:repro-image:build-type:rootfs:v1';
/** The builder id when none is given: a local run of the tool, vouched for by nobody in particular. */
export const DEFAULT_BUILDER_ID = 'urn:repro-image:builder:local';

export interface ToolVersion {
  name: string;
  version: string;
}

interface CommonProvenanceOptions {
  /** runDetails.builder.id (a URI naming who ran the build; default urn:repro-image:builder:local). */
  builderId?: string;
  /** The tool's name and version (runDetails.builder.version); the library entry fills it in. */
  tool: ToolVersion;
}

/** A spec build: the spec (its lock is SPEC.lock.json beside it). */
export interface SpecProvenanceOptions extends CommonProvenanceOptions {
  spec: string;
  rootfs?: undefined;
}

/**
 * A root-filesystem build from an archive (a directory has no digest of its own), with the options
 * it was built with that the image does not show (what was excluded, which passes ran, xattrs).
 */
export interface RootfsProvenanceOptions extends CommonProvenanceOptions {
  rootfs: string;
  spec?: undefined;
  build: { exclude?: string[]; normalize?: string[]; xattrs?: boolean; keepXattrs?: string[] };
}

export type ProvenanceOptions = SpecProvenanceOptions | RootfsProvenanceOptions;

/** What the provenance says of the image built. */
export interface ProvenanceSubject {
  manifest: { digest: string; annotations?: Record<string, string> | undefined; layers?: ReadonlyArray<{ mediaType: string }> };
  /** The image config's runtime part (Entrypoint, Env, …): a rootfs build's options. */
  containerConfig?: Record<string, unknown> | undefined;
  platform: Platform;
  sourceDateEpoch: number;
}

export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version: Record<string, string> };
  };
}

const TITLE = 'org.opencontainers.image.title';

/** Reads the spec and its lock once (refusing a stale lock before a long build), and returns the statement maker. */
export function provenanceMaker(opts: ProvenanceOptions): (image: ProvenanceSubject) => Statement<SlsaProvenance> {
  // runDetails.builder.id is a TypeURI: checked before anything is read.
  if (opts.builderId !== undefined) checkUri(opts.builderId, option('builderId'));
  if (opts.rootfs !== undefined) return rootfsProvenanceMaker(opts);
  const loaded = loadSpec(opts.spec);
  const { spec } = loaded;
  const lockPath = lockPathFor(loaded.file);
  const { lock, bytes: lockBytes } = readLockFile(lockPath);
  checkLockMatches(lock, spec, lockPath, opts.spec);
  const read = (p: string): Buffer => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw ioError(e, `cannot read ${p}`);
    }
  };
  const specBytes = loaded.bytes;
  const distribution = distributionFor(spec.source.distro);
  // A locked package file is its record's by content (a lock of several architectures keys its
  // files NAME_ARCH or ARCH/NAME, not by the package name); a signature, by the file it signs.
  const purls = new Map(distribution.lockRecords(lock).flatMap((r) => (r.file ? [[r.file.sha256, r.purl] as const] : [])));
  const files = lockedFiles(spec, lock);
  const byKey = new Map(files.map((f) => [f.key, f]));
  const dependencies: ResourceDescriptor[] = files
    .map((f): ResourceDescriptor => {
      const pkg = f.key.endsWith('.sig') ? undefined : purls.get(f.sha256);
      const signed = f.key.endsWith('.sig') ? byKey.get(f.key.slice(0, -4)) : undefined;
      const sig = signed ? purls.get(signed.sha256) : undefined;
      const uri = pkg ?? (sig ? `${sig}#${encodeURIComponent(basename(f.filename))}` : undefined);
      return { ...(uri ? { uri } : {}), name: f.filename, digest: { sha256: f.sha256 } };
    })
    .sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
  dependencies.push(...specFiles(loaded.spec.files, loaded.dir, loaded.file, read));
  const builderId = opts.builderId ?? DEFAULT_BUILDER_ID;
  return (image) => ({
    _type: STATEMENT_TYPE,
    subject: [{ name: image.manifest.annotations?.[TITLE] ?? spec.name, digest: digestSet(image.manifest.digest) }],
    predicateType: PROVENANCE_PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: SPEC_BUILD_TYPE,
        externalParameters: {
          spec: { name: basename(loaded.file), digest: { sha256: sha256Hex(specBytes) } },
          lock: { name: basename(lockPath), digest: { sha256: sha256Hex(lockBytes) } },
          sourceDateEpoch: image.sourceDateEpoch,
          output: {
            platform: formatPlatform(image.platform),
            compression: spec.compression,
            normalize: spec.normalize,
            ...(image.manifest.annotations ? { annotations: image.manifest.annotations } : {}),
          },
        },
        resolvedDependencies: dependencies,
      },
      runDetails: {
        builder: { id: builderId, version: { [opts.tool.name]: opts.tool.version } },
      },
    },
  });
}

/** The SHA-256 of a file, read in 1 MiB pieces (a root filesystem archive can be large). */
function fileSha256(path: string, what: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (!fstatSync(fd).isFile()) throw new ReproError('E_UNSUPPORTED', `${what} ${path} is a directory, which has no digest of its own; build from an archive of it (tar, tar.gz, tar.xz, tar.zst) for provenance`);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } catch (e) {
    if (e instanceof ReproError) throw e;
    throw ioError(e, `cannot read ${path}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return hash.digest('hex');
}

const COMPRESSION_OF: Record<string, string> = {
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.v1.tar': 'none',
};

function rootfsProvenanceMaker(opts: RootfsProvenanceOptions): (image: ProvenanceSubject) => Statement<SlsaProvenance> {
  const digest = fileSha256(opts.rootfs, 'rootfs');
  const name = basename(opts.rootfs);
  const b = opts.build;
  return (image) => ({
    _type: STATEMENT_TYPE,
    subject: [{ name: image.manifest.annotations?.[TITLE] ?? name, digest: digestSet(image.manifest.digest) }],
    predicateType: PROVENANCE_PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: ROOTFS_BUILD_TYPE,
        externalParameters: {
          rootfs: { name, digest: { sha256: digest } },
          sourceDateEpoch: image.sourceDateEpoch,
          output: {
            platform: formatPlatform(image.platform),
            compression: COMPRESSION_OF[image.manifest.layers?.[0]?.mediaType ?? ''] ?? image.manifest.layers?.[0]?.mediaType ?? 'gzip',
            normalize: b.normalize ?? 'all',
            exclude: b.exclude ?? [],
            xattrs: b.xattrs === false ? false : (b.keepXattrs ?? ['security.capability', 'user.*']),
            ...(image.containerConfig ? { config: image.containerConfig } : {}),
            ...(image.manifest.annotations ? { annotations: image.manifest.annotations } : {}),
          },
        },
        resolvedDependencies: [{ name, digest: { sha256: digest } }],
      },
      runDetails: { builder: { id: opts.builderId ?? DEFAULT_BUILDER_ID, version: { [opts.tool.name]: opts.tool.version } } },
    },
  });
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The regular files the spec's `files:` copy in, each as `files:DEST` (a directory's as
 * `files:DEST/REL`, walked in byte order) with its SHA-256, in the spec's order. A `src` is looked
 * up as the build looks it up (confinedPath: a symlink inside the spec folder is followed, one out
 * of it refused); below a directory, symlinks and empty directories have no bytes to digest and
 * the spec (whose digest is recorded) names them.
 */
function specFiles(files: ReadonlyArray<{ src: string; dest: string }>, dir: string, specFile: string, read: (p: string) => Buffer): ResourceDescriptor[] {
  const out: ResourceDescriptor[] = [];
  const visit = (path: string, name: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      throw ioError(e, `cannot read ${path}`);
    }
    if (st.isFile()) out.push({ name, digest: { sha256: sha256Hex(read(path)) } });
    else if (st.isDirectory()) for (const n of readdirSync(path).sort(byteOrder)) visit(join(path, n), `${name}/${n}`);
  };
  for (const [i, f] of files.entries()) visit(confinedPath(dir, f.src, `${specFile}: files[${i}].src`, 'the spec folder'), `files:${f.dest.replace(/\/+$/, '') || '/'}`);
  return out;
}

/** The provenance of a spec build as an OCI 1.1 referrer of the image (see sbom/attach.ts). */
export function provenanceAttachment(opts: ProvenanceOptions & { onStatement?: (bytes: Buffer) => void; attach?: boolean }): (image: BuiltImage) => Attachment | undefined {
  const make = provenanceMaker(opts);
  return (image) => {
    const m = image.manifest.value;
    const bytes = encodeStatement(make({
      manifest: { digest: image.manifest.digest, annotations: m.annotations, layers: m.layers },
      containerConfig: image.config.value.config as Record<string, unknown> | undefined,
      platform: image.platform, sourceDateEpoch: image.sourceDateEpoch,
    }));
    opts.onStatement?.(bytes);
    if (opts.attach === false) return undefined;
    return {
      artifactType: INTOTO_MEDIA_TYPE,
      mediaType: INTOTO_MEDIA_TYPE,
      data: bytes,
      annotations: { 'org.opencontainers.image.created': rfc3339(image.sourceDateEpoch), [PREDICATE_TYPE_ANNOTATION]: PROVENANCE_PREDICATE_TYPE },
    };
  };
}
