/**
 * The Containerfile flags of `build` and `verify`: `--containerfile FILE [--compat repro-image|podman]`, with
 * podman's own spellings for the rest (`--context`, `--build-arg K=V`, `--target`, `--network`),
 * and `--from-image NAME=REF` for a FROM that names a local image instead of a digest.
 */
import { ReproError } from '../model/errors.js';
import { parsePlatform } from '../model/platform.js';
import type { ContainerfileBuildOptions } from '../pipeline/containerfile/build.js';
import type { BuildahVersion } from '../pipeline/containerfile/buildah.js';
import { selectPasses } from '../pipeline/passes.js';
import { UnpackedStore } from '../pipeline/containerfile/unpacked-store.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { toolInfo } from '../verify/tool.js';
import { keyValues, type Io } from './common.js';

export const CONTAINERFILE_FLAGS = {
  containerfile: { type: 'string', short: 'f' },
  context: { type: 'string' },
  'build-arg': { type: 'string', multiple: true },
  target: { type: 'string' },
  compat: { type: 'string' },
  network: { type: 'string' },
  'from-image': { type: 'string', multiple: true },
  buildah: { type: 'string' },
  'no-unpacked-cache': { type: 'boolean' },
  scratch: { type: 'string' },
} as const;

export const CONTAINERFILE_HELP = `  -f, --containerfile FILE   build from a Containerfile (Dockerfile) instead: FROM scratch, FROM a
                             reference pinned by digest (or named by --from-image), stages (AS),
                             ADD (local files; archives extracted), COPY [--from] [--chown]
                             [--chmod], RUN (under runc), ENV, ARG, LABEL, CMD, ENTRYPOINT,
                             WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL (see docs/containerfile.md)
  --compat repro-image       (with --containerfile; the default) our canonical form, as
                             --rootfs builds it: the target stage's tree in one layer after the
                             normalisation passes (--normalize, --exclude), the stage's config
                             (ENV, CMD, ENTRYPOINT, WORKDIR, USER, LABEL, EXPOSE, VOLUME,
                             STOPSIGNAL); the same digest however many RUN/COPY steps made it
  --compat podman            (with --containerfile) the bytes podman >= 5.7 (buildah 1.42-1.44)
                             writes with --source-date-epoch --rewrite-timestamp: layer tars,
                             config and manifest (see docs/podman-compat.md); with
                             --compression none the manifest digest is the one podman stores
  --context DIR              the build context (default: the Containerfile's directory)
  --build-arg K=V            a build argument (repeatable)
  --target STAGE             build up to this stage
  --network none|host        RUN's network (default none: loopback only)
  --from-image NAME=REF      the image a FROM NAME means (e.g. an oci: layout of a local base)
  --buildah VERSION          (--compat podman) whose history strings: 1.43 (default, podman 5.7/5.8), 1.41, 1.39
  --no-unpacked-cache        write a FROM image's files into each stage instead of mounting its
                             tree, kept unpacked in the cache
                             ($XDG_CACHE_HOME/repro-image/unpacked), under an overlay (as root,
                             where overlay mounts work)
  --scratch memory|disk      where the stage trees and layer tars live while the build runs:
                             memory (the default), a private tmpfs in the temp dir of at most
                             half the available memory (as root, with 2 GiB available; else
                             disk; a build that fills it is done again on disk); disk, the temp
                             dir itself. The bytes built are the same`;

interface Values {
  containerfile?: string | undefined;
  context?: string | undefined;
  'build-arg'?: string[] | undefined;
  target?: string | undefined;
  compat?: string | undefined;
  network?: string | undefined;
  'from-image'?: string[] | undefined;
  buildah?: string | undefined;
  'no-unpacked-cache'?: boolean | undefined;
  scratch?: string | undefined;
  platform?: string | undefined;
  normalize?: string | undefined;
  exclude?: string[] | undefined;
  annotation?: string[] | undefined;
}

/** The Containerfile build's options from the flags (all but output and the epoch). */
export function containerfileOptions(v: Values, io: Io): Omit<ContainerfileBuildOptions, 'output' | 'sourceDateEpoch'> {
  const compat = v.compat ?? 'repro-image';
  if (compat !== 'podman' && compat !== 'repro-image') throw new ReproError('E_USAGE', `--compat: expected repro-image (the default) or podman, got ${JSON.stringify(v.compat)}`);
  if (compat === 'repro-image' && v.buildah !== undefined) throw new ReproError('E_USAGE', '--buildah applies to --compat podman only (it chooses podman\'s history strings)');
  if (v.network !== undefined && v.network !== 'none' && v.network !== 'host') throw new ReproError('E_USAGE', `--network: expected none or host, got ${JSON.stringify(v.network)}`);
  if (v.scratch !== undefined && v.scratch !== 'memory' && v.scratch !== 'disk') throw new ReproError('E_USAGE', `--scratch: expected memory (the default) or disk, got ${JSON.stringify(v.scratch)}`);
  if (v.buildah !== undefined && !['1.39', '1.41', '1.43'].includes(v.buildah)) throw new ReproError('E_USAGE', `--buildah: expected 1.43, 1.41 or 1.39, got ${JSON.stringify(v.buildah)}`);
  const canonical = (['normalize', 'exclude', 'annotation'] as const).find((k) => v[k] !== undefined);
  if (compat === 'podman' && canonical) throw new ReproError('E_USAGE', `--${canonical} applies to --compat repro-image only (podman's bytes have no such step)`);
  const annotations = keyValues(v.annotation, '--annotation');
  const buildArgs = keyValues(v['build-arg'], '--build-arg');
  const baseImages = keyValues(v['from-image'], '--from-image');
  return {
    containerfile: v.containerfile!,
    compat,
    ...(v.context !== undefined ? { context: v.context } : {}),
    ...(buildArgs ? { buildArgs } : {}),
    ...(v.target !== undefined ? { target: v.target } : {}),
    ...(v.network === 'host' ? { network: 'host' as const } : {}),
    ...(baseImages ? { baseImages } : {}),
    ...(v.buildah !== undefined ? { buildah: v.buildah as BuildahVersion } : {}),
    ...(v.platform !== undefined ? { platform: parsePlatform(v.platform) } : {}),
    ...(v.normalize !== undefined ? { normalize: selectPasses(v.normalize) } : {}),
    ...(v.exclude ? { exclude: v.exclude } : {}),
    ...(annotations ? { annotations } : {}),
    ...(v['no-unpacked-cache'] ? {} : { unpacked: new UnpackedStore(defaultCacheDir(io.env), toolInfo().version) }),
    scratch: v.scratch === 'disk' ? 'disk' : 'memory',
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
    onOutput: (c) => { if (io.verbosity !== 'quiet') io.stderr(c.toString()); },
    onStep: (line) => { if (io.verbosity !== 'quiet' && io.isTTY) io.stderr(`${line}\n`); },
  };
}
