/**
 * The steps every build shares once it has a file tree: passes (normalisation), layers, config,
 * manifest, output. A source step (a root filesystem, a spec's packages) runs before them.
 */
import { lstat, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Entry } from '../archive/entry.js';
import { chooseDeflate, type GzipOptions } from '../archive/gzip.js';
import { orderEntries } from '../archive/tar-writer.js';
import type { ZstdOptions } from '../archive/zstd.js';
import { tempNameFor } from '../fs/atomic.js';
import { releasePartial } from '../fs/scratch.js';
import { isLayoutOrEmpty } from '../transports/layout/write.js';
import { scratchFileSource } from '../image/file-source.js';
import type { Image, Layer } from '../image/image.js';
import { encodeConfig, type ContainerConfig, type HistoryEntry, type ImageConfig } from '../model/config.js';
import { sha256, type Digest } from '../model/digest.js';
import type { RawJson } from '../model/json.js';
import { encodeManifest, type Manifest } from '../model/manifest.js';
import { MediaType, type Compression } from '../model/media-types.js';
import { CREATED } from '../model/oci-index.js';
import type { Platform } from '../model/platform.js';
import { writeGraph, type WriteResult } from '../transports/index.js';
import { imageGraph } from '../image/graph.js';
import { referrerGraph, withReferrers, type Attachment } from '../image/referrer.js';
import { readEntryBytes } from '../archive/content.js';
import { readerManifest } from '../transports/archive/docker-archive.js';
import { formatImageRef, type ImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { imageConfig } from './image-config.js';
import { writeLayer, type Progress, type WrittenLayer } from './layer.js';
import type { PlannedLayer } from './layers.js';
import { runPasses } from './passes.js';
import { runSteps, type Step, type StepReport } from './steps.js';

export const DEFAULT_PLATFORM: Platform = { architecture: 'amd64', os: 'linux' };
export const DEFAULT_KEEP_XATTRS = ['security.capability', 'user.*'];

export interface BlobInfo {
  digest: Digest;
  size: number;
  mediaType: string;
}

export interface BuildResult {
  reference: string;
  manifest: BlobInfo;
  config: BlobInfo;
  index?: BlobInfo;
  /** A spec's base image (`base:`): its manifest and its layers, which come before `layers` in the image. */
  base?: { manifest: BlobInfo; layers: BlobInfo[] };
  /** Our layers, in order (after the base's, if any); `name` (a spec's `layers:` strategy) says what a layer holds, as its history comment does. */
  layers: Array<BlobInfo & { diffId: Digest; uncompressedSize: number; name?: string }>;
  sourceDateEpoch: number;
  sourceDateEpochFrom: 'option' | 'newest-entry' | 'release-date' | 'snapshot-date';
  entries: number;
  /** The steps that ran, in order. */
  steps: string[];
  /** What each step changed (install effects, spec files, normalisation passes), in the order they ran. */
  normalize: StepReport[];
  warnings: string[];
  /** Which deflate implementation produced a gzip layer (the bytes are the same either way). */
  deflate?: 'native' | 'reference';
  /** Artifacts written beside the image as OCI 1.1 referrers (`attach`: an SBOM). */
  referrers?: Array<BlobInfo & { artifactType: string }>;
  /**
   * For a docker-archive output, which stores no manifest: `manifest` above is then the one its
   * readers (skopeo, podman) make up; this says so and keeps what was not stored.
   */
  dockerArchive?: {
    manifestStored: false;
    /** The OCI manifest built, which the archive could not keep. */
    builtManifest: BlobInfo;
    /** Its annotations, none of which a docker-archive can keep. */
    droppedAnnotations: Record<string, string>;
  };
}

/** How the shared steps make the image (a build's options, once its source is known). */
export interface ImageOptions {
  compression?: Compression;
  platform?: Platform;
  config?: ContainerConfig;
  annotations?: Record<string, string>;
  exclude?: string[];
  /** Normalisation passes to run (default: all). */
  normalize?: string[];
  /** xattr names (globs) kept by the xattrs pass. Default: security.capability and user.*. */
  keepXattrs?: string[];
  /**
   * Where the layer is written before it goes into the output (default: in or beside an `oci:`
   * layout, so that it can be renamed into place rather than copied; else the temp dir).
   */
  scratchDir?: string;
  gzip?: GzipOptions;
  zstd?: ZstdOptions;
  onProgress?: Progress;
  /** Credentials, TLS and upload settings when the output is docker://. */
  registry?: RegistryOptions;
  /**
   * Artifacts written beside the image as OCI 1.1 referrers (an SBOM: see sbom/attach.ts), made
   * from the built image once its manifest is known; the image and its digest are not changed.
   * A maker that returns undefined attaches nothing (`--provenance-file` alone: it only records).
   */
  attach?: Array<(image: BuiltImage) => Attachment | undefined | Promise<Attachment | undefined>>;
  /** Told of each warning as it arises (they are also in the result's `warnings`). */
  onWarning?: (message: string) => void;
}

/** What an attachment is made from: the image as built, and the files of its tree. */
export interface BuiltImage {
  manifest: RawJson<Manifest>;
  config: RawJson<ImageConfig>;
  platform: Platform;
  sourceDateEpoch: number;
  /** The regular files of the tree (after the passes) whose paths `want` selects, path → bytes. */
  files(want: (path: string) => boolean): Map<string, Buffer>;
}

/** The state the steps pass along. */
export interface TreeContext {
  entries: Map<string, Entry>;
  output: ImageRef;
  /** The run's temporary directory. */
  tmp: string;
  /** Names the input in messages. */
  label: string;
  sourceDateEpoch: number;
  options: ImageOptions;
  /**
   * Cuts the tree (after the passes) into layers, in order (see layers.ts); without it the
   * whole tree is one layer.
   */
  layering?: (entries: ReadonlyMap<string, Entry>) => PlannedLayer[];
  /**
   * A base image under ours (a spec's `base:`, see base.ts): its layers go first, as they are; its
   * history before ours; `whiteouts` (entries of our top layer) hide paths of its tree, made
   * from our tree as the passes leave it.
   */
  base?: { manifest: BlobInfo; layers: Layer[]; history: HistoryEntry[]; whiteouts: (entries: ReadonlyMap<string, Entry>) => Entry[] };
  /** The layers written, in order. */
  layers?: WrittenLayer[];
  /** What each layer holds (with `layering`), for the image history. */
  layerNames?: string[];
  /** Entries written, over all layers. */
  entryCount?: number;
  deflate?: 'native' | 'reference';
  config?: RawJson<ImageConfig>;
  manifest?: RawJson<Manifest>;
  written?: WriteResult;
  referrers?: BuildResult['referrers'];
}

/**
 * The layer's scratch file. For an `oci:` output it is put where a rename moves it into the layout
 * (no copy) without writing anywhere else: in the root of an existing layout (`.layer.tmp-OWNER-N`),
 * or, for a new one, beside it under the layout's own temporary name (`.NAME.tmp-OWNER-N`, like the
 * staging directory the layout is assembled in). Otherwise the run's scratch directory.
 */
async function scratchPath(scratchDir: string | undefined, ref: ImageRef, tmp: string, n = 0): Promise<string> {
  if (scratchDir !== undefined) return tempNameFor(join(scratchDir, 'layer'));
  if (ref.transport === 'oci') {
    const layout = resolve(ref.path);
    const st = await lstat(layout).catch(() => undefined);
    if (st === undefined) {
      try {
        await mkdir(dirname(layout), { recursive: true });
        return tempNameFor(layout);
      } catch {
        // Not creatable here: the output step will report it; scratch goes to the temp dir.
      }
    } else if (st.isDirectory() && (await isLayoutOrEmpty(layout))) {
      return tempNameFor(join(layout, 'layer'));
    }
  }
  return join(tmp, n === 0 ? 'layer' : `layer-${n}`);
}

const platformOf = (ctx: TreeContext): Platform => ctx.options.platform ?? DEFAULT_PLATFORM;

/** passes → layers → config → manifest → output. */
export const TREE_STEPS: ReadonlyArray<Step<TreeContext>> = [
  {
    name: 'passes',
    run: (ctx) => runPasses(ctx.entries, ctx.options.normalize ?? [], {
      sourceDateEpoch: ctx.sourceDateEpoch,
      exclude: ctx.options.exclude ?? [],
      keepXattrs: ctx.options.keepXattrs ?? DEFAULT_KEEP_XATTRS,
    }),
  },
  {
    name: 'layers',
    async run(ctx) {
      const o = ctx.options;
      const compression = o.compression ?? 'gzip';
      const planned = ctx.layering ? ctx.layering(ctx.entries) : undefined;
      const whiteouts = ctx.base ? ctx.base.whiteouts(ctx.entries) : [];
      if (planned && whiteouts.length > 0) planned[planned.length - 1]!.entries.push(...whiteouts);
      const parts = planned ? planned.map((l) => orderEntries(l.entries)) : [orderEntries([...ctx.entries.values(), ...whiteouts])];
      if (planned) ctx.layerNames = planned.map((l) => l.name);
      ctx.entryCount = parts.reduce((n, p) => n + p.length, 0);
      const deflate = compression === 'gzip' ? chooseDeflate(o.gzip?.impl) : undefined;
      if (deflate) ctx.deflate = deflate;
      // Progress over all layers: bytes of regular files written so far, of all of them.
      const total = parts.reduce((n, p) => n + p.reduce((m, e) => m + (e.type === 'file' ? e.size : 0), 0), 0);
      let before = 0;
      ctx.layers = [];
      for (const [i, ordered] of parts.entries()) {
        const path = await scratchPath(o.scratchDir, ctx.output, ctx.tmp, i);
        // Known before the write, so that a failure (or a rename into a layout) leaves nothing behind.
        ctx.layers.push({ path } as WrittenLayer);
        const progress = o.onProgress;
        ctx.layers[i] = await writeLayer(ordered, compression, path, planned ? `${ctx.label}: layer ${i + 1} (${planned[i]!.name})` : ctx.label, {
          gzip: { ...o.gzip, ...(deflate ? { impl: deflate } : {}) },
          ...(o.zstd ? { zstd: o.zstd } : {}),
          ...(progress ? { progress: planned ? (done: number) => progress(before + done, total) : progress } : {}),
        });
        before += ordered.reduce((m, e) => m + (e.type === 'file' ? e.size : 0), 0);
      }
    },
  },
  {
    name: 'config',
    run(ctx) {
      ctx.config = encodeConfig(imageConfig({
        platform: platformOf(ctx), sourceDateEpoch: ctx.sourceDateEpoch, diffIds: [...(ctx.base?.layers ?? []).map((l) => l.diffId), ...ctx.layers!.map((l) => l.diffId)], container: ctx.options.config ?? {},
        ...(ctx.base ? { baseHistory: ctx.base.history } : {}),
        ...(ctx.layerNames ? { layerComments: ctx.layerNames } : {}),
      }));
    },
  },
  {
    name: 'manifest',
    run(ctx) {
      const { config, layers } = ctx;
      ctx.manifest = encodeManifest({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: config!.digest, size: config!.bytes.length },
        layers: [...(ctx.base?.layers ?? []).map((l) => l.descriptor), ...layers!.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }))],
        annotations: { [CREATED]: config!.value.created!, ...ctx.options.annotations },
      });
    },
  },
  {
    name: 'output',
    async run(ctx) {
      const { manifest, config, layers } = ctx;
      const image: Image = {
        manifest: manifest!,
        config: config!,
        platform: platformOf(ctx),
        layers: [...(ctx.base?.layers ?? []), ...layers!.map((layer, i) => ({ descriptor: manifest!.value.layers[(ctx.base?.layers.length ?? 0) + i]!, diffId: layer.diffId, source: scratchFileSource(layer.path) }))],
      };
      let graph = imageGraph(image);
      const attach = ctx.options.attach ?? [];
      if (attach.length > 0) {
        const built: BuiltImage = {
          manifest: manifest!, config: config!, platform: image.platform, sourceDateEpoch: ctx.sourceDateEpoch,
          files(want) {
            const out = new Map<string, Buffer>();
            for (const e of ctx.entries.values()) if (e.type === 'file' && want(e.path)) out.set(e.path, readEntryBytes(e));
            return out;
          },
        };
        const subject = { mediaType: manifest!.value.mediaType, digest: manifest!.digest, size: manifest!.bytes.length };
        const attachments = (await Promise.all(attach.map((a) => a(built)))).filter((a): a is Attachment => a !== undefined);
        graph = withReferrers(graph, attachments.map((a) => referrerGraph(subject, a)));
        if (attachments.length > 0) ctx.referrers = graph.referrers!.map((r) => ({ digest: r.root.digest, size: r.root.size, mediaType: r.root.mediaType, artifactType: r.root.artifactType! }));
      }
      ctx.written = await writeGraph(ctx.output, graph, ctx.sourceDateEpoch, ctx.options.registry ? { registry: ctx.options.registry } : {});
    },
  },
];

