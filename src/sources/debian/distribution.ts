/** Debian as a `Distribution`: its spec source, lock, locked files, install step, platforms and dpkg database. */
import { ReproError, option } from '../../model/errors.js';
import type { Platform } from '../../model/platform.js';
import type { Distribution, InstalledPackage, LockedFile } from '../distribution.js';
import { field } from './control.js';
import { debianLock, packageKey, type DebianLock } from './lockfile.js';
import { suiteRoots } from './mirrors.js';
import { checkDebianSpec, debianSource, type DebianSource, type DebianSpec } from './schema.js';
import { debianPackageWarnings } from './names.js';
import { debianLockRecords, debianRecords, eachInstalledParagraph } from './records.js';
import { debianGenerated } from './generated.js';
import { DPKG_STATUS } from './tree-files.js';
import { DEBIAN_TREE } from '../trees.js';
import { mergeStatus } from './dpkg-db.js';
import { readEntryBytes } from '../../archive/content.js';

const DPKG_DIVERSIONS = 'var/lib/dpkg/diversions';

/** Debian architecture names → OCI platforms. */
const PLATFORMS: Record<string, Platform> = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  armhf: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armel: { os: 'linux', architecture: 'arm', variant: 'v5' },
  i386: { os: 'linux', architecture: '386' },
  ppc64el: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  mips64el: { os: 'linux', architecture: 'mips64le' },
};

export { DPKG_STATUS };

/** The packages dpkg's status file records as installed, each with its source package. */
/** What `dpkgPackages` reads of a status paragraph (lower case). */
const STATUS_FIELDS: ReadonlySet<string> = new Set(['package', 'status', 'version', 'architecture', 'source']);

export function dpkgPackages(status: Buffer, where: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  // Read as audit and sbom read it: a paragraph dpkg could not read is refused, not skipped (a
  // package left out would be one `status` never asks about).
  eachInstalledParagraph(status.toString('utf8'), where, STATUS_FIELDS, (p) => {
    const name = field(p, 'Package')!;
    const version = field(p, 'Version')!;
    // Source: NAME or NAME (VERSION); without one, the source is the binary of the same version.
    const m = /^(\S+)(?:\s+\((.+)\))?$/.exec(field(p, 'Source') ?? name);
    const warnings = debianPackageWarnings(name, version, `${where}:${p.line}`);
    out.push({ distribution: 'debian', name, version, source: { name: m?.[1] ?? name, version: m?.[2] ?? version }, ...(warnings.length > 0 ? { warnings } : {}) });
  });
  return out;
}

