/**
 * GUID Partition Table (UEFI 2.10, chapter 5): protective MBR, primary header and entry array
 * after it, backup entry array and header at the end of the disk, each with its CRC-32. 128
 * entries of 128 bytes, names UTF-16LE. Encoding is pure; decoding checks every field it uses.
 */
import { crc32Portable } from '../archive/crc32.js';
import { ReproError } from '../model/errors.js';
import type { Source } from './io.js';
import { guidToUuid, uuidToGuid } from './uuid.js';

export const GPT_ENTRIES = 128;
export const GPT_ENTRY_SIZE = 128;
const ARRAY_BYTES = GPT_ENTRIES * GPT_ENTRY_SIZE;
const SIGNATURE = Buffer.from('EFI PART', 'latin1');

export interface GptPartition {
  /** Type UUID, 16 bytes in text order. */
  type: Buffer;
  /** Unique partition UUID, text order. */
  uuid: Buffer;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  attributes: bigint;
  name: string;
  /** 1-based entry number (set when read). */
  number?: number;
}

export interface GptTable {
  sectorSize: number;
  /** Whole disk in sectors. */
  sectors: number;
  diskGuid: Buffer;
  firstUsableLba: number;
  lastUsableLba: number;
  partitions: GptPartition[];
}

export function arraySectors(sectorSize: number): number {
  return ARRAY_BYTES / sectorSize;
}

export function usableRange(sectorSize: number, sectors: number): { first: number; last: number } {
  const n = arraySectors(sectorSize);
  return { first: 2 + n, last: sectors - 2 - n };
}

function encodeName(name: string, where: string): Buffer {
  const b = Buffer.alloc(72);
  const enc = Buffer.from(name, 'utf16le');
  if (enc.length > 72) throw new ReproError('E_SPEC', `${where}: label ${JSON.stringify(name)} is longer than 36 UTF-16 code units`);
  enc.copy(b);
  return b;
}

function encodeEntries(t: GptTable): Buffer {
  const a = Buffer.alloc(ARRAY_BYTES);
  t.partitions.forEach((p, i) => {
    const e = a.subarray(i * GPT_ENTRY_SIZE, (i + 1) * GPT_ENTRY_SIZE);
    uuidToGuid(p.type).copy(e, 0);
    uuidToGuid(p.uuid).copy(e, 16);
    e.writeBigUInt64LE(BigInt(p.firstLba), 32);
    e.writeBigUInt64LE(BigInt(p.lastLba), 40);
    e.writeBigUInt64LE(p.attributes, 48);
    encodeName(p.name, `partition ${i + 1}`).copy(e, 56);
  });
  return a;
}

function encodeHeader(t: GptTable, myLba: number, altLba: number, entriesLba: number, entriesCrc: number): Buffer {
  const h = Buffer.alloc(t.sectorSize);
  SIGNATURE.copy(h, 0);
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(BigInt(myLba), 24);
  h.writeBigUInt64LE(BigInt(altLba), 32);
  h.writeBigUInt64LE(BigInt(t.firstUsableLba), 40);
  h.writeBigUInt64LE(BigInt(t.lastUsableLba), 48);
  uuidToGuid(t.diskGuid).copy(h, 56);
  h.writeBigUInt64LE(BigInt(entriesLba), 72);
  h.writeUInt32LE(GPT_ENTRIES, 80);
  h.writeUInt32LE(GPT_ENTRY_SIZE, 84);
  h.writeUInt32LE(entriesCrc, 88);
  h.writeUInt32LE(crc32Portable(h.subarray(0, 92), 0), 16);
  return h;
}

function protectiveMbr(t: GptTable): Buffer {
  const m = Buffer.alloc(t.sectorSize);
  const p = 446;
  m[p] = 0x00;
  m[p + 1] = 0x00; m[p + 2] = 0x02; m[p + 3] = 0x00; // CHS of LBA 1
  m[p + 4] = 0xee;
  m[p + 5] = 0xff; m[p + 6] = 0xff; m[p + 7] = 0xff;
  m.writeUInt32LE(1, p + 8);
  m.writeUInt32LE(Math.min(t.sectors - 1, 0xffffffff), p + 12);
  m[510] = 0x55;
  m[511] = 0xaa;
  return m;
}

/** The bytes to write: at LBA 0 (MBR, header, entries) and at the backup's LBA (entries, header). */
export function encodeGpt(t: GptTable): { head: Buffer; tail: Buffer; tailLba: number } {
  if (t.partitions.length > GPT_ENTRIES) throw new ReproError('E_SPEC', `more than ${GPT_ENTRIES} partitions`);
  const entries = encodeEntries(t);
  const crc = crc32Portable(entries, 0);
  const n = arraySectors(t.sectorSize);
  const last = t.sectors - 1;
  const backupEntriesLba = last - n;
  const head = Buffer.concat([protectiveMbr(t), encodeHeader(t, 1, last, 2, crc), entries]);
  const tail = Buffer.concat([entries, encodeHeader(t, last, 1, backupEntriesLba, crc)]);
  return { head, tail, tailLba: backupEntriesLba };
}

