/**
 * Reads FAT12/16/32 file systems: the boot sector, the first FAT, the root directory (fixed
 * region or cluster chain), long names (checked against their short entry's checksum, else the
 * short name is used, lower-cased where the NT case bits say so), cluster chains with loops and
 * out-of-range clusters refused. FAT has no owners or modes: files read as 0644, directories 0755,
 * owned by 0:0; times are the DOS write times taken as UTC.
 */
import { ReproError } from '../../model/errors.js';
import type { Source } from '../io.js';
import { CHUNK, esc, WalkGuard, type FsEntry, type FsInfo, type FsReader } from '../fs-reader.js';
import { shortNameChecksum } from './names.js';

/** Short names are in an OEM code page: code page 437 (the Linux kernel's default) for bytes >= 0x80. */
const CP437_HIGH = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

function oemName(b: Buffer): string {
  let s = '';
  for (const c of b) s += c < 0x80 ? String.fromCharCode(c) : CP437_HIGH[c - 0x80]!;
  return s;
}

interface Dirent { name: string; attr: number; cluster: number; size: number; mtime: number }

export class VfatReader implements FsReader {
  readonly info: FsInfo;
  readonly fat: 12 | 16 | 32;
  private readonly ss: number;
  private readonly spc: number;
  private readonly clusterBytes: number;
  private readonly fatStart: number;
  private readonly fatBytes: number;
  private readonly rootStart: number;
  private readonly rootEntries: number;
  private readonly dataStart: number;
  private readonly clusters: number;
  private readonly rootCluster: number;
  private fatTable: Buffer | undefined;
  private readonly where: string;

  constructor(private readonly src: Source) {
    this.where = src.where;
    const bs = src.read(0, 512, 'FAT boot sector');
    if (bs[510] !== 0x55 || bs[511] !== 0xaa) throw new ReproError('E_BAD_INPUT', `${this.where}: no boot sector signature`);
    this.ss = bs.readUInt16LE(11);
    this.spc = bs[13]!;
    const reserved = bs.readUInt16LE(14);
    const fats = bs[16]!;
    this.rootEntries = bs.readUInt16LE(17);
    const total = bs.readUInt16LE(19) || bs.readUInt32LE(32);
    const fatSectors = bs.readUInt16LE(22) || bs.readUInt32LE(36);
    if (![512, 1024, 2048, 4096].includes(this.ss) || this.spc === 0 || (this.spc & (this.spc - 1)) !== 0 || reserved === 0 || fats === 0 || fatSectors === 0 || total === 0) {
      throw new ReproError('E_BAD_INPUT', `${this.where}: not a FAT boot sector (sector size ${this.ss}, ${this.spc} sectors per cluster, ${fats} FATs)`);
    }
    if (total * this.ss > src.size) throw new ReproError('E_BAD_INPUT', `${this.where}: the file system says ${total} sectors of ${this.ss} bytes, the partition holds ${src.size} bytes`);
    this.clusterBytes = this.spc * this.ss;
    const rootSectors = Math.ceil((this.rootEntries * 32) / this.ss);
    this.fatStart = reserved * this.ss;
    this.fatBytes = fatSectors * this.ss;
    this.rootStart = (reserved + fats * fatSectors) * this.ss;
    const dataSector = reserved + fats * fatSectors + rootSectors;
    this.dataStart = dataSector * this.ss;
    if (dataSector >= total) throw new ReproError('E_BAD_INPUT', `${this.where}: no data area`);
    this.clusters = Math.floor((total - dataSector) / this.spc);
    this.fat = this.clusters < 4085 ? 12 : this.clusters < 65525 ? 16 : 32;
    this.rootCluster = this.fat === 32 ? bs.readUInt32LE(44) : 0;
    const ebpb = this.fat === 32 ? 64 : 36;
    const volumeId = bs[ebpb + 2] === 0x29 ? bs.readUInt32LE(ebpb + 3) : 0;
    const label = bs[ebpb + 2] === 0x29 ? bs.subarray(ebpb + 7, ebpb + 18).toString('latin1').trimEnd() : '';
    const vid = volumeId.toString(16).padStart(8, '0').toUpperCase();
    this.info = {
      type: 'vfat', label, uuid: `${vid.slice(0, 4)}-${vid.slice(4)}`,
      fields: { 'FAT type': `FAT${this.fat}`, 'volume id': vid, sectors: total, 'sector size': this.ss, 'cluster size': this.clusterBytes, clusters: this.clusters, 'hidden sectors': bs.readUInt32LE(28), 'reserved sectors': reserved },
    };
  }

