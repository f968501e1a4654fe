/**
 * Two disk images compared: the partition tables field by field, the bytes outside the
 * partitions (the GPT itself, gaps), then each pair of partitions: their bytes in 1 MiB pieces
 * (equal partitions are done), their file systems' superblock summaries, and every entry of the
 * file systems through the same entry comparison as layers (content, times, modes, owners, links,
 * xattrs), reading both in bounded memory. A file whose extents are the same on both sides and
 * lie in bytes found equal in both partitions is equal without reading it as a file (CommonBytes);
 * the others are read and compared. Verity hash trees and partitions without a file system we read
 * are compared as bytes. Each byte of a partition is read at most twice (once as a piece, once
 * as part of a file or metadata that differs or is not covered by extents).
 */
import { createHash } from 'node:crypto';
import type { FsEntry, FsReader } from '../disk/fs-reader.js';
import type { Source } from '../disk/io.js';
import { fsReader, type DiskPartition, type OpenedDisk } from '../disk/open.js';
import { formatUuid } from '../disk/uuid.js';
import type { Collector } from './collector.js';
import type { EntryMeta } from './entry-meta.js';
import { fieldFinding } from './findings.js';
import { compareEntryStreams, type EntryContext } from './layer-diff.js';
import type { Member } from './members.js';
import type { Location, Value } from './types.js';

const PIECE = 4 << 20;

/** Whether two regions hold the same bytes (stops at the first difference). */
export function sameBytes(a: Source, b: Source): boolean {
  if (a.size !== b.size) return false;
  const ba = Buffer.allocUnsafe(PIECE);
  const bb = Buffer.allocUnsafe(PIECE);
  for (let off = 0; off < a.size; off += PIECE) {
    const n = Math.min(PIECE, a.size - off);
    a.readInto(ba, 0, n, off, 'bytes');
    b.readInto(bb, 0, n, off, 'bytes');
    if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Which bytes two partitions have in common, found a piece at a time and remembered: a piece of
 * PIECE bytes is read on both sides once, and when it differs, which of its GRAIN-byte grains do.
 * `scan` reads pieces in order up to the first difference (the partitions are equal when there is
 * none); `same` reads the pieces a range lies in (those not read yet), so that a file whose extents
 * lie in equal bytes is known equal without reading it again, and bytes no file uses are not read.
 */
export class CommonBytes {
  static readonly PIECE = 1 << 20;
  static readonly GRAIN = 4096;
  /** Per piece: 0 not read yet, 1 equal, 2 differs (its grains in `grains`). */
  private readonly state: Uint8Array;
  private readonly grains = new Map<number, Uint8Array>();
  private readonly ba = Buffer.allocUnsafe(CommonBytes.PIECE);
  private readonly bb = Buffer.allocUnsafe(CommonBytes.PIECE);
  constructor(private readonly a: Source, private readonly b: Source) {
    this.state = new Uint8Array(Math.ceil(Math.min(a.size, b.size) / CommonBytes.PIECE));
  }

  private piece(i: number): number {
    const s = this.state[i]!;
    if (s !== 0) return s;
    const P = CommonBytes.PIECE;
    const G = CommonBytes.GRAIN;
    const off = i * P;
    const n = Math.min(P, this.a.size - off, this.b.size - off);
    this.a.readInto(this.ba, 0, n, off, 'bytes');
    this.b.readInto(this.bb, 0, n, off, 'bytes');
    const x = this.ba.subarray(0, n);
    const y = this.bb.subarray(0, n);
    if (x.equals(y)) {
      this.state[i] = 1;
      return 1;
    }
    const differs = new Uint8Array(Math.ceil(n / G));
    for (let g = 0; g < differs.length; g++) {
      const e = Math.min(n, (g + 1) * G);
      if (!x.subarray(g * G, e).equals(y.subarray(g * G, e))) differs[g] = 1;
    }
    this.grains.set(i, differs);
    this.state[i] = 2;
    return 2;
  }

  /** Whether the partitions are byte for byte equal (same size, every piece equal; stops at the first difference). */
  scan(): boolean {
    if (this.a.size !== this.b.size) return false;
    for (let i = 0; i < this.state.length; i++) if (this.piece(i) !== 1) return false;
    return true;
  }

  /** Whether [offset, offset+length) holds the same bytes in both (false for a range outside either). */
  same(offset: number, length: number): boolean {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > Math.min(this.a.size, this.b.size)) return false;
    const P = CommonBytes.PIECE;
    const G = CommonBytes.GRAIN;
    for (let at = offset, end = offset + length; at < end;) {
      const i = Math.floor(at / P);
      const to = Math.min(end, (i + 1) * P);
      if (this.piece(i) === 2) {
        const differs = this.grains.get(i)!;
        for (let g = Math.floor((at - i * P) / G), last = Math.floor((to - 1 - i * P) / G); g <= last; g++) if (differs[g]) return false;
      }
      at = to;
    }
    return true;
  }

  /** For two files met side by side: equal size, the same extents, and those bytes equal in both. */
  knownEqual(x: Member, y: Member): boolean {
    if (x.meta.size !== y.meta.size || !x.extents || !y.extents) return false;
    let ex: number[] | undefined;
    let ey: number[] | undefined;
    try {
      ex = x.extents();
      ey = y.extents();
    } catch {
      return false; // reading the content says what is wrong
    }
    if (!ex || !ey || ex.length !== ey.length) return false;
    for (let k = 0; k < ex.length; k++) if (ex[k] !== ey[k]) return false;
    for (let k = 0; k + 2 < ex.length; k += 3) if (!this.same(ex[k + 1]!, ex[k + 2]!)) return false;
    return true;
  }
}

function sha256(src: Source): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(PIECE);
  for (let off = 0; off < src.size; off += PIECE) {
    const n = Math.min(PIECE, src.size - off);
    src.readInto(buf, 0, n, off, 'bytes');
    h.update(buf.subarray(0, n));
  }
  return `sha256:${h.digest('hex')}`;
}

