/**
 * Field-by-field comparison of two entries' metadata (content is compared while reading, see
 * content.ts). A field that one side's source cannot know is not compared. Pure.
 */
import type { EntryMeta } from './entry-meta.js';
import type { Value } from './types.js';

export interface FieldDifference {
  field: string;
  a?: Value;
  b?: Value;
}

export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** An xattr or pax value as shown: UTF-8 text when it is printable, else `hex:...`. */
export function showBytes(v: Buffer | string): string {
  if (typeof v === 'string') return v;
  const s = v.toString('utf8');
  return /^[\x20-\x7e\u00a0-\uffff]*$/.test(s) && Buffer.from(s, 'utf8').equals(v) ? s : `hex:${v.toString('hex')}`;
}

function mapDifference(a: Map<string, Buffer | string> | undefined, b: Map<string, Buffer | string> | undefined): [Record<string, Value>, Record<string, Value>] | undefined {
  if (a === undefined && b === undefined) return undefined;
  const ka = a ?? new Map<string, Buffer | string>();
  const kb = b ?? new Map<string, Buffer | string>();
  const da: Record<string, Value> = {};
  const db: Record<string, Value> = {};
  let differs = false;
  for (const k of [...new Set([...ka.keys(), ...kb.keys()])].sort()) {
    const x = ka.get(k);
    const y = kb.get(k);
    const sx = x === undefined ? undefined : showBytes(x);
    const sy = y === undefined ? undefined : showBytes(y);
    const same = x !== undefined && y !== undefined && (typeof x === 'string' || typeof y === 'string' ? sx === sy : x.equals(y));
    if (same) continue;
    differs = true;
    if (sx !== undefined) da[k] = sx;
    if (sy !== undefined) db[k] = sy;
  }
  return differs ? [da, db] : undefined;
}

/** The metadata fields in which two entries differ, in report order (see ENTRY_FIELDS). */
export function compareMeta(a: EntryMeta, b: EntryMeta): FieldDifference[] {
  const out: FieldDifference[] = [];
  const push = (field: string, x: Value | undefined, y: Value | undefined): void => {
    if (x === y) return;
    const d: FieldDifference = { field };
    if (x !== undefined) d.a = x;
    if (y !== undefined) d.b = y;
    out.push(d);
  };
  const bothTar = a.dialect !== undefined && b.dialect !== undefined;
  push('type', a.type, b.type);
  if (a.linkname !== undefined || b.linkname !== undefined) push('link-target', a.linkname, b.linkname);
  if (a.mode !== b.mode) push('mode', octal(a.mode), octal(b.mode));
  if (a.rawMode !== undefined && b.rawMode !== undefined && (a.rawMode & ~0o7777) !== (b.rawMode & ~0o7777)) {
    out.push({ field: 'mode-type-bits', a: octal(a.rawMode), b: octal(b.rawMode) });
  }
  push('uid', a.uid, b.uid);
  push('gid', a.gid, b.gid);
  if (bothTar) {
    push('uname', a.uname, b.uname);
    push('gname', a.gname, b.gname);
  }
  push('mtime', a.mtime, b.mtime);
  if (bothTar) {
    push('atime', a.atime, b.atime);
    push('ctime', a.ctime, b.ctime);
  }
  const dev = (m: EntryMeta): string | undefined => (m.devmajor === undefined ? undefined : `${m.devmajor},${m.devminor ?? 0}`);
  if (a.type === b.type) push('devices', dev(a), dev(b));
  const x = mapDifference(a.xattrs, b.xattrs);
  if (x) out.push({ field: 'xattrs', a: x[0], b: x[1] });
  if (bothTar) {
    const p = mapDifference(a.pax, b.pax);
    if (p) out.push({ field: 'pax', a: p[0], b: p[1] });
    push('name', a.rawName, b.rawName);
    push('tar-format', a.dialect, b.dialect);
  }
  return out;
}

/** A short description of an entry that only one side has. */
export function entrySummary(m: EntryMeta): Value {
  const s: Record<string, Value> = { type: m.type, mode: octal(m.mode), uid: m.uid, gid: m.gid, mtime: m.mtime };
  if (m.type === 'file') s['size'] = m.size;
  if (m.linkname !== undefined) s['link-target'] = m.linkname;
  return s;
}
