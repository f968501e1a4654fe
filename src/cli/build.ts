import { tmpdir } from 'node:os';
import type { RootfsBuildOptions } from '../pipeline/rootfs.js';
import type { SpecBuildOptions } from '../pipeline/spec.js';
import type { BuildResult, BuiltImage } from '../pipeline/tree-steps.js';
import type { Attachment } from '../image/referrer.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { PASS_NAMES, selectPasses } from '../pipeline/passes.js';
import { parseSourceDateEpoch, sourceDateEpochFromEnv } from '../pipeline/epoch.js';
import { ReproError } from '../model/errors.js';
import { PORT, SIGNAL, exposedPorts } from '../model/config.js';
import type { Compression } from '../model/media-types.js';
import { parsePlatform } from '../model/platform.js';
import { commandLine, keyValues, parse, printWarnings, progressLine, verbosity, type Io } from './common.js';
import { CONTAINERFILE_FLAGS, CONTAINERFILE_HELP, containerfileOptions } from './containerfile.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

/** The options that make the image (all but input and output): `build` and `verify` take them. */
export const IMAGE_OPTIONS_HELP = `  --source-date-epoch N      the build time in seconds (default: $SOURCE_DATE_EPOCH; for a spec,
                             the Release Date or the snapshot date in its lock; for a tar input,
                             its newest entry mtime; a directory needs one)
  --compression C            gzip (default), zstd or none
  --platform OS/ARCH[/VAR]   platform recorded in the config (default linux/amd64); for a spec,
                             with source.architectures: build only this platform's image (the
                             same as the index's image of it); without, the spec's platform
  --entrypoint JSON|STR      a JSON array (exec form) or a string run by /bin/sh -c
  --cmd JSON|STR             likewise, for the default arguments
  --env K=V                  an environment variable (repeatable, order kept)
  --workdir DIR              working directory
  --user U                   user (name, uid, uid:gid)
  --label K=V                config label (repeatable)
  --expose PORT[/PROTO]      a port the container listens on, tcp unless /udp or /sctp (repeatable)
  --volume PATH              a path that holds external data (repeatable)
  --stop-signal SIG          the signal that stops the container (SIGTERM, 15, ...)
  --annotation K=V           manifest annotation (repeatable)
  --exclude GLOB             leave out matching paths and what is under them (repeatable)
  --normalize LIST           passes to run: all (default), none, or a comma list of
                             ${PASS_NAMES.join(', ')}
  --no-xattrs                store no extended attributes (security.capability, user.*): a
                             directory's are then not read, so the fs-xattr addon is not needed.
                             Without it, a directory whose attributes cannot be read is refused
  --threads N                compressor threads: gzip blocks in flight and zstd workers (default:
                             the cores for gzip, 2 for zstd); the bytes are the same for any N`;

