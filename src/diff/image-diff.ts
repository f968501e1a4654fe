/**
 * `diff`: walks two images from the outside in (index, manifest, config, layers, tar entries) and
 * returns every difference as data, each under a named finding. Layers whose digests match are not
 * read; layers whose uncompressed content (diff_id) matches differ only in compression; other
 * layers are read both at once. Images with different numbers of layers are compared as flattened
 * filesystems. Renderers (render-*.ts) turn the result into text, JSON or HTML.
 */
import { comparePaths } from '../archive/entry.js';
import { canonicalize } from '../model/canonical-json.js';
import type { Descriptor } from '../model/descriptor.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { ReproError, option } from '../model/errors.js';
import { formatPlatform, toPlatform, type Platform } from '../model/platform.js';
import { Collector } from './collector.js';
import { compareDisks } from './disk-diff.js';
import { compareFlattened } from './flatten.js';
import { groupFindings, jsonFinding } from './findings.js';
import { formatDifferencePlace } from './format.js';
import { jsonDifferences, parseComparedJson, without } from './json-diff.js';
import { compareEntryStreams, type EntryContext } from './layer-diff.js';
import { newStats, type Member, type ReadStats } from './members.js';
import { ENTRY_FIELDS, ignoreRules } from './options.js';
import { loadImage, openSide, sideManifest, type ImageSide, type LoadedImage, type Side, type SideLayer } from './side.js';
import { DIFF_SCHEMA_VERSION, type Difference, type DiffResult, type Location, type SideSummary } from './types.js';

export interface DiffOptions {
  /** Ignore what diffoci's --semantic ignores (see SEMANTIC_IGNORES). */
  semantic?: boolean;
  /** Fields, field groups or JSON paths to ignore (see docs/diff.md). */
  ignore?: string[];
  /** Globs of entry paths to ignore. */
  ignorePaths?: string[];
  /** OS/ARCH[/VARIANT] to compare in multi-platform images. */
  platform?: Platform | string;
  /** Bytes of each file kept for a content diff, and the most a file's diff may take. Default 64 KiB. */
  maxContentDiff?: number;
  /** For the `mtime-after-epoch` finding; default: the older of the two configs' `created`. */
  sourceDateEpoch?: number;
  /** Differences listed in full; the rest are only counted. Default 100000. */
  maxDifferences?: number;
  onWarning?: (message: string) => void;
  /** Credentials and TLS settings for docker:// references (both sides). */
  registry?: RegistryOptions;
  /** For A alone, over `registry`. */
  registryA?: RegistryOptions;
  /** For B alone, over `registry`. */
  registryB?: RegistryOptions;
}

export const DEFAULT_MAX_CONTENT_DIFF = 64 << 10;
const DEFAULT_MAX_DIFFERENCES = 100_000;
/** Content diffs and hex views kept in one report. */
const DETAIL_BUDGET = 64 << 20;
/** First bytes of entries waiting for their partner (archives in different orders). */
const WAITING_BUDGET = 32 << 20;

const LEVEL_RANK: Record<Location['level'], number> = { index: 1, manifest: 2, config: 3, layers: 4, layer: 5, filesystem: 6, disk: 7, partition: 8 };
const FIELD_RANK = new Map<string, number>(ENTRY_FIELDS.map((f, i) => [f, i]));

function compareDifferences(x: Difference, y: Difference): number {
  const a = x.location;
  const b = y.location;
  const pa = a.platform ?? '';
  const pb = b.platform ?? '';
  return (pa < pb ? -1 : pa > pb ? 1 : 0)
    || LEVEL_RANK[a.level] - LEVEL_RANK[b.level]
    || (a.layer ?? 0) - (b.layer ?? 0)
    || (a.partition ?? 0) - (b.partition ?? 0)
    || (a.path === undefined ? (b.path === undefined ? 0 : -1) : b.path === undefined ? 1 : comparePaths(a.path, b.path))
    || (a.occurrence ?? 0) - (b.occurrence ?? 0)
    || (FIELD_RANK.get(x.field) ?? -1) - (FIELD_RANK.get(y.field) ?? -1);
}

