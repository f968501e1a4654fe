/**
 * Reads ext2/3/4 file systems: superblock, group descriptors (32 or 64 bytes), inodes of any size,
 * extent trees and the old block maps, linear and hash-tree directories (read as linear blocks),
 * fast and slow symlinks, devices, extended attributes in the inode and in a block (ACLs back to
 * the VFS format). Every number read is checked against the file system's bounds; what we do not
 * read (inline data, encryption, compression, bigalloc, meta_bg) is refused by name.
 */
import { ReproError } from '../../model/errors.js';
import type { Source } from '../io.js';
import { CHUNK, esc, WalkGuard, type FsEntry, type FsInfo, type FsReader } from '../fs-reader.js';
import { formatUuid } from '../uuid.js';
import { decodeTime, EXTENTS_FL, ROOT_INO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, SUPER_MAGIC } from './format.js';
import { EXTENT_MAGIC } from './extents.js';
import { aclFromDisk, joinXattrName, XATTR_MAGIC } from './xattr.js';

const INCOMPAT_KNOWN = 0x2 | 0x4 | 0x40 | 0x80 | 0x200 | 0x2000 | 0x4000 | 0x20000;
const INCOMPAT_NAMES: Record<number, string> = { 0x1: 'compression', 0x8: 'journal_dev', 0x10: 'meta_bg', 0x400: 'ea_inode', 0x1000: 'dirdata', 0x8000: 'inline_data', 0x10000: 'encrypt' };

interface Inode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  mtimeNs: number;
  links: number;
  flags: number;
  iblock: Buffer;
  fileAcl: number;
  raw: Buffer;
  extra: number;
}

interface Run { logical: number; physical: number; length: number; zero: boolean }

export class Ext4Reader implements FsReader {
  readonly info: FsInfo;
  private readonly blockSize: number;
  private readonly ipg: number;
  private readonly inodeSize: number;
  private readonly descSize: number;
  private readonly groups: number;
  private readonly blocks: number;
  private readonly tables: number[] = [];
  private readonly where: string;