  private next(c: number): number {
    this.fatTable ??= this.src.read(this.fatStart, this.fatBytes, 'FAT');
    const t = this.fatTable;
    if (this.fat === 32) {
      if (c * 4 + 4 > t.length) throw new ReproError('E_BAD_INPUT', `${this.where}: cluster ${c} beyond the FAT`);
      return t.readUInt32LE(c * 4) & 0x0fffffff;
    }
    if (this.fat === 16) {
      if (c * 2 + 2 > t.length) throw new ReproError('E_BAD_INPUT', `${this.where}: cluster ${c} beyond the FAT`);
      return t.readUInt16LE(c * 2);
    }
    const o = Math.floor(c * 1.5);
    if (o + 2 > t.length) throw new ReproError('E_BAD_INPUT', `${this.where}: cluster ${c} beyond the FAT`);
    const v = t.readUInt16LE(o);
    return c & 1 ? v >>> 4 : v & 0xfff;
  }

  private isEnd(v: number): boolean {
    return v >= (this.fat === 32 ? 0x0ffffff8 : this.fat === 16 ? 0xfff8 : 0xff8);
  }

  /** The clusters of a chain, at most `max` of them. */
  private chain(first: number, max: number, what: string): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    for (let c = first; out.length < max;) {
      if (c < 2 || c >= this.clusters + 2) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: cluster ${c} is outside 2..${this.clusters + 1}`);
      if (seen.has(c)) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: the cluster chain loops at ${c}`);
      seen.add(c);
      out.push(c);
      const n = this.next(c);
      if (this.isEnd(n)) break;
      c = n;
    }
    return out;
  }

  private offset(c: number): number {
    return this.dataStart + (c - 2) * this.clusterBytes;
  }

  private *data(first: number, size: number, what: string): Generator<Buffer> {
    if (size === 0) return;
    const chain = this.chain(first, Math.ceil(size / this.clusterBytes), what);
    if (chain.length * this.clusterBytes < size) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: the cluster chain is shorter than the ${size} bytes of the file`);
    let pos = 0;
    let buf = Buffer.allocUnsafe(Math.min(CHUNK, size));
    let fill = 0;
    for (const c of chain) {
      const n = Math.min(this.clusterBytes, size - pos);
      if (fill + n > buf.length) {
        yield buf.subarray(0, fill);
        buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
        fill = 0;
      }
      this.src.readInto(buf, fill, n, this.offset(c), `${what} data`);
      fill += n;
      pos += n;
    }
    if (fill > 0) yield buf.subarray(0, fill);
  }

  /** The file's clusters as (logical, offset, length) byte triples, contiguous clusters merged. */
  private extents(first: number, size: number, what: string): number[] {
    const out: number[] = [];
    if (size === 0) return out;
    const chain = this.chain(first, Math.ceil(size / this.clusterBytes), what);
    if (chain.length * this.clusterBytes < size) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: the cluster chain is shorter than the ${size} bytes of the file`);
    let pos = 0;
    for (const c of chain) {
      const n = Math.min(this.clusterBytes, size - pos);
      const at = this.offset(c);
      const k = out.length;
      if (k > 0 && out[k - 2]! + out[k - 1]! === at) out[k - 1]! += n;
      else out.push(pos, at, n);
      pos += n;
    }
    return out;
  }

  private entries(raw: Buffer, what: string): Dirent[] {
    const out: Dirent[] = [];
    let lfn: { parts: Map<number, Buffer>; checksum: number; count: number } | undefined;
    for (let o = 0; o + 32 <= raw.length; o += 32) {
      const e = raw.subarray(o, o + 32);
      if (e[0] === 0x00) break;
      if (e[0] === 0xe5) {
        lfn = undefined;
        continue;
      }
      const attr = e[11]!;
      if ((attr & 0x3f) === 0x0f) {
        const seq = e[0]! & 0x1f;
        if (e[0]! & 0x40) lfn = { parts: new Map(), checksum: e[13]!, count: seq };
        if (lfn && e[13] === lfn.checksum && seq >= 1) lfn.parts.set(seq, Buffer.concat([e.subarray(1, 11), e.subarray(14, 26), e.subarray(28, 32)]));
        continue;
      }
      if (attr & 0x08) {
        lfn = undefined;
        continue; // volume label
      }
      const short = Buffer.from(e.subarray(0, 11));
      if (short[0] === 0x05) short[0] = 0xe5;
      let name: string | undefined;
      if (lfn && lfn.checksum === shortNameChecksum(e) && lfn.parts.size === lfn.count) {
        const units = Buffer.concat(Array.from({ length: lfn.count }, (_, i) => lfn!.parts.get(i + 1) ?? Buffer.alloc(26)));
        let end = 0;
        while (end + 1 < units.length && !(units[end] === 0 && units[end + 1] === 0)) end += 2;
        name = units.subarray(0, end).toString('utf16le');
      }
      lfn = undefined;
      if (name === undefined) {
        let base = oemName(short.subarray(0, 8)).trimEnd();
        let ext = oemName(short.subarray(8, 11)).trimEnd();
        if (e[12]! & 0x08) base = base.toLowerCase();
        if (e[12]! & 0x10) ext = ext.toLowerCase();
        name = ext ? `${base}.${ext}` : base;
      }
      if (name === '.' || name === '..') continue;
      const date = e.readUInt16LE(24);
      const time = e.readUInt16LE(22);
      const mtime = Date.UTC(1980 + (date >> 9), Math.max(0, ((date >> 5) & 15) - 1), Math.max(1, date & 31), time >> 11, (time >> 5) & 63, (time & 31) * 2) / 1000;
      out.push({ name, attr, cluster: (e.readUInt16LE(20) << 16 | e.readUInt16LE(26)) >>> 0, size: e.readUInt32LE(28), mtime });
      if (out.length > 65536) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: more than 65536 entries`);
    }
    return out;
  }

  private dirBytes(cluster: number, what: string): Buffer {
    if (cluster === 0) {
      if (this.fat === 32) throw new ReproError('E_BAD_INPUT', `${this.where}: ${what}: a directory at cluster 0`);
      return this.src.read(this.rootStart, this.rootEntries * 32, 'root directory');
    }
    const chain = this.chain(cluster, 65536 * 32 / this.clusterBytes + 1, what);
    return Buffer.concat(chain.map((c) => this.src.read(this.offset(c), this.clusterBytes, what)));
  }

  *walk(): Generator<FsEntry> {
    const guard = new WalkGuard(this.where);
    const self = this;
    const rootCluster = this.fat === 32 ? this.rootCluster : 0;
    function* dir(path: string, cluster: number, depth: number): Generator<FsEntry> {
      if (!guard.enter(cluster, path, depth)) throw new ReproError('E_BAD_INPUT', `${self.where}: /${esc(path)}: directory at cluster ${cluster} is reached twice (a loop)`);
      const list = self.entries(self.dirBytes(cluster, `/${esc(path)}`), `/${esc(path)}`)
        .sort((a, b) => Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8')));
      for (const d of list) {
        if (d.name.includes('/') || d.name === '') throw new ReproError('E_BAD_INPUT', `${self.where}: /${esc(path)}: a bad name`);
        const p = path === '' ? d.name : `${path}/${d.name}`;
        const isDir = (d.attr & 0x10) !== 0;
        const e: FsEntry = { path: p, type: isDir ? 'dir' : 'file', mode: isDir ? 0o755 : 0o644, uid: 0, gid: 0, mtime: d.mtime, mtimeNs: 0, size: isDir ? 0 : d.size, nlink: 1, id: d.cluster };
        if (!isDir) {
          e.chunks = () => self.data(d.cluster, d.size, `/${esc(p)}`);
          e.extents = () => self.extents(d.cluster, d.size, `/${esc(p)}`);
        }
        yield e;
        if (isDir) yield* dir(p, d.cluster, depth + 1);
      }
    }
    yield { path: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, mtimeNs: 0, size: 0, nlink: 1, id: rootCluster };
    yield* dir('', rootCluster, 0);
  }
}
