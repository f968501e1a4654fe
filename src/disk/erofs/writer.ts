/**
 * The EROFS writer (uncompressed). Layout: block 0 holds the superblock, then the metadata area
 * starts right after it (meta_blkaddr 0): every inode in node order (the root first, so that its
 * nid fits the superblock's 16 bits), each followed by its inline xattrs and, when it fits in the
 * rest of that block, the tail of its data (FLAT_INLINE); then the data blocks, in node order.
 * Directory entries are sorted by name bytes (`.` and `..` among them), as the kernel's binary
 * search needs. An inode is compact (32 bytes) when its mtime is the superblock's build time and
 * its ids, link count and size fit 16/16/16/32 bits; otherwise extended (64 bytes).
 */
import { ContentReader } from '../../archive/content.js';
import { ReproError } from '../../model/errors.js';
import { crc32cRaw } from '../crc32c.js';
import type { Output } from '../io.js';
import type { FsNode, FsTree } from '../tree.js';
import { esc } from '../fs-reader.js';
import {
  BLOCK, BLOCK_BITS, COMPACT_SIZE, encodeDev, EROFS_MAGIC, EXTENDED_SIZE, FEATURE_COMPAT_SB_CHKSUM, FT, LAYOUT_FLAT_INLINE,
  LAYOUT_FLAT_PLAIN, SUPER_OFFSET, XATTR_PREFIXES,
} from './format.js';

export interface ErofsOptions {
  label: string;
  uuid: Buffer;
  /** SOURCE_DATE_EPOCH: the build time compact inodes take their mtime from. */
  time: number;
  where: string;
}

const S_IF = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;
const FT_OF = { file: FT.file, dir: FT.dir, symlink: FT.symlink, char: FT.char, block: FT.block, fifo: FT.fifo } as const;

interface Xattr { index: number; name: Buffer; value: Buffer }