  constructor(private readonly src: Source) {
    this.where = src.where;
    const sb = src.read(1024, 1024, 'ext4 superblock');
    if (sb.readUInt16LE(0x38) !== SUPER_MAGIC) throw new ReproError('E_BAD_INPUT', `${this.where}: not an ext2/3/4 file system`);
    const logBlock = sb.readUInt32LE(0x18);
    if (logBlock > 6) throw new ReproError('E_BAD_INPUT', `${this.where}: block size 1024 << ${logBlock}`);
    this.blockSize = 1024 << logBlock;
    const incompat = sb.readUInt32LE(0x60);
    const rev = sb.readUInt32LE(0x4c);
    const unknown = incompat & ~INCOMPAT_KNOWN;
    if (unknown) {
      const names = Object.entries(INCOMPAT_NAMES).filter(([bit]) => unknown & Number(bit)).map(([, n]) => n);
      throw new ReproError('E_UNSUPPORTED', `${this.where}: ext4 feature ${names.join(', ') || `0x${unknown.toString(16)}`} is not read`);
    }
    const roCompat = sb.readUInt32LE(0x64);
    if (roCompat & 0x200) throw new ReproError('E_UNSUPPORTED', `${this.where}: ext4 bigalloc is not read`);
    this.ipg = sb.readUInt32LE(0x28);
    this.inodeSize = rev >= 1 ? sb.readUInt16LE(0x58) : 128;
    this.descSize = incompat & 0x80 ? sb.readUInt16LE(0xfe) : 32;
    this.blocks = sb.readUInt32LE(0x04) + (incompat & 0x80 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
    const bpg = sb.readUInt32LE(0x20);
    const firstData = sb.readUInt32LE(0x14);
    if (this.inodeSize < 128 || this.inodeSize > this.blockSize || (this.inodeSize & (this.inodeSize - 1)) !== 0) throw new ReproError('E_BAD_INPUT', `${this.where}: inode size ${this.inodeSize}`);
    if (this.descSize < 32 || this.descSize > 1024) throw new ReproError('E_BAD_INPUT', `${this.where}: group descriptor size ${this.descSize}`);
    if (bpg === 0 || this.ipg === 0 || this.ipg > this.blockSize * 8) throw new ReproError('E_BAD_INPUT', `${this.where}: ${bpg} blocks and ${this.ipg} inodes per group`);
    if (this.blocks * this.blockSize > src.size) throw new ReproError('E_BAD_INPUT', `${this.where}: the file system says ${this.blocks} blocks of ${this.blockSize} bytes, the partition holds ${src.size} bytes`);
    this.groups = Math.ceil((this.blocks - firstData) / bpg);
    const gdt = src.read((firstData + 1) * this.blockSize, this.groups * this.descSize, 'ext4 group descriptors');
    for (let g = 0; g < this.groups; g++) {
      const d = gdt.subarray(g * this.descSize);
      this.tables.push(d.readUInt32LE(8) + (this.descSize >= 64 ? d.readUInt32LE(40) * 2 ** 32 : 0));
    }
    const label = sb.subarray(0x78, 0x88).toString('utf8').replace(/\0.*$/s, '');
    this.info = {
      type: 'ext4', label, uuid: formatUuid(sb.subarray(0x68, 0x78)),
      fields: {
        blocks: this.blocks, 'block size': this.blockSize, 'free blocks': sb.readUInt32LE(0x0c) + (incompat & 0x80 ? sb.readUInt32LE(0x158) * 2 ** 32 : 0),
        inodes: sb.readUInt32LE(0x00), 'free inodes': sb.readUInt32LE(0x10), 'inode size': this.inodeSize,
        features: `compat 0x${sb.readUInt32LE(0x5c).toString(16)} incompat 0x${incompat.toString(16)} ro_compat 0x${roCompat.toString(16)}`,
        'hash seed': formatUuid(sb.subarray(0xec, 0xfc)), 'mkfs time': sb.readUInt32LE(0x108), 'write time': sb.readUInt32LE(0x30),
        'journal inode': sb.readUInt32LE(0xe0),
      },
    };
  }

  private inode(ino: number): Inode {
    const g = Math.floor((ino - 1) / this.ipg);
    if (ino < 1 || g >= this.groups) throw new ReproError('E_BAD_INPUT', `${this.where}: inode ${ino} is out of range`);
    const at = this.tables[g]! * this.blockSize + ((ino - 1) % this.ipg) * this.inodeSize;
    const raw = this.src.read(at, this.inodeSize, `inode ${ino}`);
    const extra = this.inodeSize > 128 ? raw.readUInt16LE(0x80) : 0;
    if (128 + extra > this.inodeSize) throw new ReproError('E_BAD_INPUT', `${this.where}: inode ${ino}: extra size ${extra}`);
    const t = decodeTime(raw.readUInt32LE(0x10), extra >= 12 ? raw.readUInt32LE(0x88) : 0);
    return {
      ino, raw, extra, mode: raw.readUInt16LE(0), uid: raw.readUInt16LE(2) | (raw.readUInt16LE(0x78) << 16),
      gid: raw.readUInt16LE(0x18) | (raw.readUInt16LE(0x7a) << 16), size: raw.readUInt32LE(4) + raw.readUInt32LE(0x6c) * 2 ** 32,
      mtime: t.s, mtimeNs: t.ns, links: raw.readUInt16LE(0x1a), flags: raw.readUInt32LE(0x20),
      iblock: Buffer.from(raw.subarray(0x28, 0x28 + 60)), fileAcl: raw.readUInt32LE(0x68) + raw.readUInt16LE(0x76) * 2 ** 32,
    };
  }

  private block(n: number, what: string): Buffer {
    if (n >= this.blocks) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: block ${n} is beyond the file system's ${this.blocks}`);
    return this.src.read(n * this.blockSize, this.blockSize, what);
  }

  /** The inode's data as runs of blocks (holes omitted), in logical order. */
  private runs(ino: Inode): Run[] {
    const out: Run[] = [];
    if (ino.flags & EXTENTS_FL) {
      const walk = (node: Buffer, depth: number, what: string): void => {
        if (node.readUInt16LE(0) !== EXTENT_MAGIC) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: bad extent header`);
        const entries = node.readUInt16LE(2);
        const d = node.readUInt16LE(6);
        if (d !== depth || d > 5 || 12 + entries * 12 > node.length) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: bad extent node (depth ${d}, ${entries} entries)`);
        for (let i = 0; i < entries; i++) {
          const e = node.subarray(12 + i * 12, 24 + i * 12);
          if (d === 0) {
            let len = e.readUInt16LE(4);
            const zero = len > 32768;
            if (zero) len -= 32768;
            out.push({ logical: e.readUInt32LE(0), physical: e.readUInt16LE(6) * 2 ** 32 + e.readUInt32LE(8), length: len, zero });
          } else {
            walk(this.block(e.readUInt32LE(4) + e.readUInt16LE(8) * 2 ** 32, what), d - 1, what);
          }
        }
      };
      const depth = ino.iblock.readUInt16LE(6);
      walk(ino.iblock, depth, `inode ${ino.ino}`);
    } else {
      // Block maps: 12 direct, then single, double and triple indirect blocks.
      const per = this.blockSize / 4;
      const limit = Math.ceil(ino.size / this.blockSize);
      let logical = 0;
      const add = (phys: number): void => {
        if (logical < limit && phys !== 0) {
          const last = out[out.length - 1];
          if (last && last.logical + last.length === logical && last.physical + last.length === phys) last.length++;
          else out.push({ logical, physical: phys, length: 1, zero: false });
        }
        logical++;
      };
      const indirect = (blk: number, level: number): void => {
        if (logical >= limit) return;
        if (blk === 0) {
          logical += per ** level;
          return;
        }
        const b = this.block(blk, `inode ${ino.ino} indirect block`);
        for (let i = 0; i < per && logical < limit; i++) {
          const v = b.readUInt32LE(i * 4);
          if (level === 1) add(v);
          else indirect(v, level - 1);
        }
      };
      for (let i = 0; i < 12; i++) add(ino.iblock.readUInt32LE(i * 4));
      indirect(ino.iblock.readUInt32LE(48), 1);
      indirect(ino.iblock.readUInt32LE(52), 2);
      indirect(ino.iblock.readUInt32LE(56), 3);
    }
    for (const r of out) {
      if (r.physical + r.length > this.blocks) throw new ReproError('E_BAD_INPUT', `${this.where}: inode ${ino.ino}: blocks ${r.physical}+${r.length} beyond the file system`);
    }
    return out.sort((a, b) => a.logical - b.logical);
  }

