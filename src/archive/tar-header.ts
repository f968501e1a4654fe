/**
 * The tar header codec: POSIX ustar headers and pax extended records, every byte decided here.
 * Pure functions over buffers; no I/O.
 */
import { ReproError } from '../model/errors.js';
import { said, type What } from './byte-reader.js';

export const BLOCK = 512;

export const TypeFlag = {
  file: 0x30, // '0'
  oldFile: 0x00, // '\0'
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
  contiguous: 0x37,
  paxLocal: 0x78, // 'x'
  paxGlobal: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
  gnuSparse: 0x53, // 'S'
  gnuVolume: 0x56, // 'V'
  gnuDumpDir: 0x44, // 'D'
  gnuMultiVol: 0x4d, // 'M'
} as const;

/** What one header (plus its pax records) says, before any path normalisation. */
export interface HeaderFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Raw pax records that are not folded into the fields above (e.g. SCHILY.xattr.*). */
  pax?: Map<string, Buffer>;
  /** Decoding only: owner names (empty when the header has none). */
  uname?: string;
  gname?: string;
  /** Decoding only: the header's magic: POSIX ustar, GNU (`ustar  `) or none (v7). */
  magic?: HeaderMagic;
}

export type HeaderMagic = 'ustar' | 'gnu' | 'v7';

// ---- encoding -------------------------------------------------------------------------------

const MAX_OCTAL_8 = 0o7777777; // 2097151: uid, gid, mode, devmajor, devminor
const MAX_OCTAL_12 = 0o77777777777; // 8 GiB - 1: size, mtime

/**
 * What we accept in a numeric field, read or written. Ids are a Linux uid_t/gid_t other than
 * (uid_t)-1; sizes and times are exact integers of a JavaScript number; modes and device numbers
 * fit the ustar octal field (pax has no record for them). Anything else is refused, never wrapped,
 * clamped or written as text another reader would reject.
 */
export const NUMERIC_RANGE = {
  mode: [0, MAX_OCTAL_8],
  uid: [0, 0xfffffffe],
  gid: [0, 0xfffffffe],
  size: [0, Number.MAX_SAFE_INTEGER],
  mtime: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  devmajor: [0, MAX_OCTAL_8],
  devminor: [0, MAX_OCTAL_8],
} as const;

export type NumericField = keyof typeof NUMERIC_RANGE;

export function inRange(field: NumericField, v: number): boolean {
  const [lo, hi] = NUMERIC_RANGE[field];
  return Number.isSafeInteger(v) && v >= lo && v <= hi;
}

/** The longest path (PATH_MAX, terminating NUL excluded) and path component (NAME_MAX) we accept. */
export const PATH_MAX = 4096;
export const NAME_MAX = 255;

/** True when `s` has no lone surrogate, so that its UTF-8 encoding is exact and reversible. */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** A name the writer can encode exactly: well-formed Unicode, no NUL. */
function checkEncodable(s: string, field: string, name: string): void {
  if (s.includes('\0')) throw new ReproError('E_BAD_INPUT', `${JSON.stringify(name)}: the ${field} holds a NUL byte, which no tar reader can read back`);
  if (!isWellFormed(s)) throw new ReproError('E_BAD_INPUT', `${JSON.stringify(name)}: the ${field} is not valid Unicode (a lone surrogate) and has no exact UTF-8 form`);
}

function isPortable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  // width-1 zero-padded octal digits, then NUL.
  buf.write(value.toString(8).padStart(width - 1, '0'), off, width - 1, 'ascii');
  buf[off + width - 1] = 0;
}

function writeString(buf: Buffer, off: number, width: number, s: string): void {
  Buffer.from(s, 'utf8').copy(buf, off, 0, width);
}

