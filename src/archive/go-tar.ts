/**
 * Go's `archive/tar` Writer, byte for byte: the tar dialect of podman and buildah (containers/
 * storage writes every layer with it, buildah's tar filter writes every layer and every content
 * summary again with it). `goWriteHeader` follows `Writer.WriteHeader` (Go 1.19 to 1.27 write the
 * same bytes): the format is chosen by `Header.allowedFormats` (USTAR when it can hold the header,
 * else PAX, else GNU; or the format the header asks for), names are split the USTAR way or carried
 * in PAX records, numbers that do not fit are zeroed (USTAR, PAX) or written in base-256 (GNU).
 * See docs/go-tar.md and docs/podman-compat-facts.md §2.
 *
 * The model (`RawGoHeader`) is Go's `tar.Header`: strings are byte strings (one character per byte,
 * latin1), integers are int64 `bigint`s, times are Unix seconds plus nanoseconds. `GoHeader` is
 * the friendly form for callers that write layers from a tree. Pure code, no I/O.
 */

import { ReproError } from '../model/errors.js';

// ---- the model --------------------------------------------------------------------------------

/** Go's `tar.Format` bits. */
export const FORMAT_UNKNOWN = 0;
export const FORMAT_V7 = 1;
export const FORMAT_USTAR = 2;
export const FORMAT_PAX = 4;
export const FORMAT_GNU = 8;
export const FORMAT_STAR = 16;

export type GoFormat = 'unknown' | 'ustar' | 'pax' | 'gnu';

const FORMAT_BITS: Record<GoFormat, number> = { unknown: FORMAT_UNKNOWN, ustar: FORMAT_USTAR, pax: FORMAT_PAX, gnu: FORMAT_GNU };

export function formatName(bits: number): GoFormat {
  return bits === FORMAT_USTAR ? 'ustar' : bits === FORMAT_PAX ? 'pax' : bits === FORMAT_GNU ? 'gnu' : 'unknown';
}

/** A Go `time.Time` as Unix seconds (int64) and nanoseconds (0 to 999999999). */
export interface GoTime {
  sec: bigint;
  nsec: number;
}

/** Seconds from year 1 to 1970: Go's zero `time.Time` is Unix second -62135596800. */
const UNIX_TO_INTERNAL = 62135596800n;
export const ZERO_TIME: GoTime = Object.freeze({ sec: -UNIX_TO_INTERNAL, nsec: 0 });

export function isZeroTime(t: GoTime): boolean {
  return t.sec === -UNIX_TO_INTERNAL && t.nsec === 0;
}

const int64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** `time.Unix(sec, nsec)`: nanoseconds normalised into [0, 1e9), int64 arithmetic. */
export function unixTime(sec: bigint, nsec: bigint): GoTime {
  let s = sec;
  let n = nsec;
  if (n < 0n || n >= 1_000_000_000n) {
    const q = n / 1_000_000_000n; // truncates toward zero, as Go's division does
    s = int64(s + q);
    n -= q * 1_000_000_000n;
    if (n < 0n) {
      n += 1_000_000_000n;
      s = int64(s - 1n);
    }
  }
  return { sec: s, nsec: Number(n) };
}

/** `t.Round(time.Second)`: halves round up; `Add` saturates at the ends of Go's internal clock. */
function roundToSecond(t: GoTime): GoTime {
  if (t.nsec === 0) return t;
  if (t.nsec * 2 < 1_000_000_000) return { sec: t.sec, nsec: 0 };
  const ext = int64(t.sec + UNIX_TO_INTERNAL);
  const sum = int64(ext + 1n);
  const next = sum > ext ? sum : (1n << 63n) - 1n;
  return { sec: int64(next - UNIX_TO_INTERNAL), nsec: 0 };
}

/** Go's `tar.Header`. Strings hold bytes (latin1: one character per byte). */
export interface RawGoHeader {
  typeflag: number;
  name: string;
  linkname: string;
  size: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
  uname: string;
  gname: string;
  modTime: GoTime;
  accessTime: GoTime;
  changeTime: GoTime;
  devmajor: bigint;
  devminor: bigint;
  xattrs?: Map<string, string>;
  paxRecords?: Map<string, string>;
  /** Format bits (FORMAT_*). */
  format: number;
}

