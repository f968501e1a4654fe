import { sbom } from '../sbom/sbom.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { ReproError } from '../model/errors.js';
import { parsePlatform } from '../model/platform.js';
import { parseSourceDateEpoch, sourceDateEpochFromEnv } from '../pipeline/epoch.js';
import { parse, printWarnings, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const SBOM_HELP = `Usage: repro-image sbom REF|SPEC [--format spdx-json|cyclonedx-json] [--output FILE]

Writes a software bill of materials: the packages of an image (read from its dpkg or pacman
database) or of a spec (read from its lock), as SPDX 2.3 JSON (default) or CycloneDX 1.6 JSON.
The image (by its manifest digest) or the lock (by its digest) is the described element; every
package has its name, version, architecture, purl (pkg:deb/debian/…, pkg:alpm/arch/…), the
SHA-256 of its package file where the lock pins it, its licenses where the distribution records
them (pacman's %LICENSE% entries, read as SPDX expressions; Debian's machine-readable copyright
files; else NOASSERTION: names matched against the whole SPDX License List in any letter case,
any other name a LicenseRef- of its own), and its dependencies. The bytes depend only on the
content: the time is SOURCE_DATE_EPOCH (else the image config's created time, else the lock's),
identifiers are derived from the content, arrays are sorted, the JSON is canonical (RFC 8785).

  --format F                 spdx-json (default) or cyclonedx-json
  -o, --output FILE          write it there (default: stdout)
  --source-date-epoch N      the document's creation time
  --platform OS/ARCH[/VAR]   through a multi-platform index, that platform's image
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 written, 2 bad usage or input, 3 I/O failure.`;

export const SBOM_FLAGS = {
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'source-date-epoch': { type: 'string' },
  platform: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...registryFlags(''),
} as const;

export async function sbomCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), SBOM_FLAGS, 'sbom');
  if (v.help) {
    io.stdout(`${SBOM_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'sbom: exactly one REF or SPEC is required (see repro-image sbom --help)');
  const sde = v['source-date-epoch'] !== undefined ? parseSourceDateEpoch(v['source-date-epoch'], '--source-date-epoch') : sourceDateEpochFromEnv(io.env);
  const r = await sbom({
    target: positionals[0]!,
    ...(v.format !== undefined ? { format: v.format as 'spdx-json' } : {}),
    ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
    ...(v.platform !== undefined ? { platform: parsePlatform(v.platform) } : {}),
    registry: registryOptions(v, io),
  });
  printWarnings(io, r.warnings);
  if (v.output !== undefined) {
    await writeFileAtomic(v.output, r.bytes);
    io.stdout(`${r.digest}\n`);
  } else {
    io.stdout(r.bytes);
  }
  return 0;
}
