/**
 * The FAT writer for EFI system partitions. FAT32 from 512 MiB (as mkfs.fat picks it), FAT16
 * below (2 KiB clusters unless the count needs smaller or larger ones); two FATs; the data area
 * aligned to the cluster size; every time stamp the one fixed time (SOURCE_DATE_EPOCH as a DOS
 * time in UTC, clamped to 1980..2107); clusters handed out in node order; the volume id and label
 * given. Regular files and directories only: anything else is refused, a hard link becomes a
 * copy. Long names as VFAT entries (see names.ts).
 */
import { ContentReader } from '../../archive/content.js';
import { ReproError } from '../../model/errors.js';
import type { Output } from '../io.js';
import type { FsNode, FsTree } from '../tree.js';
import { esc } from '../fs-reader.js';
import { checkLongName, exactShortName, fatLabel, generateShortName, longNameEntries, shortNameChecksum } from './names.js';

export interface VfatOptions {
  label: string;
  volumeId: number;
  /** SOURCE_DATE_EPOCH. */
  time: number;
  sectorSize: number;
  /** The partition's first sector on the disk (the BPB's hidden sectors). */
  hiddenSectors: number;
  where: string;
}

export type FatType = 16 | 32;

export interface VfatGeometry {
  fat: FatType;
  sectorSize: number;
  sectors: number;
  sectorsPerCluster: number;
  reserved: number;
  fatSectors: number;
  rootEntries: number;
  dataStart: number;
  clusters: number;
}

const FAT32_FROM = 512 * 1024 * 1024;
const MIN_FAT16 = 4085;
const MAX_FAT16 = 65524;
const MIN_FAT32 = 65525;

/** Geometry for `bytes` (a whole number of sectors). */
export function vfatGeometry(bytes: number, sectorSize: number, where: string): VfatGeometry {
  const sectors = Math.floor(bytes / sectorSize);
  const fat: FatType = bytes >= FAT32_FROM ? 32 : 16;
  const rootEntries = fat === 16 ? 512 : 0;
  const rootSectors = Math.ceil((rootEntries * 32) / sectorSize);
  const candidates: number[] = [];
  if (fat === 32) {
    // Microsoft's table: 4 KiB clusters up to 8 GiB, then 8, 16, 32 KiB.
    const want = bytes > 32 * 2 ** 30 ? 32768 : bytes > 16 * 2 ** 30 ? 16384 : bytes > 8 * 2 ** 30 ? 8192 : 4096;
    for (let c = want; c >= sectorSize; c /= 2) candidates.push(c);
  } else {
    for (const c of [2048, 1024, 512, 4096, 8192, 16384, 32768, 65536]) if (c >= sectorSize) candidates.push(c);
  }
  for (const clusterBytes of candidates) {
    const spc = clusterBytes / sectorSize;
    let reserved = fat === 32 ? 32 : 1;
    // FAT size: enough entries for the clusters that remain (iterate to a fixed point).
    let fatSectors = 1;
    for (let i = 0; i < 8; i++) {
      const data = sectors - reserved - 2 * fatSectors - rootSectors;
      const clusters = Math.floor(data / spc);
      fatSectors = Math.ceil(((clusters + 2) * (fat / 8)) / sectorSize);
    }
    // Align the data area to the cluster size by growing the reserved area.
    const before = reserved + 2 * fatSectors + rootSectors;
    reserved += (spc - (before % spc)) % spc;
    const dataStart = reserved + 2 * fatSectors + rootSectors;
    const clusters = Math.floor((sectors - dataStart) / spc);
    if (fat === 16 && clusters >= MIN_FAT16 && clusters <= MAX_FAT16) {
      return { fat, sectorSize, sectors, sectorsPerCluster: spc, reserved, fatSectors, rootEntries, dataStart, clusters };
    }
    if (fat === 32 && clusters >= MIN_FAT32 && clusters < 0x0ffffff0) {
      return { fat, sectorSize, sectors, sectorsPerCluster: spc, reserved, fatSectors, rootEntries, dataStart, clusters };
    }
  }
  throw new ReproError('E_BAD_INPUT', `${where}: ${bytes} bytes cannot hold a FAT${fat} file system (FAT16 needs at least about 2.2 MiB)`);
}

interface DirPlan { node: FsNode; entries: Buffer[]; clusters: number; first: number }

