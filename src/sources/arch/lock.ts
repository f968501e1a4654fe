/**
 * `lock` for Arch Linux: read each repository database of the snapshot, resolve the spec's
 * packages as pacman would, download every selected package into the verified cache (by the size
 * and SHA-256 the database gives) and check its OpenPGP signature (%PGPSIG% in the database, else
 * the `.sig` beside the package) against the packagers' keyring. Without a keyring the lock is
 * refused unless signature checks were turned off explicitly. With `source.architectures`, each
 * architecture is read and resolved on its own, from its own mirrors, into one lock with a section
 * per architecture (an `any` package given alike by several architectures listed once).
 */
import { createHash } from 'node:crypto';
import { ReproError, option } from '../../model/errors.js';
import type { Cache } from '../../fetch/cache.js';
import { fetchBytes } from '../../fetch/get.js';
import { inOrder } from '../../fetch/pool.js';
import { safeUrl } from '../../fetch/http.js';
import type { LockContext } from '../distribution.js';
import type { ArchLock, ArchLockedPackage, ArchRepositoryPin } from './lockfile.js';
import type { ArchSpec } from './schema.js';
import { verifyDetached } from '../openpgp.js';
import { loadPacmanKeyring, type PacmanKeyring } from './keyring.js';
import { archBases, fileUrls, repoUrl, snapshotEpoch } from './mirrors.js';
import { resolve, type Repository } from './resolve.js';
import { readSyncDb, type SyncPackage } from './syncdb.js';

export interface ArchLockOptions extends LockContext {
  /** false only when the user said so (noVerifySignatures). */
  verifySignatures: boolean;
  concurrency?: number;
  /** Where the host's keyrings are looked for when the spec names none (tests). */
  hostKeyrings?: string[];
  log?: (line: string) => void;
}

const sha256hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The first base that serves a file, with its bytes; undefined only when every base answered that
 * it has no such file (a base that could not be asked leaves the question open: an error).
 */
async function firstServed(urls: string[], what: string): Promise<{ bytes: Buffer; url: string } | undefined> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const bytes = await fetchBytes(url, { optional: true });
      if (bytes) return { bytes, url };
    } catch (e) {
      if (e instanceof ReproError && e.code === 'E_USAGE') throw e; // a setting to fix (an unusable proxy), not a mirror's fault
      failures.push(`${safeUrl(url)}: ${(e as Error).message}`);
    }
  }
  if (failures.length > 0) throw new ReproError('E_NETWORK', `no mirror served ${what}: ${failures.join('; ')}`);
  return undefined;
}

async function readRepository(bases: string[], arch: string, name: string, keyring: PacmanKeyring | undefined, log: (l: string) => void):
  Promise<{ repo: Repository; pin: ArchRepositoryPin }> {
  const db = await firstServed(fileUrls(bases, name, arch, `${name}.db`), `${name}.db`);
  if (!db) throw new ReproError('E_NOT_FOUND', `repository ${name}: no mirror has ${name}.db (looked in ${bases.map((b) => safeUrl(repoUrl(b, name, arch))).join(', ')})`);
  const where = safeUrl(db.url);
  const pin: ArchRepositoryPin = { name, size: db.bytes.length, sha256: sha256hex(db.bytes) };
  // Arch does not sign its databases; where a mirror does, the signature must hold.
  const sig = await fetchBytes(`${db.url}.sig`, { optional: true, limit: 1 << 16 });
  if (sig) {
    pin.signature = { filename: `${name}.db.sig`, size: sig.length, sha256: sha256hex(sig) };
    if (keyring) await verifyDetached({ bytes: db.bytes }, sig, keyring.keys, `${where}.sig`);
  }
  const packages = await readSyncDb(db.bytes, name, where);
  log(`${name}.db from ${where}: ${packages.length} packages`);
  return { repo: { name, packages }, pin };
}

/** One architecture resolved from its own repositories: the databases pinned, the packages in installation order. */
async function lockArchitecture(spec: ArchSpec, architecture: string, opts: ArchLockOptions, keyring: PacmanKeyring | undefined, signers: Set<string>):
  Promise<{ architecture: string; repositories: ArchRepositoryPin[]; packages: ArchLockedPackage[] }> {
  const log = opts.log ?? (() => {});
  const bases = archBases(spec.source, architecture);
  const repos: Repository[] = [];
  const pins: ArchRepositoryPin[] = [];
  for (const name of spec.source.repositories) {
    const { repo, pin } = await readRepository(bases, architecture, name, keyring, log);
    repos.push(repo);
    pins.push(pin);
  }
  const resolved = resolve(repos, spec.packages);
  for (const { pkg } of resolved) {
    if (pkg.architecture !== architecture && pkg.architecture !== 'any') {
      throw new ReproError('E_BAD_INPUT', `${pkg.repository}/${pkg.name} ${pkg.version} is built for ${pkg.architecture || '(no %ARCH%)'}, not ${architecture} or any`);
    }
  }
  // Download and check every package (a few at a time); the cache keeps them for fetch and build.
  const packages = await inOrder(resolved.length, opts.concurrency ?? 4, (i) => {
    const { pkg, reason } = resolved[i]!;
    return lockPackage(pkg, reason, bases, architecture, opts.cache, keyring, signers);
  });
  return { architecture, repositories: pins, packages };
}

