import { fetch } from '../pipeline/fetch.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { ReproError } from '../model/errors.js';
import { parse, progressLine, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const FETCH_HELP = `Usage: repro-image fetch SPEC.yaml [--jobs N]
       repro-image fetch SPEC.yaml --from REF [--jobs N]

Downloads every package (and signature) pinned in SPEC.lock.json into the content-addressed cache
($XDG_CACHE_HOME/repro-image, else ~/.cache/repro-image). Mirrors are tried in order (source.mirrors,
else for Debian the host's apt sources, for Arch the archive snapshot); each file is checked for
size and SHA-256 before it is renamed into the cache, and a mismatch is an error naming the file
and both digests. This is the only step besides 'lock' that uses the network; 'build --offline'
then needs none.
With --from, every file comes from an inputs archive ('repro-image archive') instead of the
mirrors: REF is the archive itself, or an image that has one among its referrers (the one made
for this lock is taken). A file is taken only from a blob whose digest and size are the lock's,
hashed again as it is written; no mirror is asked.
A spec's base: image (docs/base-images.md) has its manifest, config and layers copied into the
cache from the reference the lock records (the registry options below apply to it).

  --jobs N                   parallel downloads; with --from, blobs read at once (default 4)
  --from REF                 fill the cache from this inputs archive (oci:DIR[:TAG], docker://…)
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 all cached, 1 a digest mismatch (a tampered archive blob too), 2 bad spec, stale
lock or an archive without a locked file, 3 network or I/O.`;

export const FETCH_FLAGS = { jobs: { type: 'string' }, from: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...registryFlags('') } as const;

export async function fetchCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), FETCH_FLAGS, 'fetch');
  if (v.help) {
    io.stdout(`${FETCH_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'fetch: exactly one SPEC is required (see repro-image fetch --help)');
  const jobs = v.jobs === undefined ? 4 : Number(v.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ReproError('E_USAGE', `--jobs: expected 1 to 64, got ${JSON.stringify(v.jobs)}`);
  const progress = progressLine(io, 'fetching');
  const r = await fetch({
    spec: positionals[0]!,
    cacheDir: defaultCacheDir(io.env),
    jobs,
    ...(v.from !== undefined ? { from: v.from } : {}),
    registry: registryOptions(v, io),
    onProgress: (done, total) => progress.update(done, total),
    onRetry: (m) => io.stderr(`retry: ${m}\n`),
  }).finally(progress.end);
  io.stdout(`${r.files.size} locked files in ${r.cacheDir}\n`);
  return 0;
}