/** DOS date and time of a Unix time (UTC), clamped to what FAT can say. */
export function dosTime(t: number): { date: number; time: number } {
  const min = Date.UTC(1980, 0, 1) / 1000;
  const max = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;
  const d = new Date(Math.min(Math.max(t, min), max) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

function dirent(short: Buffer, attr: number, cluster: number, size: number, t: { date: number; time: number }): Buffer {
  const e = Buffer.alloc(32);
  short.copy(e, 0);
  if (e[0] === 0xe5) e[0] = 0x05;
  e[11] = attr;
  e[13] = 0; // creation time, tenths
  e.writeUInt16LE(t.time, 14);
  e.writeUInt16LE(t.date, 16);
  e.writeUInt16LE(t.date, 18); // last access
  e.writeUInt16LE(cluster >>> 16, 20);
  e.writeUInt16LE(t.time, 22);
  e.writeUInt16LE(t.date, 24);
  e.writeUInt16LE(cluster & 0xffff, 26);
  e.writeUInt32LE(size, 28);
  return e;
}

/** Directory entries a directory takes: the label (root) or `.` and `..`, and one or more per child. */
function entriesNeeded(n: FsNode, isRoot: boolean, hasLabel: boolean): number {
  let count = isRoot ? (hasLabel ? 1 : 0) : 2;
  for (const c of n.children ?? []) count += 1 + (exactShortName(c.name) ? 0 : Math.ceil(Buffer.byteLength(c.name, 'utf16le') / 26));
  return count;
}

export interface VfatPlan {
  tree: FsTree;
  opts: VfatOptions;
  /** Clusters the content needs (directories and files; the FAT16 root directory is apart). */
  clustersFor: (clusterBytes: number) => number;
}

export function planVfat(tree: FsTree, opts: VfatOptions): VfatPlan {
  for (const n of tree.nodes) {
    if (n.type !== 'file' && n.type !== 'dir') throw new ReproError('E_UNSUPPORTED', `${opts.where}: /${esc(n.path)} is a ${n.type}; FAT holds only files and directories`);
    if (n.type === 'file' && n.size >= 2 ** 32) throw new ReproError('E_UNSUPPORTED', `${opts.where}: /${esc(n.path)} is ${n.size} bytes; FAT files end below 4 GiB`);
    for (const c of n.children ?? []) checkLongName(c.name, `${opts.where}: /${n.path === '' ? '' : `${n.path}/`}${c.name}`);
  }
  const hasLabel = fatLabel(opts.label) !== '';
  const entriesOf = (n: FsNode): number => entriesNeeded(n, n === tree.root, hasLabel);
  const clustersFor = (clusterBytes: number): number => {
    let total = 0;
    const walk = (n: FsNode): void => {
      for (const c of n.children ?? []) {
        if (c.node.type === 'dir') {
          total += Math.max(1, Math.ceil((entriesOf(c.node) * 32) / clusterBytes));
          walk(c.node);
        } else {
          total += Math.ceil(c.node.size / clusterBytes);
        }
      }
    };
    walk(tree.root);
    return total + Math.max(1, Math.ceil((entriesOf(tree.root) * 32) / clusterBytes));
  };
  return { tree, opts, clustersFor };
}

/** The smallest size (bytes, whole MiB) whose FAT holds the content. */
export function vfatMinimumBytes(plan: VfatPlan): number {
  const ss = plan.opts.sectorSize;
  for (let mib = 3; ; mib++) {
    const bytes = mib * 2 ** 20;
    let geo: VfatGeometry;
    try {
      geo = vfatGeometry(bytes, ss, plan.opts.where);
    } catch {
      continue;
    }
    const need = plan.clustersFor(geo.sectorsPerCluster * ss);
    if (need <= geo.clusters) return bytes;
    if (mib > 1 << 20) throw new ReproError('E_UNSUPPORTED', `${plan.opts.where}: too large for FAT`);
  }
}

/** Writes the file system (`bytes` long) into `out`. */
export function writeVfat(plan: VfatPlan, out: Output, bytes: number): VfatGeometry & { freeClusters: number } {
  const { tree, opts } = plan;
  const where = opts.where;
  const geo = vfatGeometry(bytes, opts.sectorSize, where);
  const ss = geo.sectorSize;
  const clusterBytes = geo.sectorsPerCluster * ss;
  const t = dosTime(opts.time);
  const fat = new Uint32Array(geo.clusters + 2);
  fat[0] = geo.fat === 32 ? 0x0ffffff8 : 0xfff8;
  fat[1] = geo.fat === 32 ? 0x0fffffff : 0xffff;
  const EOC = geo.fat === 32 ? 0x0fffffff : 0xffff;
  let next = 2;
  const allocChain = (n: number): number => {
    if (n === 0) return 0;
    if (next + n > geo.clusters + 2) throw new ReproError('E_BAD_INPUT', `${where}: the FAT file system is full (${geo.clusters} clusters of ${clusterBytes} bytes); give the partition more room`);
    const first = next;
    for (let i = 0; i < n; i++) fat[first + i] = i === n - 1 ? EOC : first + i + 1;
    next += n;
    return first;
  };
  const clusterOffset = (c: number): number => (geo.dataStart + (c - 2) * geo.sectorsPerCluster) * ss;

  // Pass 1: clusters for every directory and file, in tree order; the FAT32 root first.
  const dirs: DirPlan[] = [];
  const fileFirst = new Map<FsNode, number[]>();
  const label = fatLabel(opts.label);
  const rootDir: DirPlan = { node: tree.root, entries: [], clusters: 0, first: 0 };
  const entryCount = (n: FsNode): number => entriesNeeded(n, n === tree.root, label !== '');
  const firstOf = new Map<FsNode, number>();
  if (geo.fat === 32) {
    rootDir.clusters = Math.max(1, Math.ceil((entryCount(tree.root) * 32) / clusterBytes));
    rootDir.first = allocChain(rootDir.clusters);
  } else if (entryCount(tree.root) > geo.rootEntries) {
    throw new ReproError('E_UNSUPPORTED', `${where}: the root directory needs ${entryCount(tree.root)} entries; FAT16 has ${geo.rootEntries}`);
  }
  firstOf.set(tree.root, rootDir.first);
  const walk = (n: FsNode): void => {
    for (const c of n.children ?? []) {
      if (c.node.type === 'dir') {
        const count = Math.max(1, Math.ceil((entryCount(c.node) * 32) / clusterBytes));
        const first = allocChain(count);
        firstOf.set(c.node, first);
        dirs.push({ node: c.node, entries: [], clusters: count, first });
        walk(c.node);
      } else {
        const list = fileFirst.get(c.node) ?? [];
        list.push(allocChain(Math.ceil(c.node.size / clusterBytes)));
        fileFirst.set(c.node, list);
      }
    }
  };
  walk(tree.root);

  // Pass 2: directory entries.
  const entriesFor = (n: FsNode): Buffer[] => {
    const out: Buffer[] = [];
    const taken = new Set<string>();
    const seenUpper = new Set<string>();
    if (n === tree.root) {
      if (label) out.push(dirent(Buffer.from(label.padEnd(11, ' '), 'latin1'), 0x08, 0, 0, t));
    } else {
      out.push(dirent(Buffer.from('.'.padEnd(11, ' '), 'latin1'), 0x10, firstOf.get(n)!, 0, t));
      const parentFirst = n.parent === tree.root ? 0 : firstOf.get(n.parent!)!;
      out.push(dirent(Buffer.from('..'.padEnd(11, ' '), 'latin1'), 0x10, parentFirst, 0, t));
    }
    // Exact short names claim theirs first, so that generated ones never take them.
    for (const c of n.children ?? []) {
      const s = exactShortName(c.name);
      if (s) taken.add(s.toString('latin1'));
    }
    const uses = new Map<FsNode, number>();
    for (const c of n.children ?? []) {
      const upper = c.name.toUpperCase();
      if (seenUpper.has(upper)) throw new ReproError('E_UNSUPPORTED', `${where}: /${n.path === '' ? '' : `${n.path}/`}${c.name}: FAT names ignore case, and another name in this directory differs only in case`);
      seenUpper.add(upper);
      let short = exactShortName(c.name);
      if (!short) {
        short = generateShortName(c.name, taken);
        taken.add(short.toString('latin1'));
        out.push(...longNameEntries(c.name, shortNameChecksum(short)));
      }
      if (c.node.type === 'dir') {
        out.push(dirent(short, 0x10, firstOf.get(c.node)!, 0, t));
      } else {
        const k = uses.get(c.node) ?? 0;
        uses.set(c.node, k + 1);
        out.push(dirent(short, 0x20, fileFirst.get(c.node)![k]!, c.node.size, t));
      }
    }
    return out;
  };

  // Files: content, cluster by cluster chains (contiguous here).
  const reader = new ContentReader();
  const buf = Buffer.allocUnsafe(1 << 20);
  const copies = new Map<FsNode, number>();
  const writeFile = (n: FsNode): void => {
    const k = copies.get(n) ?? 0;
    copies.set(n, k + 1);
    const first = fileFirst.get(n)![k]!;
    if (n.size === 0) return;
    if (!n.content) throw new ReproError('E_IO', `${where}: /${esc(n.path)}: file without content`);
    reader.begin(n.content, n.size, `${where}: /${esc(n.path)}`);
    try {
      let off = 0;
      while (reader.remaining > 0) {
        const len = Math.min(buf.length, reader.remaining);
        reader.read(buf, 0, len);
        const whole = Math.ceil(len / clusterBytes) * clusterBytes;
        if (whole > len) buf.fill(0, len, whole);
        out.write(buf.subarray(0, whole), clusterOffset(first) + off);
        off += len;
      }
      reader.end();
    } finally {
      reader.close();
    }
  };
  const writeTree = (n: FsNode): void => {
    for (const c of n.children ?? []) {
      if (c.node.type === 'dir') writeTree(c.node);
      else writeFile(c.node);
    }
  };
  writeTree(tree.root);

  // Directories.
  const rootEntries = entriesFor(tree.root);
  const rootBytes = geo.fat === 32 ? rootDir.clusters * clusterBytes : geo.rootEntries * 32;
  const rootBuf = Buffer.alloc(rootBytes);
  rootEntries.forEach((e, i) => e.copy(rootBuf, i * 32));
  out.write(rootBuf, geo.fat === 32 ? clusterOffset(rootDir.first) : (geo.reserved + 2 * geo.fatSectors) * ss);
  for (const d of dirs) {
    const b = Buffer.alloc(d.clusters * clusterBytes);
    entriesFor(d.node).forEach((e, i) => e.copy(b, i * 32));
    out.write(b, clusterOffset(d.first));
  }

  // FATs.
  const fatBytes = Buffer.alloc(geo.fatSectors * ss);
  for (let i = 0; i < fat.length; i++) {
    if (geo.fat === 32) fatBytes.writeUInt32LE(fat[i]!, i * 4);
    else fatBytes.writeUInt16LE(fat[i]!, i * 2);
  }
  out.write(fatBytes, geo.reserved * ss);
  out.write(fatBytes, (geo.reserved + geo.fatSectors) * ss);

  // Boot sector (and for FAT32 the FSInfo sector and their backups at sectors 6 and 7).
  const freeClusters = geo.clusters + 2 - next;
  const bs = Buffer.alloc(ss);
  bs[0] = 0xeb; bs[1] = geo.fat === 32 ? 0x58 : 0x3c; bs[2] = 0x90;
  Buffer.from('MSWIN4.1', 'latin1').copy(bs, 3);
  bs.writeUInt16LE(ss, 11);
  bs[13] = geo.sectorsPerCluster;
  bs.writeUInt16LE(geo.reserved, 14);
  bs[16] = 2;
  bs.writeUInt16LE(geo.rootEntries, 17);
  bs.writeUInt16LE(geo.sectors < 65536 && geo.fat === 16 ? geo.sectors : 0, 19);
  bs[21] = 0xf8;
  bs.writeUInt16LE(geo.fat === 16 ? geo.fatSectors : 0, 22);
  bs.writeUInt16LE(63, 24); // sectors per track
  bs.writeUInt16LE(255, 26); // heads
  bs.writeUInt32LE(opts.hiddenSectors >>> 0, 28);
  bs.writeUInt32LE(geo.sectors < 65536 && geo.fat === 16 ? 0 : geo.sectors, 32);
  const volLabel = Buffer.from((label || 'NO NAME').padEnd(11, ' '), 'latin1');
  let ebpb: number;
  if (geo.fat === 32) {
    bs.writeUInt32LE(geo.fatSectors, 36);
    bs.writeUInt16LE(0, 40); // mirrored FATs
    bs.writeUInt16LE(0, 42); // version 0.0
    bs.writeUInt32LE(rootDir.first, 44);
    bs.writeUInt16LE(1, 48); // FSInfo
    bs.writeUInt16LE(6, 50); // backup boot sector
    ebpb = 64;
  } else {
    ebpb = 36;
  }
  bs[ebpb] = 0x80;
  bs[ebpb + 2] = 0x29;
  bs.writeUInt32LE(opts.volumeId >>> 0, ebpb + 3);
  volLabel.copy(bs, ebpb + 7);
  Buffer.from(geo.fat === 32 ? 'FAT32   ' : 'FAT16   ', 'latin1').copy(bs, ebpb + 18);
  bs[510] = 0x55;
  bs[511] = 0xaa;
  out.write(bs, 0);
  if (geo.fat === 32) {
    const fsinfo = Buffer.alloc(ss);
    fsinfo.writeUInt32LE(0x41615252, 0);
    fsinfo.writeUInt32LE(0x61417272, 484);
    fsinfo.writeUInt32LE(freeClusters, 488);
    fsinfo.writeUInt32LE(next <= geo.clusters + 1 ? next : 0xffffffff, 492);
    fsinfo.writeUInt32LE(0xaa550000, 508);
    out.write(fsinfo, ss);
    out.write(bs, 6 * ss);
    out.write(fsinfo, 7 * ss);
  }
  return { ...geo, freeClusters };
}