export const debian = {
  distro: 'debian',
  title: 'Debian',
  rebuilderd: 'debian',
  epochFrom: (lock) => (lock.source.snapshot === undefined ? 'release-date' : 'snapshot-date'),
  sourceSchema: debianSource,
  checkSpec: checkDebianSpec,
  decisive(spec) {
    const src = spec.source;
    const s = spec as DebianSpec;
    return {
      source: {
        distro: src.distro, suite: src.suite, components: src.components,
        ...(src.architectures === undefined ? { architecture: src.architecture } : { architectures: src.architectures }),
        ...(src.keyring === undefined ? {} : { keyring: src.keyring }),
        ...(src.extraSuites === undefined ? {} : { extraSuites: src.extraSuites }),
        ...(src.snapshot === undefined ? {} : { snapshot: src.snapshot }),
      },
      packages: s.packages,
      essential: s.essential,
      ...(s.priority === undefined ? {} : { priority: s.priority }),
    };
  },
  lockSchema: debianLock,
  async lock(spec, ctx) {
    if (ctx.noVerifySignatures) throw new ReproError('E_USAGE', `${option('noVerifySignatures')}: a Debian suite is always checked through its signed InRelease`);
    return (await import('./lock.js')).lockDebian(spec as DebianSpec, ctx);
  },
  describeLock: (lock) => {
    const s = lock.source;
    const suites = [s.suite, ...(s.extraSuites ?? []).map((x) => x.suite)].join(', ');
    const per = lock.architectures === undefined ? '' : ` (${lock.architectures.map((a) => `${a.architecture}: ${a.packages.length}`).join(', ')})`;
    return `${lock.packages.length} packages${per} from ${suites} (${s.snapshot === undefined ? s.date : `snapshot ${s.snapshot}`})`;
  },
  lockedFiles(spec, lock, ctx) {
    const roots = new Map<string, string[]>();
    const rootsOf = (suite: string): string[] => {
      let r = roots.get(suite);
      if (!r) roots.set(suite, (r = suiteRoots(spec.source, suite, lock.source.snapshot, ctx.aptDir)));
      return r;
    };
    return lock.packages.map((p): LockedFile => ({
      key: lock.architectures === undefined ? p.name : packageKey(p), filename: p.filename, size: p.size, sha256: p.sha256,
      urls: () => rootsOf(p.suite ?? lock.source.suite).map((m) => `${m}/${p.filename}`),
    }));
  },
  install: async (lock, files, tmp, sde) => (await import('./tree.js')).debianTree(lock, files, tmp, sde),
  platform: (architecture) => PLATFORMS[architecture],
  architecture: (source) => source.architectures?.[0] ?? source.architecture,
  architectures: (source) => source.architectures,
  split(lock) {
    if (lock.architectures === undefined) return undefined;
    const byKey = new Map(lock.packages.map((p) => [packageKey(p), p]));
    const { architectures: _a, ...source } = lock.source;
    return lock.architectures.map((a) => ({
      architecture: a.architecture,
      lock: {
        lockVersion: lock.lockVersion, specDigest: lock.specDigest,
        source: {
          ...source, architecture: a.architecture,
          indexes: lock.source.indexes.filter((x) => x.path.includes(`/binary-${a.architecture}/`)),
          ...(source.extraSuites === undefined ? {} : { extraSuites: source.extraSuites.map((x) => ({ ...x, indexes: x.indexes.filter((i) => i.path.includes(`/binary-${a.architecture}/`)) })) }),
        },
        packages: a.packages.map((k) => byKey.get(k)!),
      },
    }));
  },
  lockedPackages: (lock) => lock.packages.map((p) => ({ distribution: 'debian', name: p.name, version: p.version, source: { name: p.source, version: p.sourceVersion } })),
  isDatabaseFile: DEBIAN_TREE.isDatabaseFile,
  baseDatabaseFiles: [DPKG_STATUS, DPKG_DIVERSIONS],
  mergeBaseDatabase(entries, base) {
    const merged: string[] = [];
    const ours = entries.get(DPKG_STATUS);
    const theirs = base.get(DPKG_STATUS);
    if (ours && theirs && ours.type === 'file') {
      const data = Buffer.from(mergeStatus(theirs.toString('utf8'), readEntryBytes(ours).toString('utf8')));
      entries.set(DPKG_STATUS, { ...ours, size: data.length, content: { kind: 'bytes', data } });
      merged.push(DPKG_STATUS);
    }
    // We install no diversions: the base's stay as they are (our empty file would hide them).
    const div = entries.get(DPKG_DIVERSIONS);
    if (div && div.type === 'file' && div.size === 0 && (base.get(DPKG_DIVERSIONS)?.length ?? 0) > 0) {
      entries.delete(DPKG_DIVERSIONS);
      merged.push(DPKG_DIVERSIONS);
    }
    return merged;
  },
  isDatabaseDir: (path) => /^var(\/lib(\/dpkg)?)?$/.test(path),
  installedPackages(files) {
    const status = files.get(DPKG_STATUS);
    return status ? dpkgPackages(status, DPKG_STATUS) : [];
  },
  isRecordFile: DEBIAN_TREE.isRecordFile,
  packageRecords: debianRecords,
  lockRecords: debianLockRecords,
  isGeneratorInput: DEBIAN_TREE.isGeneratorInput,
  generated: debianGenerated,
} satisfies Distribution<DebianSource, DebianLock>;