export type GoEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One header as a tree walk sees it (what containers/storage or buildah's copier put in a tar.Header). */
export interface GoHeader {
  /** The path in the archive (directories end in `/`): a UTF-8 string, or the raw bytes. */
  name: string | Buffer;
  /** An entry type, or a raw type flag byte. */
  type: GoEntryType | number;
  /** Permission and set-id/sticky bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size (regular files; 0 for the others). */
  size: number;
  /** Whole seconds since the epoch; may be negative. */
  mtime: number;
  /** Nanoseconds of the mtime (0 unless a writer rounds them, see `goSummaryStream`). */
  mtimeNsec?: number;
  linkname?: string | Buffer;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, already filtered (written as `SCHILY.xattr.<name>` records). */
  xattrs?: ReadonlyMap<string, Buffer>;
  /** Owner names (empty in layers and content summaries). */
  uname?: string;
  gname?: string;
  /** The format Go is asked for (`Header.Format`); default 'unknown' (Go chooses). */
  format?: GoFormat;
}

const TYPEFLAG: Record<GoEntryType, number> = {
  file: 0x30, hardlink: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36,
};

export const TYPE_XHEADER = 0x78; // 'x'
export const TYPE_XGLOBAL = 0x67; // 'g'
export const TYPE_GNU_LONGNAME = 0x4c; // 'L'
export const TYPE_GNU_LONGLINK = 0x4b; // 'K'
export const TYPE_GNU_SPARSE = 0x53; // 'S'

/** Types that never carry data (Go's `isHeaderOnlyType`): hard link, symlink, char, block, dir, fifo. */
export function isHeaderOnlyType(flag: number): boolean {
  return flag >= 0x31 && flag <= 0x36;
}

function bytesOf(s: string | Buffer): string {
  return typeof s === 'string' ? Buffer.from(s, 'utf8').toString('latin1') : s.toString('latin1');
}

function safeInt(v: number, what: string): bigint {
  if (!Number.isSafeInteger(v)) throw new GoTarError(`${what} ${v} is not an integer`);
  return BigInt(v);
}

/** The `tar.Header` a `GoHeader` stands for. Xattrs become PAX records, as storage and copier put them. */
export function rawHeader(h: GoHeader): RawGoHeader {
  let pax: Map<string, string> | undefined;
  if (h.xattrs && h.xattrs.size > 0) {
    pax = new Map();
    for (const [k, v] of h.xattrs) pax.set(`SCHILY.xattr.${bytesOf(k)}`, v.toString('latin1'));
  }
  const nsec = h.mtimeNsec ?? 0;
  if (!Number.isInteger(nsec) || nsec < 0 || nsec > 999_999_999) throw new GoTarError(`mtime nanoseconds ${nsec} out of range`);
  return {
    typeflag: typeof h.type === 'number' ? h.type : TYPEFLAG[h.type],
    name: bytesOf(h.name),
    linkname: bytesOf(h.linkname ?? ''),
    size: safeInt(h.size, 'size'),
    mode: safeInt(h.mode, 'mode'),
    uid: safeInt(h.uid, 'uid'),
    gid: safeInt(h.gid, 'gid'),
    uname: bytesOf(h.uname ?? ''),
    gname: bytesOf(h.gname ?? ''),
    modTime: unixTime(safeInt(h.mtime, 'mtime'), BigInt(nsec)),
    accessTime: ZERO_TIME,
    changeTime: ZERO_TIME,
    devmajor: safeInt(h.devmajor ?? 0, 'devmajor'),
    devminor: safeInt(h.devminor ?? 0, 'devminor'),
    ...(pax ? { paxRecords: pax } : {}),
    format: FORMAT_BITS[h.format ?? 'unknown'],
  };
}

/** What Go's writer returns as an error (`headerError`, `ErrFieldTooLong`, ...), in one line. */
export class GoTarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoTarError';
  }
}

// ---- strings and numbers (Go's strconv.go) ------------------------------------------------------

