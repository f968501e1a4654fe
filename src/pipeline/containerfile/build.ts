/**
 * `build --containerfile FILE --compat podman`: the image podman (buildah) builds from a
 * Containerfile with `--source-date-epoch --rewrite-timestamp`, byte for byte in its uncompressed
 * layers, config and manifest. Each needed stage gets a real root directory (materialised as
 * buildah materialises a container's), every ADD/COPY/RUN changes it, and each change is committed
 * as containers/storage commits it (whole tree for the first layer of a FROM-scratch stage, the
 * naive diff otherwise). Compression is ours (podman's pgzip bytes are not reproducible from the
 * image), so `--compression none` gives podman's stored (local) manifest digest and a published
 * gzip image is proven by `verify` (content, then digest) rather than recompressed. `verify` takes
 * the image by its digests (`withPodmanBuild`): the target stage's last layer is hashed, not
 * written, and the image is written only if something asks for it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync, rmdirSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { readTar } from '../../archive/tar-reader.js';
import { detectCompression, decompressStream } from '../../archive/compress.js';
import { resolveInRoot } from '../../fs/confine.js';
import { memoryScratchFull, mountMemoryScratch } from '../../fs/memory-scratch.js';
import { makeScratchDir, removeScratchDir } from '../../fs/scratch.js';
import { formatBytes } from '../../fs/space.js';
import { readImage, type ResolvedImage } from '../../image/read.js';
import { rfc3339 } from '../../model/config.js';
import type { Digest } from '../../model/digest.js';
import { ReproError, ioError, option } from '../../model/errors.js';
import type { Compression } from '../../model/media-types.js';
import type { Platform } from '../../model/platform.js';
import { xattrReader } from '../../sources/rootfs/xattrs.js';
import { openImage } from '../../transports/index.js';
import { parseImageRef, type ImageRef } from '../../transports/reference.js';
import type { RegistryOptions } from '../../transports/registry/client.js';
import { applyInstruction, BUILDAH_VERSIONS, createdBy, type BuildahVersion, type HistoryItem, type RuntimeConfig } from './buildah.js';
import { naiveChanges } from './changes.js';
import { entryOfMember, putEntries, type PutEntry } from './copier.js';
import { treeEntries } from './tree-entries.js';
import { changeItems, itemEntries, type LayerItem } from './layer-tar.js';
import { measureLayer } from './layer-measure.js';
import { parseContainerfile } from './parse.js';
import { podmanImage, type ContainerfileBuildResult, type PodmanImage } from './podman-image.js';
import { resolveContainerfile } from './resolve.js';
import { runInRootfs } from './runc.js';
import { measure } from './scratch-file.js';
import { SubtreeLink, applyLayers, resolveUser, subtreeFilter, type AppliedLayer, type EntryLayer, type WalkAfter } from './stage.js';
import { overlayWorks } from '../../fs/overlay.js';
import { mountOnTree, overlayOverItself, releaseForMove, type OverlayRoot } from './overlay-root.js';
import type { UnpackedBase, UnpackedStore } from './unpacked-store.js';
import { layerReader, type LayerReader } from '../../image/layer.js';
import { fileSource } from '../../image/file-source.js';
import { SummaryThread } from './summary-thread.js';
import { isGoTarArchive, multiContentSummary } from '../../archive/go-tar-summary.js';
import { walkOfDir, walkTree, type FsNode } from './tree.js';
import { adoptWalk, showsAsLower, walkAfter } from './upper-walk.js';
import type { BuildResult } from '../tree-steps.js';
import type { ContainerConfig } from '../../model/config.js';
import type { BaseImageConfig, ResolvedInstruction, ResolvedStage } from './types.js';

export type { ContainerfileBuildResult, PodmanImage } from './podman-image.js';

export interface ContainerfileBuildOptions {
  containerfile: string;
  /** The build context (default: the Containerfile's directory). */
  context?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /**
   * `repro-image` (the CLI's default): our canonical form, as `build --rootfs` writes it: the
   * target stage's tree (as podman's storage would materialise it) in one layer, after the
   * normalisation passes, with the stage's config. `podman`: the bytes podman ≥ 5.7 (buildah
   * 1.42–1.44) writes.
   */
  compat: 'podman' | 'repro-image';
  /** (repro-image) Normalisation passes to run (default: all, as `build --rootfs`). */
  normalize?: string[];
  /** (repro-image) Paths left out (globs, as `build --rootfs --exclude`). */
  exclude?: string[];
  /** (repro-image) Manifest annotations. */
  annotations?: Record<string, string>;
  /** Which buildah's history rules (default 1.43). */
  buildah?: BuildahVersion;
  sourceDateEpoch: number;
  /** Default linux/amd64. */
  platform?: Platform;
  output: ImageRef | string;
  /** Default gzip. `none` gives podman's stored manifest digest. */
  compression?: Compression;
  /** RUN's network: none (default) or the host's. */
  network?: 'none' | 'host';
  /** FROM names mapped to references (a FROM that is no stage and not `scratch` must be pinned by digest, or mapped here). */
  baseImages?: Record<string, string>;
  registry?: RegistryOptions;
  tmpDir?: string;
  /**
   * Where the stage trees, runc bundles and layer tars live: `disk` (the default), a directory in
   * `tmpDir`; `memory`, the same directory with a private tmpfs mounted on it (root only; at most
   * half of the available memory; where none can be mounted, on disk). A build that fills the
   * tmpfs is done again on disk, with a warning. The bytes built are the same either way.
   */
  scratch?: 'memory' | 'disk';
  /** (scratch: 'memory') The tmpfs's size limit in bytes, at least 1 MiB (default and most: half the available memory). */
  memoryScratchLimit?: number;
  /**
   * Base images kept unpacked between runs: a FROM image stage's root is an overlay over the
   * stored tree (root only; without it, or where no overlay can be mounted, the base's files are
   * written to the stage's directory).
   */
  unpacked?: UnpackedStore;
  /** The output of RUN steps. */
  onOutput?: (chunk: Buffer) => void;
  onStep?: (line: string) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface BuiltLayer {
  diffId: Digest;
  /** The uncompressed tar's size. */
  size: number;
  path: string;
}