export const BUILD_HELP = `Usage: repro-image build --rootfs PATH --output REF [options]
       repro-image build SPEC.yaml --output REF [--offline] [--source-date-epoch N] [--json]
       repro-image build --containerfile FILE [--compat repro-image|podman] [--context DIR]
                         [--build-arg K=V]... [--target STAGE] --source-date-epoch N --output REF
       repro-image build SPEC.yaml --output disk:FILE.raw [--offline] [--source-date-epoch N] [--json]
       repro-image build --rootfs PATH --disk DISK.yaml --output disk:FILE.raw [options]

Builds an OCI image whose bytes depend only on its inputs and SOURCE_DATE_EPOCH, from a root
filesystem (one layer), or from an image spec and its lock (one layer, or the layers its layers:
asks for, see docs/layers.md) (SPEC.lock.json, made by 'repro-image lock';
packages not in the cache are fetched first unless --offline); a spec's base: image (pinned by
digest, docs/base-images.md) goes first, its layers as they are, ours on top; or from a
Containerfile: by default (--compat repro-image) its target stage's tree as --rootfs would build
it (one layer, our normalisation, the stage's config), or with --compat podman the image podman
builds from it, byte for byte. Prints the manifest digest.

  --rootfs PATH              a directory, or a .tar, .tar.gz, .tar.xz or .tar.zst archive
  --offline                  (spec) use only the cache; never open a network connection
  -o, --output REF           oci:DIR[:TAG], oci-archive:FILE[:TAG], dir:DIR,
                             docker-archive:FILE[:NAME:TAG] (keeps no manifest: prints the one
                             skopeo and podman read), containers-storage:NAME (podman load) or
                             docker://HOST/REPO[:TAG] (pushed: blobs, config, then manifest);
                             disk:FILE.raw writes a GPT disk image from the spec's disk: section
                             (or --disk): prints its SHA-256, the partition UUIDs and verity root
                             hashes (see docs/disk.md)
  --disk DISK.yaml           (rootfs) the disk definition: a disk: section on its own
${IMAGE_OPTIONS_HELP}
${CONTAINERFILE_HELP}
  --json                     print digests, sizes and the normalisation report as JSON
  --sbom FORMAT              also write the image's SBOM (spdx-json or cyclonedx-json; repeatable)
                             beside it, as an OCI 1.1 referrer: in an oci: layout or oci-archive an
                             artifact manifest whose subject is the image, in a registry pushed
                             through the referrers API or, where the registry has none, under the
                             sha256-HEX tag; the image's digest does not change (see docs/sbom.md)
  --provenance               also write the build's SLSA v1 provenance (an in-toto Statement:
                             spec and lock digests, SOURCE_DATE_EPOCH, every locked file's
                             SHA-256, the builder; no wall-clock time, so the same inputs give the
                             same bytes) beside the image as a referrer, as --sbom does; a spec
                             build, or --rootfs from an archive (its SHA-256 and the options)
  --provenance-file FILE     write that Statement to FILE too (any output, docker-archive
                             included); alone, nothing is attached (see docs/provenance.md)
  --builder-id URI           the provenance's runDetails.builder.id (default
                             urn:repro-image:builder:local)
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 built, 2 bad usage or bad input, 3 I/O failure, 129/130/143 interrupted by
SIGHUP/SIGINT/SIGTERM (nothing left behind), 141 stdout or stderr a closed pipe (likewise).`;

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
  expose: { type: 'string', multiple: true },
  volume: { type: 'string', multiple: true },
  'stop-signal': { type: 'string' },
  exclude: { type: 'string', multiple: true },
  normalize: { type: 'string' },
  deflate: { type: 'string' },
  'no-xattrs': { type: 'boolean' },
  threads: { type: 'string' },
  offline: { type: 'boolean' },
  disk: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...CONTAINERFILE_FLAGS,
  ...registryFlags(''),
} as const;

export type BuildFlagValues = ReturnType<typeof parse<typeof BUILD_FLAGS>>['values'];

/** build's own flags beyond the ones verify shares. */
export const BUILD_ONLY = {
  sbom: { type: 'string', multiple: true },
  provenance: { type: 'boolean' },
  'provenance-file': { type: 'string' },
  'builder-id': { type: 'string' },
} as const;

/** `--sbom FORMAT`s as attachments (loaded only when asked for). */
async function attachments(formats: string[] | undefined, output: string, io: Io): Promise<Attachments> {
  if (!formats || formats.length === 0) return {};
  if (output.startsWith('docker-archive:')) throw new ReproError('E_USAGE', 'build: --sbom needs an output that holds OCI artifacts (oci:, oci-archive:, docker://); a docker-archive holds none');
  for (const f of formats) if (f !== 'spdx-json' && f !== 'cyclonedx-json') throw new ReproError('E_USAGE', `--sbom: expected spdx-json or cyclonedx-json, got ${JSON.stringify(f)}`);
  const { sbomAttachment } = await import('../sbom/attach.js');
  // The database's warnings once per image, not once per format.
  const said = new Set<string>();
  const warn = (warnings: string[]): void => {
    const fresh = warnings.filter((w) => !said.has(w));
    for (const w of fresh) said.add(w);
    printWarnings(io, fresh);
  };
  return { attach: formats.map((f) => sbomAttachment(f, warn)) };
}