export function hasNUL(s: string): boolean {
  return s.includes('\0');
}

/** Go's `isASCII`: no byte ≥ 0x80 and no NUL. */
export function isASCII(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) return false;
  }
  return true;
}

/** Go's `toASCII`: drops every byte ≥ 0x80 (each invalid or multi-byte rune) and every NUL. */
export function toASCII(s: string): string {
  if (isASCII(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && c !== 0) out += s[i];
  }
  return out;
}

export function fitsInOctal(n: number, x: bigint): boolean {
  return x >= 0n && (n >= 22 || x < 1n << BigInt((n - 1) * 3));
}

export function fitsInBase256(n: number, x: bigint): boolean {
  if (n >= 9) return true;
  const bits = BigInt((n - 1) * 8);
  return x >= -(1n << bits) && x < 1n << bits;
}

/** Go's `formatter`: the first error is remembered and (mostly) ignored by the caller. */
class Formatter {
  err: string | undefined;

  string(blk: Buffer, off: number, len: number, s: string): void {
    if (s.length > len) this.err = 'archive/tar: header field too long';
    blk.write(s.length > len ? s.slice(0, len) : s, off, 'latin1');
    if (s.length < len) blk[off + s.length] = 0;
    // "Some buggy readers treat regular files with a trailing slash in the V7 path field as a
    // directory": a cut name that ends in '/' loses its trailing slashes to a NUL.
    if (s.length > len && blk[off + len - 1] === 0x2f) {
      let n = len - 1;
      while (n > 0 && s.charCodeAt(n - 1) === 0x2f) n--;
      blk[off + n] = 0;
    }
  }

  octal(blk: Buffer, off: number, len: number, x: bigint): void {
    let v = x;
    if (!fitsInOctal(len, v)) {
      v = 0n;
      this.err = 'archive/tar: header field too long';
    }
    const s = v.toString(8);
    this.string(blk, off, len, s.length < len - 1 ? '0'.repeat(len - 1 - s.length) + s : s);
  }

  numeric(blk: Buffer, off: number, len: number, x: bigint): void {
    if (fitsInOctal(len, x)) {
      this.octal(blk, off, len, x);
      return;
    }
    if (fitsInBase256(len, x)) {
      let v = x;
      for (let i = len - 1; i >= 0; i--) {
        blk[off + i] = Number(BigInt.asUintN(8, v));
        v >>= 8n; // arithmetic, as Go's shift of an int64
      }
      blk[off] = blk[off]! | 0x80;
      return;
    }
    this.octal(blk, off, len, 0n);
    this.err = 'archive/tar: header field too long';
  }
}

/** Go's `formatPAXTime`. */
export function formatPAXTime(t: GoTime): string {
  let secs = t.sec;
  let nsecs = t.nsec;
  if (nsecs === 0) return secs.toString();
  let sign = '';
  if (secs < 0n) {
    sign = '-';
    secs = -(secs + 1n);
    nsecs = 1_000_000_000 - nsecs;
  }
  return `${sign}${secs}.${String(nsecs).padStart(9, '0')}`.replace(/0+$/, '');
}

/** Go's `validPAXRecord`. */
export function validPAXRecord(k: string, v: string): boolean {
  if (k === '' || k.includes('=')) return false;
  if (k === 'path' || k === 'linkpath' || k === 'uname' || k === 'gname') return !hasNUL(v);
  return !hasNUL(k);
}

/** Go's `formatPAXRecord`: `"%d %s=%s\n"`, the length counting itself. */
export function formatPAXRecord(k: string, v: string): string {
  let size = k.length + v.length + 3;
  size += String(size).length;
  let record = `${size} ${k}=${v}\n`;
  if (record.length !== size) {
    size = record.length;
    record = `${size} ${k}=${v}\n`;
  }
  return record;
}

// ---- paths (Go's path.Split, path.Join, path.Clean) -----------------------------------------------