/**
 * A layer of a stage as it is kept until something needs its tar: written to a scratch file; a
 * base image's layer (read again from the base, its sha256 and size taken when it was applied);
 * or a stage's last layer, still in the stage's live directory (nothing changes it any more),
 * written only if a later stage's image includes it; or (`withPodmanBuild`'s `hashOnly`) a layer
 * of the target stage below its last, hashed as it was committed and not kept.
 */
type StageLayer =
  | { kind: 'file'; layer: BuiltLayer }
  | { kind: 'hashed'; diffId: Digest; size: number }
  | { kind: 'base'; diffId: Digest; size: number; reader: LayerReader; local: boolean; written?: Promise<BuiltLayer> }
  | { kind: 'live'; items: LayerItem[]; stage: number; lower: string[]; written?: Promise<BuiltLayer>; measured?: Promise<{ diffId: Digest; size: number }>; movedOut?: boolean };

/** A `compat: 'repro-image'` build: what `build --rootfs` reports. */
export type CanonicalContainerfileResult = BuildResult & { compat: 'repro-image' };

interface StageState {
  root: string;
  config: RuntimeConfig;
  history: HistoryItem[];
  layers: StageLayer[];
  /** The base image's manifest digest and name for the annotations ('' for scratch). */
  baseDigest: string;
  baseName: string;
  /** The base image's unpacked tree (its layers are the first of `layers`), when the store has it. */
  baseTree?: string;
  /** The root is an overlay: over `baseTree`, or over the stage's own earlier tree (`overlayOverItself`). */
  overlay?: OverlayRoot;
}

/** The image of a `hashOnly` build was asked for a layer tar it did not keep. */
export class LayerNotKept extends Error {
  constructor(where: string) {
    super(`internal: ${where}: the layer was hashed, not kept (hashOnly); build again to write the image`);
  }
}

/** A build in a scratch tmpfs failed, and the tmpfs was full: worth doing again on disk. */
class MemoryScratchFull extends Error {
  constructor(readonly limit: number, cause: unknown) {
    super('the scratch tmpfs is full', { cause });
  }
}

const EMPTY_LAYER = Buffer.alloc(1024);
const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