/** Splits a ustar name into (prefix, name) at a slash so both fit, or returns undefined. */
export function splitUstarName(name: string): [string, string] | undefined {
  const len = Buffer.byteLength(name);
  if (len <= 100) return ['', name];
  if (len > 256) return undefined;
  // Take the earliest slash that leaves a name of at most 100 bytes and a prefix of at most 155.
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (rest.length === 0) break;
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return [prefix, rest];
  }
  return undefined;
}

/** One pax record: `"%d %s=%s\n"` where the decimal length counts the whole record. */
export function encodePaxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

export function encodePaxRecords(records: Map<string, Buffer>): Buffer {
  const keys = [...records.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat(keys.map((k) => encodePaxRecord(k, records.get(k)!)));
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function ustarBlock(f: {
  name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number;
  typeflag: number; linkname: string; devmajor: number; devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, f.name);
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b[156] = f.typeflag;
  writeString(b, 157, 100, f.linkname);
  b.write('ustar\x0000', 257, 8, 'latin1');
  // uname (265) and gname (297) stay empty: owners are numeric only.
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  writeString(b, 345, 155, f.prefix);
  const sum = checksum(b);
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** The name a pax extended header carries: ASCII, at most 100 bytes, derived only from the path. */
function paxHeaderName(path: string): string {
  const base = path.replace(/\/$/, '').split('/').pop() ?? '';
  const ascii = base.replace(/[^\x20-\x7e]/g, '_');
  return `PaxHeaders/${ascii}`.slice(0, 100);
}

function asciiFallback(s: string, width: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, width);
}

/**
 * Encodes the header blocks of one entry: a pax extended header only when ustar cannot say it
 * (long or non-ASCII names, big ids, sizes or times, xattrs), records sorted, then the ustar header.
 * `extra` holds records such as SCHILY.xattr.* that always need pax.
 */
export function encodeHeaders(f: HeaderFields): Buffer {
  checkEncodable(f.name, 'name', f.name);
  checkEncodable(f.linkname, 'link target', f.name);
  for (const k of NUMERIC_FIELDS) {
    if (!inRange(k, f[k])) {
      const [lo, hi] = NUMERIC_RANGE[k];
      throw new ReproError('E_UNSUPPORTED', `${JSON.stringify(f.name)}: ${k} ${f[k]} cannot be written in a tar header (an integer from ${lo} to ${hi})`);
    }
  }
  const pax = new Map<string, Buffer>(f.pax ?? []);
  let name = f.name;
  let prefix = '';
  const split = isPortable(f.name) ? splitUstarName(f.name) : undefined;
  if (split) {
    [prefix, name] = split;
  } else {
    pax.set('path', Buffer.from(f.name, 'utf8'));
    name = asciiFallback(f.name, 100);
  }
  let linkname = f.linkname;
  if (!isPortable(linkname) || Buffer.byteLength(linkname) > 100) {
    pax.set('linkpath', Buffer.from(linkname, 'utf8'));
    linkname = asciiFallback(linkname, 100);
  }
  let uid = f.uid;
  if (uid > MAX_OCTAL_8) {
    pax.set('uid', Buffer.from(String(uid)));
    uid = 0;
  }
  let gid = f.gid;
  if (gid > MAX_OCTAL_8) {
    pax.set('gid', Buffer.from(String(gid)));
    gid = 0;
  }
  let size = f.size;
  if (size > MAX_OCTAL_12) {
    pax.set('size', Buffer.from(String(size)));
    size = 0;
  }
  let mtime = f.mtime;
  if (mtime < 0 || mtime > MAX_OCTAL_12) {
    pax.set('mtime', Buffer.from(String(mtime)));
    mtime = mtime < 0 ? 0 : MAX_OCTAL_12;
  }
  const header = ustarBlock({
    name, prefix, mode: f.mode, uid, gid, size, mtime, typeflag: f.typeflag, linkname,
    devmajor: f.devmajor, devminor: f.devminor,
  });
  if (pax.size === 0) return header;
  const body = encodePaxRecords(pax);
  const paxHeader = ustarBlock({
    name: paxHeaderName(f.name), prefix: '', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime,
    typeflag: TypeFlag.paxLocal, linkname: '', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), header]);
}

export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

// ---- decoding -------------------------------------------------------------------------------

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a name or link target exactly: bytes that are not UTF-8 are refused, never replaced by
 * U+FFFD (which would rewrite them silently and could merge two different names into one).
 */
export function decodeName(bytes: Uint8Array, what: What): string {
  // ASCII (nearly every name) is its own UTF-8: decoded without the decoder's per-call cost.
  if (bytes.length <= 256) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new ReproError('E_TAR_FORMAT', `${said(what)} is not valid UTF-8 (bytes ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}${bytes.length > 64 ? '...' : ''}); names that are not UTF-8 are refused, not rewritten`);
  }
}

