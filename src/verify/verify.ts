/**
 * `verify`: rebuild an image from its inputs and check it against a published one. The published
 * manifest (by digest or tag; through an index, the image for the build's platform) is fetched
 * first, so that a wrong reference or missing credentials fail before a long build. The rebuild
 * goes to a temporary OCI layout; the verdict is whether the two manifest digests are equal. On a
 * mismatch the findings say what differs at the manifest, config, layer-digest and diff_id level
 * (`compareImages`), then what the `diff` engine finds file by file (unless `deepDiff: false`).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeScratchDir } from '../fs/scratch.js';
import type { Digest } from '../model/digest.js';
import { ReproError, ioError, option } from '../model/errors.js';
import { formatPlatform, type Platform } from '../model/platform.js';
import type { ImageSpec } from '../spec/schema.js';
import type { Descriptor } from '../model/descriptor.js';
import { MediaType, isManifestType } from '../model/media-types.js';
import { parseManifest } from '../model/manifest.js';
import { readDocument } from '../image/verified.js';
import { platformMatches } from '../image/select.js';
import { openImage } from '../transports/index.js';
import { buildRootfs, checkImageOptions, type RootfsBuildOptions } from '../pipeline/rootfs.js';
import type { SpecBuildOptions } from '../pipeline/spec.js';
import { DEFAULT_PLATFORM, type BuildResult } from '../pipeline/tree-steps.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { openLayout } from '../transports/layout/read.js';
import { formatImageRef, parseImageRef, tagOf, type ImageRef } from '../transports/reference.js';
import { readImage, resolveImage, viewImage, type ResolvedImage } from '../image/read.js';
import type { ImageGraph } from '../image/graph.js';
import { compareImages, type VerifyFinding } from './compare.js';
import { ARCHIVE_ANNOTATION, archivePublished, archivePublishedIndex, fetchPublished, type Published, type PublishedIndex } from './published.js';
import { subjectOf } from '../image/referrer.js';
import { canonicalize } from '../model/canonical-json.js';
import { toolInfo, type ToolInfo } from './tool.js';

export interface VerifyOptions {
  /** How to rebuild from a root filesystem: the build's options, without an output. */
  build?: Omit<RootfsBuildOptions, 'output'>;
  /** Or: how to rebuild from an image spec and its lock (SPEC.lock.json beside it). */
  spec?: Omit<SpecBuildOptions, 'output'>;
  /** The published image: docker://…, or any other transport (an archive made by --archive). */
  against: ImageRef | string;
  /**
   * Keep the published index, manifest and config bytes here, as a layer-less OCI layout; for a
   * spec rebuild with the inputs archive beside them (see verifyFromArchive).
   */
  archive?: string;
  /** Credentials and TLS settings for a docker:// reference. */
  registry?: RegistryOptions;
  /**
   * On a mismatch, also run the `diff` engine over both images (which files differ, and the likely
   * causes) and add its findings (default true; false stops at the manifest, config and layer
   * digests).
   */
  deepDiff?: boolean;
  /** Differences the deep diff lists in full (default 1000). */
  maxDifferences?: number;
}

/** Transports that keep an image's config and layers' content but not its manifest digest. */
const CONTENT_ONLY = new Set<ImageRef['transport']>(['containers-storage', 'docker-archive']);

export interface VerifyResult {
  verdict: 'reproduced' | 'not-reproduced';
  /**
   * What was compared: `manifest` digests, or — against a transport that cannot keep a manifest
   * (containers-storage, docker-archive) — `content`: the config digest, which covers the
   * diff_ids (the uncompressed layers) and every config field.
   */
  level: 'manifest' | 'content';
  tool: ToolInfo;
  inputs: {
    /** The rootfs rebuilt from (rootfs form). */
    rootfs?: string;
    /** sha256 of the rootfs archive file; for a directory, null (see rebuilt.layers[].diffId). */
    rootfsDigest?: Digest | null;
    /** The spec and its lock rebuilt from (spec form). */
    spec?: string;
    /** sha256 of the spec file's bytes. */
    specDigest?: Digest;
    lock?: { path: string; digest: string };
    sourceDateEpoch: number;
    sourceDateEpochFrom: BuildResult['sourceDateEpochFrom'];
    platform: string;
    compression: string;
    normalize: string[];
  };
  rebuilt: {
    manifest: Digest;
    config: Digest;
    layers: Array<{ digest: Digest; diffId: Digest; size: number }>;
  };
  published: {
    reference: string;
    manifest: Digest;
    config: Digest;
    /** The index the reference named, when it named one (the manifest is its entry for the platform). */
    index?: Digest;
    archive?: string;
    /** The inputs archive kept in `archive` beside the published image (a spec rebuild). */
    archiveInputs?: Digest;
  };
  findings: VerifyFinding[];
  /**
   * An index-level verification (a spec of several architectures verified without a platform): the
   * rebuilt index's digest, the published one's, and each platform's manifest digests. The verdict
   * is whether the two index digests are equal; `rebuilt` and `published` above then describe the
   * first of the spec's platforms that both indexes have, `inputs.platform` names it, and the
   * findings of every platform that differs are prefixed with its name. Absent otherwise.
   */
  index?: IndexVerification;
}

