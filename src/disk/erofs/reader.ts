/**
 * Reads EROFS images: compact and extended inodes, flat plain and flat inline data, chunk-based
 * files (block maps or chunk indexes, holes as zeros), directories, inline and shared xattrs.
 * Compressed files and long xattr name prefixes are refused by name; every offset is checked.
 */
import { ReproError } from '../../model/errors.js';
import type { Source } from '../io.js';
import { CHUNK, esc, WalkGuard, type FsEntry, type FsInfo, type FsReader } from '../fs-reader.js';
import { formatUuid } from '../uuid.js';
import { crc32cRaw } from '../crc32c.js';
import {
  COMPACT_SIZE, decodeDev, EROFS_MAGIC, EXTENDED_SIZE, FEATURE_COMPAT_SB_CHKSUM, LAYOUT_CHUNK_BASED, LAYOUT_FLAT_INLINE, LAYOUT_FLAT_PLAIN,
  SUPER_OFFSET, XATTR_PREFIXES,
} from './format.js';

interface Inode {
  nid: number;
  layout: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  mtimeNs: number;
  nlink: number;
  iu: number;
  /** Byte offset of the inode. */
  at: number;
  isize: number;
  xattrSize: number;
}

export class ErofsReader implements FsReader {
  readonly info: FsInfo;
  private readonly bs: number;
  private readonly metaBase: number;
  private readonly xattrBase: number;
  private readonly rootNid: number;
  private readonly epoch: number;
  private readonly fixedNs: number;
  private readonly where: string;
  readonly problems: string[] = [];

  constructor(private readonly src: Source) {
    this.where = src.where;
    const sb = src.read(SUPER_OFFSET, 128, 'erofs superblock');
    if (sb.readUInt32LE(0) !== EROFS_MAGIC) throw new ReproError('E_BAD_INPUT', `${this.where}: not an EROFS file system`);
    const bits = sb[12]!;
    if (bits < 9 || bits > 16) throw new ReproError('E_BAD_INPUT', `${this.where}: block size 2^${bits}`);
    this.bs = 1 << bits;
    const compat = sb.readUInt32LE(8);
    const incompat = sb.readUInt32LE(80);
    if (incompat & ~(0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20)) throw new ReproError('E_UNSUPPORTED', `${this.where}: EROFS incompatible features 0x${incompat.toString(16)} are not read`);
    if (sb[91]) throw new ReproError('E_UNSUPPORTED', `${this.where}: EROFS long xattr name prefixes are not read`);
    this.rootNid = sb.readUInt16LE(14);
    this.epoch = Number(sb.readBigInt64LE(24));
    this.fixedNs = sb.readUInt32LE(32);
    const blocks = sb.readUInt32LE(36);
    this.metaBase = sb.readUInt32LE(40) * this.bs;
    this.xattrBase = sb.readUInt32LE(44) * this.bs;
    if (blocks * this.bs > src.size) throw new ReproError('E_BAD_INPUT', `${this.where}: the file system says ${blocks} blocks of ${this.bs} bytes, the partition holds ${src.size} bytes`);
    if (compat & FEATURE_COMPAT_SB_CHKSUM) {
      const len = Math.max(this.bs - SUPER_OFFSET, 128);
      const b = src.read(SUPER_OFFSET, len, 'erofs superblock');
      b.writeUInt32LE(0, 4);
      if (crc32cRaw(0xffffffff, b) !== sb.readUInt32LE(4)) this.problems.push('superblock checksum does not match');
    }
    this.info = {
      type: 'erofs', label: sb.subarray(64, 80).toString('utf8').replace(/\0.*$/s, ''), uuid: formatUuid(sb.subarray(48, 64)),
      fields: { blocks, 'block size': this.bs, inodes: Number(sb.readBigUInt64LE(16)), 'build time': this.epoch, features: `compat 0x${compat.toString(16)} incompat 0x${incompat.toString(16)}`, 'root nid': this.rootNid },
    };
  }

  private inode(nid: number): Inode {
    const at = this.metaBase + nid * 32;
    const head = this.src.read(at, COMPACT_SIZE, `inode ${nid}`);
    const format = head.readUInt16LE(0);
    const extended = (format & 1) === 1;
    const layout = (format >> 1) & 7;
    const icount = head.readUInt16LE(2);
    const xattrSize = icount === 0 ? 0 : 12 + 4 * (icount - 1);
    if (extended) {
      const b = this.src.read(at, EXTENDED_SIZE, `inode ${nid}`);
      const size = b.readBigUInt64LE(8);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ReproError('E_BAD_INPUT', `${this.where}: inode ${nid}: size ${size}`);
      return {
        nid, layout, mode: b.readUInt16LE(4), size: Number(size), iu: b.readUInt32LE(16), uid: b.readUInt32LE(24), gid: b.readUInt32LE(28),
        mtime: Number(b.readBigInt64LE(32)), mtimeNs: b.readUInt32LE(40), nlink: b.readUInt32LE(44), at, isize: EXTENDED_SIZE, xattrSize,
      };
    }
    return {
      nid, layout, mode: head.readUInt16LE(4), nlink: head.readUInt16LE(6), size: head.readUInt32LE(8), iu: head.readUInt32LE(16),
      uid: head.readUInt16LE(24), gid: head.readUInt16LE(26), mtime: this.epoch + (head.readUInt32LE(12) || 0), mtimeNs: this.fixedNs,
      at, isize: COMPACT_SIZE, xattrSize,
    };
  }