type Maker = (i: BuiltImage) => Attachment | undefined | Promise<Attachment | undefined>;

/** Attachments for the build, and what to do once it has succeeded (write --provenance-file). */
interface Attachments {
  attach?: Maker[];
  after?: () => Promise<void>;
}

/**
 * --provenance, --provenance-file, --builder-id (a spec build only): the provenance maker, and the
 * file written once the build has succeeded (never beside a failed output).
 */
async function provenanceFlags(v: BuildFlagValues & { provenance?: boolean | undefined; 'provenance-file'?: string | undefined; 'builder-id'?: string | undefined }, spec: string | undefined, io: Io): Promise<Attachments | undefined> {
  if (!v.provenance && v['provenance-file'] === undefined) {
    if (v['builder-id'] !== undefined) throw new ReproError('E_USAGE', 'build: --builder-id applies with --provenance or --provenance-file');
    return undefined;
  }
  const flag = v.provenance ? '--provenance' : '--provenance-file';
  if (v.containerfile !== undefined || (spec === undefined && v.rootfs === undefined)) throw new ReproError('E_UNSUPPORTED', `build: ${flag} records a spec build (its lock lists every input) or a --rootfs archive build; a --containerfile build has none yet`);
  if (v.provenance && v.output!.startsWith('docker-archive:')) throw new ReproError('E_USAGE', 'build: --provenance needs an output that holds OCI artifacts (oci:, oci-archive:, docker://); a docker-archive holds none (write it with --provenance-file FILE)');
  const file = v['provenance-file'];
  const { provenanceAttachment } = await import('../sbom/provenance.js');
  const { toolInfo } = await import('../verify/tool.js');
  const what = spec !== undefined ? { spec } : (() => {
    const o = rootfsBuildOptions(v.rootfs!, v, io);
    return { rootfs: v.rootfs!, build: { ...(o.exclude ? { exclude: o.exclude } : {}), ...(o.normalize ? { normalize: o.normalize } : {}), ...(o.xattrs === false ? { xattrs: false } : {}) } };
  })();
  let statement: Buffer | undefined;
  const make = provenanceAttachment({
    ...what, tool: toolInfo(), attach: v.provenance === true,
    ...(v['builder-id'] !== undefined ? { builderId: v['builder-id'] } : {}),
    onStatement: (bytes) => { statement = bytes; },
  });
  return {
    attach: [make],
    after: async () => {
      if (file === undefined || !statement) return;
      const { writeFileAtomic } = await import('../fs/atomic.js');
      await writeFileAtomic(file, statement);
      if (verbosity(io) !== 'quiet') io.stderr(`provenance written to ${file}\n`);
    },
  };
}