/** Go's `path.Clean`. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const n = p.length;
  const out: string[] = [];
  let r = 0;
  let w = 0; // length of the cleaned output, as in Go's lazybuf
  let dotdot = 0;
  if (rooted) {
    out.push('/');
    r = 1;
    w = 1;
    dotdot = 1;
  }
  const put = (c: string): void => {
    out[w] = c;
    w++;
  };
  while (r < n) {
    if (p[r] === '/') {
      r++;
    } else if (p[r] === '.' && (r + 1 === n || p[r + 1] === '/')) {
      r++;
    } else if (p[r] === '.' && p[r + 1] === '.' && (r + 2 === n || p[r + 2] === '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] !== '/') w--;
      } else if (!rooted) {
        if (w > 0) put('/');
        put('.');
        put('.');
        dotdot = w;
      }
    } else {
      if ((rooted && w !== 1) || (!rooted && w !== 0)) put('/');
      for (; r < n && p[r] !== '/'; r++) put(p[r]!);
    }
  }
  if (w === 0) return '.';
  return out.slice(0, w).join('');
}

/** Go's `path.Join(dir, "PaxHeaders.0", file)` of `path.Split(name)`. */
export function paxHeaderPath(name: string): string {
  const i = name.lastIndexOf('/');
  const dir = name.slice(0, i + 1);
  const file = name.slice(i + 1);
  return cleanPath([dir, 'PaxHeaders.0', file].filter((e) => e !== '').join('/'));
}

