/**
 * `lock` for Debian: for the suite and each of its extra suites, fetch InRelease from the first
 * root (a mirror, or the snapshot's tree below a snapshot base) that serves a validly signed one,
 * take the Packages index of each component (by the SHA-256 the Release lists), resolve the
 * package set over all of them and pin every .deb by filename, size and SHA-256. With a snapshot
 * (`source.snapshot`, or the lock's `snapshot` option), `latest` is resolved to the newest
 * timestamp the service lists and written into the lock with SOURCE_DATE_EPOCH its time.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { ReproError, ioError, option } from '../../model/errors.js';
import { fetchBytes } from '../../fetch/get.js';
import { safeUrl } from '../../fetch/http.js';
import type { LockContext } from '../distribution.js';
import { packageKey, type DebianLock } from './lockfile.js';
import type { DebianSpec } from './schema.js';
import { decompressStream } from '../../archive/compress.js';
import { suiteRoots } from './mirrors.js';
import { archiveOf, latestTimestamp, snapshotBases, timestampEpoch } from './snapshot.js';
import { makeUniverse, parsePackagesStream, type IndexPackage } from './packages.js';
import { parseRelease, readKeyrings, verifyCleartext, type ReleaseFile } from './release.js';
import { resolve } from './resolve.js';

export const HOST_DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

async function getText(url: string): Promise<string> {
  return (await fetchBytes(url)).toString('utf8');
}

interface ReadSuite {
  suite: string;
  release: ReleaseFile;
  inRelease: { size: number; sha256: string };
  signers: string[];
  indexes: DebianLock['source']['indexes'];
  packages: IndexPackage[];
}

/** One suite's signed InRelease (from the first root that serves a valid one) and its Packages indexes. */
async function readSuite(suite: string, roots: string[], keys: Awaited<ReturnType<typeof readKeyrings>>, spec: DebianSpec, opts: LockContext, architectures: string[]): Promise<ReadSuite & { byArch: Map<string, IndexPackage[]> }> {
  const { components } = spec.source;
  const failures: string[] = [];
  let verified: { text: string; data: string; signers: string[]; root: string } | undefined;
  for (const m of roots) {
    const url = `${m}/dists/${suite}/InRelease`;
    try {
      const text = await getText(url);
      const { data, signers } = await verifyCleartext(text, keys, safeUrl(url));
      verified = { text, data, signers, root: m };
      break;
    } catch (e) {
      if (e instanceof ReproError && e.code === 'E_SIGNATURE' && roots.length === 1) throw e;
      if (e instanceof ReproError && e.code === 'E_USAGE') throw e; // a setting to fix (an unusable proxy), not a mirror's fault
      failures.push(`${safeUrl(url)}: ${(e as Error).message}`);
    }
  }
  if (!verified) {
    const sig = failures.some((f) => /signature/.test(f));
    throw new ReproError(sig ? 'E_SIGNATURE' : 'E_NETWORK', `no mirror served a valid InRelease for ${suite}: ${failures.join('; ')}`);
  }
  opts.log?.(`InRelease of ${suite} from ${safeUrl(verified.root)}: signed by ${verified.signers.join(', ')}`);
  const release = parseRelease(verified.data, `${safeUrl(verified.root)}/dists/${suite}/InRelease`);
  for (const architecture of architectures) {
    if (release.architectures.length > 0 && !release.architectures.includes(architecture)) {
      const field = spec.source.architectures === undefined ? 'source.architecture' : 'source.architectures:';
      throw new ReproError('E_SPEC', `${field} ${architecture} is not in ${suite} (it has ${release.architectures.join(', ')})`);
    }
  }

  const indexes: DebianLock['source']['indexes'] = [];
  const byArch = new Map<string, IndexPackage[]>();
  const ordered = [verified.root, ...roots.filter((m) => m !== verified!.root)];
  for (const architecture of architectures) {
    const packages: IndexPackage[] = [];
    byArch.set(architecture, packages);
    for (const component of components) {
      if (release.components.length > 0 && !release.components.includes(component)) {
        throw new ReproError('E_SPEC', `source.components: ${component} is not in ${suite} (it has ${release.components.join(', ')})`);
      }
      const base = `${component}/binary-${architecture}/Packages`;
      const path = [`${base}.gz`, `${base}.xz`, base].find((p) => release.files.has(p));
      if (!path) throw new ReproError('E_BAD_INPUT', `the Release of ${suite} lists no ${base} index`);
      const expected = release.files.get(path)!;
      const { path: local } = await opts.cache.ensure(path, ordered.map((m) => `${m}/dists/${suite}/${path}`), expected);
      const compression = path.endsWith('.gz') ? 'gzip' : path.endsWith('.xz') ? 'xz' : 'none';
      const text = decompressStream(compression, createReadStream(local, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, path);
      for (const p of await parsePackagesStream(text, component, architecture, path)) packages.push(p);
      indexes.push({ path, size: expected.size, sha256: expected.sha256 });
    }
  }
  const inRelease = Buffer.from(verified.text, 'utf8');
  return {
    suite, release, signers: verified.signers, indexes, packages: byArch.get(architectures[0]!)!, byArch,
    inRelease: { size: inRelease.length, sha256: createHash('sha256').update(inRelease).digest('hex') },
  };
}

/** The snapshot a lock is made at: the option over the spec's; `latest` asked of the service. */
async function chooseSnapshot(spec: DebianSpec, opts: LockContext): Promise<string | undefined> {
  const asked = opts.snapshot ?? spec.source.snapshot;
  if (opts.snapshot !== undefined) {
    if (opts.snapshot !== 'latest' && timestampEpoch(opts.snapshot) === undefined) {
      throw new ReproError('E_USAGE', `${option('snapshot')}: expected latest or a timestamp such as 20250520T000000Z, got ${JSON.stringify(opts.snapshot)}`);
    }
    const pinned = spec.source.snapshot;
    if (pinned !== undefined && pinned !== 'latest' && pinned !== opts.snapshot) {
      throw new ReproError('E_USAGE', `${option('snapshot')}: the spec pins source.snapshot ${pinned}; set it to latest (or remove it) to choose the snapshot when locking`);
    }
  }
  if (asked !== 'latest') return asked;
  const ts = await latestTimestamp(snapshotBases(spec.source.mirrors), archiveOf(spec.source.suite));
  opts.log?.(`snapshot: latest is ${ts}`);
  return ts;
}

export async function lockDebian(spec: DebianSpec, opts: LockContext): Promise<DebianLock> {
  const { suite, components } = spec.source;
  const architectures = spec.source.architectures ?? [spec.source.architecture];
  const keyringPath = spec.source.keyring === undefined ? HOST_DEBIAN_KEYRING
    : isAbsolute(spec.source.keyring) ? spec.source.keyring : join(opts.specDir, spec.source.keyring);
  let keyringBytes: Buffer;
  try {
    keyringBytes = readFileSync(keyringPath);
  } catch (e) {
    throw ioError(e, spec.source.keyring === undefined
      ? `cannot read the host Debian archive keyring ${keyringPath} (install debian-archive-keyring, or set source.keyring)`
      : `cannot read source.keyring ${keyringPath}`);
  }
  const keys = await readKeyrings([{ name: keyringPath, bytes: keyringBytes }]);
  const snapshot = await chooseSnapshot(spec, opts);

  const main = await readSuite(suite, suiteRoots(spec.source, suite, snapshot, opts.aptDir), keys, spec, opts, architectures);
  const extra: Array<Awaited<ReturnType<typeof readSuite>>> = [];
  for (const s of spec.source.extraSuites ?? []) extra.push(await readSuite(s, suiteRoots(spec.source, s, snapshot, opts.aptDir), keys, spec, opts, architectures));

  // Each architecture resolved on its own: every suite's packages of it in one universe (the main
  // suite's first); the suite each came from.
  const from = new Map<IndexPackage, string>();
  const resolved = architectures.map((architecture) => {
    const all: IndexPackage[] = [];
    for (const r of [main, ...extra]) for (const p of r.byArch.get(architecture)!) { all.push(p); from.set(p, r.suite); }
    return resolve(makeUniverse(all), {
      packages: spec.packages,
      essential: spec.essential,
      ...(spec.priority ? { priority: spec.priority } : {}),
    });
  });
  const locked = (p: IndexPackage): DebianLock['packages'][number] => {
    const s = from.get(p);
    return {
      name: p.name, version: p.version, architecture: p.architecture, filename: p.filename,
      size: p.size, sha256: p.sha256, source: p.source, sourceVersion: p.sourceVersion, component: p.component,
      ...(s !== undefined && s !== suite ? { suite: s } : {}),
    };
  };
  const multi = spec.source.architectures !== undefined;
  // Several architectures: every .deb once (an Architecture: all package shared), by name then architecture.
  const union = new Map<string, DebianLock['packages'][number]>();
  if (multi) {
    for (const sel of resolved) {
      for (const p of sel.map(locked)) {
        const k = packageKey(p);
        const had = union.get(k);
        if (had && (had.sha256 !== p.sha256 || had.filename !== p.filename)) {
          throw new ReproError('E_BAD_INPUT', `${k}: the architectures' indexes give different files (${had.filename}, ${p.filename}); lock the architectures separately`);
        }
        union.set(k, p);
      }
    }
  }
  const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return {
    lockVersion: 1,
    specDigest: opts.specDigest,
    source: {
      distro: 'debian', suite,
      ...(main.release.codename ? { codename: main.release.codename } : {}),
      ...(multi ? { architectures } : { architecture: architectures[0]! }), components,
      date: main.release.date,
      sourceDateEpoch: snapshot === undefined ? main.release.epoch : timestampEpoch(snapshot)!,
      inRelease: main.inRelease,
      signers: main.signers,
      indexes: main.indexes,
      ...(snapshot === undefined ? {} : { snapshot }),
      ...(extra.length === 0 ? {} : {
        extraSuites: extra.map((r) => ({
          suite: r.suite, ...(r.release.codename ? { codename: r.release.codename } : {}), date: r.release.date,
          inRelease: r.inRelease, signers: r.signers, indexes: r.indexes,
        })),
      }),
    },
    packages: multi ? [...union.values()].sort((a, b) => byKey(a.name, b.name) || byKey(a.architecture, b.architecture)) : resolved[0]!.map(locked),
    ...(multi ? { architectures: architectures.map((architecture, i) => ({ architecture, packages: resolved[i]!.map((p) => packageKey(p)).sort(byKey) })) } : {}),
  };
}
