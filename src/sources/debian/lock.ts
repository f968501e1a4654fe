/**
 * `lock` for Debian: fetch InRelease from the first mirror that serves a validly signed one, take
 * the Packages index of each component (by the SHA-256 the Release lists), resolve the package
 * set and pin every .deb by filename, size and SHA-256.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { ReproError, ioError } from '../../model/errors.js';
import { fetchBytes } from '../../fetch/get.js';
import { safeUrl } from '../../fetch/http.js';
import type { LockContext } from '../distribution.js';
import type { DebianLock } from './lockfile.js';
import type { DebianSpec } from './schema.js';
import { decompressStream } from '../../archive/compress.js';
import { debianMirrors } from './mirrors.js';
import { makeUniverse, parsePackagesStream, type IndexPackage } from './packages.js';
import { parseRelease, readKeyrings, verifyCleartext } from './release.js';
import { resolve } from './resolve.js';

export const HOST_DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

async function getText(url: string): Promise<string> {
  return (await fetchBytes(url)).toString('utf8');
}

export async function lockDebian(spec: DebianSpec, opts: LockContext): Promise<DebianLock> {
  const { suite, architecture, components } = spec.source;
  const mirrors = debianMirrors(spec.source, opts.aptDir);
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

  // InRelease: the first mirror that serves one with a valid signature.
  const failures: string[] = [];
  let verified: { text: string; data: string; signers: string[]; mirror: string } | undefined;
  for (const m of mirrors) {
    const url = `${m}/dists/${suite}/InRelease`;
    try {
      const text = await getText(url);
      const { data, signers } = await verifyCleartext(text, keys, safeUrl(url));
      verified = { text, data, signers, mirror: m };
      break;
    } catch (e) {
      if (e instanceof ReproError && e.code === 'E_SIGNATURE' && mirrors.length === 1) throw e;
      if (e instanceof ReproError && e.code === 'E_USAGE') throw e; // a setting to fix (an unusable proxy), not a mirror's fault
      failures.push(`${safeUrl(url)}: ${(e as Error).message}`);
    }
  }
  if (!verified) {
    const sig = failures.some((f) => /signature/.test(f));
    throw new ReproError(sig ? 'E_SIGNATURE' : 'E_NETWORK', `no mirror served a valid InRelease for ${suite}: ${failures.join('; ')}`);
  }
  opts.log?.(`InRelease of ${suite} from ${safeUrl(verified.mirror)}: signed by ${verified.signers.join(', ')}`);
  const release = parseRelease(verified.data, `${safeUrl(verified.mirror)}/dists/${suite}/InRelease`);
  if (release.architectures.length > 0 && !release.architectures.includes(architecture)) {
    throw new ReproError('E_SPEC', `source.architecture ${architecture} is not in ${suite} (it has ${release.architectures.join(', ')})`);
  }

  const indexes: DebianLock['source']['indexes'] = [];
  const all: IndexPackage[] = [];
  const ordered = [verified.mirror, ...mirrors.filter((m) => m !== verified!.mirror)];
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
    for (const p of await parsePackagesStream(text, component, architecture, path)) all.push(p);
    indexes.push({ path, size: expected.size, sha256: expected.sha256 });
  }

  const selected = resolve(makeUniverse(all), {
    packages: spec.packages,
    essential: spec.essential,
    ...(spec.priority ? { priority: spec.priority } : {}),
  });
  const inRelease = Buffer.from(verified.text, 'utf8');
  return {
    lockVersion: 1,
    specDigest: opts.specDigest,
    source: {
      distro: 'debian', suite,
      ...(release.codename ? { codename: release.codename } : {}),
      architecture, components,
      date: release.date,
      sourceDateEpoch: release.epoch,
      inRelease: { size: inRelease.length, sha256: createHash('sha256').update(inRelease).digest('hex') },
      signers: verified.signers,
      indexes,
    },
    packages: selected.map((p) => ({
      name: p.name, version: p.version, architecture: p.architecture, filename: p.filename,
      size: p.size, sha256: p.sha256, source: p.source, sourceVersion: p.sourceVersion, component: p.component,
    })),
  };
}
