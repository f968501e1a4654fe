/**
 * `verify --containerfile FILE --compat podman --against REF`: rebuilds what podman builds from the
 * Containerfile (uncompressed: podman's stored image) and proves the published image in two steps
 * (content-proof.ts): its config and every layer's content are ours, then its manifest digest is
 * ours around its own compressed layers. Without a SOURCE_DATE_EPOCH the published config's
 * `created` is used, and the record says so.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { makeScratchDir } from '../fs/scratch.js';
import { readImage } from '../image/read.js';
import { ReproError, option } from '../model/errors.js';
import { formatPlatform } from '../model/platform.js';
import type { ContainerfileBuildOptions } from '../pipeline/containerfile/build.js';
import type { PodmanImage } from '../pipeline/containerfile/podman-image.js';
import { openLayout } from '../transports/layout/read.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { compareImages, type VerifyFinding } from './compare.js';
import { decompressedDigests, proveContent, type ContentProof } from './content-proof.js';
import { ARCHIVE_ANNOTATION, archivePublished, fetchPublished, type Published } from './published.js';
import type { Compression } from '../model/media-types.js';
import type { Platform } from '../model/platform.js';
import { toolInfo, type ToolInfo } from './tool.js';

export interface ContainerfileVerifyOptions {
  /** The build, as for `build --containerfile` (no output; the epoch may be left to the published image). */
  build: Omit<ContainerfileBuildOptions, 'output' | 'sourceDateEpoch' | 'compression'> & { sourceDateEpoch?: number };
  against: ImageRef | string;
  archive?: string;
  registry?: RegistryOptions;
  /** On a failed proof, also run the diff engine over both images (default true). */
  deepDiff?: boolean;
  maxDifferences?: number;
}

export interface ContainerfileVerifyResult {
  verdict: 'reproduced' | 'not-reproduced';
  /**
   * `manifest`: the published manifest digest reached (our manifest around the publisher's
   * compressed layers); `content`: config and every layer's content proven, the manifest not (or,
   * against containers-storage, not keepable); `none`: not even that.
   */
  level: 'manifest' | 'content' | 'none';
  tool: ToolInfo;
  inputs: {
    containerfile: string;
    context: string;
    compat: 'podman' | 'repro-image';
    /** (podman) whose history strings. */
    buildah?: string;
    buildArgs: Record<string, string>;
    sourceDateEpoch: number;
    sourceDateEpochFrom: 'option' | 'published-created';
    platform: string;
  };
  /** `manifest` (repro-image): the rebuilt manifest digest; `storedManifest` (podman): podman's stored one. */
  rebuilt: { manifest?: string; config: string; storedManifest?: string; layers: Array<{ diffId: string; size: number }> };
  published: { reference: string; manifest: string; config: string; index?: string; archive?: string };
  /** (podman) The two-step proof; the repro-image form compares the manifest digest itself. */
  proof?: ContentProof;
  findings: VerifyFinding[];
}

function createdSeconds(created: unknown, where: string): number {
  const ms = typeof created === 'string' ? Date.parse(created) : NaN;
  if (!Number.isFinite(ms) || ms % 1000 !== 0) {
    throw new ReproError('E_USAGE', `${where}: the published config's created (${JSON.stringify(created)}) is not a whole second; give ${option('sourceDateEpoch')}`);
  }
  return ms / 1000;
}