function createdSeconds(created: unknown): number | undefined {
  if (typeof created !== 'string') return undefined;
  const ms = Date.parse(created);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

class Comparison {
  readonly sink: Collector;
  readonly layerCounts = { A: 0, B: 0 };
  private readonly budget = { bytes: WAITING_BUDGET };
  epoch: number | undefined;
  /** Each side's build time, when both images say and they differ (and no --source-date-epoch). */
  epochs: { a: number; b: number } | undefined;

  constructor(readonly opts: DiffOptions, readonly limit: number, readonly platform: Platform | undefined) {
    const rules = ignoreRules(opts.semantic === true, opts.ignore ?? [], opts.ignorePaths ?? []);
    this.sink = new Collector(rules, opts.maxDifferences ?? DEFAULT_MAX_DIFFERENCES, DETAIL_BUDGET);
    this.epoch = opts.sourceDateEpoch;
  }

  private json(location: Location, a: unknown, b: unknown, prefix: string, skip?: (p: string) => boolean): void {
    for (const j of jsonDifferences(a, b, prefix, skip)) {
      const d: Difference = { location, ...j, finding: '' };
      d.finding = jsonFinding(d);
      this.sink.add(d);
    }
  }

  /** Bytes differ but values do not: key order or whitespace. */
  private encoding(location: Location, a: { bytes: Buffer; digest: string }, b: { bytes: Buffer; digest: string }, va: unknown, vb: unknown): void {
    if (!a.bytes.equals(b.bytes) && canonicalize(va) === canonicalize(vb)) {
      this.sink.add({ location, field: 'json-encoding', a: a.digest, b: b.digest, finding: 'json-encoding' });
    }
  }

  ctx(base: Location): EntryContext {
    const c: EntryContext = { base, limit: this.limit, sink: this.sink, budget: this.budget };
    if (this.epoch !== undefined) c.epoch = this.epoch;
    if (this.epochs !== undefined) c.epochs = this.epochs;
    return c;
  }

  /** Every layer read, by side, for the entry counts in the summary. */
  private readonly reads: Record<'A' | 'B', ReadStats[]> = { A: [], B: [] };

  private opener(layer: SideLayer, side: 'A' | 'B'): (stats?: ReadStats) => AsyncIterable<Member> {
    return (stats = newStats()) => {
      this.reads[side].push(stats);
      return layer.open(stats);
    };
  }

  entriesRead(side: 'A' | 'B'): number {
    return this.reads[side].reduce((n, s) => n + s.entries, 0);
  }

  async layers(la: readonly SideLayer[], lb: readonly SideLayer[], platform: string | undefined): Promise<void> {
    const at = (l: Omit<Location, 'platform'>): Location => (platform ? { platform, ...l } : l);
    if (la.length !== lb.length) {
      this.sink.add({ location: at({ level: 'layers' }), field: 'layer-count', a: la.length, b: lb.length, finding: 'layer-count' });
      await compareFlattened(la.map((l) => this.opener(l, 'A')), lb.map((l) => this.opener(l, 'B')), this.ctx(at({ level: 'filesystem' })));
      return;
    }
    for (const [i, l] of la.entries()) {
      const r = lb[i]!;
      const da = l.descriptor;
      const db = r.descriptor;
      const digest = (da ?? db)?.digest;
      const location = at(digest ? { level: 'layer', layer: i + 1, layerDigest: digest } : { level: 'layer', layer: i + 1 });
      if (da && db && da.mediaType !== db.mediaType) this.sink.add({ location, field: 'media-type', a: da.mediaType, b: db.mediaType, finding: 'media-type' });
      if (da && db && da.digest === db.digest) continue;
      if (da && db) {
        this.json(location, without(da, ['digest', 'size', 'mediaType']), without(db, ['digest', 'size', 'mediaType']), `manifest.layers[${i}]`);
        if (l.diffId !== undefined && l.diffId === r.diffId) {
          this.sink.add({
            location, field: 'compression',
            a: { digest: da.digest, size: da.size, mediaType: da.mediaType },
            b: { digest: db.digest, size: db.size, mediaType: db.mediaType },
            finding: 'compression',
          });
          continue;
        }
      }
      const sa = newStats();
      const sb = newStats();
      await compareEntryStreams(this.opener(l, 'A')(sa), this.opener(r, 'B')(sb), this.ctx(location));
      if (sa.endOffset !== undefined && sb.endOffset !== undefined) {
        const pa = sa.uncompressed - sa.endOffset;
        const pb = sb.uncompressed - sb.endOffset;
        if (pa !== pb) this.sink.add({ location, field: 'tar-padding', a: pa, b: pb, finding: 'tar-padding' });
      }
    }
  }

  async images(a: LoadedImage, b: LoadedImage, platform: string | undefined): Promise<void> {
    this.layerCounts.A = Math.max(this.layerCounts.A, a.layers.length);
    this.layerCounts.B = Math.max(this.layerCounts.B, b.layers.length);
    if (this.epoch === undefined) {
      const [ca, cb] = [createdSeconds(a.config.value.created), createdSeconds(b.config.value.created)];
      const times = [ca, cb].filter((t): t is number => t !== undefined);
      if (times.length > 0) this.epoch = Math.min(...times);
      if (this.opts.sourceDateEpoch === undefined && ca !== undefined && cb !== undefined && ca !== cb) this.epochs = { a: ca, b: cb };
    }
    if (a.descriptor.digest === b.descriptor.digest) return;
    const at = (level: Location['level']): Location => (platform ? { platform, level } : { level });
    const skipManifest = (p: string): boolean => p === 'manifest.layers' || p === 'manifest.config.digest' || p === 'manifest.config.size';
    this.json(at('manifest'), a.manifestJson, b.manifestJson, 'manifest', skipManifest);
    this.encoding(at('manifest'), a.manifest, b.manifest, a.manifestJson, b.manifestJson);
    if (a.config.digest !== b.config.digest) {
      this.json(at('config'), a.configJson, b.configJson, 'config', (p) => p === 'config.rootfs.diff_ids');
      this.encoding(at('config'), a.config, b.config, a.configJson, b.configJson);
    }
    await this.layers(a.layers, b.layers, platform);
  }

  async imageSides(a: ImageSide, b: ImageSide): Promise<void> {
    const [va, vb] = [a.view, b.view];
    if (va.index && vb.index) {
      this.json({ level: 'index' }, without(parseComparedJson(va.index.bytes, `${a.label} ${a.reference}: index.json`), ['manifests']), without(parseComparedJson(vb.index.bytes, `${b.label} ${b.reference}: index.json`), ['manifests']), 'index');
      this.json({ level: 'index' }, without(va.target, ['digest', 'size']), without(vb.target, ['digest', 'size']), 'descriptor');
    }
    if (va.nested && vb.nested && this.platform === undefined) {
      if (va.target.digest === vb.target.digest) return;
      this.json({ level: 'index' }, without(parseComparedJson(va.nested.bytes, `${a.label} ${a.reference}: index ${va.nested.digest}`), ['manifests']), without(parseComparedJson(vb.nested.bytes, `${b.label} ${b.reference}: index ${vb.nested.digest}`), ['manifests']), 'index');
      const byPlatform = (s: ImageSide): Map<string, Descriptor> => new Map(s.view.nested!.value.manifests.map((m) => [m.platform ? formatPlatform(m.platform) : `#${m.digest}`, m]));
      const pa = byPlatform(a);
      const pb = byPlatform(b);
      for (const p of [...new Set([...pa.keys(), ...pb.keys()])].sort()) {
        const ma = pa.get(p);
        const mb = pb.get(p);
        if (ma && mb) {
          if (ma.digest !== mb.digest) await this.images(await loadImage(a, ma), await loadImage(b, mb), p);
        } else {
          this.sink.add({ location: { level: 'index' }, field: 'platforms', ...(ma ? { a: p } : { b: p }), finding: 'platforms' });
        }
      }
      return;
    }
    const pick = (s: ImageSide): Descriptor => sideManifest(s, this.platform);
    const [ma, mb] = [pick(a), pick(b)];
    const [ia, ib] = await Promise.all([loadImage(a, ma), loadImage(b, mb)]);
    await this.images(ia, ib, undefined);
  }

  readonly diskStats = { A: { entries: 0 }, B: { entries: 0 } };

  async sides(a: Side, b: Side): Promise<void> {
    if (a.kind === 'disk' || b.kind === 'disk') {
      if (a.kind !== 'disk' || b.kind !== 'disk') {
        throw new ReproError('E_USAGE', `diff: ${a.kind === 'disk' ? 'A' : 'B'} is a disk image and ${a.kind === 'disk' ? 'B' : 'A'} is not; a disk is compared with a disk`);
      }
      await compareDisks(a.disk, b.disk, { sink: this.sink, ctx: (base) => this.ctx(base), stats: this.diskStats });
      return;
    }
    if (a.kind === 'image' && b.kind === 'image') {
      await this.imageSides(a, b);
      return;
    }
    const layers = async (s: Side): Promise<SideLayer[]> => {
      const l = s.kind === 'image' ? (await loadImage(s, sideManifest(s, this.platform))).layers : s.kind === 'disk' ? [] : [s.layer];
      this.layerCounts[s.label] = l.length;
      return l;
    };
    await this.layers(await layers(a), await layers(b), undefined);
  }
}

function summary(s: Side, layers: number, entriesRead: number): SideSummary {
  if (s.kind === 'disk') return { reference: s.reference, kind: 'disk', layers: 0, entriesRead, partitions: s.disk.partitions.length };
  if (s.kind !== 'image') return { reference: s.reference, kind: s.kind, layers, entriesRead };
  return { reference: s.reference, kind: 'image', digest: s.view.target.digest, layers, entriesRead };
}

/** Compares two images (or root filesystems) and returns every difference, grouped into findings. */
export async function diff(a: string, b: string, opts: DiffOptions = {}): Promise<DiffResult> {
  const limit = opts.maxContentDiff ?? DEFAULT_MAX_CONTENT_DIFF;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ReproError('E_USAGE', `${option('maxContentDiff')}: expected a positive whole number of bytes, got ${String(opts.maxContentDiff)}`);
  const platform = opts.platform === undefined ? undefined : toPlatform(opts.platform);
  const cmp = new Comparison(opts, limit, platform);
  const registry = (side?: RegistryOptions): { registry?: RegistryOptions } => {
    const r = side || opts.registry ? { ...opts.registry, ...side } : undefined;
    return r ? { registry: r } : {};
  };
  const [sa, sb] = await Promise.all([openSide(a, 'A', opts.onWarning, registry(opts.registryA)), openSide(b, 'B', opts.onWarning, registry(opts.registryB))]);
  try {
    await cmp.sides(sa, sb);
  } finally {
    for (const s of [sa, sb]) if (s.kind === 'disk') s.disk.close();
  }
  const differences = [...cmp.sink.differences].sort(compareDifferences);
  const findings = groupFindings(differences, formatDifferencePlace, cmp.sink.omitted);
  const options: DiffResult['options'] = {
    semantic: opts.semantic === true,
    ignore: [...(opts.ignore ?? [])],
    ignorePaths: [...(opts.ignorePaths ?? [])],
    maxContentDiff: limit,
  };
  if (platform) options.platform = formatPlatform(platform);
  if (cmp.epoch !== undefined) options.sourceDateEpoch = cmp.epoch;
  return {
    schemaVersion: DIFF_SCHEMA_VERSION,
    identical: differences.length === 0 && cmp.sink.omittedCount === 0,
    a: summary(sa, cmp.layerCounts.A, cmp.entriesRead('A') + cmp.diskStats.A.entries),
    b: summary(sb, cmp.layerCounts.B, cmp.entriesRead('B') + cmp.diskStats.B.entries),
    options,
    findings,
    differences,
    omittedDifferences: cmp.sink.omittedCount,
  };
}