  /** The inode's data in chunks. */
  private *data(ino: Inode, what: string): Generator<Buffer> {
    const size = ino.size;
    const bs = this.bs;
    if (ino.layout === LAYOUT_FLAT_PLAIN || ino.layout === LAYOUT_FLAT_INLINE) {
      const inlineTail = ino.layout === LAYOUT_FLAT_INLINE ? size % bs : 0;
      const blockBytes = size - inlineTail;
      for (let pos = 0; pos < blockBytes; pos += CHUNK) {
        const n = Math.min(CHUNK, blockBytes - pos);
        yield this.src.read(ino.iu * bs + pos, n, `${what} data`);
      }
      if (inlineTail > 0) {
        const tailAt = ino.at + ino.isize + ino.xattrSize;
        if ((tailAt % bs) + inlineTail > bs) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: inline data crosses a block boundary`);
        yield this.src.read(tailAt, inlineTail, `${what} inline data`);
      }
      return;
    }
    if (ino.layout === LAYOUT_CHUNK_BASED) {
      const format = ino.iu & 0xffff;
      const chunkBits = (format & 0x1f) + Math.log2(bs);
      const chunkSize = 2 ** chunkBits;
      const indexes = (format & 0x20) !== 0;
      const count = Math.ceil(size / chunkSize);
      const entry = indexes ? 8 : 4;
      let tableAt = ino.at + ino.isize + ino.xattrSize;
      if (indexes) tableAt = Math.ceil(tableAt / 8) * 8;
      for (let c = 0; c < count; c++) {
        const e = this.src.read(tableAt + c * entry, entry, `${what} chunk index`);
        const blk = indexes ? e.readUInt32LE(4) : e.readUInt32LE(0);
        const len = Math.min(chunkSize, size - c * chunkSize);
        for (let pos = 0; pos < len; pos += CHUNK) {
          const n = Math.min(CHUNK, len - pos);
          yield blk === 0xffffffff ? Buffer.alloc(n) : this.src.read(blk * bs + pos, n, `${what} data`);
        }
      }
      return;
    }
    throw new ReproError('E_UNSUPPORTED', `${this.where}: ${what}: compressed EROFS data (layout ${ino.layout}) is not read`);
  }

  /** Flat layouts' data as (logical, offset, length) byte triples; undefined for the others. */
  private extents(ino: Inode): number[] | undefined {
    if (ino.layout !== LAYOUT_FLAT_PLAIN && ino.layout !== LAYOUT_FLAT_INLINE) return undefined;
    const inlineTail = ino.layout === LAYOUT_FLAT_INLINE ? ino.size % this.bs : 0;
    const blockBytes = ino.size - inlineTail;
    const out: number[] = [];
    if (blockBytes > 0) out.push(0, ino.iu * this.bs, blockBytes);
    if (inlineTail > 0) {
      const tailAt = ino.at + ino.isize + ino.xattrSize;
      if ((tailAt % this.bs) + inlineTail > this.bs) return undefined;
      out.push(blockBytes, tailAt, inlineTail);
    }
    return out;
  }

  private all(ino: Inode, what: string): Buffer {
    return Buffer.concat([...this.data(ino, what)]);
  }

  private xattrs(ino: Inode, what: string): Map<string, Buffer> | undefined {
    if (ino.xattrSize === 0) return undefined;
    const area = this.src.read(ino.at + ino.isize, ino.xattrSize, `${what} xattrs`);
    const out = new Map<string, Buffer>();
    const entry = (b: Buffer, o: number, where: string): number => {
      if (o + 4 > b.length) throw new ReproError('E_BAD_INPUT', `${this.where}: ${where}: truncated xattr`);
      const nameLen = b[o]!;
      const index = b[o + 1]!;
      const vsize = b.readUInt16LE(o + 2);
      if (o + 4 + nameLen + vsize > b.length) throw new ReproError('E_BAD_INPUT', `${this.where}: ${where}: xattr out of bounds`);
      if (index & 0x80) throw new ReproError('E_UNSUPPORTED', `${this.where}: ${where}: long xattr name prefixes are not read`);
      const p = XATTR_PREFIXES.find(([, i]) => i === index);
      if (p) out.set(p[0] + b.subarray(o + 4, o + 4 + nameLen).toString('utf8'), Buffer.from(b.subarray(o + 4 + nameLen, o + 4 + nameLen + vsize)));
      return (4 + nameLen + vsize + 3) & ~3;
    };
    const shared = area[4]!;
    for (let i = 0; i < shared; i++) {
      const id = area.readUInt32LE(12 + i * 4);
      const at = this.xattrBase + id * 4;
      const head = this.src.read(at, 4, `${what} shared xattr`);
      const b = this.src.read(at, 4 + head[0]! + head.readUInt16LE(2), `${what} shared xattr`);
      entry(b, 0, `${what} shared xattr`);
    }
    for (let o = 12 + shared * 4; o < area.length;) o += entry(area, o, `${what} xattrs`);
    return out.size > 0 ? new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;
  }

  private entry(path: string, ino: Inode): FsEntry {
    const fmt = ino.mode & 0o170000;
    const types: Record<number, FsEntry['type']> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo', 0o140000: 'socket' };
    const type = types[fmt];
    if (!type) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: nid ${ino.nid} has mode 0${ino.mode.toString(8)}`);
    const e: FsEntry = { path, type, mode: ino.mode & 0o7777, uid: ino.uid, gid: ino.gid, mtime: ino.mtime, mtimeNs: ino.mtimeNs, size: type === 'file' ? ino.size : 0, nlink: ino.nlink, id: ino.nid };
    if (type === 'symlink') {
      if (ino.size > 65536) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: symlink of ${ino.size} bytes`);
      e.linkname = this.all(ino, `/${esc(path)}`).toString('utf8');
    }
    if (type === 'char' || type === 'block') {
      const d = decodeDev(ino.iu);
      e.devmajor = d.major;
      e.devminor = d.minor;
    }
    const x = this.xattrs(ino, `/${esc(path)}`);
    if (x) e.xattrs = x;
    if (type === 'file') {
      e.chunks = () => this.data(ino, `/${esc(path)}`);
      e.extents = () => this.extents(ino);
    }
    return e;
  }

  private children(dir: Inode, path: string): Array<{ name: Buffer; nid: number }> {
    if (dir.size > 1 << 30) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: a directory of ${dir.size} bytes`);
    const data = this.all(dir, `/${esc(path)}`);
    const out: Array<{ name: Buffer; nid: number }> = [];
    for (let b = 0; b < data.length; b += this.bs) {
      const end = Math.min(data.length, b + this.bs);
      if (end - b < 12) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: truncated directory block`);
      const first = data.readUInt16LE(b + 8);
      if (first < 12 || first % 12 !== 0 || b + first > end) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: bad directory block at ${b}`);
      const n = first / 12;
      for (let i = 0; i < n; i++) {
        const o = b + i * 12;
        const nameOff = data.readUInt16LE(o + 8);
        const nextOff = i + 1 < n ? data.readUInt16LE(o + 20) : end - b;
        if (nameOff < first || nameOff > nextOff || b + nextOff > end) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: bad directory entry ${i} in block ${b / this.bs}`);
        let name = data.subarray(b + nameOff, b + nextOff);
        if (i + 1 === n) {
          const z = name.indexOf(0);
          if (z >= 0) name = name.subarray(0, z);
        }
        const nid = data.readBigUInt64LE(o);
        if (nid > BigInt(Number.MAX_SAFE_INTEGER)) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: nid ${nid}`);
        const s = name.toString('latin1');
        if (s !== '.' && s !== '..') out.push({ name: Buffer.from(name), nid: Number(nid) });
      }
    }
    return out.sort((a, b) => Buffer.compare(a.name, b.name));
  }

  *walk(): Generator<FsEntry> {
    const guard = new WalkGuard(this.where);
    const self = this;
    function* dir(path: string, ino: Inode, depth: number): Generator<FsEntry> {
      if (!guard.enter(ino.nid, path, depth)) throw new ReproError('E_BAD_INPUT', `${self.where}: /${esc(path)}: directory nid ${ino.nid} is reached twice (a loop)`);
      for (const c of self.children(ino, path)) {
        const name = c.name.toString('utf8');
        if (name === '' || name.includes('/')) throw new ReproError('E_BAD_INPUT', `${self.where}: /${esc(path)}: an empty name or one with '/'`);
        const p = path === '' ? name : `${path}/${name}`;
        const child = self.inode(c.nid);
        const e = self.entry(p, child);
        yield e;
        if (e.type === 'dir') yield* dir(p, child, depth + 1);
      }
    }
    const root = this.inode(this.rootNid);
    if ((root.mode & 0o170000) !== 0o040000) throw new ReproError('E_BAD_INPUT', `${this.where}: the root inode is not a directory`);
    yield this.entry('', root);
    yield* dir('', root, 0);
  }
}