function fieldBytes(b: Buffer, off: number, width: number): Buffer {
  let end = off;
  while (end < off + width && b[end] !== 0) end++;
  return b.subarray(off, end);
}

/** Owner names: informational only (never written), decoded leniently. */
function readString(b: Buffer, off: number, width: number): string {
  return fieldBytes(b, off, width).toString('utf8');
}

/**
 * Reads an octal field, or a GNU base-256 one (first byte 0x80 positive, 0xff negative, two's
 * complement). Returns NaN when malformed or not exactly representable; callers range-check.
 */
export function readNumeric(b: Buffer, off: number, width: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    if (first !== 0x80 && first !== 0xff) return NaN;
    const negative = first === 0xff;
    let v = 0n;
    for (let i = 0; i < width; i++) {
      let byte = b[off + i]!;
      if (i === 0) byte &= 0x7f;
      v = (v << 8n) | BigInt(negative ? (~b[off + i]! & 0xff) : byte);
    }
    if (negative) v = -(v + 1n);
    const n = Number(v);
    return Number.isSafeInteger(n) && BigInt(n) === v ? n : NaN;
  }
  // Octal digits, after leading spaces and before trailing NULs and spaces; empty is 0.
  let end = off + width;
  while (end > off && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  let i = off;
  while (i < end && b[i] === 0x20) i++;
  let n = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) return NaN;
    n = n * 8 + (c - 0x30);
  }
  return Number.isSafeInteger(n) ? n : NaN;
}

/** Byte offsets of the numeric fields in a header block, for error messages. */
const FIELD_OFFSET: Record<NumericField, number> = { mode: 100, uid: 108, gid: 116, size: 124, mtime: 136, devmajor: 329, devminor: 337 };

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * A header block's checksums, with the checksum field (bytes 148 to 155) counted as spaces: the
 * unsigned sum of its bytes, and the signed one old writers made (each byte above 127 counted
 * as negative: the unsigned sum less 256 per such byte). A block aligned on 4 bytes (every one
 * read from a file, most from a stream) is summed four bytes at a time.
 */
export function headerSums(b: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 8 * 0x20;
  let high = 0;
  if ((b.byteOffset & 3) === 0 && b.length >= BLOCK) {
    const w = new Uint32Array(b.buffer, b.byteOffset, BLOCK / 4);
    // Bytes summed in pairs (16-bit halves: at most 128 * 2 * 255, no carry between them), and
    // the top bits counted per byte (at most 128 a byte).
    let pairs = 0;
    let tops = 0;
    for (let i = 0; i < BLOCK / 4; i++) {
      if (i === 37) i = 39; // bytes 148 to 155: the checksum field
      const v = w[i]!;
      pairs += (v & 0x00ff00ff) + ((v >>> 8) & 0x00ff00ff);
      tops += (v >>> 7) & 0x01010101;
    }
    unsigned += (pairs % 0x10000) + Math.floor(pairs / 0x10000);
    high = (tops & 0xff) + ((tops >>> 8) & 0xff) + ((tops >>> 16) & 0xff) + (tops >>> 24);
  } else {
    for (let i = 0; i < BLOCK; i++) {
      if (i === 148) i = 156;
      const v = b[i]!;
      unsigned += v;
      high += v >>> 7;
    }
  }
  return { unsigned, signed: unsigned - 256 * high };
}

