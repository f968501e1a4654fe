import { sourceDateEpochFromEnv } from '../pipeline/epoch.js';
import { ReproError } from '../model/errors.js';
import { parsePlatform } from '../model/platform.js';
import { copy, type CopyResult } from '../transports/copy.js';
import { parse, progressLine, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags, sideFlags, sideRegistryHelp } from './registry-flags.js';

export const COPY_HELP = `Usage: repro-image copy SRC DST [options]

Copies an image, or a multi-platform index with all its images, from any transport to any other
without re-serialising a manifest or recompressing a layer: the digest at DST is the digest at SRC
(docker-archive keeps no manifest, so there only layers and config keep theirs; containers-storage
keeps layers uncompressed, so an image read from it has podman's manifest, with its config). Docker
media types copied to oci: or oci-archive: are converted to OCI ones, as those hold OCI only: config
and layers keep their digests, the manifest's changes, and a warning says so. Every manifest and
blob read is checked against its digest and size. Prints the digest (at DST) on stdout.

SRC and DST: any image reference (see 'repro-image --help'): oci:DIR[:TAG|:@DIGEST],
oci-archive:FILE[:TAG|:@DIGEST], docker-archive:FILE[:NAME:TAG], dir:DIR,
containers-storage:NAME, docker://HOST/REPO[:TAG|@DIGEST].

  --platform OS/ARCH[/VAR]   from an index, copy only this platform's image
  --all                      also copy the OCI 1.1 referrers (SBOMs…) of every manifest copied
  --json                     print digest, counts and sizes as JSON
${REGISTRY_HELP}
                             (these: for both SRC and DST)
${sideRegistryHelp(['src', 'dest'], ['SRC', 'DST'])}
  -h, --help                 this help

Archive members carry SOURCE_DATE_EPOCH as their time (default 0).
Exit codes: 0 copied, 1 a blob or manifest does not match its digest, 2 bad usage or input,
3 I/O or network failure, 129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM (nothing left
behind), 141 stdout or stderr a closed pipe (likewise).`;

export const COPY_FLAGS = {
  platform: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...registryFlags(''),
  ...registryFlags('src-'),
  ...registryFlags('dest-'),
} as const;

export async function copyCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), COPY_FLAGS, 'copy');
  if (v.help) {
    io.stdout(`${COPY_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new ReproError('E_USAGE', 'copy: expected SRC and DST (see repro-image copy --help)');
  const progress = progressLine(io, 'copying');
  const mtime = sourceDateEpochFromEnv(io.env) ?? 0;
  const r = await copy(positionals[0]!, positionals[1]!, {
    sourceRegistry: registryOptions(sideFlags(v, 'src-'), io),
    destinationRegistry: registryOptions(sideFlags(v, 'dest-'), io),
    ...(v.platform ? { platform: parsePlatform(v.platform) } : {}),
    mtime,
    ...(v.all ? { all: true } : {}),
    onProgress: progress.update,
  }).finally(progress.end);
  report(r, io, v.json === true);
  return 0;
}

function report(r: CopyResult, io: Io, json: boolean): void {
  if (r.converted) io.stderr(`warning: ${r.destination}: holds OCI media types: the Docker manifest was converted, so its digest changed from ${r.converted.from} to ${r.converted.to} (copy to a registry or docker-archive to keep Docker media types)\n`);
  else if (!r.digestKept) io.stderr(`warning: ${r.destination}: a docker-archive keeps no manifest; its layers and config keep their digests, the manifest digest ${r.digest} cannot be kept\n`);
  if (json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else io.stdout(`${r.digest}\n`);
}
