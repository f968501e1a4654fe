import { ReproError } from '../model/errors.js';
import { verify, type VerifyResult } from '../verify/verify.js';
import { tmpdir } from 'node:os';
import { defaultCacheDir } from '../fetch/cache.js';
import { selectPasses } from '../pipeline/passes.js';
import { BUILD_FLAGS, rootfsBuildOptions, sourceDateEpochOption, specBuildOptions } from './build.js';
import { parse, progressLine, type Io } from './common.js';
import { REGISTRY_HELP, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const VERIFY_HELP = `Usage: repro-image verify --rootfs PATH [build options] --against REF [--archive DIR] [--json]
       repro-image verify SPEC.yaml [--offline] --against REF [--archive DIR] [--json]
       repro-image verify SPEC.yaml [--offline] --against disk:PUBLISHED.raw [--json]
       repro-image verify --rootfs PATH --disk DISK.yaml --against disk:PUBLISHED.raw [--json]

Rebuilds an image from its inputs and checks it against a published one. REF is
docker://HOST/REPO[:TAG|@DIGEST] (or any other transport, such as an --archive kept before);
with an index, the image for --platform (default linux/amd64) is the one compared.
Prints "reproduced sha256:..." when the rebuilt manifest digest is the published one; otherwise
what differs (manifest, config fields, layer digests, diff_ids, then the findings of
'repro-image diff': which files differ and the likely cause), and exits 1.

  --rootfs PATH              the root filesystem to rebuild from, with the same build options as
                             the published image (see repro-image build --help: --source-date-epoch,
                             --compression, --platform, --entrypoint, --env, --label, ...)
  SPEC.yaml                  or rebuild from an image spec and its lock (SPEC.lock.json beside it),
                             fetching locked packages the cache lacks unless --offline
  --against REF              the published image; disk:FILE.raw: a published disk image, rebuilt
                             from the spec's disk: section (or --disk) and compared byte for byte,
                             then partition by partition and file by file when they differ
  --archive DIR              keep the published index, manifest and config, exactly as served, as
                             an OCI layout without layers (verify --against oci:DIR repeats the proof)
  --json                     a record: tool version, inputs (rootfs digest, SOURCE_DATE_EPOCH),
                             both digests, the verdict and the findings
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 reproduced, 1 not reproduced, 2 bad usage or input, 3 I/O or network failure.`;

const { output: _output, ...REBUILD_FLAGS } = BUILD_FLAGS;
const OPTIONS = {
  ...REBUILD_FLAGS,
  against: { type: 'string' },
  archive: { type: 'string' },
} as const;

export async function verifyCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), OPTIONS, 'verify');
  if (v.help) {
    io.stdout(`${VERIFY_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && v.rootfs)) {
    throw new ReproError('E_USAGE', `verify: unexpected argument ${JSON.stringify(positionals.at(-1))} (see repro-image verify --help)`);
  }
  if (!v.rootfs && positionals.length === 0) throw new ReproError('E_USAGE', 'verify: a SPEC or --rootfs PATH is required (see repro-image verify --help)');
  if (!v.against) throw new ReproError('E_USAGE', 'verify: --against REF is required (see repro-image verify --help)');
  if (v.rootfs && v.offline) throw new ReproError('E_USAGE', 'verify: --offline applies to a spec only');
  if (v.against.startsWith('disk:')) return verifyDiskCommand(positionals[0], v, io);
  if (v.disk !== undefined) throw new ReproError('E_USAGE', 'verify: --disk applies to --against disk:FILE');
  const progress = progressLine(io, 'rebuilding layer');
  const rebuild = v.rootfs
    ? { build: { ...rootfsBuildOptions(v.rootfs, v, io), onProgress: progress.update } }
    : { spec: { ...specBuildOptions(positionals[0]!, v, io), onProgress: progress.update } };
  const registry = registryOptions(v, io);
  const r = await verify({
    ...rebuild,
    against: v.against,
    ...(v.archive !== undefined ? { archive: v.archive } : {}),
    registry,
  }).finally(progress.end);
  report(r, io, v.json === true);
  return r.verdict === 'reproduced' ? 0 : 1;
}

function report(r: VerifyResult, io: Io, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  if (r.verdict === 'reproduced') {
    io.stdout(`reproduced ${r.rebuilt.manifest}\n`);
    return;
  }
  const lines = [`not reproduced: rebuilt ${r.rebuilt.manifest}, published ${r.published.manifest} (${r.published.reference})`];
  for (const f of r.findings) lines.push(`  ${f.message}`);
  io.stdout(`${lines.join('\n')}\n`);
}

async function verifyDiskCommand(spec: string | undefined, v: ReturnType<typeof parse<typeof OPTIONS>>['values'], io: Io): Promise<number> {
  if (spec === undefined && v.disk === undefined) throw new ReproError('E_USAGE', 'verify: --rootfs with --against disk:FILE needs --disk DISK.yaml');
  if (spec !== undefined && v.disk !== undefined) throw new ReproError('E_USAGE', `${spec}: the disk is the spec's disk: section; --disk is for --rootfs`);
  const sde = sourceDateEpochOption(v, io);
  const { verifyDisk } = await import('../verify/verify-disk.js');
  const r = await verifyDisk({
    build: {
      ...(spec !== undefined ? { spec, cacheDir: defaultCacheDir(io.env) } : { rootfs: v.rootfs!, disk: v.disk! }),
      ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
      ...(v.offline ? { offline: true } : {}),
      ...(v.normalize !== undefined ? { normalize: selectPasses(v.normalize) } : {}),
      ...(v.exclude ? { exclude: v.exclude } : {}),
      tmpDir: tmpdir(),
      onWarning: (m) => io.stderr(`warning: ${m}\n`),
    },
    against: v.against!,
  });
  if (v.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else if (r.verdict === 'reproduced') io.stdout(`reproduced ${r.rebuilt.sha256}\n`);
  else io.stdout(`${[`not reproduced: rebuilt ${r.rebuilt.sha256}, published ${r.published.sha256} (${r.published.reference})`, ...r.findings.map((f) => `  ${f.message}`)].join('\n')}\n`);
  return r.verdict === 'reproduced' ? 0 : 1;
}
