/**
 * What a distribution is to the rest of the house: one interface that `sources/debian/` and
 * `sources/arch/` implement, and that the spec, the lock file, the build pipeline and `status`
 * use without knowing which distribution they hold. A third distribution is one more folder that
 * implements it and one more line in `sources/index.ts`.
 */
import { z } from 'zod';
import { baseLock } from './base-lock.js';
import type { Entry } from '../archive/entry.js';
import type { Cache } from '../fetch/cache.js';
import type { Platform } from '../model/platform.js';

/** A package as an image's database or a lock records it, in the words rebuilders use. */
export interface InstalledPackage {
  /** rebuilderd's name of the distribution (`debian`, `archlinux`). */
  distribution: string;
  name: string;
  version: string;
  /** The source package, which rebuilders may list instead of the binary (Debian). */
  source?: { name: string; version: string };
  /**
   * What its database says of it that the distribution's own tools would not have written (a name
   * or version dpkg or makepkg refuses), one line each naming the file and field, its values as
   * written: whoever shows one escapes it (`escapeName`). The package is kept as written; `audit`,
   * `sbom` and `status` show these (see docs/robustness.md).
   */
  warnings?: string[];
}

/**
 * A path as a package database records it: what `audit` checks an image's entry against. Fields
 * are present where the database says them (dpkg: md5 of regular files, conffiles; pacman's mtree:
 * type, mode, owner, size, sha256, link target).
 */
export interface RecordedFile {
  /** As recorded, cleaned (no leading `/`); the audit resolves it through the image's symlinked directories. */
  path: string;
  type?: 'file' | 'dir' | 'symlink';
  md5?: string;
  sha256?: string;
  size?: number;
  /** Permission bits (07777). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Symlink target. */
  link?: string;
  /** A configuration file the administrator may change (dpkg conffile, pacman backup file). */
  conffile?: boolean;
}

/** A package with what an SBOM and an audit need to know of it. */
export interface PackageRecord extends InstalledPackage {
  architecture?: string;
  /** Package URL (purl-spec): `pkg:deb/debian/NAME@VERSION?arch=…`, `pkg:alpm/arch/NAME@VERSION?arch=…`. */
  purl: string;
  /** An SPDX license expression; absent when the distribution records none that can be read. */
  license?: string;
  /** The `LicenseRef-…` identifiers `license` uses, with the name the distribution records. */
  licenseRefs?: Array<{ id: string; name: string }>;
  /**
   * Why `license` is absent though the package records licenses: past the limits of what is read
   * as machine-readable (`MAX_LICENSES`, `MAX_LICENSE_LINE` in licenses.ts), naming the file.
   */
  licenseNote?: string;
  /** Packages of the same set this one depends on (names, sorted). */
  dependsOn: string[];
  /** Who provides the package (the distribution). */
  supplier: string;
  homepage?: string;
  description?: string;
  /** The package file, where known (a lock pins it). */
  file?: { name: string; size: number; sha256: string };
  /** The paths it installed (empty for a lock). */
  files: RecordedFile[];
}

/** What a reader of package records asks for. */
export interface RecordOptions {
  /**
   * The paths each package installed (`PackageRecord.files`; default true). Without them (an SBOM
   * lists packages, not their files) the file lists (dpkg's `.list` and `.md5sums`, pacman's
   * `files` and `mtree`) are neither selected by `isRecordFile` nor read: a file list of millions
   * of lines cost an SBOM gigabytes of records it never used.
   */
  files?: boolean;
  /**
   * The packages' licenses (default true). Without them (an audit's report has none) Debian's
   * copyright files are neither selected by `isRecordFile` nor read, and pacman's %LICENSE%
   * values are skipped as its desc is read.
   */
  licenses?: boolean;
  /**
   * The packages each depends on (`PackageRecord.dependsOn`; default true). Without them (an audit's
   * report has none) `dependsOn` is empty and dependencies and provisions are neither resolved nor
   * read: dpkg's status is read once instead of three times, a pacman desc once instead of up to three.
   */
  dependencies?: boolean;
}

/** An entry a distribution's install step makes that no package ships, as predicted from the tree. */
export interface GeneratedEntry {
  path: string;
  /** The named step that makes it (`effect base-passwd`, `dpkg-database`…). */
  step: string;
  type: 'file' | 'dir' | 'symlink';
  /** Expected content (files), when the step's output can be computed from the tree: both digests. */
  sha256?: string;
  md5?: string;
  /** Expected target (symlinks). */
  link?: string;
}

/** What `generated` gets: the tree as the packages alone left it, their records, and file content. */
export interface TreeView {
  /** Entries owned by packages (and their parent directories); content is read with `read`. */
  entries: ReadonlyMap<string, Entry>;
  /** Every entry of the image, owned or not: its type (nothing else is needed, nor kept). */
  all: ReadonlyMap<string, { readonly type: Entry['type'] }>;
  packages: readonly PackageRecord[];
  /** Content of a regular file kept for this purpose (see `isGeneratorInput`), else undefined. */
  read(path: string): Buffer | undefined;
}

/** A file a lock pins (a package, a signature) and the URLs it can come from. */
export interface LockedFile {
  /** Name of the file among the lock's inputs (a package's name; NAME.sig for its signature). */
  key: string;
  filename: string;
  size: number;
  sha256: string;
  /** Looked up only when the file must be downloaded (mirror discovery can read host files). */
  urls: () => string[];
}