/** A file system's entries as diff members: hard links after the first name as links to it. */
async function* members(fs: FsReader, stats: { entries: number }): AsyncGenerator<Member> {
  const firstPath = new Map<number, string>();
  for (const e of fs.walk()) {
    stats.entries++;
    const meta = metaOf(e, firstPath);
    const chunks = e.chunks;
    if (meta.type === 'file' && meta.size > 0 && chunks) {
      const m: Member = { meta, body: async function* body() { yield* chunks(); } };
      if (e.extents) m.extents = e.extents;
      yield m;
    } else {
      yield { meta };
    }
  }
}

function metaOf(e: FsEntry, firstPath: Map<number, string>): EntryMeta {
  const path = e.path === '' ? '.' : e.path;
  if (e.type !== 'dir' && e.nlink > 1) {
    const first = firstPath.get(e.id);
    if (first !== undefined) return { path, type: 'hardlink', mode: e.mode, uid: e.uid, gid: e.gid, size: 0, mtime: e.mtime, linkname: first };
    firstPath.set(e.id, path);
  }
  const meta: EntryMeta = { path, type: e.type === 'socket' ? 'other:s' : e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtime: e.mtime };
  if (e.linkname !== undefined) meta.linkname = e.linkname;
  if (e.devmajor !== undefined) {
    meta.devmajor = e.devmajor;
    meta.devminor = e.devminor ?? 0;
  }
  if (e.xattrs) meta.xattrs = e.xattrs;
  return meta;
}

export interface DiskComparison {
  sink: Collector;
  ctx(base: Location): EntryContext;
  stats: { A: { entries: number }; B: { entries: number } };
}

/** The byte ranges of a disk outside its partitions. */
function outside(d: OpenedDisk): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let pos = 0;
  for (const p of [...d.partitions].sort((x, y) => x.offset - y.offset)) {
    if (p.offset > pos) out.push([pos, p.offset]);
    pos = Math.max(pos, p.offset + p.size);
  }
  if (d.file.size > pos) out.push([pos, d.file.size]);
  return out;
}

