import { tmpdir } from 'node:os';
import { buildRootfs, type RootfsBuildOptions } from '../pipeline/rootfs.js';
import type { SpecBuildOptions } from '../pipeline/spec.js';
import type { BuildResult } from '../pipeline/tree-steps.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { PASS_NAMES, selectPasses } from '../pipeline/passes.js';
import { parseSourceDateEpoch, sourceDateEpochFromEnv } from '../pipeline/epoch.js';
import { ReproError } from '../model/errors.js';
import type { Compression } from '../model/media-types.js';
import { parsePlatform } from '../model/platform.js';
import { commandLine, keyValues, parse, progressLine, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const BUILD_HELP = `Usage: repro-image build --rootfs PATH --output REF [options]
       repro-image build SPEC.yaml --output REF [--offline] [--source-date-epoch N] [--json]
       repro-image build SPEC.yaml --output disk:FILE.raw [--offline] [--source-date-epoch N] [--json]
       repro-image build --rootfs PATH --disk DISK.yaml --output disk:FILE.raw [options]

Builds a one-layer OCI image whose bytes depend only on its inputs and SOURCE_DATE_EPOCH, from a
root filesystem, or from an image spec and its lock (SPEC.lock.json, made by 'repro-image lock';
packages not in the cache are fetched first unless --offline). Prints the manifest digest.

  --rootfs PATH              a directory, or a .tar, .tar.gz, .tar.xz or .tar.zst archive
  --offline                  (spec) use only the cache; never open a network connection
  --output REF               oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG]
                             or docker://HOST/REPO[:TAG] (pushed: blobs, config, then manifest);
                             disk:FILE.raw writes a GPT disk image from the spec's disk: section
                             (or --disk): prints its SHA-256, the partition UUIDs and verity root
                             hashes (see docs/disk.md)
  --disk DISK.yaml           (rootfs) the disk definition: a disk: section on its own
  --source-date-epoch N      the build time in seconds (default: $SOURCE_DATE_EPOCH; for a spec,
                             the Release Date or the snapshot date in its lock; for a tar input,
                             its newest entry mtime; a directory needs one)
  --compression C            gzip (default), zstd or none
  --platform OS/ARCH[/VAR]   platform recorded in the config (default linux/amd64)
  --entrypoint JSON|STR      a JSON array (exec form) or a string run by /bin/sh -c
  --cmd JSON|STR             likewise, for the default arguments
  --env K=V                  an environment variable (repeatable, order kept)
  --workdir DIR              working directory
  --user U                   user (name, uid, uid:gid)
  --label K=V                config label (repeatable)
  --annotation K=V           manifest annotation (repeatable)
  --exclude GLOB             leave out matching paths and what is under them (repeatable)
  --normalize LIST           passes to run: all (default), none, or a comma list of
                             ${PASS_NAMES.join(', ')}
  --json                     print digests, sizes and the normalisation report as JSON
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 built, 2 bad usage or bad input, 3 I/O failure.`;

/** The flags of `build`; `verify` takes the same ones but --output. */
export const BUILD_FLAGS = {
  rootfs: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'source-date-epoch': { type: 'string' },
  compression: { type: 'string' },
  platform: { type: 'string' },
  entrypoint: { type: 'string' },
  cmd: { type: 'string' },
  env: { type: 'string', multiple: true },
  workdir: { type: 'string' },
  user: { type: 'string' },
  label: { type: 'string', multiple: true },
  annotation: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  normalize: { type: 'string' },
  deflate: { type: 'string' },
  offline: { type: 'boolean' },
  disk: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...registryFlags(''),
} as const;

export type BuildFlagValues = ReturnType<typeof parse<typeof BUILD_FLAGS>>['values'];

export async function buildCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), BUILD_FLAGS, 'build');
  if (v.help) {
    io.stdout(`${BUILD_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && v.rootfs)) {
    throw new ReproError('E_USAGE', `build: unexpected argument ${JSON.stringify(positionals.at(-1))} (see repro-image build --help)`);
  }
  if (!v.output) throw new ReproError('E_USAGE', 'build: --output REF is required (see repro-image build --help)');
  if (v.output.startsWith('disk:')) return buildDiskCommand(positionals[0], v, io);
  if (v.disk !== undefined) throw new ReproError('E_USAGE', 'build: --disk applies to --output disk:FILE');
  if (positionals.length === 1) return buildSpecCommand(positionals[0]!, v, io);
  if (!v.rootfs) throw new ReproError('E_USAGE', 'build: a SPEC or --rootfs PATH is required (see repro-image build --help)');
  if (v.offline) throw new ReproError('E_USAGE', 'build: --offline applies to a spec build only');
  const progress = progressLine(io, 'writing layer');
  const push = progressLine(io, 'pushing');
  const result = await buildRootfs({
    ...rootfsBuildOptions(v.rootfs, v, io),
    output: v.output,
    registry: registryOptions(v, io, push.update),
    onProgress: progress.update,
  }).finally(() => {
    progress.end();
    push.end();
  });
  reportBuild(result, io, v.json === true);
  return 0;
}

/** The build flags (all but --output) as options for buildRootfs; `verify` rebuilds with them too. */
export function rootfsBuildOptions(rootfs: string, v: BuildFlagValues, io: Io): Omit<RootfsBuildOptions, 'output'> {
  const compression = (v.compression ?? 'gzip') as Compression;
  if (!['gzip', 'zstd', 'none'].includes(compression)) throw new ReproError('E_USAGE', `--compression: expected gzip, zstd or none, got ${JSON.stringify(v.compression)}`);
  const sde = sourceDateEpochOption(v, io);
  const env = v.env?.map((e) => {
    if (e.indexOf('=') <= 0) throw new ReproError('E_USAGE', `--env ${JSON.stringify(e)}: expected KEY=VALUE`);
    return e;
  });
  return {
    rootfs,
    ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
    compression,
    ...(v.platform ? { platform: parsePlatform(v.platform) } : {}),
    config: {
      Entrypoint: commandLine(v.entrypoint, '--entrypoint'),
      Cmd: commandLine(v.cmd, '--cmd'),
      Env: env,
      WorkingDir: v.workdir,
      User: v.user,
      Labels: keyValues(v.label, '--label'),
    },
    ...(v.annotation ? { annotations: keyValues(v.annotation, '--annotation')! } : {}),
    exclude: v.exclude ?? [],
    normalize: selectPasses(v.normalize),
    tmpDir: tmpdir(),
    gzip: { impl: deflateOption(v) },
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
  };
}

/** --source-date-epoch, else $SOURCE_DATE_EPOCH, else undefined (the input decides). */
export function sourceDateEpochOption(v: { 'source-date-epoch'?: string | undefined }, io: Io): number | undefined {
  if (v['source-date-epoch'] !== undefined) return parseSourceDateEpoch(v['source-date-epoch'], '--source-date-epoch');
  return sourceDateEpochFromEnv(io.env);
}

/** The hidden --deflate: auto (default), native or reference; the bytes are the same. */
function deflateOption(v: BuildFlagValues): 'auto' | 'native' | 'reference' {
  const deflate = v.deflate ?? 'auto';
  if (deflate !== 'auto' && deflate !== 'native' && deflate !== 'reference') throw new ReproError('E_USAGE', `--deflate: expected auto, native or reference`);
  return deflate;
}

/** The build flags that apply to a spec build, as its options; `verify SPEC` rebuilds with them too. */
export function specBuildOptions(spec: string, v: BuildFlagValues, io: Io): Omit<SpecBuildOptions, 'output'> {
  const rootfsOnly = (['rootfs', 'compression', 'platform', 'entrypoint', 'cmd', 'env', 'workdir', 'user', 'label', 'exclude', 'normalize'] as const)
    .filter((k) => v[k] !== undefined);
  if (rootfsOnly.length > 0) {
    throw new ReproError('E_USAGE', `${spec}: --${rootfsOnly[0]} is set in the spec, not on the command line`);
  }
  const sde = sourceDateEpochOption(v, io);
  return {
    spec,
    cacheDir: defaultCacheDir(io.env),
    ...(v.offline ? { offline: true } : {}),
    ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
    ...(v.annotation ? { annotations: keyValues(v.annotation, '--annotation')! } : {}),
    tmpDir: tmpdir(),
    gzip: { impl: deflateOption(v) },
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
  };
}

async function buildSpecCommand(spec: string, v: BuildFlagValues, io: Io): Promise<number> {
  const fetching = progressLine(io, 'fetching');
  const progress = progressLine(io, 'writing layer');
  const push = progressLine(io, 'pushing');
  // Loaded here: a root-filesystem build need not load the spec schema, YAML and OpenPGP code.
  const { buildSpec } = await import('../pipeline/spec.js');
  const result = await buildSpec({
    ...specBuildOptions(spec, v, io),
    output: v.output!,
    registry: registryOptions(v, io, push.update),
    onFetchProgress: (done, total) => fetching.update(done, total),
    onProgress: (d, t) => { fetching.end(); progress.update(d, t); },
  }).finally(() => { fetching.end(); progress.end(); push.end(); });
  reportBuild(result, io, v.json === true);
  return 0;
}

function reportBuild(r: BuildResult, io: Io, json: boolean): void {
  for (const p of r.normalize) {
    if (p.changed > 0) {
      const more = p.changed > p.examples.length ? `, ... (${p.changed - p.examples.length} more)` : '';
      io.stderr(`${PASS_NAMES.includes(p.name) ? 'normalize ' : ''}${p.name}: ${p.changed} changed (${p.examples.join(', ')}${more})\n`);
    }
  }
  if (json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else io.stdout(`${r.manifest.digest}\n`);
}

/** build … --output disk:FILE.raw: a spec's disk: section, or a rootfs with --disk. */
async function buildDiskCommand(spec: string | undefined, v: BuildFlagValues, io: Io): Promise<number> {
  if (spec === undefined && !v.rootfs) throw new ReproError('E_USAGE', 'build: a SPEC or --rootfs PATH is required (see repro-image build --help)');
  const ociOnly = (['compression', 'platform', 'entrypoint', 'cmd', 'env', 'workdir', 'user', 'label', 'annotation'] as const).filter((k) => v[k] !== undefined);
  if (ociOnly.length > 0) throw new ReproError('E_USAGE', `build: --${ociOnly[0]} does not apply to a disk image`);
  if (spec !== undefined && v.disk !== undefined) throw new ReproError('E_USAGE', `${spec}: the disk is the spec's disk: section; --disk is for --rootfs builds`);
  if (spec === undefined && v.disk === undefined) throw new ReproError('E_USAGE', 'build: --rootfs with --output disk:FILE needs --disk DISK.yaml');
  if (spec !== undefined) {
    const rootfsOnly = (['exclude', 'normalize'] as const).filter((k) => v[k] !== undefined);
    if (rootfsOnly.length > 0) throw new ReproError('E_USAGE', `${spec}: --${rootfsOnly[0]} is set in the spec, not on the command line`);
  } else if (v.offline) {
    throw new ReproError('E_USAGE', 'build: --offline applies to a spec build only');
  }
  const fetching = progressLine(io, 'fetching');
  const { buildDisk } = await import('../pipeline/disk.js');
  const sde = sourceDateEpochOption(v, io);
  const result = await buildDisk({
    ...(spec !== undefined ? { spec, cacheDir: defaultCacheDir(io.env) } : { rootfs: v.rootfs!, disk: v.disk! }),
    output: v.output!,
    ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
    ...(v.offline ? { offline: true } : {}),
    ...(v.normalize !== undefined ? { normalize: selectPasses(v.normalize) } : {}),
    ...(v.exclude ? { exclude: v.exclude } : {}),
    tmpDir: tmpdir(),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
    onFetchProgress: (done, total) => fetching.update(done, total),
  }).finally(() => fetching.end());
  for (const p of result.normalize) {
    if (p.changed > 0) {
      const more = p.changed > p.examples.length ? `, ... (${p.changed - p.examples.length} more)` : '';
      io.stderr(`${PASS_NAMES.includes(p.name) ? 'normalize ' : ''}${p.name}: ${p.changed} changed (${p.examples.join(', ')}${more})\n`);
    }
  }
  if (v.json) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const d = result.disk;
  const lines = [d.sha256, `disk ${d.diskGuid} ${d.size} bytes, ${d.sectorSize}-byte sectors`];
  for (const p of d.partitions) {
    const what = p.format === 'verity' ? `verity of ${p.protects}, root hash ${p.rootHash}` : p.format === 'none' ? 'no file system' : `${p.format}${p.fsUuid ? ` ${p.volumeId ?? p.fsUuid}` : ''}`;
    lines.push(`partition ${p.number} ${p.type} ${JSON.stringify(p.label)} ${p.uuid} ${p.size} bytes: ${what}`);
  }
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}
