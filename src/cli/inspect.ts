import { parsePlatform } from '../model/platform.js';
import { ReproError } from '../model/errors.js';
import { inspect, inspectRaw } from '../verify/inspect.js';
import { renderInspect } from '../verify/render-inspect.js';
import { parse, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const INSPECT_HELP = `Usage: repro-image inspect REF [--json] [--creds USER:PASSWORD] [--tls-verify=false]
       repro-image inspect REF --raw | --config [--platform OS/ARCH[/VARIANT]]
       repro-image inspect REF --referrers [--json]

Prints the index, manifest, config and layers of an image and verifies every digest, size and
diff_id it reads. REF is any image reference (see 'repro-image --help'): oci:DIR[:TAG|:@DIGEST],
oci-archive:FILE[:TAG|:@DIGEST], docker-archive:FILE[:NAME:TAG], dir:DIR, containers-storage:NAME
or docker://HOST/REPO[:TAG|@DIGEST] (every layer is downloaded, checked and dropped).

  --json                     the report as JSON
  --raw                      print the exact bytes of what REF names (an index or a manifest),
                             checked against its digest; no layer is read
  --config                   print the exact bytes of the image's config, checked likewise
  --platform OS/ARCH[/VAR]   with --raw or --config and an index: that platform's manifest or
                             config (--config defaults to linux/amd64)
  --referrers                list the OCI 1.1 referrers (SBOMs…) of the image, and through an
                             index of each of its manifests: digest, artifactType, size, and
                             where they were found (referrers API, sha256-HEX tag, index.json)
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 everything verified, 1 a blob does not match its digest or size, 2 bad input,
3 I/O failure.`;

export const INSPECT_FLAGS = { json: { type: 'boolean' }, raw: { type: 'boolean' }, config: { type: 'boolean' }, referrers: { type: 'boolean' }, platform: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...registryFlags('') } as const;

export async function inspectCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), INSPECT_FLAGS, 'inspect');
  if (v.help) {
    io.stdout(`${INSPECT_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'inspect: expected exactly one REF (see repro-image inspect --help)');
  if (v.referrers) {
    if (v.raw || v.config) throw new ReproError('E_USAGE', 'inspect: --referrers lists referrers; it does not go with --raw or --config');
    const { inspectReferrers, renderReferrers } = await import('../verify/referrers.js');
    const r = await inspectReferrers(positionals[0]!, { registry: registryOptions(v, io) });
    io.stdout(v.json ? `${JSON.stringify(r, null, 2)}
` : renderReferrers(r));
    return 0;
  }
  if (v.raw && v.config) throw new ReproError('E_USAGE', 'inspect: --raw and --config print different documents; give one');
  if ((v.raw || v.config) && v.json) throw new ReproError('E_USAGE', 'inspect: --json is for the report, not with --raw or --config');
  if (v.platform !== undefined && !v.raw && !v.config) throw new ReproError('E_USAGE', 'inspect: --platform applies to --raw and --config');
  if (v.raw || v.config) {
    const platform = v.platform !== undefined ? parsePlatform(v.platform) : undefined;
    const bytes = await inspectRaw(positionals[0]!, v.config ? 'config' : 'document', platform, { registry: registryOptions(v, io) });
    // The bytes as they are (no newline added), so that `| sha256sum` gives the digest.
    io.stdout(bytes);
    return 0;
  }
  const r = await inspect(positionals[0]!, { registry: registryOptions(v, io) });
  if (v.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else io.stdout(renderInspect(r));
  for (const p of r.problems) io.stderr(`error: ${p}\n`);
  return r.problems.length > 0 ? 1 : 0;
}