/** What a distribution's install step hands to the shared build steps. */
export interface InstalledTree {
  entries: Map<string, Entry>;
  /** What the install steps did (database written, script effects…), for the build report. */
  reports: Array<{ name: string; changed: number; examples: string[]; paths?: string[] }>;
  /** Where a path named in the spec's `files:` lands in this tree. */
  destPath: (path: string, where: string) => string;
  cleanup: () => Promise<void>;
}

/** The fields every lock file starts with. */
export const lockHeader = {
  lockVersion: z.literal(1),
  /** sha256 of the spec fields that decided the lock (see `Distribution.decisive`). */
  specDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** The spec's base image, pinned (see src/pipeline/base.ts). */
  base: baseLock.optional(),
};

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** The spec as a distribution sees it: its own source, the package list, and the top-level fields it adds. */
export interface SpecView<Source> {
  source: Source;
  packages: string[];
  [field: string]: unknown;
}

/** What every lock has, whatever the distribution. */
export interface LockBase {
  lockVersion: 1;
  specDigest: string;
  source: { distro: string; sourceDateEpoch: number };
  packages: unknown[];
}

export interface LockContext {
  /** The spec's folder: relative paths in the spec (keyrings) start there. */
  specDir: string;
  cache: Cache;
  /** Written into the lock: which spec inputs it was made for. */
  specDigest: string;
  /** Debian: where the host's apt sources are read when the spec names no mirror (default /etc/apt). */
  aptDir?: string;
  /** Pin packages without checking their signatures (never the default; not every distribution allows it). */
  noVerifySignatures?: boolean;
  /** Lock at this snapshot of the archive (`latest` or a timestamp) instead of the spec's; not every distribution has one. */
  snapshot?: string;
  log?: (line: string) => void;
}

export interface Distribution<Source extends { distro: string } = { distro: string }, Lock extends LockBase = LockBase> {
  /** The spec's `source.distro`. */
  readonly distro: string;
  /** For messages: `Debian`, `Arch Linux`. */
  readonly title: string;
  /** rebuilderd's name of it. */
  readonly rebuilderd: string;
  /** Where a lock's SOURCE_DATE_EPOCH comes from, for the build record. */
  epochFrom(lock: Lock): 'release-date' | 'snapshot-date';
  /** The spec's `source:` for this distribution (a strict object with `distro` as literal). */
  readonly sourceSchema: z.ZodType<Source>;
  /**
   * Checks the spec beyond the schema; called for every spec, so that fields this distribution
   * adds at the top level are refused in other distributions' specs.
   */
  checkSpec(spec: SpecView<{ distro: string }>, issue: (path: Array<string | number>, message: string) => void): void;
  /** The spec fields that decide what a lock contains (their digest is the lock's specDigest). */
  decisive(spec: SpecView<Source>): unknown;
  readonly lockSchema: z.ZodType<Lock>;
  lock(spec: SpecView<Source>, ctx: LockContext): Promise<Lock>;
  /** One line saying what a lock holds. */
  describeLock(lock: Lock): string;
  /** Every file the lock pins, with where it can be downloaded from. */
  lockedFiles(spec: SpecView<Source>, lock: Lock, ctx: { aptDir?: string }): LockedFile[];
  /** Installs the locked packages (verified files by key) into a tree, without running anything. */
  install(lock: Lock, files: ReadonlyMap<string, string>, tmp: string, sourceDateEpoch: number): Promise<InstalledTree>;
  /**
   * On a base image (docs/base-images.md): the base's files of the package database that our tree
   * replaces, and how the base's records are kept in ours (the packages we install win). Paths
   * are those `mergeBaseDatabase` reads; absent: our database files replace the base's.
   */
  readonly baseDatabaseFiles?: readonly string[];
  mergeBaseDatabase?(entries: Map<string, Entry>, base: ReadonlyMap<string, Buffer>): string[];
  /** The OCI platform of an architecture name of this distribution, if known. */
  platform(architecture: string): Platform | undefined;
  /** The architecture a spec's source names. */
  architecture(source: Source): string;
  /** The architectures a spec's source names when it builds one image per architecture (an OCI index). */
  architectures?(source: Source): string[] | undefined;
  /**
   * A lock of several architectures as one lock per architecture, each as a lock of that
   * architecture alone would be (undefined for a lock of one architecture).
   */
  split?(lock: Lock): Array<{ architecture: string; lock: Lock }> | undefined;
  /** The packages a lock pins. */
  lockedPackages(lock: Lock): InstalledPackage[];
  /** Whether a path of an installed tree belongs to this distribution's package database. */
  isDatabaseFile(path: string): boolean;
  /** Whether a path is a directory that holds (or leads to) the package database. */
  isDatabaseDir(path: string): boolean;
  /** The packages an installed tree's database files (path → bytes) record. */
  installedPackages(files: ReadonlyMap<string, Buffer>): InstalledPackage[];
  /** Whether `packageRecords` reads a path (database, file lists, digests, license files, os-release). */
  isRecordFile(path: string, opts?: RecordOptions): boolean;
  /** Packages with their files, licenses and dependencies, from the files `isRecordFile` selects. */
  packageRecords(files: ReadonlyMap<string, Buffer>, opts?: RecordOptions): PackageRecord[];
  /** The packages a lock pins, with their package files (no file lists). */
  lockRecords(lock: Lock): PackageRecord[];
  /** Whether `generated` reads a path's content (the inputs of the install step's script effects). */
  isGeneratorInput(path: string): boolean;
  /**
   * What this distribution's install step adds to a tree that no package ships (its database, the
   * effects of maintainer scripts it reproduces), computed from the packages' part of the tree.
   */
  generated(view: TreeView): GeneratedEntry[];
}