function sha256(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Writes a layer's tar to `path`, hashing it on the way. */
async function commitLayer(items: LayerItem[], sde: number, path: string): Promise<BuiltLayer> {
  const { digest, size } = await measureLayer(items, sde, path, path);
  return { diffId: digest, size, path };
}

/**
 * A COPY/ADD source inside `root` (the context, or a stage's root file system), resolved as
 * buildah's chrooted copier resolves it: symlinks inside it are followed as if it were `/` (an
 * absolute target starts again at it, `..` stops at it), so nothing outside is ever reached.
 */
function sourcePath(root: string, src: string, where: string, what: string): string {
  let base: string;
  try {
    base = realpathSync(root);
  } catch (e) {
    throw ioError(e, `${where}: cannot read ${what} ${root}`);
  }
  const p = resolveInRoot(base, src, `${where}: ${src}`);
  if (!existsSync(p)) throw new ReproError('E_BAD_INPUT', `${where}: ${src}: no such file in ${what}`);
  return p;
}

let xattrsSync: Awaited<ReturnType<typeof xattrReader>> | undefined;

/** buildah's isArchivePath: the file, decompressed, gives Go's tar reader a first entry. */
async function isArchive(path: string): Promise<boolean> {
  const { createReadStream } = await import('node:fs');
  const head = readFileSync(path).subarray(0, 512);
  const c = detectCompression(head);
  if (c === 'bzip2') return false;
  return isGoTarArchive(decompressStream(c, createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, path));
}

/** The stage's destination directory and the relative path a single-file source lands at. */
function destination(stageRoot: string, dest: string, sourceIsDir: boolean, srcName: string): { dir: string; rel: string } {
  const trailing = dest.endsWith('/');
  const abs = join(stageRoot, dest);
  const isDir = trailing || (existsSync(abs) && statSync(abs).isDirectory());
  if (sourceIsDir) return { dir: abs, rel: '' };
  return isDir ? { dir: abs, rel: srcName } : { dir: dirname(abs), rel: basename(abs) };
}

export function buildContainerfile(opts: ContainerfileBuildOptions & { compat: 'podman' }): Promise<ContainerfileBuildResult>;
export function buildContainerfile(opts: ContainerfileBuildOptions & { compat: 'repro-image' }): Promise<CanonicalContainerfileResult>;
export function buildContainerfile(opts: ContainerfileBuildOptions): Promise<ContainerfileBuildResult | CanonicalContainerfileResult>;
export async function buildContainerfile(opts: ContainerfileBuildOptions): Promise<ContainerfileBuildResult | CanonicalContainerfileResult> {
  if (opts.compat !== 'podman' && opts.compat !== 'repro-image') throw new ReproError('E_USAGE', `${option('compat')}: expected repro-image or podman, got ${JSON.stringify(opts.compat)}`);
  const output = typeof opts.output === 'string' ? parseImageRef(opts.output, option('output')) : opts.output;
  if (opts.compat === 'repro-image') return build(opts, { targetLive: true }, (b) => canonicalImage(b, opts, output));
  // podman's bytes of every layer are an output: each is a scratch file as soon as it is committed.
  return build(opts, { targetLive: false }, async (b) => (await podmanOf(b, (l) => writtenLayer(l, b.sde, b.newPath))).write(output, { compression: opts.compression ?? 'gzip', ...(opts.registry ? { registry: opts.registry } : {}) }));
}

/**
 * `compat: 'podman'` with no output (what `verify` needs): `use` gets podman's image by its
 * digests, the target stage's last layer only hashed (it stays in the stage's directory), and may
 * still write the image; the scratch directory is removed when `use` has returned. With
 * `hashOnly`, the target stage's earlier layers are hashed as they are committed and not written
 * either (a proof needs their digests only; the scratch holds no copy of them): the image can then
 * not be written (its `write` rejects with LayerNotKept) — build again without it for that.
 */
export async function withPodmanBuild<T>(opts: Omit<ContainerfileBuildOptions, 'output' | 'compression' | 'compat'>, use: (image: PodmanImage) => Promise<T>, how: { hashOnly?: boolean } = {}): Promise<T> {
  return build({ ...opts, compat: 'podman' }, { targetLive: true, hashOnly: how.hashOnly === true }, async (b) => use(await podmanOf(b, (l, where) => measuredLayer(l, b.sde, where))));
}

/**
 * What a build leaves to its output step: the target stage, and what its layers are read with.
 * Valid until the step returns (then the scratch directory is removed).
 */
interface Built {
  final: StageState;
  tmp: string;
  file: string;
  sde: number;
  platform: Platform;
  version: BuildahVersion;
  newPath: () => string;
  /** The target stage's last read ({ stage } if only its image reads it). */
  lastRead: { stage: number } | undefined;
}

/**
 * The stages of a Containerfile built in a scratch directory, then `finish` run on the target;
 * `targetLive`: the target stage's last layer stays in its directory (its tar is needed as a file
 * only if something writes it); `hashOnly`: the target stage's other layers are hashed, not written.
 */
async function build<T>(opts: Omit<ContainerfileBuildOptions, 'output'>, mode: { targetLive: boolean; hashOnly?: boolean }, finish: (b: Built) => Promise<T>): Promise<T> {
  if (opts.compat === 'podman') {
    const extra = (['normalize', 'exclude', 'annotations'] as const).find((k) => opts[k] !== undefined);
    if (extra) throw new ReproError('E_USAGE', `${option(extra)} applies to the repro-image form only (podman's bytes have no such step)`);
  }
  const version = opts.buildah ?? '1.43';
  if (!BUILDAH_VERSIONS[version]) throw new ReproError('E_USAGE', `${option('buildah')}: one of ${Object.keys(BUILDAH_VERSIONS).join(', ')}`);
  const sde = opts.sourceDateEpoch;
  const file = opts.containerfile;
  const context = resolve(opts.context ?? dirname(file));
  for (const ignore of ['.containerignore', '.dockerignore']) {
    if (existsSync(join(context, ignore))) throw new ReproError('E_UNSUPPORTED', `${join(context, ignore)}: ignore files are not supported yet; build from a context without one`);
  }
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch {
    throw new ReproError('E_BAD_INPUT', `${file}: cannot read the Containerfile`);
  }
  const parsed = parseContainerfile(text, file);
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const buildArgs = { SOURCE_DATE_EPOCH: String(sde), ...opts.buildArgs };
  xattrsSync = await xattrReader(context, '');

  // Base images: opened now (a FROM must name a digest or be mapped), their configs given to the resolver.
  const bases = new Map<string, { image: ResolvedImage; name: string; ref: string }>();
  const openBase = async (name: string): Promise<void> => {
    if (bases.has(name)) return;
    const mapped = opts.baseImages?.[name];
    if (mapped === undefined && !DIGEST_REF.test(name)) {
      throw new ReproError('E_USAGE', `${file}: FROM ${name}: pin it by digest (NAME@sha256:…) or map it with ${option('baseImages')}`);
    }
    const ref = mapped ?? `docker://${name}`;
    const image = await readImage(await openImage(parseImageRef(ref, `FROM ${name}`), opts.registry ? { registry: opts.registry } : {}), ref, platform);
    bases.set(name, { image, name, ref });
  };
  const { planStages } = await import('./stages.js');
  const plan = planStages(parsed, { buildArgs, ...(opts.target ? { target: opts.target } : {}) });
  for (const s of plan.stages) if (s.base.kind === 'image') await openBase(s.base.reference);
  const resolved = resolveContainerfile(parsed, {
    buildArgs, ...(opts.target ? { target: opts.target } : {}),
    baseImage: (ref): BaseImageConfig | undefined => {
      const b = bases.get(ref);
      if (!b) return undefined;
      const c = b.image.config.value.config ?? {};
      return { env: c.Env ?? [], ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}) };
    },
  });

  /** The stages built in the scratch directory `tmp`, then `finish`; ADD/COPY summaries made in `thread`. */
  const stagesIn = async (tmp: string, thread: SummaryThread | undefined): Promise<T> => {
    const states = new Map<number, StageState>();
    let layerCount = 0;
    const newLayerPath = (): string => join(tmp, `layer-${layerCount++}.tar`);
    const ctx = { version, sourceDateEpoch: sde, rewriteTimestamp: true };
    /**
     * A stage's image as podman reads it for COPY --from: its layers applied to a new directory
     * (only what the sources need, unless a hard link reaches outside them).
     */
    const images = new Map<string, { dir: string; mounted: boolean; walk?: FsNode[] }>();
    const imageKey = (index: number, sources: readonly string[]): string => `${index}\0${sources.join('\0')}`;
    // How many COPY --from read each such image (one that is read once may be moved from), and
    // how often each stage is read at all (FROM it, COPY --from it, the target's image).
    const readers = new Map<string, number>();
    const stageReads = new Map<number, number>([[resolved.plan.target, 1]]);
    const count = <K>(m: Map<K, number>, k: K): void => { m.set(k, (m.get(k) ?? 0) + 1); };
    for (const r of resolved.stages) {
      if (r.stage.base.kind === 'stage') count(stageReads, r.stage.base.index);
      for (const i of r.instructions) {
        if (i.kind === 'copy' && i.from?.kind === 'stage') {
          count(readers, imageKey(i.from.index, i.sources));
          count(stageReads, i.from.index);
        }
      }
    }
    const lastRead = (index: number): { stage: number } | undefined => (stageReads.get(index) === 1 ? { stage: index } : undefined);
    const stageImage: StageImage = async (index, sources, where) => {
      const key = imageKey(index, sources);
      let image = images.get(key);
      if (image === undefined) {
        const dir = join(tmp, `image-${images.size}`);
        // Its walk, where the apply knows it (one layer applied); no COPY changes the directory
        // but one that moves from it, the only one that reads it.
        const walk: WalkAfter | undefined = xattrsSync ? { reader: xattrsSync } : undefined;
        let overlay: OverlayRoot | undefined;
        try {
          overlay = await materialise(states.get(index)!, dir, where, { sde, newPath: newLayerPath, lastRead: lastRead(index) }, subtreeFilter(sources), walk);
        } catch (e) {
          if (!(e instanceof SubtreeLink)) throw e;
          await rm(dir, { recursive: true, force: true });
          overlay = await materialise(states.get(index)!, dir, where, { sde, newPath: newLayerPath, lastRead: lastRead(index) }, undefined, walk);
        }
        image = { dir, mounted: overlay !== undefined, ...(walk?.nodes ? { walk: walk.nodes } : {}) };
        images.set(key, image);
      }
      return { ...image, readOnce: readers.get(key) === 1 };
    };
    for (const rs of resolved.stages) {
      const stage = rs.stage;
      const root = join(tmp, `stage-${stage.index}`);
      let state: StageState;
      /** The walk of the stage's root as it starts, where it is known without walking it. */
      let baseWalk: FsNode[] | undefined;
      if (stage.base.kind === 'scratch') {
        // 0755 whatever the umask (as containers/storage makes a layer's root): RUN sees it.
        await mkdir(root, { mode: 0o755 });
        await chmod(root, 0o755);
        state = { root, config: { Env: [], WorkingDir: '/' }, history: [], layers: [], baseDigest: '', baseName: '' };
      } else if (stage.base.kind === 'stage') {
        // The stage's committed image, as storage materialises it (not its live directory).
        const parent = states.get(stage.base.index)!;
        const overlay = await materialise(parent, root, `${file}:${stage.from.line}`, { sde, newPath: newLayerPath });
        state = {
          root, config: structuredClone(parent.config), history: [...parent.history], layers: [...parent.layers], baseDigest: '', baseName: '',
          ...(parent.baseTree !== undefined ? { baseTree: parent.baseTree } : {}), ...(overlay ? { overlay } : {}),
        };
      } else {
        const base = bases.get(stage.base.reference)!;
        const { applied, tree, overlay, walk } = await imageRoot(root, base.image, `${file}:${stage.from.line}: FROM ${base.name}`, opts.unpacked);
        baseWalk = walk;
        const c = base.image.config.value;
        state = {
          root,
          config: structuredClone((c.config ?? {}) as RuntimeConfig),
          history: [...((c.history ?? []) as HistoryItem[])],
          layers: [],
          baseDigest: base.image.descriptor.digest,
          baseName: base.name,
          ...(tree !== undefined ? { baseTree: tree } : {}),
          ...(overlay ? { overlay } : {}),
        };
        // The base's layers are ours too, as their uncompressed tars (what podman stores): their
        // sha256 and size as just read, their bytes read again only if an image needs them.
        // A base from a registry is read from the network once: a later read (COPY --from this
        // stage, a final image with these layers) reads a scratch copy.
        const local = parseImageRef(base.ref, base.name).transport !== 'docker';
        base.image.layers.forEach((reader, i) => state.layers.push({ kind: 'base', ...applied[i]!, reader, local }));
      }
      states.set(stage.index, state);
      const firstHistory = state.history.length;
      // FROM scratch: the first layer is the whole tree; every later one a diff.
      let hasParentLayer = state.layers.length > 0 || stage.base.kind !== 'scratch';
      // The tree after a step is the tree before the next (nothing else writes the root).
      let walked: FsNode[] | undefined = baseWalk;
      let lastChange = -1;
      rs.instructions.forEach((i, n) => { if (i.kind === 'run' || i.kind === 'add' || i.kind === 'copy') lastChange = n; });
      for (const [insIndex, ins] of rs.instructions.entries()) {
        const where = `${file}:${ins.source.line}`;
        opts.onStep?.(`${where}: ${ins.source.original.slice(0, 120)}`);
        const entry: HistoryItem = { created: rfc3339(sde) };
        if (ins.kind === 'run' || ins.kind === 'add' || ins.kind === 'copy') {
          // On an overlay the walk after states again only what its upper directory holds.
          const walk = (prev: FsNode[] | undefined): FsNode[] => state.overlay?.mounted ? walkAfter(root, state.overlay, prev, xattrsSync) : walkTree(root, xattrsSync);
          let before = hasParentLayer ? walked ?? walk(undefined) : [];
          // A RUN on a stage root that is a plain directory (FROM scratch, or a base applied
          // there): the root goes on an overlay over itself first, so that the walk after states
          // again only what the RUN wrote, not the whole tree.
          if (hasParentLayer && overlayBeforeStep(rs.instructions, insIndex) && state.overlay === undefined && showsAsLower(before) && overlayWorks(tmp)) {
            const overlay = overlayOverItself(root);
            if (overlay) {
              state.overlay = overlay;
              before = adoptWalk(before, overlay) ?? walk(undefined);
            }
          }
          let summary: Promise<string> | undefined;
          let copied: FsNode[] | undefined;
          if (ins.kind === 'run') await runStep(ins, state, rs, where, opts, tmp);
          else ({ summary, after: copied } = await copyStep(ins, state, stageImage, context, where, thread!));
          const after = copied ?? walk(before);
          walked = after;
          const items: LayerItem[] = hasParentLayer ? changeItems(naiveChanges(before, after)) : after.map((node) => ({ node }));
          if (items.length === 0) state.layers.push({ kind: 'file', layer: await emptyLayer(newLayerPath()) });
          // A stage's last layer stays in its directory unless podman's bytes of it are an output.
          else if (insIndex === lastChange && (stage.index !== resolved.plan.target || mode.targetLive)) state.layers.push({ kind: 'live', items, stage: stage.index, lower: before.map((n) => n.path) });
          // Nothing reads the target stage's layers but its image: with hashOnly, their digests are all it needs.
          else if (mode.hashOnly && stage.index === resolved.plan.target) {
            const m = await measureLayer(items, sde, where);
            state.layers.push({ kind: 'hashed', diffId: m.digest, size: m.size });
          }
          else state.layers.push({ kind: 'file', layer: await commitLayer(items, sde, newLayerPath()) });
          hasParentLayer = true;
          // The summary, made meanwhile, before the next step writes the stage.
          entry.created_by = createdBy(ins, ctx, summary === undefined ? undefined : await summary);
        } else {
          applyInstruction(state.config, ins);
          entry.created_by = createdBy(ins, ctx);
          entry.empty_layer = true;
        }
        if (state.history.length === firstHistory && stage.base.kind === 'image') entry.comment = `FROM ${state.baseName}`;
        state.history.push(entry);
      }
      state.config.Env = [...rs.env];
      if (rs.workingDir !== '') state.config.WorkingDir = rs.workingDir;
    }

    // The target stage's image.
    const final = states.get(resolved.plan.target)!;
    return await finish({ final, tmp, file, sde, platform, version, newPath: newLayerPath, lastRead: lastRead(resolved.plan.target) });
  };
  const scratchIn = async (where: 'memory' | 'disk'): Promise<T> => {
    const tmp = await makeScratchDir(opts.tmpDir, 'repro-image-containerfile-');
    const limit = where === 'memory' ? mountMemoryScratch(tmp, opts.memoryScratchLimit) : undefined;
    const copies = resolved.stages.some((rs) => rs.instructions.some((i) => i.kind === 'add' || i.kind === 'copy'));
    const thread = copies ? new SummaryThread() : undefined;
    try {
      return await stagesIn(tmp, thread);
    } catch (e) {
      if (limit !== undefined && memoryScratchFull(tmp, limit, e)) throw new MemoryScratchFull(limit, e);
      throw e;
    } finally {
      // The thread first: a build that failed may have left it reading files in the scratch dir.
      await thread?.stop();
      await removeScratchDir(tmp);
    }
  };
  if (opts.scratch !== 'memory') return scratchIn('disk');
  try {
    return await scratchIn('memory');
  } catch (e) {
    if (!(e instanceof MemoryScratchFull)) throw e;
    opts.onWarning?.(`the scratch directory in memory (a tmpfs of ${formatBytes(e.limit)}) filled up (${e.cause instanceof Error ? e.cause.message : String(e.cause)}): building again on disk`);
    return scratchIn('disk');
  }
}