/**
 * A docker-archive keeps config and layers but no manifest, so none of its annotations: the result
 * then shows the manifest its readers make up (`readerManifest`), and a warning says what was lost.
 */
function dockerArchiveResult(result: BuildResult, built: RawJson<Manifest>, onWarning?: (m: string) => void): void {
  const synthetic = readerManifest({ digest: result.config.digest, size: result.config.size }, result.layers);
  const droppedAnnotations = { ...built.value.annotations };
  result.dockerArchive = { manifestStored: false, builtManifest: result.manifest, droppedAnnotations };
  result.manifest = { digest: sha256(synthetic), size: synthetic.length, mediaType: MediaType.dockerManifest };
  const names = Object.keys(droppedAnnotations).sort();
  const m = `${result.reference}: a docker-archive stores no manifest, so not its ${names.length === 1 ? 'annotation' : 'annotations'} (${names.join(', ')}) either; `
    + `skopeo and podman read it as manifest ${result.manifest.digest} (made up over the uncompressed layers), image ID ${result.config.digest}`;
  result.warnings.push(m);
  onWarning?.(m);
}

/** Runs the shared steps on a tree and assembles the build result; `before` are the source's records. */
export async function buildTree(ctx: TreeContext, meta: { sourceDateEpochFrom: BuildResult['sourceDateEpochFrom']; warnings: string[]; before: Array<{ step: string; reports: StepReport[] }> }): Promise<BuildResult> {
  try {
    const records = [...meta.before, ...(await runSteps(TREE_STEPS, ctx))];
    const { manifest, config, layers, written } = ctx;
    const result: BuildResult = {
      reference: formatImageRef(ctx.output),
      manifest: { digest: manifest!.digest, size: manifest!.bytes.length, mediaType: MediaType.ociManifest },
      config: { digest: config!.digest, size: config!.bytes.length, mediaType: MediaType.ociConfig },
      layers: layers!.map((layer, i) => ({
        digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: layer.diffId, uncompressedSize: layer.uncompressedSize,
        ...(ctx.layerNames ? { name: ctx.layerNames[i]! } : {}),
      })),
      sourceDateEpoch: ctx.sourceDateEpoch,
      sourceDateEpochFrom: meta.sourceDateEpochFrom,
      entries: ctx.entryCount!,
      steps: records.map((r) => r.step),
      normalize: records.flatMap((r) => r.reports),
      warnings: [...meta.warnings],
    };
    if (ctx.base) result.base = { manifest: ctx.base.manifest, layers: ctx.base.layers.map((l) => ({ digest: l.descriptor.digest, size: l.descriptor.size, mediaType: l.descriptor.mediaType })) };
    if (written?.index) result.index = { digest: written.index.digest, size: written.index.bytes.length, mediaType: MediaType.ociIndex };
    if (ctx.deflate) result.deflate = ctx.deflate;
    if (ctx.referrers) result.referrers = ctx.referrers;
    if (ctx.output.transport === 'docker-archive') dockerArchiveResult(result, manifest!, ctx.options.onWarning);
    return result;
  } finally {
    // Gone already when it was renamed into a layout; else (archive, registry, failure) removed here.
    for (const layer of ctx.layers ?? []) {
      await rm(layer.path, { force: true });
      releasePartial(layer.path);
    }
  }
}
