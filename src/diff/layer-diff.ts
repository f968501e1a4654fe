/**
 * Compares two streams of layer entries, reading both at once. Entries are matched by path (the
 * k-th occurrence of a path with the k-th on the other side). When both archives list entries in
 * the same order, every pair is compared as it streams by, content included, with nothing kept;
 * an entry whose partner has not come yet waits with its metadata, hash and (within a budget) its
 * first bytes. Entries left waiting at the end are only in one archive.
 */
import { comparePaths } from '../archive/entry.js';
import { compareMeta, entrySummary } from './compare-entry.js';
import { compareSides, compareStreams, equalContent, readContent, type ContentComparison, type ContentSide } from './content.js';
import { describeContent } from './content-detail.js';
import type { Collector } from './collector.js';
import type { EntryMeta } from './entry-meta.js';
import { fieldFinding, pathFinding } from './findings.js';
import type { Member } from './members.js';
import { outOfOrder } from './order.js';
import type { Location } from './types.js';

export interface EntryContext {
  /** Where these entries are: a layer, or the flattened filesystem. */
  base: Location;
  /** --max-content-diff. */
  limit: number;
  /** SOURCE_DATE_EPOCH for both sides (--source-date-epoch, else the older created time). */
  epoch?: number;
  /** Each side's own build time (config created), when both are known, differ and no --source-date-epoch was given. */
  epochs?: { a: number; b: number };
  sink: Collector;
  /** Bytes that waiting entries may still keep of their content (shared by all layers). */
  budget: { bytes: number };
  /**
   * True when two files met side by side are known to have equal content without reading it
   * (a disk's file systems: the same extents over bytes found equal in both partitions).
   */
  knownEqual?: (a: Member, b: Member) => boolean;
}

interface Head extends Member {
  key: string;
  occurrence: number;
}

interface Waiting {
  meta: EntryMeta;
  key: string;
  occurrence: number;
  content?: ContentSide;
}

async function drain(body: (() => AsyncIterable<Buffer>) | undefined): Promise<void> {
  if (body) for await (const _ of body()) { /* skip */ }
}