/** Go's `splitUSTARPath`: the last slash that leaves a suffix of 1..100 and a prefix of 1..155 bytes. */
export function splitUSTARPath(name: string): [string, string] | undefined {
  let length = name.length;
  if (length <= 100 || !isASCII(name)) return undefined;
  if (length > 156) length = 156;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

// ---- the writer --------------------------------------------------------------------------------

const BASIC_KEYS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

/** Go's `maxSpecialFileSize`: the longest PAX header or GNU long name body, both ways. */
export const MAX_SPECIAL_FILE_SIZE = 1 << 20;

interface Allowed {
  format: number;
  pax: Map<string, string>;
  why: string;
}

/** Go's `Header.allowedFormats`. */
function allowedFormats(h: RawGoHeader): Allowed {
  let format = FORMAT_USTAR | FORMAT_PAX | FORMAT_GNU;
  const pax = new Map<string, string>();
  let why = '';
  let preferPAX = false;
  const verifyString = (s: string, size: number, field: string, key: string): void => {
    const tooLong = s.length > size;
    const allowLongGNU = key === 'path' || key === 'linkpath';
    if (hasNUL(s) || (tooLong && !allowLongGNU)) {
      format &= ~FORMAT_GNU;
      why = `GNU cannot encode ${field}`;
    }
    if (!isASCII(s) || tooLong) {
      if (key !== 'path' || !splitUSTARPath(s)) {
        format &= ~FORMAT_USTAR;
        why = `USTAR cannot encode ${field}`;
      }
      pax.set(key, s);
    }
    const v = h.paxRecords?.get(key);
    if (v !== undefined && v === s) pax.set(key, v);
  };
  const verifyNumeric = (n: bigint, size: number, field: string, key: string): void => {
    if (!fitsInBase256(size, n)) {
      format &= ~FORMAT_GNU;
      why = `GNU cannot encode ${field}=${n}`;
    }
    if (!fitsInOctal(size, n)) {
      format &= ~FORMAT_USTAR;
      why = `USTAR cannot encode ${field}=${n}`;
      if (key === '') {
        format &= ~FORMAT_PAX;
        why = `PAX cannot encode ${field}=${n}`;
      } else {
        pax.set(key, n.toString());
      }
    }
    if (key !== '') {
      const v = h.paxRecords?.get(key);
      if (v !== undefined && v === n.toString()) pax.set(key, v);
    }
  };
  const verifyTime = (t: GoTime, size: number, field: string, key: string): void => {
    if (isZeroTime(t)) return;
    if (!fitsInBase256(size, t.sec)) {
      format &= ~FORMAT_GNU;
      why = `GNU cannot encode ${field}`;
    }
    const isMtime = key === 'mtime';
    const fitsOctal = fitsInOctal(size, t.sec);
    if (!isMtime || !fitsOctal) {
      format &= ~FORMAT_USTAR;
      why = `USTAR cannot encode ${field}`;
    }
    if (!isMtime || !fitsOctal || t.nsec !== 0) {
      preferPAX = true;
      pax.set(key, formatPAXTime(t));
    }
    const v = h.paxRecords?.get(key);
    if (v !== undefined && v === formatPAXTime(t)) pax.set(key, v);
  };

  verifyString(h.name, 100, 'Name', 'path');
  verifyString(h.linkname, 100, 'Linkname', 'linkpath');
  verifyString(h.uname, 32, 'Uname', 'uname');
  verifyString(h.gname, 32, 'Gname', 'gname');
  verifyNumeric(h.mode, 8, 'Mode', '');
  verifyNumeric(h.uid, 8, 'Uid', 'uid');
  verifyNumeric(h.gid, 8, 'Gid', 'gid');
  verifyNumeric(h.size, 12, 'Size', 'size');
  verifyNumeric(h.devmajor, 8, 'Devmajor', '');
  verifyNumeric(h.devminor, 8, 'Devminor', '');
  verifyTime(h.modTime, 12, 'ModTime', 'mtime');
  verifyTime(h.accessTime, 12, 'AccessTime', 'atime');
  verifyTime(h.changeTime, 12, 'ChangeTime', 'ctime');

  const t = h.typeflag;
  if (t === 0x30 || t === 0x33 || t === 0x34 || t === 0x36 || t === TYPE_GNU_SPARSE) {
    if (h.name.endsWith('/')) throw new GoTarError('archive/tar: filename may not have trailing slash');
  } else if (t === TYPE_XHEADER || t === TYPE_GNU_LONGNAME || t === TYPE_GNU_LONGLINK) {
    throw new GoTarError('archive/tar: cannot manually encode TypeXHeader, TypeGNULongName, or TypeGNULongLink headers');
  } else if (t === TYPE_XGLOBAL) {
    const onlyGlobal = h.linkname === '' && h.size === 0n && h.mode === 0n && h.uid === 0n && h.gid === 0n
      && h.uname === '' && h.gname === '' && isZeroTime(h.modTime) && isZeroTime(h.accessTime)
      && isZeroTime(h.changeTime) && h.devmajor === 0n && h.devminor === 0n;
    if (!onlyGlobal) throw new GoTarError('archive/tar: only PAXRecords should be set for TypeXGlobalHeader');
    format &= FORMAT_PAX;
    why = 'only PAX supports TypeXGlobalHeader';
  }
  if (!isHeaderOnlyType(t) && h.size < 0n) throw new GoTarError('archive/tar: negative size on header-only type');

  if (h.xattrs && h.xattrs.size > 0) {
    for (const [k, v] of h.xattrs) pax.set(`SCHILY.xattr.${k}`, v);
    format &= FORMAT_PAX;
    why = 'only PAX supports Xattrs';
  }
  if (h.paxRecords && h.paxRecords.size > 0) {
    for (const [k, v] of h.paxRecords) {
      if (pax.has(k)) continue;
      if (t === TYPE_XGLOBAL) pax.set(k, v);
      else if (!BASIC_KEYS.has(k) && !k.startsWith('GNU.sparse.')) pax.set(k, v);
    }
    format &= FORMAT_PAX;
    why = 'only PAX supports PAXRecords';
  }
  for (const [k, v] of pax) {
    if (!validPAXRecord(k, v)) throw new GoTarError(`archive/tar: invalid PAX record: ${JSON.stringify(`${k} = ${v}`.slice(0, 80))}`);
  }
  if (h.format !== FORMAT_UNKNOWN) {
    let want = h.format;
    if (want & FORMAT_PAX && !preferPAX) want |= FORMAT_USTAR;
    format &= want;
  }
  return { format, pax, why };
}

function checksumAndMagic(blk: Buffer, format: number): void {
  if (format & FORMAT_GNU) blk.write('ustar  \0', 257, 'latin1');
  else blk.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : blk[i]!;
  blk.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
  blk[154] = 0;
  blk[155] = 0x20;
}

/** Go's `templateV7Plus`: the fields every format shares. */
function templateV7Plus(h: RawGoHeader, f: Formatter, str: (blk: Buffer, off: number, len: number, s: string) => void, num: (blk: Buffer, off: number, len: number, x: bigint) => void): Buffer {
  const blk = Buffer.alloc(512);
  const mtime = isZeroTime(h.modTime) ? 0n : h.modTime.sec;
  blk[156] = h.typeflag;
  str(blk, 0, 100, h.name);
  str(blk, 157, 100, h.linkname);
  num(blk, 100, 8, h.mode);
  num(blk, 108, 8, h.uid);
  num(blk, 116, 8, h.gid);
  num(blk, 124, 12, h.size);
  num(blk, 136, 12, mtime);
  str(blk, 265, 32, h.uname);
  str(blk, 297, 32, h.gname);
  num(blk, 329, 8, h.devmajor);
  num(blk, 337, 8, h.devminor);
  void f;
  return blk;
}

/** Go's `writeRawFile`: a PAX or GNU meta entry with the given body, padded to a block. */
function rawFile(name: string, data: string, flag: number, format: number): Buffer {
  let n = toASCII(name);
  if (n.length > 100) n = n.slice(0, 100);
  n = n.replace(/\/+$/, '');
  const f = new Formatter();
  const blk = Buffer.alloc(512);
  blk[156] = flag;
  f.string(blk, 0, 100, n);
  f.octal(blk, 100, 8, 0n);
  f.octal(blk, 108, 8, 0n);
  f.octal(blk, 116, 8, 0n);
  f.octal(blk, 124, 12, BigInt(data.length));
  f.octal(blk, 136, 12, 0n);
  checksumAndMagic(blk, format);
  const body = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  body.write(data, 0, 'latin1');
  return Buffer.concat([blk, body]);
}

/**
 * The blocks `tar.Writer.WriteHeader` writes for `hdr` (PAX or GNU meta entries included, their
 * bodies padded), or a GoTarError where Go returns an error. The entry's data and its padding are
 * the caller's.
 */
export function goWriteHeader(hdr: RawGoHeader): Buffer {
  const h: RawGoHeader = { ...hdr };
  if (h.typeflag === 0) h.typeflag = h.name.endsWith('/') ? 0x35 : 0x30;
  if (h.format === FORMAT_UNKNOWN) {
    h.modTime = roundToSecond(h.modTime);
    h.accessTime = ZERO_TIME;
    h.changeTime = ZERO_TIME;
  }
  const a = allowedFormats(h);
  if (a.format & FORMAT_USTAR) {
    const f = new Formatter();
    const split = splitUSTARPath(h.name);
    const blk = templateV7Plus(split ? { ...h, name: split[1] } : h, f, f.string.bind(f), f.octal.bind(f));
    if (split) f.string(blk, 345, 155, split[0]);
    if (f.err) throw new GoTarError(f.err);
    checksumAndMagic(blk, FORMAT_USTAR);
    return blk;
  }
  if (a.format & FORMAT_PAX) return writePAX(h, a.pax);
  if (a.format & FORMAT_GNU) return writeGNU(h);
  throw new GoTarError(`archive/tar: cannot encode header: ${a.why || 'the requested format cannot hold it'}`);
}

function writePAX(h: RawGoHeader, pax: Map<string, string>): Buffer {
  const parts: Buffer[] = [];
  const isGlobal = h.typeflag === TYPE_XGLOBAL;
  if (pax.size > 0 || isGlobal) {
    const keys = [...pax.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    let data = '';
    for (const k of keys) data += formatPAXRecord(k, pax.get(k)!);
    const name = isGlobal ? (h.name === '' ? 'GlobalHead.0.0' : h.name) : paxHeaderPath(h.name);
    if (data.length > MAX_SPECIAL_FILE_SIZE) throw new GoTarError('archive/tar: header field too long');
    parts.push(rawFile(name, data, isGlobal ? TYPE_XGLOBAL : TYPE_XHEADER, FORMAT_PAX));
    if (isGlobal) return parts[0]!;
  }
  const f = new Formatter();
  const blk = templateV7Plus(h, f, (b, o, l, s) => f.string(b, o, l, toASCII(s)), f.octal.bind(f));
  checksumAndMagic(blk, FORMAT_PAX);
  parts.push(blk);
  return parts.length === 1 ? blk : Buffer.concat(parts);
}

function writeGNU(h: RawGoHeader): Buffer {
  const parts: Buffer[] = [];
  if (h.name.length > 100) parts.push(rawFile('././@LongLink', `${h.name}\0`, TYPE_GNU_LONGNAME, FORMAT_GNU));
  if (h.linkname.length > 100) parts.push(rawFile('././@LongLink', `${h.linkname}\0`, TYPE_GNU_LONGLINK, FORMAT_GNU));
  const f = new Formatter();
  const blk = templateV7Plus(h, f, f.string.bind(f), f.numeric.bind(f));
  if (!isZeroTime(h.accessTime)) f.numeric(blk, 345, 12, h.accessTime.sec);
  if (!isZeroTime(h.changeTime)) f.numeric(blk, 357, 12, h.changeTime.sec);
  checksumAndMagic(blk, FORMAT_GNU);
  parts.push(blk);
  return parts.length === 1 ? blk : Buffer.concat(parts);
}

// ---- the stream ---------------------------------------------------------------------------------

/** The two zero blocks of `Writer.Close` (no padding to a record). */
export const GO_END_OF_ARCHIVE: Buffer = Buffer.alloc(1024);

/** Zeros to pad data to a block (shared, never written to). */
const PADDING = Buffer.alloc(512);

export function displayName(name: string | Buffer): string {
  const s = typeof name === 'string' ? name : name.toString('utf8');
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const PORTABLE = /^[\x01-\x7f]*$/;

function small(v: number | undefined, max: number): boolean {
  return v === undefined || (Number.isInteger(v) && v >= 0 && v <= max);
}

/** `v` (a safe integer that fits) as width - 1 octal digits and the NUL already there. */
function octalField(b: Buffer, off: number, width: number, v: number): void {
  for (let i = off + width - 2; i >= off; i--) {
    b[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
}

/** `checksumAndMagic` for USTAR on a block whose checksum field is still zeros. */
function ustarChecksum(b: Buffer): void {
  b.set(USTAR_MAGIC, 257);
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  octalField(b, 148, 7, sum);
  b[155] = 0x20;
}
const USTAR_MAGIC = Buffer.from('ustar\x0000', 'latin1');

/**
 * The common case without BigInt: no format asked for, ASCII names that USTAR holds, numbers and
 * a whole-second mtime that fit their octal fields, no xattrs. Go writes such a header as USTAR
 * (what `goWriteHeader` decides too; the cross-check test compares both with Go). Undefined when
 * the header is not that simple.
 */
function ustarFast(h: GoHeader): Buffer | undefined {
  if ((h.format !== undefined && h.format !== 'unknown') || (h.xattrs && h.xattrs.size > 0) || h.mtimeNsec) return undefined;
  if (typeof h.type === 'number' || typeof h.name !== 'string') return undefined;
  const link = h.linkname ?? '';
  if (typeof link !== 'string' || link.length > 100 || !PORTABLE.test(link)) return undefined;
  if (!PORTABLE.test(h.name) || (h.uname ?? '').length > 0 || (h.gname ?? '').length > 0) return undefined;
  if (!small(h.mode, MAX_OCTAL_7) || !small(h.uid, MAX_OCTAL_7) || !small(h.gid, MAX_OCTAL_7) || !small(h.devmajor, MAX_OCTAL_7)
    || !small(h.devminor, MAX_OCTAL_7) || !small(h.size, MAX_OCTAL_11) || !small(h.mtime, MAX_OCTAL_11)) return undefined;
  const flag = TYPEFLAG[h.type];
  if (h.name.endsWith('/') && (flag === 0x30 || flag === 0x33 || flag === 0x34 || flag === 0x36)) return undefined;
  let name = h.name;
  let prefix = '';
  if (name.length > 100) {
    const split = splitUSTARPath(name);
    if (!split) return undefined;
    [prefix, name] = split;
  }
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  octalField(b, 100, 8, h.mode);
  octalField(b, 108, 8, h.uid);
  octalField(b, 116, 8, h.gid);
  octalField(b, 124, 12, h.size);
  octalField(b, 136, 12, h.mtime);
  b[156] = flag;
  b.write(link, 157, 'latin1');
  octalField(b, 329, 8, h.devmajor ?? 0);
  octalField(b, 337, 8, h.devminor ?? 0);
  if (prefix) b.write(prefix, 345, 'latin1');
  ustarChecksum(b);
  return b;
}

/**
 * The header blocks Go's `tar.Writer.WriteHeader` writes for `h` (PAX header or GNU long names
 * included). A header Go refuses is a ReproError naming the entry.
 */
export function goTarHeader(h: GoHeader): Buffer {
  const fast = ustarFast(h);
  if (fast) return fast;
  try {
    return goWriteHeader(rawHeader(h));
  } catch (e) {
    if (e instanceof GoTarError) throw new ReproError('E_UNSUPPORTED', `${displayName(h.name)}: Go's archive/tar cannot write this header: ${e.message}`);
    throw e;
  }
}

export interface GoTarStreamEntry {
  header: GoHeader;
  /** The entry's data: exactly `header.size` bytes (regular files only). */
  body?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

/** The size of the data that follows a header: 0 for the header-only types, else `size`. */
export function dataSize(h: GoHeader): number {
  const flag = typeof h.type === 'number' ? h.type : TYPEFLAG[h.type];
  return isHeaderOnlyType(flag) ? 0 : h.size;
}

/** Bodies up to this size go out in one chunk with their header and padding (one copy, fewer yields). */
const JOIN_LIMIT = 64 << 10;

/**
 * One entry of a stream: its header blocks, its data and the padding. Small bodies given as a
 * plain iterable are joined with the header into one chunk; others are passed through as they
 * come. The data must be exactly `expected` bytes.
 */
export async function* entryChunks(header: Buffer, e: GoTarStreamEntry, expected: number, where: string): AsyncGenerator<Buffer> {
  const wrong = (n: number): ReproError => new ReproError('E_IO', n > expected
    ? `${where}: ${displayName(e.header.name)}: the data is longer than the ${expected} bytes its header says`
    : `${where}: ${displayName(e.header.name)}: ${n} bytes of data where the header says ${expected}`);
  const pad = (512 - (expected % 512)) % 512;
  const body = e.body?.();
  if (body === undefined || (expected <= JOIN_LIMIT && Symbol.iterator in body)) {
    const parts: Buffer[] = [header];
    let n = 0;
    if (body) {
      for (const chunk of body as Iterable<Buffer>) {
        n += chunk.length;
        if (n > expected) throw wrong(n);
        parts.push(chunk);
      }
    }
    if (n !== expected) throw wrong(n);
    if (pad > 0) parts.push(PADDING.subarray(0, pad));
    yield parts.length === 1 ? header : Buffer.concat(parts, header.length + n + pad);
    return;
  }
  yield header;
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > expected) throw wrong(n);
    if (chunk.length > 0) yield chunk;
  }
  if (n !== expected) throw wrong(n);
  if (pad > 0) yield PADDING.subarray(0, pad);
}

/**
 * A tar stream as Go's `tar.Writer` writes it: each entry's header blocks, its data (large bodies
 * passed through, never copied; small ones joined with their header), NUL padding to a block,
 * and two zero blocks at the end. A body whose length differs from the header's size is a
 * ReproError (Go: ErrWriteTooLong or "missed writing"). Padding chunks may be views of a shared
 * zero buffer: consumers must not write into what they are given.
 */
export async function* goTarStream(entries: AsyncIterable<GoTarStreamEntry> | Iterable<GoTarStreamEntry>, where = 'tar stream'): AsyncGenerator<Buffer> {
  for await (const e of entries) yield* entryChunks(goTarHeader(e.header), e, dataSize(e.header), where);
  yield Buffer.alloc(1024);
}