export async function lockArch(spec: ArchSpec, opts: ArchLockOptions): Promise<ArchLock> {
  const { snapshot } = spec.source;
  const multi = spec.source.architectures;
  const log = opts.log ?? (() => {});
  let keyring: PacmanKeyring | undefined;
  if (opts.verifySignatures) {
    keyring = await loadPacmanKeyring(spec.source.keyring, opts.specDir, opts.hostKeyrings);
    if (!keyring) {
      throw new ReproError('E_SPEC', `no pacman keyring to check package signatures with: set source.keyring to the packagers' keyring (archlinux.gpg), install the host's archlinux-keyring, or lock with ${option('noVerifySignatures')} to pin packages without checking their signatures`);
    }
    log(`keyring ${keyring.path}: ${keyring.keys.length} keys${keyring.revoked ? ` (${keyring.revoked} revoked left out)` : ''}`);
  }

  const signers = new Set<string>();
  const sections: Array<Awaited<ReturnType<typeof lockArchitecture>>> = [];
  for (const architecture of multi ?? [spec.source.architecture]) {
    const s = await lockArchitecture(spec, architecture, opts, keyring, signers);
    sections.push(s);
    log(`${multi === undefined ? '' : `${architecture}: `}${s.packages.length} packages pinned${keyring ? `, every signature checked against ${keyring.path}` : ', signatures NOT checked (signature checks turned off)'}`);
  }
  const source = { distro: 'arch' as const, snapshot };
  const checked = {
    sourceDateEpoch: snapshotEpoch(snapshot),
    signatures: keyring ? 'verified' as const : 'not-verified' as const,
    signers: [...signers].sort(),
  };
  if (multi === undefined) {
    const [one] = sections as [typeof sections[number]];
    return {
      lockVersion: 1, specDigest: opts.specDigest,
      source: { ...source, architecture: one.architecture, ...checked, repositories: one.repositories },
      packages: one.packages,
    };
  }
  // Every entry once: one that several architectures' repositories give alike (an `any` package of
  // the same file, signature, repository and reason) is shared; any difference keeps them apart.
  const union = new Map<string, ArchLockedPackage & { for: string[] }>();
  for (const s of sections) {
    for (const p of s.packages) {
      const k = JSON.stringify(p);
      const had = union.get(k);
      if (had) had.for.push(s.architecture);
      else union.set(k, { ...p, for: [s.architecture] });
    }
  }
  const first = (p: { for: string[] }): number => multi.indexOf(p.for[0]!);
  const packages = [...union.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : first(a) - first(b)));
  const shared = packages.filter((p) => p.for.length > 1).length;
  log(`${packages.length} package files for ${multi.join(', ')}${shared > 0 ? ` (${shared} shared)` : ''}`);
  return {
    lockVersion: 1, specDigest: opts.specDigest,
    source: { ...source, architectures: multi, ...checked },
    packages,
    architectures: sections.map((s) => ({ architecture: s.architecture, repositories: s.repositories, packages: s.packages.map((p) => p.name) })),
  };
}

async function lockPackage(pkg: SyncPackage, reason: ArchLockedPackage['reason'], bases: string[], arch: string, cache: Cache,
  keyring: PacmanKeyring | undefined, signers: Set<string>): Promise<ArchLockedPackage> {
  const urls = fileUrls(bases, pkg.repository, arch, pkg.filename);
  const { path } = await cache.ensure(pkg.filename, urls, { size: pkg.size, sha256: pkg.sha256 });
  const out: ArchLockedPackage = {
    name: pkg.name, version: pkg.version, architecture: pkg.architecture, repository: pkg.repository, base: pkg.base, reason,
    filename: pkg.filename, size: pkg.size, sha256: pkg.sha256, signature: { in: 'none' },
  };
  let sig: Buffer | undefined;
  if (pkg.pgpsig) {
    sig = Buffer.from(pkg.pgpsig, 'base64');
    out.signature = { in: 'database' };
  } else {
    const served = await firstServed(urls.map((u) => `${u}.sig`), `${pkg.filename}.sig`);
    if (served) {
      sig = served.bytes;
      out.signature = { in: 'file', filename: `${pkg.filename}.sig`, size: sig.length, sha256: sha256hex(sig) };
      // Pinned, so cached like the package: a build right after the lock needs no network.
      await cache.ensure(out.signature.filename, [served.url], out.signature);
    }
  }
  if (keyring) {
    const where = `${pkg.repository}/${pkg.filename}`;
    if (!sig) throw new ReproError('E_SIGNATURE', `${where}: unsigned (neither %PGPSIG% in ${pkg.repository}.db nor ${pkg.filename}.sig on any mirror); lock with ${option('noVerifySignatures')} to accept unsigned packages`);
    for (const s of await verifyDetached({ file: path }, sig, keyring.keys, `${where}: signature${out.signature.in === 'database' ? ' (%PGPSIG%)' : '.sig'}`)) signers.add(s);
  }
  return out;
}
