import { lock } from '../pipeline/lock.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { ReproError } from '../model/errors.js';
import { parse, verbosity, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const LOCK_HELP = `Usage: repro-image lock SPEC.yaml [--json] [--snapshot TIMESTAMP|latest] [--no-verify-signatures]
                        [registry options, for a docker:// base]

Resolves the spec once against its distribution's signed indexes and writes SPEC.lock.json
beside it: the date (the default SOURCE_DATE_EPOCH) and every package pinned by name, version,
filename, size and SHA-256.
Debian: InRelease must carry a valid signature from the keyring (source.keyring, else the host's
Debian archive keyring). Mirrors: source.mirrors, else the host's apt sources. Index files are
cached ($XDG_CACHE_HOME/repro-image). With source.snapshot (or --snapshot), every suite is read
from that snapshot of the archive (snapshot.debian.org's layout, below source.mirrors or
https://snapshot.debian.org), the timestamp is written into the lock and is the default
SOURCE_DATE_EPOCH; builds from the lock keep fetching from that snapshot. With
source.architectures, each architecture is resolved from its own Packages indexes into one lock
with a section per architecture (an Architecture: all package pinned once).
Arch Linux: the repositories' databases of the snapshot are read (source.mirrors, else the Arch
Linux Archive), the packages resolved as pacman -S would, downloaded into the cache and their
signatures checked against the packagers' keyring (source.keyring, else the host's). With
source.architectures, each architecture is resolved from its own databases (source.mirrors.ARCH,
else the mirror list for all; the archive has x86_64 only, so any other architecture needs
mirrors) into one lock with a section per architecture (an any package the architectures give
alike pinned once).
A base: image (docs/base-images.md) is read once: its manifest, config and layer descriptors go
into the lock. It must be named by digest; a tag is exit 2 with the digest to write instead.

  --json                    print the lock instead of a summary
  --snapshot TS|latest      (Debian) lock at this snapshot timestamp (YYYYMMDDTHHMMSSZ), or at
                            the newest one the snapshot service lists; the spec's
                            source.snapshot must be latest or absent
  --no-verify-signatures    (Arch) pin packages without checking their signatures; without it,
                            a missing keyring or an unsigned package is refused
${REGISTRY_HELP}
  -h, --help                this help

Exit codes: 0 locked, 1 bad signature, 2 bad spec or unsatisfiable dependency, 3 network or I/O.`;

export const LOCK_FLAGS = { json: { type: 'boolean' }, snapshot: { type: 'string' }, 'no-verify-signatures': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...registryFlags('') } as const;

export async function lockCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), LOCK_FLAGS, 'lock');
  if (v.help) {
    io.stdout(`${LOCK_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'lock: exactly one SPEC is required (see repro-image lock --help)');
  const r = await lock({
    spec: positionals[0]!,
    cacheDir: defaultCacheDir(io.env),
    ...(v['no-verify-signatures'] ? { noVerifySignatures: true } : {}),
    ...(v.snapshot !== undefined ? { snapshot: v.snapshot } : {}),
    registry: registryOptions(v, io),
    log: verbosity(io) === 'quiet' ? () => {} : (l) => io.stderr(`${l}\n`),
  });
  if (v.json) io.stdout(`${JSON.stringify(r.lock, null, 2)}\n`);
  else io.stdout(`${r.path}: ${r.summary}\n`);
  return 0;
}