export async function verifyContainerfile(opts: ContainerfileVerifyOptions): Promise<ContainerfileVerifyResult> {
  const against = typeof opts.against === 'string' ? parseImageRef(opts.against, option('against')) : opts.against;
  const platform = opts.build.platform ?? { os: 'linux', architecture: 'amd64' };
  const published = await fetchPublished(against, platform, opts.registry ? { registry: opts.registry } : {});
  if (opts.archive !== undefined) await archivePublished(opts.archive, published, 'tag' in against ? against.tag : undefined, [], { [ARCHIVE_ANNOTATION.rebuild]: 'containerfile', [ARCHIVE_ANNOTATION.compat]: opts.build.compat });
  const sde = opts.build.sourceDateEpoch ?? createdSeconds(published.config.value.created, published.reference);
  const tmp = await makeScratchDir(opts.build.tmpDir, 'repro-image-verify-');
  try {
    const out = join(tmp, 'rebuilt');
    if (opts.build.compat === 'repro-image') return await verifyCanonical(opts, { against, published, sde, out, platform });
    const { withPodmanBuild, LayerNotKept } = await import('../pipeline/containerfile/build.js');
    // The published layers are decompressed and hashed while the rebuild runs (its time is mostly
    // file system calls and the commands of RUN).
    const decompressed = decompressedDigests(published);
    // The rebuilt image is known by its digests (its layer tars hashed, not written); it is
    // written only if the diff engine has to explain a failed proof: from the stage's directory
    // when its layers are the base's and the stage's last, else built again, keeping the tars
    // (such a failed proof costs a second build; a proof, no copy of any layer).
    const build = { ...opts.build, sourceDateEpoch: sde };
    return await withPodmanBuild(build, async (built) => {
      const proof = await proveContent(built, published, built.manifestWith, decompressed);
      // containers-storage keeps layers uncompressed: the content is all a store can prove.
      const contentOnly = against.transport === 'containers-storage';
      const level: ContainerfileVerifyResult['level'] = proof.level === 'digest' ? 'manifest' : proof.level === 'content' ? 'content' : 'none';
      const reproduced = level === 'manifest' || (contentOnly && level === 'content');
      const findings: VerifyFinding[] = proof.problems.map((p) => ({ path: 'proof', message: p }));
      const write = async (image: PodmanImage): Promise<string> => (await image.write({ transport: 'oci', path: out }, { compression: 'none' })).reference;
      const layout = async (): Promise<string> => {
        // A layer that was not kept is asked for before anything is written to `out`.
        try {
          return await write(built);
        } catch (e) {
          if (!(e instanceof LayerNotKept)) throw e;
        }
        build.onStep?.('the proof failed: building again, keeping the layer tars, to compare the images file by file');
        return withPodmanBuild(build, write);
      };
      if (!reproduced) findings.push(...await explain(opts, built, published, { layout, against, platform, level }));
      const result: ContainerfileVerifyResult = {
        verdict: reproduced ? 'reproduced' : 'not-reproduced',
        level,
        tool: toolInfo(),
        inputs: inputsOf(opts, 'podman', sde, platform, built.buildah),
        rebuilt: { config: built.config.digest, storedManifest: built.manifest.digest, layers: built.layers.map((l) => ({ diffId: l.diffId, size: l.size })) },
        published: publishedOf(opts, published),
        proof,
        findings,
      };
      return result;
    }, { hashOnly: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** What both forms of the proof record of their inputs (the podman form adds its buildah version). */
function inputsOf(opts: ContainerfileVerifyOptions, compat: ContainerfileVerifyResult['inputs']['compat'], sde: number, platform: Platform, buildah?: string): ContainerfileVerifyResult['inputs'] {
  return {
    containerfile: opts.build.containerfile,
    context: opts.build.context ?? '(the Containerfile\'s directory)',
    compat,
    ...(buildah !== undefined ? { buildah } : {}),
    buildArgs: { ...opts.build.buildArgs },
    sourceDateEpoch: sde,
    sourceDateEpochFrom: opts.build.sourceDateEpoch !== undefined ? 'option' : 'published-created',
    platform: formatPlatform(platform),
  };
}

/** What both forms record of the published image: its reference and digests, the index it came through, the archive kept. */
function publishedOf(opts: ContainerfileVerifyOptions, published: Published): ContainerfileVerifyResult['published'] {
  return {
    reference: published.reference, manifest: published.descriptor.digest, config: published.config.digest,
    ...(published.index ? { index: published.index.descriptor.digest } : {}),
    ...(opts.archive !== undefined ? { archive: opts.archive } : {}),
  };
}

/**
 * Why a rebuild is not the published image: the image-level comparison, then, when not even the
 * content matched, the diff engine's findings (which file, which field) against the rebuilt image
 * as `layout` writes it (an `oci:` reference).
 */
async function explain(
  opts: ContainerfileVerifyOptions,
  rebuilt: Parameters<typeof compareImages>[0],
  published: Published,
  p: { layout: () => Promise<string>; against: ImageRef; platform: Platform; level: ContainerfileVerifyResult['level'] },
): Promise<VerifyFinding[]> {
  const findings = compareImages(rebuilt, published);
  if (opts.deepDiff !== false && p.level === 'none') {
    const { diff } = await import('../diff/index.js');
    const d = await diff(await p.layout(), formatImageRef(p.against), { platform: formatPlatform(p.platform), ...(opts.registry ? { registryB: opts.registry } : {}), maxDifferences: opts.maxDifferences ?? 1000 });
    findings.push(...d.findings.map((f) => ({ path: `diff.${f.id}`, message: `${f.title}${f.examples.length > 0 ? ` (e.g. ${f.examples.slice(0, 3).join('; ')})` : ''}` })));
  }
  return findings;
}

/** The compression of the published layers (ours are one layer, compressed one way): what the rebuild uses. */
function publishedCompression(published: Published): Compression {
  const t = published.manifest.value.layers[0]?.mediaType ?? '';
  return t.endsWith('+zstd') ? 'zstd' : t.endsWith('+gzip') || t.endsWith('.gzip') || t.endsWith('tar.gzip') ? 'gzip' : t === '' ? 'gzip' : 'none';
}

/**
 * The repro-image form: every byte is ours (our compressor too), so the rebuild, compressed as the
 * published layers are, must have the published manifest digest (the config digest against a
 * store that keeps none).
 */
async function verifyCanonical(opts: ContainerfileVerifyOptions, p: { against: ImageRef; published: Published; sde: number; out: string; platform: Platform }): Promise<ContainerfileVerifyResult> {
  const { buildContainerfile } = await import('../pipeline/containerfile/build.js');
  const { published, against, out, platform } = p;
  const built = await buildContainerfile({ ...opts.build, compat: 'repro-image', sourceDateEpoch: p.sde, compression: publishedCompression(published), output: { transport: 'oci', path: out } });
  const contentOnly = against.transport === 'containers-storage' || against.transport === 'docker-archive';
  const level: ContainerfileVerifyResult['level'] = contentOnly
    ? built.config.digest === published.config.digest ? 'content' : 'none'
    : built.manifest.digest === published.manifest.digest ? 'manifest' : built.config.digest === published.config.digest ? 'content' : 'none';
  const reproduced = level === 'manifest' || (contentOnly && level === 'content');
  const findings: VerifyFinding[] = [];
  if (!reproduced) findings.push(...await explain(opts, await readImage(await openLayout(out, undefined), 'rebuilt'), published, { layout: async () => `oci:${out}`, against, platform, level }));
  const result: ContainerfileVerifyResult = {
    verdict: reproduced ? 'reproduced' : 'not-reproduced',
    level,
    tool: toolInfo(),
    inputs: inputsOf(opts, 'repro-image', p.sde, platform),
    rebuilt: { manifest: built.manifest.digest, config: built.config.digest, layers: built.layers.map((l) => ({ diffId: l.diffId, size: l.uncompressedSize })) },
    published: publishedOf(opts, published),
    findings,
  };
  return result;
}
