/**
 * The flattened filesystem of an image: its layers applied in order by the image model's
 * `FlatFileSystem` (OCI whiteouts, replaced directories). Used when the two images have different
 * numbers of layers. Each entry keeps its metadata, content hash and the layer it came from; file
 * bytes are not kept, and a second pass fetches the first bytes of the files whose content differs.
 */
import { comparePaths } from '../archive/entry.js';
import { compareSides, readContent, type ContentSide } from './content.js';
import { FlatFileSystem, whiteoutOf, type LayerChanges } from '../image/whiteouts.js';
import type { EntryMeta } from './entry-meta.js';
import type { EntryContext } from './layer-diff.js';
import { reportPair, reportPresence } from './layer-diff.js';
import type { Member } from './members.js';

export interface FlatEntry {
  meta: EntryMeta;
  /** Regular files: hash and size (no sample). */
  content?: ContentSide;
  /** 0-based layer the entry comes from. */
  layer: number;
}

export type LayerOpener = () => AsyncIterable<Member>;

/** Reads every layer in order and returns the resulting filesystem (ignored paths left out). */
export async function flatten(layers: readonly LayerOpener[], ignored: (path: string) => boolean): Promise<Map<string, FlatEntry>> {
  const fs = new FlatFileSystem<FlatEntry>();
  for (const [layer, open] of layers.entries()) {
    const entries: Array<{ path: string; dir: boolean; value: FlatEntry }> = [];
    const changes: LayerChanges<FlatEntry> = { whiteouts: [], entries };
    for await (const m of open()) {
      const w = whiteoutOf(m.meta.path);
      if (w || ignored(m.meta.path)) {
        if (w) changes.whiteouts.push(w);
        if (m.body) for await (const _ of m.body()) { /* skip */ }
        continue;
      }
      const e: FlatEntry = { meta: m.meta, layer };
      if (m.meta.type === 'file') e.content = await readContent(m.body?.(), 0);
      entries.push({ path: m.meta.path, dir: m.meta.type === 'dir', value: e });
    }
    fs.apply(changes);
  }
  return fs.files;
}

/** The first `limit` bytes of the given paths, each from the layer its entry came from. */
async function fetchSamples(layers: readonly LayerOpener[], wanted: Map<string, number>, limit: number): Promise<Map<string, ContentSide>> {
  const out = new Map<string, ContentSide>();
  const byLayer = new Set(wanted.values());
  for (const layer of [...byLayer].sort((x, y) => x - y)) {
    for await (const m of layers[layer]!()) {
      if (wanted.get(m.meta.path) === layer && m.meta.type === 'file') {
        out.set(m.meta.path, await readContent(m.body?.(), limit));
      } else if (m.body) {
        for await (const _ of m.body()) { /* skip */ }
      }
    }
  }
  return out;
}

/** Files whose content differs get a detail only up to this many (each costs a re-read of layers). */
const MAX_DETAILED = 256;

/** Compares two flattened filesystems; the detail pass re-reads only layers that hold differing files. */
export async function compareFlattened(layersA: readonly LayerOpener[], layersB: readonly LayerOpener[], ctx: EntryContext): Promise<void> {
  const ignored = ctx.sink.rules.paths;
  const [fa, fb] = await Promise.all([flatten(layersA, ignored), flatten(layersB, ignored)]);
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].sort(comparePaths);
  const differing: string[] = [];
  for (const p of paths) {
    const a = fa.get(p);
    const b = fb.get(p);
    if (a && b) {
      // Order means nothing across layers; everything else is compared as in a layer.
      const ma = { ...a.meta, index: undefined };
      const mb = { ...b.meta, index: undefined };
      if (a.content && b.content && a.content.sha256 !== b.content.sha256) differing.push(p);
      reportPair(ctx, ma, mb, 0, undefined);
    } else if (a) {
      reportPresence(ctx, a.meta, 0, 'a');
    } else if (b) {
      reportPresence(ctx, b.meta, 0, 'b');
    }
  }
  const detailed = differing.slice(0, MAX_DETAILED);
  const [sa, sb] = await Promise.all([
    fetchSamples(layersA, new Map(detailed.map((p) => [p, fa.get(p)!.layer])), ctx.limit),
    fetchSamples(layersB, new Map(detailed.map((p) => [p, fb.get(p)!.layer])), ctx.limit),
  ]);
  for (const p of differing) {
    const a = fa.get(p)!;
    const b = fb.get(p)!;
    const cmp = compareSides(sa.get(p) ?? a.content!, sb.get(p) ?? b.content!);
    const meta = { ...a.meta, index: undefined };
    // Content only: the metadata was reported above.
    reportPair(ctx, meta, meta, 0, cmp);
  }
}