const NUMERIC_FIELDS = ['mode', 'uid', 'gid', 'size', 'mtime', 'devmajor', 'devminor'] as const;

/** Decodes one 512-byte header block; `offset` is its position, for error messages. */
export function decodeHeader(b: Buffer, offset: number, where: string): HeaderFields {
  const stored = readNumeric(b, 148, 8);
  const { unsigned, signed } = headerSums(b);
  if (stored !== unsigned && stored !== signed) {
    throw new ReproError('E_TAR_CHECKSUM', `${where}: bad tar header checksum at byte offset ${offset}`);
  }
  // `ustar\0` (POSIX) or `ustar ` (GNU), compared byte by byte (no string made per header).
  const ustarBytes = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
  const posix = ustarBytes && b[262] === 0;
  const ustar = posix || (ustarBytes && b[262] === 0x20);
  const magic = posix ? 'ustar\0' : ustar ? 'ustar ' : '';
  // Messages are made only for a failure (most headers need none).
  const at = (): string => `${where}: tar header at byte offset ${offset}`;
  let name = decodeName(fieldBytes(b, 0, 100), () => `${at()}: the name`);
  if (magic === 'ustar\0') {
    const prefix = decodeName(fieldBytes(b, 345, 155), () => `${at()}: the name prefix`);
    if (prefix) name = `${prefix}/${name}`;
  }
  const fields: HeaderFields = {
    name,
    mode: readNumeric(b, 100, 8),
    uid: readNumeric(b, 108, 8),
    gid: readNumeric(b, 116, 8),
    size: readNumeric(b, 124, 12),
    mtime: readNumeric(b, 136, 12),
    typeflag: b[156]!,
    linkname: decodeName(fieldBytes(b, 157, 100), () => `${at()} (member ${JSON.stringify(name)}): the link target`),
    devmajor: ustar ? readNumeric(b, 329, 8) : 0,
    devminor: ustar ? readNumeric(b, 337, 8) : 0,
    uname: ustar && b[265] !== 0 ? readString(b, 265, 32) : '',
    gname: ustar && b[297] !== 0 ? readString(b, 297, 32) : '',
    magic: magic === 'ustar\0' ? 'ustar' : ustar ? 'gnu' : 'v7',
  };
  for (const k of NUMERIC_FIELDS) {
    const v = fields[k];
    if (Number.isNaN(v)) {
      throw new ReproError('E_TAR_FORMAT', `${where}: member ${JSON.stringify(name)}: malformed ${k} field in tar header at byte offset ${offset + FIELD_OFFSET[k]}`);
    }
    if (!inRange(k, v)) {
      const [lo, hi] = NUMERIC_RANGE[k];
      throw new ReproError('E_TAR_FORMAT', `${where}: member ${JSON.stringify(name)}: ${k} ${v} out of range (${lo}..${hi}) in tar header at byte offset ${offset + FIELD_OFFSET[k]}`);
    }
  }
  return fields;
}

/** Parses pax extended header data into records (values as raw bytes). */
export function decodePaxRecords(data: Buffer, offset: number, where: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) throw new ReproError('E_TAR_FORMAT', `${where}: malformed pax record at byte offset ${offset + pos}`);
    const lenStr = data.toString('latin1', pos, sp);
    const len = /^[0-9]+$/.test(lenStr) ? parseInt(lenStr, 10) : NaN;
    if (!(len > sp - pos + 1) || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new ReproError('E_TAR_FORMAT', `${where}: malformed pax record at byte offset ${offset + pos}`);
    }
    const rec = data.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new ReproError('E_TAR_FORMAT', `${where}: pax record without a key and '=' at byte offset ${offset + pos}`);
    out.set(decodeName(rec.subarray(0, eq), `${where}: the key of the pax record at byte offset ${offset + pos}`), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}