export interface IndexVerification {
  rebuilt: Digest;
  published: Digest;
  /** Every platform of either index, sorted by OS/ARCH/VARIANT. */
  platforms: PlatformVerification[];
}

export interface PlatformVerification {
  platform: string;
  verdict: 'reproduced' | 'not-reproduced';
  /** The manifest digests; null on the side whose index has no image for the platform. */
  rebuilt: { manifest: Digest; config: Digest } | null;
  published: { manifest: Digest } | null;
}

/**
 * `--archive DIR`: the published documents as served and, for a spec rebuild, the inputs archive
 * (made from the cache the rebuild has just filled) as a referrer of the published manifest (of
 * the published index, for an index-level verify, whose proof names no platform), with
 * what `verify --from-archive` needs to repeat the rebuild in annotations of the root's
 * index.json entry. Written after the rebuild, whatever its verdict; returns the inputs digest.
 */
async function keepProof(dir: string, proof: { image: Published; platform: string } | { index: PublishedIndex }, tag: string | undefined, opts: VerifyOptions): Promise<Digest | undefined> {
  // An index-level proof names no platform: --from-archive then verifies the index again.
  const annotations: Record<string, string> = {
    [ARCHIVE_ANNOTATION.rebuild]: opts.spec ? 'spec' : 'rootfs',
    ...('image' in proof ? { [ARCHIVE_ANNOTATION.platform]: proof.platform } : {}),
    ...('image' in proof && proof.image.index ? { [ARCHIVE_ANNOTATION.manifest]: proof.image.manifest.digest } : {}),
  };
  const write = (referrers: ImageGraph[]): Promise<void> => 'image' in proof
    ? archivePublished(dir, proof.image, tag, referrers, annotations)
    : archivePublishedIndex(dir, proof.index, tag, referrers, annotations);
  if (!opts.spec) {
    await write([]);
    return undefined;
  }
  const { inputsArtifact } = await import('../pipeline/inputs-archive.js');
  const { toolPackageDigest } = await import('./tool-digest.js');
  const tool = toolInfo();
  const packageDigest = toolPackageDigest();
  const made = await inputsArtifact({
    spec: opts.spec.spec, cacheDir: opts.spec.cacheDir, offline: true, ...(opts.spec.aptDir ? { aptDir: opts.spec.aptDir } : {}),
    tool: { name: tool.name, version: tool.version, ...(packageDigest ? { packageDigest } : {}) },
  }, subjectOf('image' in proof ? proof.image.descriptor : proof.index.index.descriptor));
  annotations[ARCHIVE_ANNOTATION.inputs] = made.digest;
  if (opts.spec.sourceDateEpoch !== undefined) annotations[ARCHIVE_ANNOTATION.sourceDateEpoch] = String(opts.spec.sourceDateEpoch);
  if (opts.spec.annotations && Object.keys(opts.spec.annotations).length > 0) annotations[ARCHIVE_ANNOTATION.annotations] = canonicalize(opts.spec.annotations);
  await write([made.graph]);
  return made.digest;
}

async function fileDigest(path: string, what = 'rootfs'): Promise<Digest | null> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (e) {
    throw ioError(e, `${option(what)} ${path}`);
  }
  if (!isFile) return null;
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** The `diff` engine's findings on the two images, as verify findings (one per diff finding). */
async function deepFindings(rebuilt: string, published: ImageRef, platform: string, opts: VerifyOptions): Promise<VerifyFinding[]> {
  const { diff } = await import('../diff/index.js');
  const d = await diff(rebuilt, formatImageRef(published), { platform, ...(opts.registry ? { registryB: opts.registry } : {}), maxDifferences: opts.maxDifferences ?? 1000 });
  return d.findings.map((f) => ({
    path: `diff.${f.id}`,
    message: `${f.title}${f.examples.length > 0 ? ` (e.g. ${f.examples.slice(0, 3).join('; ')})` : ''}`,
  }));
}