/** Assigns match keys (path, occurrence) and skips entries under --ignore-path. */
class Keyed {
  private readonly seen = new Map<string, number>();
  private readonly it: AsyncIterator<Member>;
  constructor(source: AsyncIterable<Member>, private readonly ignored: (path: string) => boolean) {
    this.it = source[Symbol.asyncIterator]();
  }
  async next(): Promise<Head | undefined> {
    for (;;) {
      const r = await this.it.next();
      if (r.done) return undefined;
      const m = r.value;
      const occurrence = this.seen.get(m.meta.path) ?? 0;
      this.seen.set(m.meta.path, occurrence + 1);
      if (this.ignored(m.meta.path)) {
        await drain(m.body);
        continue;
      }
      const head: Head = { meta: m.meta, occurrence, key: occurrence === 0 ? m.meta.path : `${m.meta.path}\u0000${occurrence}` };
      if (m.body) head.body = m.body;
      if (m.extents) head.extents = m.extents;
      return head;
    }
  }
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

export function entryLocation(base: Location, path: string, occurrence: number): Location {
  return occurrence > 0 ? { ...base, path, occurrence: occurrence + 1 } : { ...base, path };
}

/** Reports the metadata differences of a matched pair, and the content's when it was compared. */
export function reportPair(ctx: EntryContext, a: EntryMeta, b: EntryMeta, occurrence: number, content: ContentComparison | undefined): void {
  const location = entryLocation(ctx.base, a.path, occurrence);
  for (const f of compareMeta(a, b)) {
    ctx.sink.add({ location, ...f, finding: fieldFinding(f.field, f.a, f.b, ctx.epoch, ctx.epochs) });
  }
  if (content && !content.equal) {
    // Past the report's budget for content details, only the finding is worked out (by path).
    const v = ctx.sink.wantsDetail()
      ? describeContent(a.path, content, ctx.limit)
      : { finding: pathFinding(a.path) ?? 'content', detail: { kind: 'binary' as const, note: 'content detail left out: the report already holds its budget of content diffs' } };
    ctx.sink.add({
      location, field: 'content',
      a: { size: content.a.size, sha256: content.a.sha256 ?? null },
      b: { size: content.b.size, sha256: content.b.sha256 ?? null },
      finding: v.finding, content: v.detail,
    });
  }
}

/** Reports an entry that only one side has. */
export function reportPresence(ctx: EntryContext, meta: EntryMeta, occurrence: number, side: 'a' | 'b'): void {
  // An entry for the root directory itself (`tar -C dir .` writes `./`) is a matter of how the archive was made.
  const root = meta.path === '.' && occurrence === 0;
  const d = {
    location: entryLocation(ctx.base, meta.path, occurrence),
    field: root ? 'root-entry' : 'presence',
    finding: root ? 'name-form' : pathFinding(meta.path) ?? (side === 'a' ? 'removed' : 'added'),
  };
  ctx.sink.add(side === 'a' ? { ...d, a: entrySummary(meta) } : { ...d, b: entrySummary(meta) });
}

export async function compareEntryStreams(sourceA: AsyncIterable<Member>, sourceB: AsyncIterable<Member>, ctx: EntryContext): Promise<void> {
  const A = new Keyed(sourceA, ctx.sink.rules.paths);
  const B = new Keyed(sourceB, ctx.sink.rules.paths);
  const waitA = new Map<string, Waiting>();
  const waitB = new Map<string, Waiting>();
  const placed: Array<{ indexA: number; indexB: number; path: string; occurrence: number }> = [];
  const place = (a: EntryMeta, b: EntryMeta, occurrence: number): void => {
    if (a.index !== undefined && b.index !== undefined) placed.push({ indexA: a.index, indexB: b.index, path: a.path, occurrence });
  };
  const isFile = (m: EntryMeta): boolean => m.type === 'file';
  const wait = async (h: Head): Promise<Waiting> => {
    const w: Waiting = { meta: h.meta, key: h.key, occurrence: h.occurrence };
    if (isFile(h.meta)) {
      const keep = Math.max(0, Math.min(ctx.limit, ctx.budget.bytes));
      w.content = await readContent(h.body?.(), keep);
      ctx.budget.bytes -= w.content.sample.length;
    } else {
      await drain(h.body);
    }
    return w;
  };
  const release = (w: Waiting): void => {
    ctx.budget.bytes += w.content?.sample.length ?? 0;
  };
  /** A head of one side meets an entry of the other side that was waiting. */
  const meet = async (h: Head, w: Waiting, headSide: 'a' | 'b'): Promise<void> => {
    release(w);
    let content: ContentComparison | undefined;
    if (isFile(h.meta) && w.content) {
      const live = await readContent(h.body?.(), ctx.limit);
      content = headSide === 'a' ? compareSides(live, w.content) : compareSides(w.content, live);
    } else {
      await drain(h.body);
    }
    const [a, b] = headSide === 'a' ? [h.meta, w.meta] : [w.meta, h.meta];
    place(a, b, h.occurrence);
    reportPair(ctx, a, b, h.occurrence, content);
  };
  try {
    let ha = await A.next();
    let hb = await B.next();
    while (ha || hb) {
      if (ha && hb && ha.key === hb.key) {
        let content: ContentComparison | undefined;
        if (isFile(ha.meta) && isFile(hb.meta)) content = ctx.knownEqual?.(ha, hb) ? equalContent(ha.meta.size, ctx.limit) : await compareStreams(ha.body?.(), hb.body?.(), ctx.limit);
        else await Promise.all([drain(ha.body), drain(hb.body)]);
        place(ha.meta, hb.meta, ha.occurrence);
        reportPair(ctx, ha.meta, hb.meta, ha.occurrence, content);
        ha = await A.next();
        hb = await B.next();
        continue;
      }
      const wb = ha ? waitB.get(ha.key) : undefined;
      if (ha && wb) {
        waitB.delete(ha.key);
        await meet(ha, wb, 'a');
        ha = await A.next();
        continue;
      }
      const wa = hb ? waitA.get(hb.key) : undefined;
      if (hb && wa) {
        waitA.delete(hb.key);
        await meet(hb, wa, 'b');
        hb = await B.next();
        continue;
      }
      // Neither head has a partner yet: the one that sorts first waits (a merge, for sorted archives).
      if (ha && (!hb || comparePaths(ha.key, hb.key) <= 0)) {
        waitA.set(ha.key, await wait(ha));
        ha = await A.next();
      } else if (hb) {
        waitB.set(hb.key, await wait(hb));
        hb = await B.next();
      }
    }
  } finally {
    await Promise.all([A.close(), B.close()]);
  }
  for (const w of waitA.values()) { release(w); reportPresence(ctx, w.meta, w.occurrence, 'a'); }
  for (const w of waitB.values()) { release(w); reportPresence(ctx, w.meta, w.occurrence, 'b'); }
  for (const p of outOfOrder(placed)) {
    ctx.sink.add({ location: entryLocation(ctx.base, p.path, p.occurrence), field: 'order', a: p.indexA, b: p.indexB, finding: 'entry-order' });
  }
}