/**
 * Whether a plain-directory stage root goes on an overlay over itself before step `index`: before
 * a RUN, when no ADD or COPY follows in the stage (a file moved into an overlay crosses file
 * systems and becomes a copy: the walks saved would cost the moves).
 */
export function overlayBeforeStep(instructions: readonly ResolvedInstruction[], index: number): boolean {
  return instructions[index]?.kind === 'run' && !instructions.slice(index + 1).some((i) => i.kind === 'add' || i.kind === 'copy');
}

/** The runtime config podman's form carries, as a `build --rootfs` config (nulls and empties left out). */
function containerConfig(c: RuntimeConfig): ContainerConfig {
  const out: ContainerConfig = {};
  if (c.User) out.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = c.ExposedPorts;
  if (c.Env && c.Env.length > 0) out.Env = c.Env;
  if (c.Entrypoint && c.Entrypoint.length > 0) out.Entrypoint = c.Entrypoint;
  if (c.Cmd && c.Cmd.length > 0) out.Cmd = c.Cmd;
  if (c.Volumes && Object.keys(c.Volumes).length > 0) out.Volumes = c.Volumes;
  if (c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length > 0) out.Labels = c.Labels;
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  return out;
}

/**
 * The repro-image form: the target stage's committed layers applied to a new directory (the tree
 * podman's storage makes of the image, whiteouts and all), read as `build --rootfs` reads a
 * directory, then the shared steps (passes, one layer by our tar writer, canonical config and
 * manifest, output). The image is the one `build --rootfs` makes of that tree with that config.
 */