export async function verify(opts: VerifyOptions): Promise<VerifyResult> {
  if ((opts.build === undefined) === (opts.spec === undefined)) throw new ReproError('E_USAGE', `verify: give either ${option('build')} (a root filesystem and its build options) or ${option('spec')}`);
  if (opts.build) checkImageOptions(opts.build);
  const against = typeof opts.against === 'string' ? parseImageRef(opts.against, option('against')) : opts.against;
  // The spec modules (schema, YAML, OpenPGP) are loaded only for a spec rebuild.
  const specs = opts.spec ? await import('../pipeline/spec.js') : undefined;
  const spec = opts.spec ? (await import('../spec/load.js')).loadSpec(opts.spec.spec).spec : undefined;
  // With a platform, a spec of several architectures is verified as that platform's image alone.
  const several = spec && specs ? specs.specPlatforms(spec) : undefined;
  // Without a platform, a spec of several architectures is verified as the index it builds.
  if (several && spec && opts.spec && opts.spec.platform === undefined) return verifyIndex({ ...opts, spec: opts.spec }, spec, against, several);
  const platform = spec && specs ? opts.spec?.platform ?? specs.specPlatforms(spec)?.[0]?.platform ?? specs.specPlatform(spec) : opts.build?.platform ?? DEFAULT_PLATFORM;
  const published = await fetchPublished(against, platform, opts.registry ? { registry: opts.registry } : {});
  const rootfsDigest = opts.build ? await fileDigest(opts.build.rootfs) : undefined;
  const specDigest = opts.spec ? await fileDigest(opts.spec.spec, 'spec') : undefined;
  const tmp = await makeScratchDir(opts.build?.tmpDir ?? opts.spec?.tmpDir, 'repro-image-verify-');
  try {
    const output: ImageRef = { transport: 'oci', path: join(tmp, 'rebuilt') };
    let lock: { path: string; digest: string } | undefined;
    let built: BuildResult;
    if (opts.spec && specs) {
      const r = await specs.buildSpec({ ...opts.spec, output, ...(specs.specPlatforms(spec!) ? { platform } : {}) });
      lock = r.lock;
      built = r;
    } else {
      built = await buildRootfs({ ...opts.build!, output });
    }
    const level: VerifyResult['level'] = CONTENT_ONLY.has(against.transport) ? 'content' : 'manifest';
    const reproduced = level === 'content' ? built.config.digest === published.config.digest : built.manifest.digest === published.manifest.digest;
    const findings: VerifyFinding[] = [];
    if (!reproduced) {
      const rebuiltRef = join(tmp, 'rebuilt');
      findings.push(...compareImages(await readImage(await openLayout(rebuiltRef, undefined), 'rebuilt'), published));
      if (opts.deepDiff !== false) findings.push(...(await deepFindings(`oci:${rebuiltRef}`, against, formatPlatform(platform), opts)));
    }
    const result: VerifyResult = {
      verdict: reproduced ? 'reproduced' : 'not-reproduced',
      level,
      tool: toolInfo(),
      inputs: {
        ...(opts.build ? { rootfs: opts.build.rootfs, rootfsDigest: rootfsDigest ?? null } : {}),
        ...(opts.spec && lock ? { spec: opts.spec.spec, ...(specDigest ? { specDigest } : {}), lock } : {}),
        sourceDateEpoch: built.sourceDateEpoch,
        sourceDateEpochFrom: built.sourceDateEpochFrom,
        platform: formatPlatform(platform),
        compression: spec ? spec.compression : opts.build?.compression ?? 'gzip',
        normalize: built.normalize.map((p) => p.name),
      },
      rebuilt: {
        manifest: built.manifest.digest,
        config: built.config.digest,
        layers: built.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, size: l.size })),
      },
      published: {
        reference: published.reference,
        manifest: published.manifest.digest,
        config: published.config.digest,
      },
      findings,
    };
    if (published.index) result.published.index = published.index.descriptor.digest;
    if (opts.archive !== undefined) {
      const inputs = await keepProof(opts.archive, { image: published, platform: formatPlatform(platform) }, tagOf(against), opts);
      result.published.archive = opts.archive;
      if (inputs) result.published.archiveInputs = inputs;
    }
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Each key of two JSON objects whose values differ, as findings under `prefix`. */
function documentFindings(prefix: string, rebuilt: Record<string, unknown>, published: Record<string, unknown>): VerifyFinding[] {
  const keys = [...new Set([...Object.keys(rebuilt), ...Object.keys(published)])].sort();
  return keys.filter((k) => canonicalize(rebuilt[k] ?? null) !== canonicalize(published[k] ?? null)).map((k) => ({
    path: `${prefix}.${k}`, rebuilt: rebuilt[k], published: published[k],
    message: `${prefix}.${k}: rebuilt ${rebuilt[k] === undefined ? '(absent)' : canonicalize(rebuilt[k])}, published ${published[k] === undefined ? '(absent)' : canonicalize(published[k])}`,
  }));
}

