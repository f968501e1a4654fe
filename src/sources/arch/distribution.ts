/** Arch Linux as a `Distribution`: its spec source, lock, locked files, install step, platforms and pacman's local database. */
import { ReproError, option } from '../../model/errors.js';
import type { Platform } from '../../model/platform.js';
import type { Distribution, InstalledPackage, LockedFile } from '../distribution.js';
import { localEntries } from './local-entries.js';
import { archLock, packageKey, type ArchLock } from './lockfile.js';
import { archBases, fileUrls } from './mirrors.js';
import { archSource, checkArchSpec, type ArchSource, type ArchSpec } from './schema.js';
import { archGenerated, archLockRecords, archRecords } from './records.js';
import { ARCH_TREE } from '../trees.js';

/** pacman's architecture names (Arch Linux and its ports) → OCI platforms. */
const PLATFORMS: Record<string, Platform> = {
  x86_64: { os: 'linux', architecture: 'amd64' },
  aarch64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  armv7h: { os: 'linux', architecture: 'arm', variant: 'v7' },
  i686: { os: 'linux', architecture: '386' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

/** The packages pacman's local database (each `var/lib/pacman/local/NAME-VERSION/desc`) records, read as audit and sbom read them. */
export function pacmanPackages(files: ReadonlyMap<string, Buffer>): InstalledPackage[] {
  return localEntries(files).map((e) => ({ distribution: 'archlinux', name: e.name, version: e.version, ...(e.warnings.length > 0 ? { warnings: e.warnings } : {}) }));
}

/**
 * The files an Arch lock pins (packages and their .sig files) and the URLs they can come from. In a
 * lock of several architectures a file comes from the mirrors of every architecture it is for.
 */
export function archLockedFiles(source: ArchSource, lock: ArchLock): LockedFile[] {
  const one = lock.source.architecture ?? source.architecture;
  const bases = new Map<string, string[]>();
  const basesOf = (a: string): string[] => {
    let b = bases.get(a);
    if (!b) bases.set(a, (b = archBases(source, a)));
    return b;
  };
  const urls = (p: ArchLock['packages'][number], filename: string) => (): string[] =>
    (p.for ?? [one]).flatMap((a) => fileUrls(basesOf(a), p.repository, a, filename));
  return lock.packages.flatMap((p) => {
    const key = packageKey(p);
    const pkg: LockedFile = { key, filename: p.filename, size: p.size, sha256: p.sha256, urls: urls(p, p.filename) };
    const s = p.signature;
    return s.in === 'file'
      ? [pkg, { key: `${key}.sig`, filename: s.filename, size: s.size, sha256: s.sha256, urls: urls(p, s.filename) }]
      : [pkg];
  });
}

export const arch = {
  distro: 'arch',
  title: 'Arch Linux',
  rebuilderd: 'archlinux',
  epochFrom: () => 'snapshot-date',
  sourceSchema: archSource,
  checkSpec: checkArchSpec,
  decisive(spec) {
    const src = spec.source;
    return {
      source: {
        distro: src.distro, snapshot: src.snapshot, repositories: src.repositories,
        ...(src.architectures === undefined ? { architecture: src.architecture } : { architectures: src.architectures }),
        ...(src.keyring === undefined ? {} : { keyring: src.keyring }),
      },
      packages: spec.packages,
    };
  },
  lockSchema: archLock,
  async lock(spec, ctx) {
    if (ctx.snapshot !== undefined) throw new ReproError('E_USAGE', `${option('snapshot')}: an Arch Linux spec names its snapshot in source.snapshot`);
    return (await import('./lock.js')).lockArch(spec as ArchSpec, { ...ctx, verifySignatures: ctx.noVerifySignatures !== true });
  },
  describeLock: (lock) => {
    const s = lock.source;
    const repos = (s.repositories ?? lock.architectures?.[0]?.repositories ?? []).map((r) => r.name).join(', ');
    const per = lock.architectures === undefined ? '' : ` (${lock.architectures.map((a) => `${a.architecture}: ${a.packages.length}`).join(', ')})`;
    return `${lock.packages.length} packages${per} from the ${s.snapshot} snapshot (${repos})${s.signatures === 'verified' ? '' : ', signatures not checked'}`;
  },
  lockedFiles: (spec, lock) => archLockedFiles(spec.source, lock),
  install: async (lock, files, tmp, sde) => (await import('./tree.js')).archTree(lock, files, tmp, sde),
  platform: (architecture) => PLATFORMS[architecture],
  architecture: (source) => source.architectures?.[0] ?? source.architecture,
  architectures: (source) => source.architectures,
  split(lock) {
    if (lock.architectures === undefined) return undefined;
    const { architectures: _a, ...source } = lock.source;
    return lock.architectures.map((a) => {
      const named = new Map(lock.packages.filter((p) => p.for?.includes(a.architecture)).map(({ for: _f, ...p }) => [p.name, p]));
      return {
        architecture: a.architecture,
        lock: {
          lockVersion: lock.lockVersion, specDigest: lock.specDigest,
          source: { ...source, architecture: a.architecture, repositories: a.repositories },
          packages: a.packages.map((n) => named.get(n)!),
        },
      };
    });
  },
  lockedPackages: (lock) => lock.packages.map((p) => ({ distribution: 'archlinux', name: p.name, version: p.version })),
  isDatabaseFile: ARCH_TREE.isDatabaseFile,
  isDatabaseDir: (path) => /^var(\/lib(\/pacman(\/local(\/[^/]+)?)?)?)?$/.test(path),
  installedPackages: pacmanPackages,
  isRecordFile: ARCH_TREE.isRecordFile,
  packageRecords: archRecords,
  lockRecords: archLockRecords,
  isGeneratorInput: ARCH_TREE.isGeneratorInput,
  generated: archGenerated,
} satisfies Distribution<ArchSource, ArchLock>;
