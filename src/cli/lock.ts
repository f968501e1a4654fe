import { loadSpec } from '../spec/load.js';
import { lockPathFor, writeLock } from '../spec/lockfile.js';
import { lockDebian } from '../sources/debian/lock.js';
import { Cache, defaultCacheDir } from '../fetch/cache.js';
import { ReproError } from '../model/errors.js';
import { parse, type Io } from './common.js';

export const LOCK_HELP = `Usage: repro-image lock SPEC.yaml [--json]

Resolves the spec once against its distribution's signed indexes and writes SPEC.lock.json
beside it: the Release date (the default SOURCE_DATE_EPOCH) and every package pinned by name,
version, filename, size and SHA-256. InRelease must carry a valid signature from the keyring
(source.keyring, else the host's Debian archive keyring). Mirrors: source.mirrors, else the
host's apt sources. Index files are cached ($XDG_CACHE_HOME/repro-image).

  --json       print the lock instead of a summary
  -h, --help   this help

Exit codes: 0 locked, 1 bad signature, 2 bad spec or unsatisfiable dependency, 3 network or I/O.`;

const OPTIONS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

export async function lockCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(args, OPTIONS, 'lock');
  if (v.help) {
    io.stdout(`${LOCK_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'lock: exactly one SPEC is required (see repro-image lock --help)');
  const loaded = loadSpec(positionals[0]!);
  const lock = await lockDebian(loaded.spec, {
    specDir: loaded.dir,
    cache: new Cache(defaultCacheDir(io.env)),
    log: (l) => io.stderr(`${l}\n`),
  });
  const path = lockPathFor(loaded.file);
  await writeLock(path, lock);
  if (v.json) io.stdout(`${JSON.stringify(lock, null, 2)}\n`);
  else io.stdout(`${path}: ${lock.packages.length} packages from ${lock.source.suite} (${lock.source.date})\n`);
  return 0;
}