async function canonicalImage(p: Built, o: ContainerfileBuildOptions, output: ImageRef): Promise<CanonicalContainerfileResult> {
  const final = p.final;
  const dir = join(p.tmp, 'final');
  await materialise(final, dir, p.file, { sde: p.sde, newPath: p.newPath, lastRead: p.lastRead });
  // The shared steps are loaded here: the podman form (and verify) never needs them.
  const [{ readDirectory }, { PASS_NAMES }, { buildTree }] = await Promise.all([
    import('../../sources/rootfs/directory.js'), import('../passes.js'), import('../tree-steps.js'),
  ]);
  const tree = await readDirectory(dir, { xattrs: xattrsSync !== undefined });
  const result = await buildTree({
    entries: tree.entries, output, tmp: p.tmp, label: p.file, sourceDateEpoch: p.sde,
    options: {
      compression: o.compression ?? 'gzip',
      platform: p.platform,
      config: containerConfig(final.config),
      normalize: o.normalize ?? [...PASS_NAMES],
      ...(o.exclude ? { exclude: o.exclude } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.registry ? { registry: o.registry } : {}),
    },
  }, { sourceDateEpochFrom: 'option', warnings: tree.warnings, before: [] });
  return { ...result, compat: 'repro-image' };
}

async function emptyLayer(path: string): Promise<BuiltLayer> {
  const { writeFileSync } = await import('node:fs');
  try {
    writeFileSync(path, EMPTY_LAYER);
  } catch (e) {
    throw ioError(e, `cannot write the scratch file ${path}`);
  }
  return { diffId: sha256(EMPTY_LAYER), size: EMPTY_LAYER.length, path };
}