/**
 * A spec of several architectures, verified without a platform: the whole index is rebuilt (by the
 * build pipeline, as `build` writes it) and its digest compared with the published index's; each
 * platform's manifest digest is compared with the published index's entry for that platform, and
 * the platforms that differ are explained as a one-platform verify explains its image.
 */
async function verifyIndex(opts: VerifyOptions & { spec: NonNullable<VerifyOptions['spec']> }, spec: ImageSpec, against: ImageRef, platforms: Array<{ architecture: string; platform: Platform }>): Promise<VerifyResult> {
  const names = platforms.map((p) => formatPlatform(p.platform));
  const reference = formatImageRef(against);
  const view = await viewImage(await openImage(against, opts.registry ? { registry: opts.registry } : {}), reference);
  if (!view.nested) {
    throw new ReproError('E_USAGE', `${reference}: names one image (${view.target.digest}), not an index, and the spec builds ${names.join(', ')}: verify one platform with ${option('platform')}`);
  }
  const entries = view.nested.value.manifests.filter((m) => isManifestType(m.mediaType));
  const entryFor = (p: Platform): Descriptor | undefined => entries.find((m) => platformMatches(p, m.platform));
  const first = platforms.find((p) => entryFor(p.platform) !== undefined);
  if (!first) {
    throw new ReproError('E_BAD_INPUT', `${reference}: index ${view.target.digest} has none of the spec's platforms (${names.join(', ')}); it has ${entries.map((m) => (m.platform ? formatPlatform(m.platform) : '(no platform)')).join(', ') || 'none'}`);
  }
  // The published image of each of the spec's platforms (the entry the comparison below takes),
  // read before the rebuild: its manifest and config are checked against their digests as they are
  // read, so an archived proof with a changed byte in any of them is refused, not only the first's.
  const publishedImages = new Map<Descriptor, ResolvedImage>();
  for (const p of platforms) {
    const pub = entries.find((m) => !publishedImages.has(m) && platformMatches(p.platform, m.platform));
    if (pub) publishedImages.set(pub, await resolveImage(view, pub));
  }
  const publishedFirst = publishedImages.get(entryFor(first.platform)!)!;
  const specDigest = await fileDigest(opts.spec.spec, 'spec');
  const { buildSpec } = await import('../pipeline/spec.js');
  const tmp = await makeScratchDir(opts.spec.tmpDir, 'repro-image-verify-');
  try {
    const rebuiltPath = join(tmp, 'rebuilt');
    const built = await buildSpec({ ...opts.spec, output: { transport: 'oci', path: rebuiltPath } });
    const index = built.imageIndex;
    if (!index) throw new Error('verify: the build of a spec of several architectures wrote no index');
    const rebuiltView = await viewImage(await openLayout(rebuiltPath, undefined), 'rebuilt');
    const rebuiltEntries = rebuiltView.nested?.value.manifests ?? [];
    const rows: Array<PlatformVerification & { rebuiltEntry?: Descriptor; publishedEntry?: Descriptor }> = [];
    const matched = new Set<Descriptor>();
    for (const p of platforms) {
      const name = formatPlatform(p.platform);
      const b = index.platforms.find((x) => x.platform === name)!;
      const pub = entries.find((m) => !matched.has(m) && platformMatches(p.platform, m.platform));
      if (pub) matched.add(pub);
      const rebuiltEntry = rebuiltEntries.find((m) => m.digest === b.manifest.digest);
      rows.push({
        platform: name,
        verdict: pub?.digest === b.manifest.digest ? 'reproduced' : 'not-reproduced',
        rebuilt: { manifest: b.manifest.digest, config: b.config.digest },
        published: pub ? { manifest: pub.digest } : null,
        ...(rebuiltEntry ? { rebuiltEntry } : {}),
        ...(pub ? { publishedEntry: pub } : {}),
      });
    }
    for (const m of entries) {
      if (!matched.has(m)) rows.push({ platform: m.platform ? formatPlatform(m.platform) : `(no platform) ${m.digest}`, verdict: 'not-reproduced', rebuilt: null, published: { manifest: m.digest }, publishedEntry: m });
    }
    rows.sort((a, b) => (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0));
    const reproduced = index.digest === view.target.digest;
    const findings: VerifyFinding[] = [];
    if (!reproduced) {
      for (const row of rows) {
        if (row.verdict === 'reproduced') continue;
        const at = `platforms[${row.platform}]`;
        if (!row.rebuiltEntry) {
          findings.push({ path: at, published: row.published?.manifest, message: `${row.platform}: only in the published index (${row.published?.manifest}); the spec does not build it` });
          continue;
        }
        if (!row.publishedEntry) {
          findings.push({ path: at, rebuilt: row.rebuilt?.manifest, message: `${row.platform}: not in the published index; rebuilt ${row.rebuilt?.manifest}` });
          continue;
        }
        findings.push({ path: `${at}.manifest`, rebuilt: row.rebuilt?.manifest, published: row.published?.manifest, message: `${row.platform}: not reproduced: rebuilt ${row.rebuilt?.manifest}, published ${row.published?.manifest}` });
        const mine = await resolveImage(rebuiltView, row.rebuiltEntry);
        const theirs = publishedImages.get(row.publishedEntry)!;
        const explained = compareImages(mine, theirs);
        if (opts.deepDiff !== false) explained.push(...(await deepFindings(`oci:${rebuiltPath}`, against, row.platform, opts)));
        for (const f of explained) findings.push({ ...f, path: `${at}.${f.path}`, message: `${row.platform}: ${f.message}` });
      }
      if (rows.every((r) => r.verdict === 'reproduced')) {
        // Every image is the published one: what differs is the index document itself.
        const mine = rebuiltView.nested ? rebuiltView.nested.value as unknown as Record<string, unknown> : {};
        findings.push(
          { path: 'index', rebuilt: index.digest, published: view.target.digest, message: `index: rebuilt ${index.digest}, published ${view.target.digest}; every platform's image is reproduced, the index document differs` },
          ...documentFindings('index', mine, view.nested.value as unknown as Record<string, unknown>),
        );
      }
    }
    const firstBuilt = index.platforms.find((x) => x.platform === formatPlatform(first.platform))!;
    let archiveInputs: Digest | undefined;
    if (opts.archive !== undefined) {
      // Every image the index lists; an entry that is not one (an artifact: its config is not an
      // image config) is not kept, as a nested index is not.
      const images: ResolvedImage[] = [];
      for (const e of entries) {
        const known = publishedImages.get(e);
        if (known) {
          images.push(known);
          continue;
        }
        const m = parseManifest(await readDocument(view.store, e), `${reference}: manifest ${e.digest}`, e.mediaType).value;
        if (m.config.mediaType === MediaType.ociConfig || m.config.mediaType === MediaType.dockerConfig) images.push(await resolveImage(view, e));
      }
      archiveInputs = await keepProof(opts.archive, { index: { index: { descriptor: view.target, bytes: view.nested.bytes }, images } }, tagOf(against), opts);
    }
    return {
      verdict: reproduced ? 'reproduced' : 'not-reproduced',
      level: 'manifest',
      tool: toolInfo(),
      inputs: {
        spec: opts.spec.spec, ...(specDigest ? { specDigest } : {}), lock: built.lock,
        sourceDateEpoch: built.sourceDateEpoch,
        sourceDateEpochFrom: built.sourceDateEpochFrom,
        platform: formatPlatform(first.platform),
        compression: spec.compression,
        normalize: built.normalize.map((p) => p.name),
      },
      rebuilt: {
        manifest: firstBuilt.manifest.digest,
        config: firstBuilt.config.digest,
        layers: firstBuilt.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, size: l.size })),
      },
      published: {
        reference, manifest: publishedFirst.descriptor.digest, config: publishedFirst.config.digest, index: view.target.digest,
        ...(opts.archive !== undefined ? { archive: opts.archive } : {}),
        ...(archiveInputs ? { archiveInputs } : {}),
      },
      findings,
      index: {
        rebuilt: index.digest,
        published: view.target.digest,
        platforms: rows.map(({ rebuiltEntry: _r, publishedEntry: _p, ...row }) => row),
      },
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