interface InodePlan {
  node: FsNode;
  compact: boolean;
  xattrs: Xattr[];
  xattrSize: number;
  /** Directory content (dirents), built once nids are known; its size is known before. */
  size: number;
  inline: boolean;
  /** Bytes of data in whole blocks (the rest is the inline tail). */
  blockBytes: number;
  nid: number;
  startBlock: number;
  nlink: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function erofsXattrs(n: FsNode, where: string): Xattr[] {
  const out: Xattr[] = [];
  for (const [full, value] of n.xattrs ?? []) {
    const p = XATTR_PREFIXES.find(([prefix, i]) => (i === 2 || i === 3 ? full === prefix : full.startsWith(prefix)));
    if (!p) throw new ReproError('E_UNSUPPORTED', `${where}: /${esc(n.path)}: extended attribute ${JSON.stringify(full)} has no prefix erofs can store (user., trusted., security., POSIX ACLs)`);
    const name = Buffer.from(full.slice(p[0].length), 'utf8');
    if (name.length > 255 || value.length > 65535) throw new ReproError('E_UNSUPPORTED', `${where}: /${esc(n.path)}: extended attribute ${full} is too large`);
    out.push({ index: p[1], name, value });
  }
  return out.sort((a, b) => a.index - b.index || Buffer.compare(a.name, b.name));
}

function xattrBytes(xs: Xattr[]): number {
  if (xs.length === 0) return 0;
  return 12 + xs.reduce((s, x) => s + align(4 + x.name.length + x.value.length, 4), 0);
}

function encodeXattrArea(xs: Xattr[]): Buffer {
  const b = Buffer.alloc(xattrBytes(xs));
  let o = 12;
  for (const x of xs) {
    b[o] = x.name.length;
    b[o + 1] = x.index;
    b.writeUInt16LE(x.value.length, o + 2);
    x.name.copy(b, o + 4);
    x.value.copy(b, o + 4 + x.name.length);
    o += align(4 + x.name.length + x.value.length, 4);
  }
  return b;
}

interface Dirent { name: Buffer; node: FsNode }

/** `.` and `..` and the children, sorted by name bytes. */
function dirents(n: FsNode): Dirent[] {
  const all: Dirent[] = [
    { name: Buffer.from('.'), node: n },
    { name: Buffer.from('..'), node: n.parent ?? n },
    ...(n.children ?? []).map((c) => ({ name: c.nameBytes, node: c.node })),
  ];
  return all.sort((a, b) => Buffer.compare(a.name, b.name));
}

/** Cuts dirents into blocks: (12 + name) bytes each, never crossing a block. Returns the size. */
function dirLayout(ds: Dirent[]): { blocks: Dirent[][]; size: number } {
  const blocks: Dirent[][] = [];
  let cur: Dirent[] = [];
  let used = 0;
  let size = 0;
  for (const d of ds) {
    const len = 12 + d.name.length;
    if (used + len > BLOCK) {
      blocks.push(cur);
      size = align(size, BLOCK);
      cur = [];
      used = 0;
    }
    cur.push(d);
    used += len;
    size += len;
  }
  blocks.push(cur);
  return { blocks, size };
}

export interface ErofsPlan {
  inodes: InodePlan[];
  metaEnd: number;
  blocks: number;
  opts: ErofsOptions;
  tree: FsTree;
}

/** Decides inode forms, nids and block addresses. */
export function planErofs(tree: FsTree, opts: ErofsOptions): ErofsPlan {
  const where = opts.where;
  const inodes: InodePlan[] = tree.nodes.map((n) => {
    const xattrs = erofsXattrs(n, where);
    const subdirs = n.type === 'dir' ? (n.children ?? []).filter((c) => c.node.type === 'dir').length : 0;
    const nlink = n.type === 'dir' ? 2 + subdirs : n.names;
    let size = 0;
    if (n.type === 'file') size = n.size;
    else if (n.type === 'symlink') size = Buffer.byteLength(n.linkname ?? '', 'utf8');
    else if (n.type === 'dir') size = dirLayout(dirents(n)).size;
    if (n.type === 'symlink' && (size === 0 || size > BLOCK)) throw new ReproError('E_UNSUPPORTED', `${where}: /${esc(n.path)}: a symlink target of ${size} bytes`);
    const compact = n.mtime === opts.time && n.uid < 65536 && n.gid < 65536 && nlink < 65536 && size < 2 ** 32;
    return { node: n, compact, xattrs, xattrSize: xattrBytes(xattrs), size, inline: false, blockBytes: size, nid: 0, startBlock: 0, nlink };
  });
  // Metadata: inodes from byte 1152 (after the 128-byte superblock), 32-byte aligned.
  let pos = SUPER_OFFSET + 128;
  for (const p of inodes) {
    const head = (p.compact ? COMPACT_SIZE : EXTENDED_SIZE) + p.xattrSize;
    const tail = p.size % BLOCK;
    const hasData = p.node.type === 'file' || p.node.type === 'dir' || p.node.type === 'symlink';
    p.inline = hasData && tail > 0 && head + tail <= BLOCK;
    if (p.inline) {
      // Inode, xattrs and tail in one block.
      if ((pos % BLOCK) + head + tail > BLOCK) pos = align(pos, BLOCK);
      p.blockBytes = p.size - tail;
    }
    p.nid = pos / 32;
    pos = align(pos + head + (p.inline ? tail : 0), 32);
  }
  if (inodes[0]!.nid > 0xffff) throw new ReproError('E_UNSUPPORTED', `${where}: root nid beyond 16 bits`);
  const metaEnd = pos;
  let block = Math.ceil(metaEnd / BLOCK);
  for (const p of inodes) {
    const n = Math.ceil(p.blockBytes / BLOCK);
    if (n > 0) {
      p.startBlock = block;
      block += n;
    }
  }
  if (block >= 2 ** 32) throw new ReproError('E_UNSUPPORTED', `${where}: more than 2^32 blocks`);
  return { inodes, metaEnd, blocks: block, opts, tree };
}

/** Writes the image (plan.blocks blocks) into `out`. */
export function writeErofs(plan: ErofsPlan, out: Output): { blocks: number; inodes: number } {
  const { opts } = plan;
  const where = opts.where;
  const nidOf = new Map<FsNode, number>(plan.inodes.map((p) => [p.node, p.nid]));
  // Metadata is assembled in memory block by block (block 0 also holds the superblock).
  const meta = Buffer.alloc(Math.ceil(plan.metaEnd / BLOCK) * BLOCK);
  const reader = new ContentReader();
  const buf = Buffer.allocUnsafe(1 << 20);

  for (const [i, p] of plan.inodes.entries()) {
    const n = p.node;
    const layout = p.inline ? LAYOUT_FLAT_INLINE : LAYOUT_FLAT_PLAIN;
    const isize = p.compact ? COMPACT_SIZE : EXTENDED_SIZE;
    const at = p.nid * 32;
    const ino = meta.subarray(at, at + isize);
    const mode = S_IF[n.type] | (n.mode & 0o7777);
    const iu = n.type === 'char' || n.type === 'block' ? encodeDev(n.devmajor ?? 0, n.devminor ?? 0) : p.startBlock;
    const icount = p.xattrSize === 0 ? 0 : (p.xattrSize - 12) / 4 + 1;
    ino.writeUInt16LE((p.compact ? 0 : 1) | (layout << 1), 0);
    ino.writeUInt16LE(icount, 2);
    ino.writeUInt16LE(mode, 4);
    if (p.compact) {
      ino.writeUInt16LE(p.nlink, 6);
      ino.writeUInt32LE(p.size, 8);
      ino.writeUInt32LE(0, 12); // mtime = the build time
      ino.writeUInt32LE(iu, 16);
      ino.writeUInt32LE(i + 1, 20);
      ino.writeUInt16LE(n.uid, 24);
      ino.writeUInt16LE(n.gid, 26);
    } else {
      ino.writeBigUInt64LE(BigInt(p.size), 8);
      ino.writeUInt32LE(iu, 16);
      ino.writeUInt32LE(i + 1, 20);
      ino.writeUInt32LE(n.uid >>> 0, 24);
      ino.writeUInt32LE(n.gid >>> 0, 28);
      ino.writeBigInt64LE(BigInt(n.mtime), 32);
      ino.writeUInt32LE(0, 40);
      ino.writeUInt32LE(p.nlink, 44);
    }
    if (p.xattrSize > 0) encodeXattrArea(p.xattrs).copy(meta, at + isize);
    const tailAt = at + isize + p.xattrSize;

    // Data: whole blocks at startBlock, the tail inline (or in one more block).
    if (n.type === 'dir') {
      const data = dirData(dirents(n), nidOf, p.size);
      if (p.blockBytes > 0) out.write(data.subarray(0, align(p.blockBytes, BLOCK)), p.startBlock * BLOCK);
      if (p.inline) data.copy(meta, tailAt, p.blockBytes, p.size);
    } else if (n.type === 'symlink') {
      const t = Buffer.from(n.linkname ?? '', 'utf8');
      if (p.inline) t.copy(meta, tailAt);
      else {
        const b = Buffer.alloc(BLOCK);
        t.copy(b);
        out.write(b, p.startBlock * BLOCK);
      }
    } else if (n.type === 'file' && p.size > 0) {
      if (!n.content) throw new ReproError('E_IO', `${where}: /${esc(n.path)}: file without content`);
      reader.begin(n.content, n.size, `${where}: /${esc(n.path)}`);
      try {
        let off = 0;
        while (off < p.blockBytes) {
          const len = Math.min(buf.length, p.blockBytes - off);
          reader.read(buf, 0, len);
          const whole = align(len, BLOCK);
          if (whole > len) buf.fill(0, len, whole);
          out.write(buf.subarray(0, whole), p.startBlock * BLOCK + off);
          off += len;
        }
        if (p.inline) {
          const tail = p.size - p.blockBytes;
          reader.read(buf, 0, tail);
          buf.copy(meta, tailAt, 0, tail);
        }
        reader.end();
      } finally {
        reader.close();
      }
    }
  }

  // Superblock, then its checksum over the rest of block 0.
  const sb = meta.subarray(SUPER_OFFSET, SUPER_OFFSET + 128);
  sb.writeUInt32LE(EROFS_MAGIC, 0);
  sb.writeUInt32LE(FEATURE_COMPAT_SB_CHKSUM, 8);
  sb[12] = BLOCK_BITS;
  sb[13] = 0;
  sb.writeUInt16LE(plan.inodes[0]!.nid, 14);
  sb.writeBigUInt64LE(BigInt(plan.inodes.length), 16);
  sb.writeBigUInt64LE(BigInt(opts.time), 24);
  sb.writeUInt32LE(0, 32);
  sb.writeUInt32LE(plan.blocks, 36);
  sb.writeUInt32LE(0, 40); // meta_blkaddr
  sb.writeUInt32LE(0, 44); // xattr_blkaddr (no shared xattrs)
  opts.uuid.copy(sb, 48, 0, 16);
  const label = Buffer.from(opts.label, 'utf8');
  if (label.length > 16) throw new ReproError('E_SPEC', `${where}: label ${JSON.stringify(opts.label)} is longer than the 16 bytes erofs stores`);
  label.copy(sb, 64);
  sb.writeUInt32LE(crc32cRaw(0xffffffff, meta, SUPER_OFFSET, BLOCK), 4);
  out.write(meta, 0);
  return { blocks: plan.blocks, inodes: plan.inodes.length };
}

/** Directory data: per block, the dirents then their names; `size` bytes. */
function dirData(ds: Dirent[], nidOf: Map<FsNode, number>, size: number): Buffer {
  const { blocks } = dirLayout(ds);
  const data = Buffer.alloc(align(size, BLOCK));
  blocks.forEach((entries, bi) => {
    const base = bi * BLOCK;
    let q = entries.length * 12;
    entries.forEach((d, k) => {
      const o = base + k * 12;
      data.writeBigUInt64LE(BigInt(nidOf.get(d.node)!), o);
      data.writeUInt16LE(q, o + 8);
      data[o + 10] = FT_OF[d.node.type];
      d.name.copy(data, base + q);
      q += d.name.length;
    });
  });
  return data;
}