export async function compareDisks(a: OpenedDisk, b: OpenedDisk, c: DiskComparison): Promise<void> {
  const disk: Location = { level: 'disk' };
  const add = (location: Location, field: string, va: Value | undefined, vb: Value | undefined): void => {
    const d = { location, field, finding: fieldFinding(field, va, vb, undefined) } as Parameters<Collector['add']>[0];
    if (va !== undefined) d.a = va;
    if (vb !== undefined) d.b = vb;
    c.sink.add(d);
  };
  const ta = a.table;
  const tb = b.table;
  if (a.file.size !== b.file.size) add(disk, 'disk-size', a.file.size, b.file.size);
  if (ta.sectorSize !== tb.sectorSize) add(disk, 'sector-size', ta.sectorSize, tb.sectorSize);
  if (!ta.diskGuid.equals(tb.diskGuid)) add(disk, 'disk-guid', formatUuid(ta.diskGuid), formatUuid(tb.diskGuid));
  if (ta.partitions.length !== tb.partitions.length) add(disk, 'partition-count', ta.partitions.length, tb.partitions.length);
  // The GPT and whatever lies between and after partitions: compared when both disks have them in the same places.
  const oa = outside(a);
  const ob = outside(b);
  if (JSON.stringify(oa) === JSON.stringify(ob)) {
    const differs = oa.some(([s, e]) => !sameBytes(a.file.slice(s, e - s, 'outside partitions'), b.file.slice(s, e - s, 'outside partitions')));
    const headerFields = c.sink.differences.length;
    if (differs && headerFields === 0 && ta.partitions.every((p, i) => { const q = tb.partitions[i]; return q && p.uuid.equals(q.uuid) && p.name === q.name && p.attributes === q.attributes && p.type.equals(q.type); })) {
      // The table decodes the same, yet its bytes (or a gap's) differ: reserved fields, padding, stray data.
      const digest = (d: OpenedDisk, ranges: Array<[number, number]>): string => {
        const h = createHash('sha256');
        for (const [s, e] of ranges) {
          for (let off = s; off < e; off += PIECE) h.update(d.file.read(off, Math.min(PIECE, e - off), 'outside partitions'));
        }
        return `outside partitions: sha256:${h.digest('hex')}`;
      };
      add(disk, 'partition-bytes', digest(a, oa), digest(b, ob));
    }
  }
  const byNumber = (d: OpenedDisk): Map<number, DiskPartition> => new Map(d.partitions.map((p) => [p.number, p]));
  const pa = byNumber(a);
  const pb = byNumber(b);
  for (const n of [...new Set([...pa.keys(), ...pb.keys()])].sort((x, y) => x - y)) {
    const x = pa.get(n);
    const y = pb.get(n);
    const location: Location = { level: 'partition', partition: n, partitionLabel: (x ?? y)!.entry.name };
    if (!x || !y) {
      const summary = (p: DiskPartition): Value => ({ type: p.typeName, label: p.entry.name, uuid: formatUuid(p.entry.uuid), size: p.size, content: p.content });
      c.sink.add({ location, field: 'presence', ...(x ? { a: summary(x) } : { b: summary(y!) }), finding: x ? 'removed' : 'added' });
      continue;
    }
    await comparePartitions(x, y, location, c, add);
  }
}

async function comparePartitions(x: DiskPartition, y: DiskPartition, location: Location, c: DiskComparison, add: (l: Location, f: string, a: Value | undefined, b: Value | undefined) => void): Promise<void> {
  if (x.typeName !== y.typeName) add(location, 'partition-type', x.typeName, y.typeName);
  if (!x.entry.uuid.equals(y.entry.uuid)) add(location, 'partition-uuid', formatUuid(x.entry.uuid), formatUuid(y.entry.uuid));
  if (x.entry.name !== y.entry.name) add(location, 'partition-label', x.entry.name, y.entry.name);
  if (x.offset !== y.offset) add(location, 'partition-offset', x.offset, y.offset);
  if (x.size !== y.size) add(location, 'partition-size', x.size, y.size);
  if (x.entry.attributes !== y.entry.attributes) add(location, 'partition-flags', `0x${x.entry.attributes.toString(16)}`, `0x${y.entry.attributes.toString(16)}`);
  if (x.content !== y.content) {
    add(location, 'partition-content', x.content, y.content);
    return;
  }
  const common = new CommonBytes(x.source, y.source);
  if (common.scan()) return;
  const fa = fsReader(x.source, x.content);
  const fb = fsReader(y.source, y.content);
  if (!fa || !fb) {
    add(location, x.content === 'verity' ? 'verity-hash-tree' : 'partition-bytes', sha256(x.source), sha256(y.source));
    return;
  }
  const ia = fa.info;
  const ib = fb.info;
  if (ia.label !== ib.label) add(location, 'fs-label', ia.label, ib.label);
  if (ia.uuid !== ib.uuid) add(location, ia.type === 'vfat' ? 'volume-id' : 'fs-uuid', ia.uuid ?? null, ib.uuid ?? null);
  for (const k of [...new Set([...Object.keys(ia.fields), ...Object.keys(ib.fields)])].sort()) {
    if (k === 'volume id') continue; // reported as volume-id above
    const va = ia.fields[k];
    const vb = ib.fields[k];
    if (va !== vb) add(location, 'fs-field', va === undefined ? null : `${k}: ${va}`, vb === undefined ? null : `${k}: ${vb}`);
  }
  await compareEntryStreams(members(fa, c.stats.A), members(fb, c.stats.B), { ...c.ctx(location), knownEqual: (m, n) => common.knownEqual(m, n) });
}
