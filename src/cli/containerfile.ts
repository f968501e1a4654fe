/**
 * The Containerfile flags of `build` and `verify`: `--containerfile FILE --compat podman`, with
 * podman's own spellings for the rest (`--context`, `--build-arg K=V`, `--target`, `--network`),
 * and `--from-image NAME=REF` for a FROM that names a local image instead of a digest.
 */
import { ReproError } from '../model/errors.js';
import { parsePlatform } from '../model/platform.js';
import type { ContainerfileBuildOptions } from '../pipeline/containerfile/build.js';
import type { BuildahVersion } from '../pipeline/containerfile/buildah.js';
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
} as const;

export const CONTAINERFILE_HELP = `  -f, --containerfile FILE   build from a Containerfile (Dockerfile) instead: FROM scratch, FROM a
                             reference pinned by digest (or named by --from-image), stages (AS),
                             ADD (local files; archives extracted), COPY [--from] [--chown]
                             [--chmod], RUN (under runc), ENV, ARG, LABEL, CMD, ENTRYPOINT,
                             WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL (see docs/containerfile.md)
  --compat podman            (with --containerfile; required) the bytes podman >= 5.7 (buildah
                             1.42-1.44) writes with --source-date-epoch --rewrite-timestamp:
                             layer tars, config and manifest (see docs/podman-compat.md);
                             with --compression none the manifest digest is the one podman stores
  --context DIR              the build context (default: the Containerfile's directory)
  --build-arg K=V            a build argument (repeatable)
  --target STAGE             build up to this stage
  --network none|host        RUN's network (default none: loopback only)
  --from-image NAME=REF      the image a FROM NAME means (e.g. an oci: layout of a local base)
  --buildah VERSION          whose history strings: 1.43 (default, podman 5.7/5.8), 1.41, 1.39`;

interface Values {
  containerfile?: string | undefined;
  context?: string | undefined;
  'build-arg'?: string[] | undefined;
  target?: string | undefined;
  compat?: string | undefined;
  network?: string | undefined;
  'from-image'?: string[] | undefined;
  buildah?: string | undefined;
  platform?: string | undefined;
}

/** The Containerfile build's options from the flags (all but output and the epoch). */
export function containerfileOptions(v: Values, io: Io): Omit<ContainerfileBuildOptions, 'output' | 'sourceDateEpoch'> {
  if (v.compat !== 'podman') {
    throw new ReproError('E_USAGE', v.compat === undefined
      ? '--containerfile: give --compat podman (the only Containerfile mode so far: podman\'s bytes)'
      : `--compat: expected podman, got ${JSON.stringify(v.compat)}`);
  }
  if (v.network !== undefined && v.network !== 'none' && v.network !== 'host') throw new ReproError('E_USAGE', `--network: expected none or host, got ${JSON.stringify(v.network)}`);
  if (v.buildah !== undefined && !['1.39', '1.41', '1.43'].includes(v.buildah)) throw new ReproError('E_USAGE', `--buildah: expected 1.43, 1.41 or 1.39, got ${JSON.stringify(v.buildah)}`);
  const buildArgs = keyValues(v['build-arg'], '--build-arg');
  const baseImages = keyValues(v['from-image'], '--from-image');
  return {
    containerfile: v.containerfile!,
    compat: 'podman',
    ...(v.context !== undefined ? { context: v.context } : {}),
    ...(buildArgs ? { buildArgs } : {}),
    ...(v.target !== undefined ? { target: v.target } : {}),
    ...(v.network === 'host' ? { network: 'host' as const } : {}),
    ...(baseImages ? { baseImages } : {}),
    ...(v.buildah !== undefined ? { buildah: v.buildah as BuildahVersion } : {}),
    ...(v.platform !== undefined ? { platform: parsePlatform(v.platform) } : {}),
    onOutput: (c) => { if (io.verbosity !== 'quiet') io.stderr(c.toString()); },
    onStep: (line) => { if (io.verbosity !== 'quiet' && io.isTTY) io.stderr(`${line}\n`); },
  };
}