export async function buildCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), { ...BUILD_FLAGS, ...BUILD_ONLY }, 'build');
  if (v.help) {
    io.stdout(`${BUILD_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && v.rootfs)) {
    throw new ReproError('E_USAGE', `build: unexpected argument ${JSON.stringify(positionals.at(-1))} (see repro-image build --help)`);
  }
  if (!v.output) throw new ReproError('E_USAGE', 'build: --output REF is required (see repro-image build --help)');
  if (v.output.startsWith('disk:')) {
    const notDisk = (['sbom', 'containerfile', 'provenance', 'provenance-file'] as const).find((k) => v[k] !== undefined);
    if (notDisk) throw new ReproError('E_USAGE', `build: --${notDisk} does not apply to a disk image`);
    return buildDiskCommand(positionals[0], v, io);
  }
  if (v.disk !== undefined) throw new ReproError('E_USAGE', 'build: --disk applies to --output disk:FILE');
  if (v.containerfile !== undefined) {
    // The Containerfile says the config (ENV, CMD, LABEL, …); a flag that would have said it too, or
    // an attachment this build does not make, is refused rather than ignored.
    const notCf = (['entrypoint', 'cmd', 'env', 'workdir', 'user', 'label', 'expose', 'volume', 'stop-signal', 'offline', 'sbom'] as const).find((k) => v[k] !== undefined);
    if (notCf) throw new ReproError('E_USAGE', `build: --${notCf} does not apply to --containerfile${notCf === 'sbom' || notCf === 'offline' ? '' : ' (the Containerfile sets the config)'}`);
  }
  const attach: Attachments = await attachments(v.sbom, v.output, io);
  const provenance = await provenanceFlags(v, positionals[0], io);
  if (provenance) Object.assign(attach, { attach: [...(attach.attach ?? []), ...provenance.attach!], after: provenance.after });
  if (v.containerfile !== undefined) {
    if (positionals.length > 0 || v.rootfs) throw new ReproError('E_USAGE', 'build: --containerfile, --rootfs and a SPEC are three different inputs; give one');
    return buildContainerfileCommand(v, io);
  }
  const cf = (['context', 'build-arg', 'target', 'compat', 'network', 'from-image', 'buildah', 'no-unpacked-cache', 'scratch'] as const).find((k) => v[k] !== undefined);
  if (cf) throw new ReproError('E_USAGE', `build: --${cf} applies to --containerfile only`);
  if (positionals.length === 1) return buildSpecCommand(positionals[0]!, v, io, attach);
  if (!v.rootfs) throw new ReproError('E_USAGE', 'build: a SPEC or --rootfs PATH is required (see repro-image build --help)');
  if (v.offline) throw new ReproError('E_USAGE', 'build: --offline applies to a spec build only');
  const progress = progressLine(io, 'writing layer');
  const push = progressLine(io, 'pushing');
  const { buildRootfs } = await import('../pipeline/rootfs.js');
  const result = await buildRootfs({
    ...rootfsBuildOptions(v.rootfs, v, io),
    output: v.output,
    registry: registryOptions(v, io, push.update),
    onProgress: progress.update,
    ...(attach.attach ? { attach: attach.attach } : {}),
  }).finally(() => {
    progress.end();
    push.end();
  });
  await attach.after?.();
  reportBuild(result, io, v.json === true);
  return 0;
}

async function buildContainerfileCommand(v: BuildFlagValues, io: Io): Promise<number> {
  const sde = sourceDateEpochOption(v, io);
  if (sde === undefined) throw new ReproError('E_BAD_EPOCH', 'build --containerfile: set SOURCE_DATE_EPOCH or pass --source-date-epoch N (podman --source-date-epoch=N)');
  const compression = (v.compression ?? 'gzip') as Compression;
  if (!['gzip', 'zstd', 'none'].includes(compression)) throw new ReproError('E_USAGE', `--compression: expected gzip, zstd or none, got ${JSON.stringify(v.compression)}`);
  const { buildContainerfile } = await import('../pipeline/containerfile/build.js');
  const push = progressLine(io, 'pushing');
  const r = await buildContainerfile({
    ...containerfileOptions(v, io),
    sourceDateEpoch: sde,
    compression,
    output: v.output!,
    registry: registryOptions(v, io, push.update),
    tmpDir: tmpdir(),
  }).finally(push.end);
  if (r.compat === 'repro-image') {
    reportBuild(r, io, v.json === true);
    return 0;
  }
  if (v.json === true) {
    const { manifestWith: _m, ...rest } = r;
    io.stdout(`${JSON.stringify(rest, null, 2)}\n`);
  } else {
    if (verbosity(io) !== 'quiet') io.stderr(`podman's stored (uncompressed) manifest: ${r.storedManifestDigest}; config ${r.config.digest}\n`);
    io.stdout(`${r.manifest.digest}\n`);
  }
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
      ExposedPorts: v.expose === undefined ? undefined : exposedPorts(v.expose.map((p) => {
        if (!PORT.test(p)) throw new ReproError('E_USAGE', `--expose ${JSON.stringify(p)}: expected PORT or PORT/tcp, PORT/udp, PORT/sctp (1 to 65535)`);
        return p;
      })),
      Volumes: v.volume === undefined ? undefined : Object.fromEntries(v.volume.map((p) => {
        if (!p.startsWith('/')) throw new ReproError('E_USAGE', `--volume ${JSON.stringify(p)}: expected an absolute path`);
        return [p, {}];
      })),
      StopSignal: v['stop-signal'] === undefined || SIGNAL.test(v['stop-signal']) ? v['stop-signal']
        : (() => { throw new ReproError('E_USAGE', `--stop-signal ${JSON.stringify(v['stop-signal'])}: expected a signal name such as SIGTERM, or its number`); })(),
    },
    ...(v.annotation ? { annotations: keyValues(v.annotation, '--annotation')! } : {}),
    exclude: v.exclude ?? [],
    normalize: selectPasses(v.normalize),
    ...(v['no-xattrs'] ? { xattrs: false } : {}),
    tmpDir: tmpdir(),
    ...compressorOptions(v),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
  };
}

