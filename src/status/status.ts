/**
 * `status`: the packages of an image (or of a spec's lock) checked against rebuilderd instances.
 * Rebuilders are asked one distribution at a time, all at once; one that cannot be reached is
 * reported, and is fatal only when no rebuilder answers.
 */
import { ReproError } from '../model/errors.js';
import type { RetryPolicy } from '../fetch/http.js';
import { loadSpec } from '../spec/load.js';
import { lockPathFor, readLock } from '../spec/lockfile.js';
import { parseImageRef } from '../transports/reference.js';
import { imagePackages, lockPackages, type Distribution, type InstalledPackage } from './installed.js';
import { queryRebuilder, type RebuilderAnswer } from './rebuilderd.js';
import { combine, type RebuilderResult, type StatusReport } from './report.js';

export interface StatusOptions {
  /** An image reference (oci:, oci-archive:, docker-archive:) or an image spec whose lock is read. */
  target: string;
  rebuilders: string[];
  retry?: RetryPolicy;
}

export function isImageRef(s: string): boolean {
  return /^(oci|oci-archive|docker-archive):/.test(s);
}

async function packagesOf(target: string): Promise<InstalledPackage[]> {
  if (isImageRef(target)) return imagePackages(parseImageRef(target));
  const loaded = loadSpec(target);
  return lockPackages(readLock(lockPathFor(loaded.file)));
}

export async function status(opts: StatusOptions): Promise<StatusReport & { target: string }> {
  if (opts.rebuilders.length === 0) throw new ReproError('E_USAGE', 'status: name at least one rebuilderd instance with --rebuilder URL');
  const packages = await packagesOf(opts.target);
  const distributions = [...new Set(packages.map((p) => p.distribution))].sort() as Distribution[];
  const results: RebuilderResult[] = await Promise.all(opts.rebuilders.map(async (url): Promise<RebuilderResult> => {
    try {
      const answers = await Promise.all(distributions.map((d) => queryRebuilder(url, d, opts.retry ? { retry: opts.retry } : {})));
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
  return { target: opts.target, ...combine(packages, results) };
}
