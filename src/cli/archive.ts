import { archive } from '../pipeline/inputs-archive.js';
import { toolInfo } from '../verify/tool.js';
import { toolPackageDigest } from '../verify/tool-digest.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { ReproError } from '../model/errors.js';
import { parse, progressLine, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const ARCHIVE_HELP = `Usage: repro-image archive SPEC.yaml --output REF [--attach IMAGE] [--offline] [--json]
       repro-image archive SPEC.yaml --attach IMAGE

Writes every input of a spec build as one OCI artifact (artifactType
application/vnd.repro-image.inputs.v1, see docs/inputs-archive.md): the spec, its lock, each file
the lock pins as a blob annotated with its name and its path below the mirror, and this tool's
version and package digest. Files missing from the cache are downloaded first (as 'fetch' does),
and every file is checked against the lock before it is archived. The artifact depends only on
its inputs: the same spec, lock and packages give the same digest. 'repro-image fetch SPEC
--from REF' puts the files back into the cache, so that 'build --offline' needs no mirror.

  -o, --output REF           write the artifact there (oci:DIR[:TAG], oci-archive:FILE,
                             docker://…)
  --attach IMAGE             make it an OCI 1.1 referrer of IMAGE (the image the spec built),
                             written beside it (on a registry: the referrers API, else the
                             sha256-HEX fallback tag); IMAGE is an oci: layout, an oci-archive
                             or docker://, the transports that keep referrers
  --offline                  take every file from the cache; fail if one is missing
  --jobs N                   parallel downloads of missing files (default 4)
  --json                     print the result as JSON
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 written, 1 a file that does not match the lock, 2 bad usage, spec or stale lock,
3 network or I/O.`;

export const ARCHIVE_FLAGS = {
  output: { type: 'string', short: 'o' },
  attach: { type: 'string' },
  offline: { type: 'boolean' },
  jobs: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...registryFlags(''),
} as const;

export async function archiveCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), ARCHIVE_FLAGS, 'archive');
  if (v.help) {
    io.stdout(`${ARCHIVE_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'archive: exactly one SPEC is required (see repro-image archive --help)');
  const jobs = v.jobs === undefined ? 4 : Number(v.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ReproError('E_USAGE', `--jobs: expected 1 to 64, got ${JSON.stringify(v.jobs)}`);
  const progress = progressLine(io, 'fetching');
  const r = await archive({
    spec: positionals[0]!,
    cacheDir: defaultCacheDir(io.env),
    jobs,
    tool: { name: toolInfo().name, version: toolInfo().version, ...(toolPackageDigest() ? { packageDigest: toolPackageDigest()! } : {}) },
    ...(v.output !== undefined ? { output: v.output } : {}),
    ...(v.attach !== undefined ? { attach: v.attach } : {}),
    ...(v.offline ? { offline: true } : {}),
    registry: registryOptions(v, io),
    onProgress: (done, total) => progress.update(done, total),
  }).finally(progress.end);
  if (v.json) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  for (const w of r.written) io.stderr(`written to ${w.ref}${r.subject && w.ref === r.written[0]?.ref && v.attach !== undefined ? ` as a referrer of ${r.subject}` : ''}\n`);
  io.stderr(`${r.files} locked files, ${r.inputBytes} bytes (${r.totalBytes} bytes with the spec, lock, config and manifest)\n`);
  io.stdout(`${r.digest}\n`);
  return 0;
}
