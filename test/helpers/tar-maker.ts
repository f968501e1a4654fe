/** Builds tar archives member by member, including malformed ones, for reader tests. */
import { BLOCK, encodeHeaders, encodePaxRecords, padding, TypeFlag } from '../../src/archive/tar-header.js';

export interface RawMember {
  name: string;
  type?: keyof typeof TYPES;
  data?: string | Buffer;
  linkname?: string;
  /** Written as given: may carry file type bits (e.g. 0o100644). */
  mode?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra pax records (a pax header is written when there are any). */
  pax?: Record<string, string | Buffer>;
  /** Header magic: POSIX ustar (default), GNU (`ustar  `) or none (v7). */
  magic?: 'ustar' | 'gnu' | 'v7';
}

const TYPES = {
  file: TypeFlag.file, dir: TypeFlag.dir, symlink: TypeFlag.symlink, hardlink: TypeFlag.hardlink,
  char: TypeFlag.char, block: TypeFlag.block, fifo: TypeFlag.fifo,
} as const;

export function setChecksum(b: Buffer): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  b[154] = 0;
  b[155] = 0x20;
}

/** Rewrites the last header block of `headers` (the ustar one) for names and magic. */
function patchUstar(headers: Buffer, m: RawMember): Buffer {
  const b = headers.subarray(headers.length - BLOCK);
  if (m.uname !== undefined) b.write(m.uname, 265, 32, 'utf8');
  if (m.gname !== undefined) b.write(m.gname, 297, 32, 'utf8');
  if (m.magic === 'gnu') b.write('ustar  \0', 257, 8, 'latin1');
  if (m.magic === 'v7') b.fill(0, 257, 265);
  setChecksum(b);
  return headers;
}

export function memberBytes(m: RawMember): Buffer[] {
  const data = Buffer.from(m.data ?? '');
  const type = m.type ?? 'file';
  const parts: Buffer[] = [];
  if (m.pax) {
    const body = encodePaxRecords(new Map(Object.entries(m.pax).map(([k, v]) => [k, Buffer.from(v)])));
    const h = encodeHeaders({ name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, typeflag: TypeFlag.paxLocal, linkname: '', devmajor: 0, devminor: 0 });
    parts.push(h, body, Buffer.alloc(padding(body.length)));
  }
  parts.push(patchUstar(encodeHeaders({
    name: m.name, mode: m.mode ?? (type === 'dir' ? 0o755 : 0o644), uid: m.uid ?? 0, gid: m.gid ?? 0,
    size: type === 'file' ? data.length : 0, mtime: m.mtime ?? 1600000000, typeflag: TYPES[type],
    linkname: m.linkname ?? '', devmajor: m.devmajor ?? 0, devminor: m.devminor ?? 0,
  }), m));
  if (type === 'file') parts.push(data, Buffer.alloc(padding(data.length)));
  return parts;
}

/** A tar archive; `end: false` leaves out the end-of-archive blocks, `endBlocks` sets how many. */
export function makeTar(members: RawMember[], { end = true, endBlocks = 2 } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) parts.push(...memberBytes(m));
  if (end) parts.push(Buffer.alloc(endBlocks * BLOCK));
  return Buffer.concat(parts);
}