  /** The first `size` bytes of an inode's data, in chunks; holes read as zeros. */
  private *data(ino: Inode, size: number): Generator<Buffer> {
    const runs = this.runs(ino);
    let pos = 0;
    let r = 0;
    while (pos < size) {
      const n = Math.min(CHUNK, size - pos);
      const buf = Buffer.allocUnsafe(n);
      // Fill [pos, pos+n) from the runs that overlap it; zeros first unless data runs cover it all.
      while (r < runs.length && (runs[r]!.logical + runs[r]!.length) * this.blockSize <= pos) r++;
      let covered = pos;
      for (let k = r; k < runs.length && covered < pos + n; k++) {
        const run = runs[k]!;
        const start = run.logical * this.blockSize;
        if (start > covered || run.zero) break;
        covered = Math.max(covered, (run.logical + run.length) * this.blockSize);
      }
      if (covered < pos + n) buf.fill(0);
      for (let k = r; k < runs.length; k++) {
        const run = runs[k]!;
        const start = run.logical * this.blockSize;
        const end = (run.logical + run.length) * this.blockSize;
        if (start >= pos + n) break;
        const from = Math.max(start, pos);
        const to = Math.min(end, pos + n);
        if (!run.zero) this.src.readInto(buf, from - pos, to - from, run.physical * this.blockSize + (from - start), `inode ${ino.ino} data`);
      }
      pos += n;
      yield buf;
    }
  }