/** RUN under runc; the mount targets runc makes (proc, dev, sys) are removed again, as buildah removes its own. */
async function runStep(ins: Extract<ResolvedInstruction, { kind: 'run' }>, state: StageState, rs: ResolvedStage, where: string, opts: Pick<ContainerfileBuildOptions, 'network' | 'onOutput' | 'signal'>, tmp: string): Promise<void> {
  const made = ['proc', 'dev', 'sys'].filter((d) => !existsSync(join(state.root, d)));
  const user = resolveUser(state.config.User || '0', state.root, where);
  const argv = ins.shell ? ['/bin/sh', '-c', ins.argv[0]!] : [...ins.argv];
  const cwd = state.config.WorkingDir || '/';
  await mkdir(resolveInRoot(state.root, cwd, `${where}: WORKDIR ${cwd}`), { recursive: true }).catch((e) => { throw ioError(e, `${where}: cannot make the working directory ${cwd}`); });
  try {
    await runInRootfs({
      rootfs: state.root, argv, env: ins.env, cwd, uid: user.uid, gid: user.gid,
      network: ins.network === 'host' || opts.network === 'host' ? 'host' : 'none', where: `${where}: RUN`,
    }, { scratch: tmp, ...(opts.onOutput ? { onOutput: opts.onOutput } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  } finally {
    for (const d of made) {
      try {
        rmdirSync(join(state.root, d));
      } catch { /* left by the command itself: it stays, as in podman */ }
    }
  }
  void rs;
}

/**
 * podman's image of the target stage, its layers' diff_ids and sizes taken by `layerOf` (as
 * scratch files, or hashed); writing it writes every layer's tar that is not a file yet.
 */
async function podmanOf(b: Built, layerOf: (l: StageLayer, where: string) => Promise<{ diffId: Digest; size: number }>): Promise<PodmanImage> {
  const layers: Array<{ diffId: Digest; size: number }> = [];
  for (const [i, l] of b.final.layers.entries()) layers.push(await layerOf(l, `${b.file}: layer ${i + 1}`));
  return podmanImage({
    target: b.final, layers, sourceDateEpoch: b.sde, platform: b.platform, buildah: b.version,
    tarFile: async (i) => (await writtenLayer(b.final.layers[i]!, b.sde, b.newPath)).path,
  });
}

/** A stage layer's diff_id and size, its tar hashed (not written) if it is not a file yet. */
async function measuredLayer(l: StageLayer, sde: number, where: string): Promise<{ diffId: Digest; size: number }> {
  switch (l.kind) {
    case 'file':
      return l.layer;
    case 'base':
    case 'hashed':
      return l;
    case 'live':
      return l.written ?? (l.measured ??= measureLayer(liveItems(l), sde, where).then((m) => ({ diffId: m.digest, size: m.size })));
  }
}

/** A live layer's items, as long as its files are still in the stage's directory. */
function liveItems(l: Extract<StageLayer, { kind: 'live' }>): LayerItem[] {
  if (l.movedOut) throw new Error('internal: a stage layer was read after its files were moved out');
  return l.items;
}

/** A stage layer's tar in a scratch file (written now if it was not). */
async function writtenLayer(l: StageLayer, sde: number, newPath: () => string): Promise<BuiltLayer> {
  switch (l.kind) {
    case 'file':
      return l.layer;
    case 'hashed':
      throw new LayerNotKept(l.diffId);
    case 'live':
      return l.written ??= commitLayer(liveItems(l), sde, newPath());
    case 'base':
      return l.written ??= (async () => {
        // Checked as it is written: the diff_id may come from the store of unpacked images (the
        // config's claim, checked when the store was filled from an image with that claim).
        const path = newPath();
        const m = await measure(l.reader.uncompressed(), path);
        if (m.digest !== l.diffId || m.size !== l.size) {
          throw new ReproError('E_DIGEST_MISMATCH', `${l.reader.where}: the layer is ${m.digest} (${m.size} bytes) uncompressed, but the base image's config says ${l.diffId}`);
        }
        return { diffId: l.diffId, size: l.size, path };
      })();
  }
}

/**
 * A FROM image stage's root: an overlay over the image's unpacked tree from the store, or (no
 * store, or no overlay here) its layers applied to `root`. Gives each layer's diff_id and size.
 */
async function imageRoot(root: string, image: ResolvedImage, where: string, store: UnpackedStore | undefined): Promise<{ applied: AppliedLayer[]; tree?: string; overlay?: OverlayRoot; walk?: FsNode[] }> {
  if (store !== undefined) {
    // Where the store has the tree, the mount is the test whether overlays work here (a failed
    // one leaves the directory empty); else they are tried first: a store filled where no
    // overlay can be mounted would only grow.
    const inStore = await store.find(image);
    if (inStore !== undefined || overlayWorks(dirname(root))) {
      let unpacked: UnpackedBase | undefined = inStore;
      try {
        unpacked ??= await store.get(image, where, xattrsSync);
      } catch (e) {
        // A store that cannot be written (a read-only or full cache; Node reports a recursive
        // mkdir on a read-only file system as ENOENT): the base is written into the stage's
        // directory, as without the store (a layer that cannot be applied fails there again).
        if (!(e instanceof ReproError) || (e.code !== 'E_IO' && e.code !== 'E_BAD_INPUT')) throw e;
      }
      // A tree an overlay would not show as it is (a device 0/0 in the base) is not mounted.
      if (unpacked && !unpacked.showsAsLower) return appliedRoot(root, image, where);
      if (unpacked) {
        const overlay = mountOnTree(root, unpacked.tree);
        if (overlay) {
          // The tree's walk from the store, as the walk before the stage's first step.
          const stored = unpacked.walk(root);
          const walk = stored && adoptWalk(stored, overlay);
          return { applied: unpacked.layers, tree: unpacked.tree, overlay, ...(walk ? { walk } : {}) };
        }
        return { ...await appliedRoot(root, image, where), tree: unpacked.tree };
      }
    }
  }
  return appliedRoot(root, image, where);
}

async function appliedRoot(root: string, image: ResolvedImage, where: string): Promise<{ applied: AppliedLayer[] }> {
  return { applied: (await applyLayers(root, image.layers, where)).map((a) => a!) };
}

/**
 * A stage's committed layers applied to `root` (what podman's storage makes of the stage's image).
 * When the stage's base is in the store and everything is wanted, `root` is an overlay over the
 * base's tree and only the later layers are applied (returned: the overlay). `walk` asks for the
 * walk of `root` after, where the apply knows it (stage.ts `applyLayers`).
 */
async function materialise(state: StageState, root: string, where: string, p: { sde: number; newPath: () => string; lastRead?: { stage: number } | undefined }, keep?: (path: string) => boolean, walk?: WalkAfter): Promise<OverlayRoot | undefined> {
  const layers: Array<LayerReader | EntryLayer> = [];
  const overlay = keep === undefined && state.baseTree !== undefined ? mountOnTree(root, state.baseTree) : undefined;
  // A subtree of a stage whose last layer is live: when nothing kept was in the tree that layer
  // was diffed against (the layers below, as applied), the layers below put nothing there that
  // stays, so they are not read (applied with the filter, they would leave nothing).
  const last = state.layers[state.layers.length - 1];
  const nothingBelow = keep !== undefined && last?.kind === 'live' && !last.lower.some(keep);
  for (const [i, l] of state.layers.entries()) {
    if (overlay && l.kind === 'base') continue;
    const at = `${where}: layer ${i + 1}`;
    if (nothingBelow && l !== last) continue;
    if (l.kind === 'live') {
      // The last read of the stage moves its live files (the stage's own directory, read by
      // nothing after this; not a layer it has from a parent stage, which others may read) —
      // unless a hard link leads out of the subtree kept, which makes the caller apply
      // everything again.
      const items = liveItems(l);
      const move = p.lastRead?.stage === l.stage && i === state.layers.length - 1
        && (keep === undefined || ![...itemEntries(items, p.sde)].some((e) => e.kind === 'hardlink' && keep(e.path) && !keep(e.linkname!)));
      layers.push({
        where: at,
        entries: () => {
          // Decided when the layer is applied (a hard link in an earlier layer that leads out of
          // the subtree stops the materialisation before, and the caller applies everything).
          // The files are where they were walked (each node's abs), until they are moved.
          if (!move) return itemEntries(items, p.sde);
          l.movedOut = true;
          if (!state.overlay?.mounted) return itemEntries(items, p.sde, { move, keep, xattrs: xattrsSync });
          // From an overlay root, the files are moved out of its upper directory once it is
          // unmounted (those it does not hold whole, out of where they were copied aside).
          const placed = releaseForMove(state.overlay, movedFiles(itemEntries(items, p.sde, true)), `${state.root}.aside`);
          return movedFrom(itemEntries(items, p.sde, { from: state.overlay.upper, move, keep, xattrs: xattrsSync }), placed);
        },
      });
    }
    else if (l.kind === 'base' && l.local) layers.push(l.reader);
    else {
      const { path } = await writtenLayer(l, p.sde, p.newPath);
      layers.push(layerReader(() => fileSource(path), { number: i + 1, where: at, compression: 'none' }));
    }
  }
  await applyLayers(root, layers, where, keep, walk);
  return overlay;
}

/** The paths (relative to the stage root) of the files an entry list moves. */
function* movedFiles(entries: Iterable<PutEntry>): Generator<string> {
  for (const e of entries) if (e.move && e.copyFrom !== undefined) yield e.path;
}

/** Entries whose moved files are taken from where `releaseForMove` says they are now. */
function* movedFrom(entries: Iterable<PutEntry>, placed: Map<string, string>): Generator<PutEntry> {
  for (const e of entries) {
    const now = e.move ? placed.get(e.path) : undefined;
    yield now !== undefined ? { ...e, copyFrom: now } : e;
  }
}

/**
 * A stage's image for COPY --from (materialised once per stage and sources); `readOnce`: no other
 * COPY reads it, so its files may be moved rather than copied; `mounted`: it is an overlay (over
 * the stage's base tree); `walk`: the directory's walk, where the apply knew it without walking.
 */
type StageImage = (index: number, sources: readonly string[], where: string) => Promise<{ dir: string; readOnce: boolean; mounted: boolean; walk?: FsNode[] }>;

/**
 * ADD/COPY; gives the content summary for the history (`file:…`, `dir:…`) as a promise: it is
 * computed in `thread` while the caller goes on (walk, layer commit), and must be waited for
 * before anything writes the stage again (the files it reads may be the stage's own, moved there).
 */
async function copyStep(ins: Extract<ResolvedInstruction, { kind: 'add' | 'copy' }>, state: StageState, stageImage: StageImage, context: string, where: string, thread: SummaryThread): Promise<{ summary: Promise<string>; after?: FsNode[] }> {
  const chown = ins.chown !== undefined ? resolveUser(ins.chown, state.root, where) : undefined;
  const sources: string[] = [];
  let fromRoot = context;
  let fromWalk: FsNode[] | undefined;
  // The source's walk is of a plain directory (not through an overlay, which hides attributes of its own).
  let plain = false;
  let after: FsNode[] | undefined;
  // Files of a scratch image nothing reads again are moved (one source: sources may overlap), as
  // long as their attributes are read (a moved file keeps its own; the entry sets the same ones).
  let move = false;
  if (ins.kind === 'copy' && ins.from) {
    if (ins.from.kind !== 'stage') throw new ReproError('E_UNSUPPORTED', `${where}: COPY --from an image is not supported yet; name a stage`);
    const image = await stageImage(ins.from.index, ins.sources, where);
    fromRoot = image.dir;
    fromWalk = image.walk;
    plain = !image.mounted;
    move = image.readOnce && ins.sources.length === 1 && xattrsSync !== undefined;
  }
  for (const s of ins.sources) sources.push(sourcePath(fromRoot, s, where, fromRoot === context ? 'the context' : 'the stage'));
  const summaries: Array<Promise<string>> = [];
  // Each is waited for in the end; one that fails while a later source fails first is not left unhandled.
  const summarise = (p: Promise<string>): Promise<string> => {
    p.catch(() => {});
    summaries.push(p);
    return p;
  };
  const x = xattrsSync ? { xattrs: true } : {};
  for (const src of sources) {
    if (!existsSync(src)) throw new ReproError('E_BAD_INPUT', `${where}: ${relative(fromRoot, src)}: no such file`);
    const isDir = statSync(src).isDirectory();
    if (ins.kind === 'add' && !isDir && await isArchive(src)) {
      // An archive is extracted into the destination, entry by entry.
      const dir = join(state.root, ins.dest);
      summarise(thread.summary({ archive: src }));
      const head = readFileSync(src).subarray(0, 512);
      const stream = decompressStream(detectCompression(head), (await import('node:fs')).createReadStream(src, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, src);
      async function* entries(): AsyncGenerator<PutEntry> {
        for await (const { member, body } of readTar(stream, src)) {
          const e = entryOfMember(member, body, src);
          if (e) yield e;
        }
      }
      await putEntries(dir, entries(), { where, stageRoot: state.root, ...(chown ? { parentOwner: chown } : {}) });
      continue;
    }
    const { dir, rel } = destination(state.root, ins.dest, isDir, basename(src));
    // One walk of a directory source serves the summary and the copy (the summary only reads it);
    // known already where the stage's image was applied into an empty directory.
    const walked = isDir ? (fromWalk && walkOfDir(fromWalk, fromRoot, src)) ?? walkTree(src, xattrsSync) : undefined;
    const put = { where, stageRoot: state.root, ...(chown ? { parentOwner: chown } : {}) };
    if (!move) {
      // Copied: the source stays as it is, and its summary is made while it is copied.
      summarise(thread.summary(isDir ? { directory: src, nodes: walked!, chown, chmod: ins.chmod, ...x } : { file: src, chown, chmod: ins.chmod, ...x }));
      await putEntries(dir, treeEntries(src, rel, ins, chown, { move, walked, xattrs: xattrsSync }), put);
    } else if (!isDir) {
      await summarise(thread.summary({ file: src, chown, chmod: ins.chmod, ...x }));
      await putEntries(dir, treeEntries(src, rel, ins, chown, { move, walked, xattrs: xattrsSync }), put);
    } else {
      // Moved: the summary reads each file where it is now (the same inode, renamed).
      const placed = new Map<string, string>();
      // Into the stage's root, not mounted: the walk after is known from the put where the root
      // was empty (a FROM scratch stage's first step; putEntries checks).
      const known = relative(state.root, dir) === '' && !state.overlay?.mounted && xattrsSync !== undefined;
      const afterPut = await putEntries(dir, treeEntries(src, rel, ins, chown, { move, walked, plain, xattrs: xattrsSync }), { ...put, ...(known ? { walk: xattrsSync } : {}), onPlaced: (e, abs) => { if (e.copyFrom !== undefined) placed.set(e.copyFrom, abs); } });
      if (afterPut) after = afterPut;
      const nodes = walked!.map((n) => {
        if (n.kind !== 'file') return n;
        const now = placed.get(n.abs);
        return now === undefined ? n : { ...n, abs: now };
      });
      summarise(thread.summary({ directory: src, nodes, chown, chmod: ins.chmod, ...x }));
    }
  }
  const summary = Promise.all(summaries).then(multiContentSummary);
  // Waited for once the step's layer is committed; a step that fails before then leaves it alone.
  summary.catch(() => {});
  return { summary, ...(after && sources.length === 1 ? { after } : {}) };
}