function decodeName(b: Buffer): string {
  let end = 0;
  while (end + 1 < b.length && (b[end] !== 0 || b[end + 1] !== 0)) end += 2;
  return b.subarray(0, end).toString('utf16le');
}

function readHeader(src: Source, sectorSize: number, lba: number, what: string): { h: Buffer; problems: string[] } | undefined {
  if ((lba + 1) * sectorSize > src.size) return undefined;
  const h = src.read(lba * sectorSize, sectorSize, what);
  if (!h.subarray(0, 8).equals(SIGNATURE)) return undefined;
  const problems: string[] = [];
  const size = h.readUInt32LE(12);
  if (size < 92 || size > sectorSize) throw new ReproError('E_BAD_INPUT', `${src.where}: ${what}: header size ${size} is outside 92..${sectorSize}`);
  const copy = Buffer.from(h.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  if (crc32Portable(copy, 0) !== h.readUInt32LE(16)) problems.push(`${what}: header CRC-32 does not match`);
  return { h, problems };
}

/** Reads the primary GPT (512-byte sectors tried first, then 4096); undefined when there is none. */
export function readGpt(src: Source): (GptTable & { problems: string[] }) | undefined {
  for (const sectorSize of [512, 4096]) {
    const hdr = readHeader(src, sectorSize, 1, 'primary GPT header');
    if (!hdr) continue;
    const { h, problems } = hdr;
    const where = `${src.where}: GPT`;
    const num = (off: number, what: string): number => {
      const v = h.readBigUInt64LE(off);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ReproError('E_BAD_INPUT', `${where}: ${what} ${v} is out of range`);
      return Number(v);
    };
    const sectors = Math.floor(src.size / sectorSize);
    const alt = num(32, 'alternate LBA');
    const first = num(40, 'first usable LBA');
    const last = num(48, 'last usable LBA');
    const entriesLba = num(72, 'entry array LBA');
    const count = h.readUInt32LE(80);
    const esize = h.readUInt32LE(84);
    if (esize < 128 || esize % 8 !== 0 || esize > 4096) throw new ReproError('E_BAD_INPUT', `${where}: entry size ${esize} is not a multiple of 8 in 128..4096`);
    if (count > 4096) throw new ReproError('E_BAD_INPUT', `${where}: ${count} entries (more than 4096)`);
    if (first > last || last >= sectors) throw new ReproError('E_BAD_INPUT', `${where}: usable LBAs ${first}..${last} do not fit a disk of ${sectors} sectors`);
    const array = src.read(entriesLba * sectorSize, count * esize, 'GPT entry array');
    if (crc32Portable(array, 0) !== h.readUInt32LE(88)) problems.push('GPT entry array CRC-32 does not match');
    const partitions: GptPartition[] = [];
    for (let i = 0; i < count; i++) {
      const e = array.subarray(i * esize, (i + 1) * esize);
      if (e.subarray(0, 16).every((x) => x === 0)) continue;
      const firstLba = Number(e.readBigUInt64LE(32));
      const lastLba = Number(e.readBigUInt64LE(40));
      if (firstLba < first || lastLba > last || lastLba < firstLba) {
        throw new ReproError('E_BAD_INPUT', `${where}: partition ${i + 1} spans LBAs ${firstLba}..${lastLba}, outside the usable ${first}..${last}`);
      }
      partitions.push({ type: guidToUuid(e.subarray(0, 16)), uuid: guidToUuid(e.subarray(16, 32)), firstLba, lastLba, attributes: e.readBigUInt64LE(48), name: decodeName(e.subarray(56, 128)), number: i + 1 });
    }
    // UEFI forbids partitions that overlap: two views of the same sectors are not two partitions.
    const byStart = [...partitions].sort((a, b) => a.firstLba - b.firstLba || (a.number ?? 0) - (b.number ?? 0));
    for (let i = 1; i < byStart.length; i++) {
      const a = byStart[i - 1]!;
      const b = byStart[i]!;
      if (b.firstLba <= a.lastLba) {
        throw new ReproError('E_BAD_INPUT', `${where}: partitions ${a.number} (LBAs ${a.firstLba}..${a.lastLba}) and ${b.number} (LBAs ${b.firstLba}..${b.lastLba}) overlap`);
      }
    }
    const backup = alt < sectors ? readHeader(src, sectorSize, alt, 'backup GPT header') : undefined;
    if (!backup) problems.push(`backup GPT header missing at LBA ${alt}`);
    else problems.push(...backup.problems);
    return { sectorSize, sectors, diskGuid: guidToUuid(h.subarray(56, 72)), firstUsableLba: first, lastUsableLba: last, partitions, problems };
  }
  return undefined;
}