  /** The data runs as (logical, physical, length) byte triples clamped to `size` (zero runs read as holes). */
  private extents(ino: Inode, size: number): number[] {
    const out: number[] = [];
    for (const run of this.runs(ino)) {
      if (run.zero) continue;
      const start = run.logical * this.blockSize;
      const end = Math.min((run.logical + run.length) * this.blockSize, size);
      if (end > start) out.push(start, run.physical * this.blockSize, end - start);
    }
    return out;
  }

  private all(ino: Inode, size: number): Buffer {
    return Buffer.concat([...this.data(ino, size)]);
  }

  private xattrs(ino: Inode): Map<string, Buffer> | undefined {
    const out = new Map<string, Buffer>();
    const parse = (area: Buffer, valueBase: number, valueArea: Buffer, what: string): void => {
      for (let o = 0; o + 4 <= area.length && area.readUInt32LE(o) !== 0;) {
        if (o + 16 > area.length) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: truncated xattr entry`);
        const nameLen = area[o]!;
        const index = area[o + 1]!;
        const offs = area.readUInt16LE(o + 2);
        const inum = area.readUInt32LE(o + 4);
        const vsize = area.readUInt32LE(o + 8);
        if (inum !== 0) throw new ReproError('E_UNSUPPORTED', `${this.where}: ${what}: xattr values in inodes (ea_inode) are not read`);
        const name = area.subarray(o + 16, o + 16 + nameLen);
        if (o + 16 + nameLen > area.length || valueBase + offs + vsize > valueArea.length) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: xattr entry out of bounds`);
        const full = joinXattrName(index, Buffer.from(name));
        let value: Buffer = Buffer.from(valueArea.subarray(valueBase + offs, valueBase + offs + vsize));
        if (full !== undefined) {
          if (index === 2 || index === 3) value = aclFromDisk(value, `${this.where}: ${what}`);
          out.set(full, value);
        }
        o += (16 + nameLen + 3) & ~3;
      }
    };
    const ibody = 128 + ino.extra;
    if (ino.extra > 0 && ibody + 4 <= this.inodeSize && ino.raw.readUInt32LE(ibody) === XATTR_MAGIC) {
      const area = ino.raw.subarray(ibody + 4);
      parse(area, 0, area, `inode ${ino.ino} xattrs`);
    }
    if (ino.fileAcl !== 0) {
      const b = this.block(ino.fileAcl, `inode ${ino.ino} xattr block`);
      if (b.readUInt32LE(0) !== XATTR_MAGIC) throw new ReproError('E_BAD_INPUT', `${this.where}: inode ${ino.ino}: bad xattr block magic`);
      parse(b.subarray(32), 0, b, `inode ${ino.ino} xattr block`);
    }
    return out.size > 0 ? new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;
  }

  private entry(path: string, ino: Inode): FsEntry {
    const fmt = ino.mode & S_IFMT;
    const type = fmt === S_IFREG ? 'file' : fmt === S_IFDIR ? 'dir' : fmt === S_IFLNK ? 'symlink' : fmt === S_IFCHR ? 'char' : fmt === S_IFBLK ? 'block' : fmt === S_IFIFO ? 'fifo' : fmt === S_IFSOCK ? 'socket' : undefined;
    if (!type) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: inode ${ino.ino} has mode 0${ino.mode.toString(8)}`);
    const e: FsEntry = { path, type, mode: ino.mode & 0o7777, uid: ino.uid, gid: ino.gid, mtime: ino.mtime, mtimeNs: ino.mtimeNs, size: type === 'file' ? ino.size : 0, nlink: ino.links, id: ino.ino };
    if (type === 'symlink') {
      if (ino.size > this.blockSize * 16) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: symlink of ${ino.size} bytes`);
      const fast = ino.size < 60 && !(ino.flags & EXTENTS_FL) && (ino.raw.readUInt32LE(0x1c) === 0 || ino.fileAcl !== 0);
      e.linkname = (fast ? ino.iblock.subarray(0, ino.size) : this.all(ino, ino.size)).toString('utf8');
    }
    if (type === 'char' || type === 'block') {
      const old = ino.iblock.readUInt32LE(0);
      if (old !== 0) {
        e.devmajor = (old >>> 8) & 0xff;
        e.devminor = old & 0xff;
      } else {
        const d = ino.iblock.readUInt32LE(4);
        e.devmajor = (d & 0xfff00) >>> 8;
        e.devminor = (d & 0xff) | ((d >>> 12) & 0xfff00);
      }
    }
    const x = this.xattrs(ino);
    if (x) e.xattrs = x;
    if (type === 'file') {
      e.chunks = () => this.data(ino, ino.size);
      e.extents = () => this.extents(ino, ino.size);
    }
    return e;
  }

  private children(dir: Inode, path: string): Array<{ name: Buffer; ino: number }> {
    if (dir.size > 1 << 30) throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: a directory of ${dir.size} bytes`);
    const data = this.all(dir, dir.size);
    const out: Array<{ name: Buffer; ino: number }> = [];
    for (let b = 0; b < data.length; b += this.blockSize) {
      for (let o = 0; o < this.blockSize;) {
        const at = b + o;
        if (o + 8 > this.blockSize) break;
        const inum = data.readUInt32LE(at);
        const rec = data.readUInt16LE(at + 4);
        const nameLen = data[at + 6]!;
        const recLen = rec === 0 || rec === 65535 ? this.blockSize : rec;
        if (recLen < 8 || recLen % 4 !== 0 || o + recLen > this.blockSize || (inum !== 0 && 8 + nameLen > recLen)) {
          throw new ReproError('E_BAD_INPUT', `${this.where}: /${esc(path)}: bad directory entry at byte ${at}`);
        }
        if (inum !== 0) {
          const name = data.subarray(at + 8, at + 8 + nameLen);
          if (!(nameLen === 1 && name[0] === 0x2e) && !(nameLen === 2 && name[0] === 0x2e && name[1] === 0x2e)) out.push({ name: Buffer.from(name), ino: inum });
        }
        o += recLen;
      }
    }
    return out.sort((a, b) => Buffer.compare(a.name, b.name));
  }

  *walk(): Generator<FsEntry> {
    const guard = new WalkGuard(this.where);
    const self = this;
    function* dir(path: string, ino: Inode, depth: number): Generator<FsEntry> {
      if (!guard.enter(ino.ino, path, depth)) throw new ReproError('E_BAD_INPUT', `${self.where}: /${esc(path)}: directory inode ${ino.ino} is reached twice (a loop)`);
      for (const c of self.children(ino, path)) {
        const name = c.name.toString('utf8');
        if (name.includes('/') || name.includes('\0')) throw new ReproError('E_BAD_INPUT', `${self.where}: /${esc(path)}: a name with '/' or NUL`);
        const p = path === '' ? name : `${path}/${name}`;
        const child = self.inode(c.ino);
        const e = self.entry(p, child);
        yield e;
        if (e.type === 'dir') yield* dir(p, child, depth + 1);
      }
    }
    const root = this.inode(ROOT_INO);
    if ((root.mode & S_IFMT) !== S_IFDIR) throw new ReproError('E_BAD_INPUT', `${this.where}: the root inode is not a directory`);
    yield this.entry('', root);
    yield* dir('', root, 0);
  }
}

