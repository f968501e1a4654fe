/**
 * `status`: the packages of an image (or of a spec's lock) checked against rebuilderd instances.
 * Rebuilders are asked one distribution at a time, all at once; one that cannot be reached is
 * reported, and is fatal only when no rebuilder answers.
 */
import { ReproError, option } from '../model/errors.js';
import type { Platform } from '../model/platform.js';
import { checkPlatform } from '../pipeline/validate.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import type { RetryPolicy } from '../fetch/http.js';
import { loadSpec } from '../spec/load.js';
import { lockPathFor, readLock } from '../spec/lockfile.js';
import { parseImageRef } from '../transports/reference.js';
import type { InstalledPackage } from '../sources/distribution.js';
import { imagePackages, lockPackages } from './installed.js';
import { queryRebuilder, type RebuilderAnswer } from './rebuilderd.js';
import { combine, type RebuilderResult, type StatusReport } from './report.js';

export interface StatusOptions {
  /** An image reference (oci:, oci-archive:, docker-archive:, docker://) or an image spec whose lock is read. */
  target: string;
  /** rebuilderd instances (API v1, else v0). */
  rebuilders: string[];
  /** Through a multi-platform index, the image of this platform. */
  platform?: Platform;
  /** Credentials and TLS settings for a docker:// target. */
  registry?: RegistryOptions;
  retry?: RetryPolicy;
}

export function isImageRef(s: string): boolean {
  return /^(oci|oci-archive|docker-archive):|^docker:\/\//.test(s);
}

async function packagesOf(opts: StatusOptions): Promise<InstalledPackage[]> {
  const { target } = opts;
  if (isImageRef(target)) {
    return imagePackages(parseImageRef(target), { ...(opts.platform ? { platform: checkPlatform(opts.platform) } : {}), ...(opts.registry ? { transport: { registry: opts.registry } } : {}) });
  }
  const loaded = loadSpec(target);
  return lockPackages(readLock(lockPathFor(loaded.file)));
}

/** The names a rebuilder's records are matched by (report.ts's combine): each package's own and its source's. */
function wantedNames(packages: InstalledPackage[], distribution: string): Set<string> {
  const out = new Set<string>();
  for (const p of packages) {
    if (p.distribution !== distribution) continue;
    out.add(p.name);
    if (p.source) out.add(p.source.name);
  }
  return out;
}

/**
 * Asks every rebuilder about the packages' distributions, all at once, and combines the answers;
 * one that cannot be reached is reported, none answering is an E_NETWORK error. `audit` uses it too.
 */
export async function askRebuilders(packages: InstalledPackage[], rebuilders: string[], retry?: RetryPolicy): Promise<StatusReport> {
  const distributions = [...new Set(packages.map((p) => p.distribution))].sort();
  const results: RebuilderResult[] = await Promise.all(rebuilders.map(async (url): Promise<RebuilderResult> => {
    try {
      const answers = await Promise.all(distributions.map((d) => queryRebuilder(url, d, { ...(retry ? { retry } : {}), wanted: wantedNames(packages, d) })));
      const answer: RebuilderAnswer = { api: answers.every((a) => a.api === 'v1') ? 'v1' : 'v0', records: answers.flatMap((a) => a.records) };
      return { url, answer };
    } catch (e) {
      if (e instanceof ReproError && e.code !== 'E_NETWORK' && e.code !== 'E_BAD_INPUT') throw e;
      return { url, error: (e as Error).message };
    }
  }));
  if (packages.length > 0 && results.every((r) => !r.answer)) {
    throw new ReproError('E_NETWORK', `no rebuilder answered: ${results.map((r) => r.error).join('; ')}`);
  }
  return combine(packages, results);
}

/**
 * The report, with the warnings of the image's package database (a name or version its own tools
 * would not have written: the package is asked about as written).
 */
export async function status(opts: StatusOptions): Promise<StatusReport & { target: string; warnings: string[] }> {
  if (opts.rebuilders.length === 0) throw new ReproError('E_USAGE', `status: name at least one rebuilderd instance with ${option('rebuilders')}`);
  const packages = await packagesOf(opts);
  return { target: opts.target, ...(await askRebuilders(packages, opts.rebuilders, opts.retry)), warnings: packages.flatMap((p) => p.warnings ?? []) };
}