/** --threads N and the hidden --deflate, as the compressors' options. */
function compressorOptions(v: BuildFlagValues): Pick<RootfsBuildOptions, 'gzip' | 'zstd'> {
  let threads: number | undefined;
  if (v.threads !== undefined) {
    threads = /^[1-9][0-9]{0,3}$/.test(v.threads) ? Number(v.threads) : NaN;
    if (!(threads <= 1024)) throw new ReproError('E_USAGE', `--threads: expected a whole number from 1 to 1024, got ${JSON.stringify(v.threads)}`);
  }
  return {
    gzip: { impl: deflateOption(v), ...(threads ? { concurrency: threads } : {}) },
    ...(threads ? { zstd: { workers: threads } } : {}),
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
  const rootfsOnly = (['rootfs', 'compression', 'entrypoint', 'cmd', 'env', 'workdir', 'user', 'label', 'expose', 'volume', 'stop-signal', 'exclude', 'normalize'] as const)
    .filter((k) => v[k] !== undefined);
  if (rootfsOnly.length > 0) {
    throw new ReproError('E_USAGE', `${spec}: --${rootfsOnly[0]} is set in the spec, not on the command line`);
  }
  if (v['no-xattrs']) throw new ReproError('E_USAGE', `${spec}: --no-xattrs applies to --rootfs only (packages' attributes come from their archives)`);
  const sde = sourceDateEpochOption(v, io);
  return {
    spec,
    cacheDir: defaultCacheDir(io.env),
    ...(v.offline ? { offline: true } : {}),
    ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
    ...(v.annotation ? { annotations: keyValues(v.annotation, '--annotation')! } : {}),
    ...(v.platform ? { platform: parsePlatform(v.platform) } : {}),
    tmpDir: tmpdir(),
    ...compressorOptions(v),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
  };
}

async function buildSpecCommand(spec: string, v: BuildFlagValues, io: Io, { after, ...attach }: Attachments): Promise<number> {
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
    ...attach,
    onProgress: (d, t) => { fetching.end(); progress.update(d, t); },
  }).finally(() => { fetching.end(); progress.end(); push.end(); });
  await after?.();
  reportBuild(result, io, v.json === true);
  return 0;
}

/**
 * What each step changed, on stderr: one line per step with a count; with --verbose, every path
 * under it; nothing with --quiet, nor with --json (the JSON on stdout has all of it).
 */
export function reportSteps(reports: BuildResult['normalize'], io: Io): void {
  const level = verbosity(io);
  if (level === 'quiet') return;
  for (const p of reports) {
    if (p.changed === 0) continue;
    io.stderr(`${PASS_NAMES.includes(p.name) ? 'normalize ' : ''}${p.name}: ${p.changed} changed\n`);
    if (level === 'verbose') for (const path of p.paths ?? p.examples) io.stderr(`  ${path}\n`);
  }
}

function reportBuild(r: BuildResult & { imageIndex?: { digest: string } }, io: Io, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  reportSteps(r.normalize, io);
  for (const x of r.referrers ?? []) io.stderr(`referrer ${x.digest} (${x.artifactType}) written beside the image\n`);
  io.stdout(`${(r.imageIndex ?? r.manifest).digest}\n`);
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
    ...(v['no-xattrs'] ? { xattrs: false } : {}),
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
