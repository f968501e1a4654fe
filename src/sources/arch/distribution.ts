/** Arch Linux as a `Distribution`: its spec source, lock, locked files, install step, platforms and pacman's local database. */
import { ReproError, option } from '../../model/errors.js';
import type { Platform } from '../../model/platform.js';
import type { Distribution, InstalledPackage, LockedFile } from '../distribution.js';
import { descValue, parseDesc } from './desc.js';
import { archLock, type ArchLock } from './lockfile.js';
import { archBases, fileUrls } from './mirrors.js';
import { archSource, type ArchSource, type ArchSpec } from './schema.js';
import { archLockRecords } from './records.js';
import { ARCH_TREE } from '../trees.js';

/** pacman's architecture names (Arch Linux and its ports) → OCI platforms. */
const PLATFORMS: Record<string, Platform> = {
  x86_64: { os: 'linux', architecture: 'amd64' },
  aarch64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  armv7h: { os: 'linux', architecture: 'arm', variant: 'v7' },
  i686: { os: 'linux', architecture: '386' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

const PACMAN_DESC = /^var\/lib\/pacman\/local\/[^/]+\/desc$/;

/** The packages pacman's local database (each `var/lib/pacman/local/NAME-VERSION/desc`) records. */
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

/** The files an Arch lock pins (packages and their .sig files) and the URLs they can come from. */
export function archLockedFiles(source: ArchSource, lock: ArchLock): LockedFile[] {
  const bases = archBases(source);
  const arch = lock.source.architecture;
  return lock.packages.flatMap((p) => {
    const pkg: LockedFile = { key: p.name, filename: p.filename, size: p.size, sha256: p.sha256, urls: () => fileUrls(bases, p.repository, arch, p.filename) };
    const s = p.signature;
    return s.in === 'file'
      ? [pkg, { key: `${p.name}.sig`, filename: s.filename, size: s.size, sha256: s.sha256, urls: () => fileUrls(bases, p.repository, arch, s.filename) }]
      : [pkg];
  });
}

export const arch = {
  distro: 'arch',
  title: 'Arch Linux',
  rebuilderd: 'archlinux',
  epochFrom: () => 'snapshot-date',
  sourceSchema: archSource,
  checkSpec: () => { /* the schema says everything */ },
  decisive(spec) {
    const src = spec.source;
    return {
      source: { distro: src.distro, snapshot: src.snapshot, repositories: src.repositories, architecture: src.architecture, ...(src.keyring === undefined ? {} : { keyring: src.keyring }) },
      packages: spec.packages,
    };
  },
  lockSchema: archLock,
  async lock(spec, ctx) {
    if (ctx.snapshot !== undefined) throw new ReproError('E_USAGE', `${option('snapshot')}: an Arch Linux spec names its snapshot in source.snapshot`);
    return (await import('./lock.js')).lockArch(spec as ArchSpec, { ...ctx, verifySignatures: ctx.noVerifySignatures !== true });
  },
  describeLock: (lock) => `${lock.packages.length} packages from the ${lock.source.snapshot} snapshot (${lock.source.repositories.map((r) => r.name).join(', ')})${lock.source.signatures === 'verified' ? '' : ', signatures not checked'}`,
  lockedFiles: (spec, lock) => archLockedFiles(spec.source, lock),
  install: async (lock, files, tmp, sde) => (await import('./tree.js')).archTree(lock, files, tmp, sde),
  platform: (architecture) => PLATFORMS[architecture],
  architecture: (source) => source.architecture,
  lockedPackages: (lock) => lock.packages.map((p) => ({ distribution: 'archlinux', name: p.name, version: p.version })),
  isDatabaseFile: (path) => PACMAN_DESC.test(path),
  isDatabaseDir: (path) => /^var(\/lib(\/pacman(\/local(\/[^/]+)?)?)?)?$/.test(path),
  installedPackages: pacmanPackages,
  isRecordFile: ARCH_TREE.isRecordFile,
  packageRecords: ARCH_TREE.packageRecords,
  lockRecords: archLockRecords,
  isGeneratorInput: ARCH_TREE.isGeneratorInput,
  generated: ARCH_TREE.generated,
} satisfies Distribution<ArchSource, ArchLock>;
