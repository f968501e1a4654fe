import { ReproError } from '../model/errors.js';
import { status } from '../status/status.js';
import { leftOutWarnings, renderText } from '../status/report.js';
import { parsePlatform } from '../model/platform.js';
import { parse, printWarnings, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const STATUS_HELP = `Usage: repro-image status REF|SPEC --rebuilder URL [--rebuilder URL]... [--json] [--strict]

Checks the packages of an image (read from its pacman or dpkg database) or of a spec (read from
its lock) against rebuilderd instances, as arch-repro-status does: each package GOOD (reproduced),
BAD (rebuilt to other bytes) or UNKWN (not rebuilt at that version), then "N/M packages are not
reproducible." and "Your image is X.XX% reproducible.". With several rebuilders a package is BAD
if any found it BAD, GOOD if any reproduced it; where they disagree, it says so. A rebuilder that
cannot be reached is reported and left out.

REF is any image reference (see 'repro-image --help'): oci:DIR[:TAG|:@DIGEST],
oci-archive:FILE[:TAG|:@DIGEST], docker-archive:FILE[:NAME:TAG], dir:DIR, containers-storage:NAME
or docker://HOST/REPO[:TAG|@DIGEST].

  --rebuilder URL            a rebuilderd instance (repeatable; API v1, else v0)
  --platform OS/ARCH[/VAR]   through a multi-platform index, that platform's image
  --json                     print the report as JSON
  --strict                   exit 1 unless every package is GOOD
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 reported, 1 (--strict) not every package reproducible, 2 bad usage or input,
3 no rebuilder answered.`;

export const STATUS_FLAGS = {
  rebuilder: { type: 'string', multiple: true },
  platform: { type: 'string' },
  ...registryFlags(''),
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function statusCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), STATUS_FLAGS, 'status');
  if (v.help) {
    io.stdout(`${STATUS_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'status: exactly one REF or SPEC is required (see repro-image status --help)');
  const report = await status({
    target: positionals[0]!,
    rebuilders: v.rebuilder ?? [],
    ...(v.platform !== undefined ? { platform: parsePlatform(v.platform) } : {}),
    registry: registryOptions(v, io),
  });
  printWarnings(io, report.warnings);
  const warnings = leftOutWarnings(report.rebuilders);
  if (warnings !== '') io.stderr(warnings);
  io.stdout(v.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return v.strict && report.summary.notReproducible > 0 ? 1 : 0;
}
