/**
 * Go's `archive/tar` Reader, as buildah's copier and tar filters read archives: format detection
 * per header (USTAR, PAX, GNU, STAR, V7; a USTAR block with a non-ASCII byte or an unterminated
 * number is "unknown"), GNU long names and links, local PAX records (the last 'x' header wins
 * whole; a global 'g' header is an entry of its own and applies to nothing), every PAX record
 * kept in `paxRecords`, `SCHILY.xattr.*` as xattrs, octal and base-256 numbers, Go's ends of an
 * archive (two zero blocks, or the input ending at a header or inside the padding after data).
 * Sparse files are refused (Go would expand them; podman's layers never hold them).
 *
 * Errors are Go's errors turned into one-line ReproErrors naming the byte offset: where Go's
 * reader fails, podman's ADD fails, and so does ours.
 */
import { ReproError } from '../model/errors.js';
import {
  FORMAT_GNU, FORMAT_PAX, FORMAT_STAR, FORMAT_UNKNOWN, FORMAT_USTAR, FORMAT_V7, MAX_SPECIAL_FILE_SIZE,
  TYPE_GNU_LONGLINK, TYPE_GNU_LONGNAME, TYPE_GNU_SPARSE, TYPE_XGLOBAL, TYPE_XHEADER, ZERO_TIME,
  isASCII, isHeaderOnlyType, unixTime, validPAXRecord, type GoTime, type RawGoHeader,
} from './go-tar.js';

const EMPTY = Buffer.alloc(0);

/** Reads exact byte counts from chunks, as Go's io.ReadFull / tryReadFull see a stream. */
class Source {
  private readonly it: AsyncIterator<Buffer | Uint8Array>;
  private head: Buffer = EMPTY;
  private done = false;
  position = 0;

  constructor(source: AsyncIterable<Buffer | Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    while (this.head.length === 0) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.head = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
    return true;
  }

  /** Up to n bytes: fewer only at the end of the input. */
  async read(n: number): Promise<Buffer> {
    if (this.head.length >= n) {
      const out = this.head.subarray(0, n);
      this.head = this.head.subarray(n);
      this.position += n;
      return out;
    }
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n && (await this.pull())) {
      const take = Math.min(n - got, this.head.length);
      parts.push(this.head.subarray(0, take));
      this.head = this.head.subarray(take);
      got += take;
    }
    this.position += got;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Exactly n bytes as views of the input; the second value is false when the input ended first. */
  async *chunks(n: number): AsyncGenerator<Buffer, boolean> {
    let left = n;
    while (left > 0) {
      if (!(await this.pull())) return false;
      const take = Math.min(left, this.head.length);
      const out = this.head.subarray(0, take);
      this.head = this.head.subarray(take);
      this.position += take;
      left -= take;
      yield out;
    }
    return true;
  }

  /** Discards up to n bytes; false when the input ended first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (!(await this.pull())) return false;
      const take = Math.min(left, this.head.length);
      this.head = this.head.subarray(take);
      this.position += take;
      left -= take;
    }
    return true;
  }

  /** Puts bytes just read back in front of the input. */
  unshift(b: Buffer): void {
    this.head = this.head.length === 0 ? b : Buffer.concat([b, this.head]);
    this.position -= b.length;
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}

// ---- numbers and strings (Go's parser) -------------------------------------------------------

class Parser {
  err = false;

  string(b: Buffer, off: number, len: number): string {
    let end = off;
    const stop = off + len;
    while (end < stop && b[end] !== 0) end++;
    return b.toString('latin1', off, end);
  }

  numeric(b: Buffer, off: number, len: number): bigint {
    const first = b[off]!;
    if (first & 0x80) {
      const inv = first & 0x40 ? 0xff : 0;
      let x = 0n;
      for (let i = 0; i < len; i++) {
        let c = b[off + i]! ^ inv;
        if (i === 0) c &= 0x7f;
        if (x >> 56n > 0n) {
          this.err = true;
          return 0n;
        }
        x = (x << 8n) | BigInt(c);
      }
      if (x >> 63n > 0n) {
        this.err = true;
        return 0n;
      }
      return inv ? -x - 1n : x;
    }
    return this.octal(b, off, len);
  }

  octal(b: Buffer, off: number, len: number): bigint {
    let start = off;
    let end = off + len;
    while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
    while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
    if (start === end) return 0n;
    const s = this.string(b, start, end - start);
    if (!/^[0-7]+$/.test(s)) {
      this.err = true;
      return 0n;
    }
    const x = BigInt(`0o${s}`);
    if (x >> 64n > 0n) {
      this.err = true;
      return -1n; // strconv.ParseUint's range error returns the maximum value
    }
    return BigInt.asIntN(64, x);
  }
}

/** strconv.ParseInt(s, 10, 64), or undefined. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v === BigInt.asIntN(64, v) ? v : undefined;
}

/** Go's `parsePAXTime`. */
function parsePAXTime(s: string): GoTime | undefined {
  const dot = s.indexOf('.');
  const ss = dot < 0 ? s : s.slice(0, dot);
  const sn = dot < 0 ? '' : s.slice(dot + 1);
  const secs = parseInt64(ss);
  if (secs === undefined) return undefined;
  if (sn.length === 0) return unixTime(secs, 0n);
  if (!/^[0-9]+$/.test(sn)) return undefined;
  const nsecs = BigInt(sn.slice(0, 9).padEnd(9, '0'));
  return unixTime(secs, ss.startsWith('-') ? -nsecs : nsecs);
}

/** Go's `parsePAXRecord` over a byte string; undefined where Go returns ErrHeader. */
function parsePAXRecord(s: string, pos: number): { k: string; v: string; next: number } | undefined {
  const sp = s.indexOf(' ', pos);
  if (sp < 0) return undefined;
  const n = parseInt64(s.slice(pos, sp));
  if (n === undefined || n < 5n || n > BigInt(s.length - pos)) return undefined;
  const len = Number(n);
  const restStart = sp + 1;
  const m = len - (sp - pos + 1);
  if (m <= 0) return undefined;
  if (s[restStart + m - 1] !== '\n') return undefined;
  const rec = s.slice(restStart, restStart + m - 1);
  const eq = rec.indexOf('=');
  if (eq < 0) return undefined;
  const k = rec.slice(0, eq);
  const v = rec.slice(eq + 1);
  if (!validPAXRecord(k, v)) return undefined;
  return { k, v, next: restStart + m };
}

// ---- the reader -------------------------------------------------------------------------------

const SPARSE_OFFSET = 'GNU.sparse.offset';
const SPARSE_NUMBYTES = 'GNU.sparse.numbytes';
const SPARSE_MAP = 'GNU.sparse.map';

/** One entry as Go's `Reader.Next` returns it, with where it starts and a reader for its data. */
export interface GoTarEntry {
  header: RawGoHeader;
  /** Byte offset of the entry's first header block (meta headers included). */
  offset: number;
  /** Bytes of data that follow the header (0 for header-only types). */
  dataSize: number;
  /** The entry's data as views of the input; must be read before the next entry (or it is skipped). */
  body: () => AsyncGenerator<Buffer>;
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (b[i] !== 0) return false;
  return true;
}

/** Go's `block.getFormat`. */
function blockFormat(b: Buffer): number {
  const p = new Parser();
  const value = p.octal(b, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  if (p.err || (value !== BigInt(unsigned) && value !== BigInt(signed))) return FORMAT_UNKNOWN;
  const magic = b.toString('latin1', 257, 263);
  const version = b.toString('latin1', 263, 265);
  const trailer = b.toString('latin1', 508, 512);
  if (magic === 'ustar\0' && trailer === 'tar\0') return FORMAT_STAR;
  if (magic === 'ustar\0') return FORMAT_USTAR | FORMAT_PAX;
  if (magic === 'ustar ' && version === ' \0') return FORMAT_GNU;
  return FORMAT_V7;
}

/** Go's `readHeader` on one non-zero block: the header, or undefined where Go returns ErrHeader. */
function decodeBlock(b: Buffer): RawGoHeader | undefined {
  const format = blockFormat(b);
  if (format === FORMAT_UNKNOWN) return undefined;
  const p = new Parser();
  const h: RawGoHeader = {
    typeflag: b[156]!,
    name: p.string(b, 0, 100),
    linkname: p.string(b, 157, 100),
    size: p.numeric(b, 124, 12),
    mode: p.numeric(b, 100, 8),
    uid: p.numeric(b, 108, 8),
    gid: p.numeric(b, 116, 8),
    uname: '',
    gname: '',
    modTime: unixTime(p.numeric(b, 136, 12), 0n),
    accessTime: ZERO_TIME,
    changeTime: ZERO_TIME,
    devmajor: 0n,
    devminor: 0n,
    format: FORMAT_UNKNOWN,
  };
  if (format > FORMAT_V7) {
    h.uname = p.string(b, 265, 32);
    h.gname = p.string(b, 297, 32);
    h.devmajor = p.numeric(b, 329, 8);
    h.devminor = p.numeric(b, 337, 8);
    let prefix = '';
    if (format & (FORMAT_USTAR | FORMAT_PAX)) {
      h.format = format;
      prefix = p.string(b, 345, 155);
      for (let i = 0; i < 512; i++) {
        if (b[i]! >= 0x80) {
          h.format = FORMAT_UNKNOWN; // non-ASCII characters in the block
          break;
        }
      }
      for (const end of [135, 107, 115, 123, 147, 336, 344]) {
        if (b[end] !== 0) h.format = FORMAT_UNKNOWN; // numeric fields must end in NUL
      }
    } else if (format & FORMAT_STAR) {
      prefix = p.string(b, 345, 131);
      h.accessTime = unixTime(p.numeric(b, 476, 12), 0n);
      h.changeTime = unixTime(p.numeric(b, 488, 12), 0n);
    } else if (format & FORMAT_GNU) {
      h.format = format;
      const p2 = new Parser();
      if (b[345] !== 0) h.accessTime = unixTime(p2.numeric(b, 345, 12), 0n);
      if (b[357] !== 0) h.changeTime = unixTime(p2.numeric(b, 357, 12), 0n);
      if (p2.err) {
        // A pre-Go 1.8 writer's "GNU" header with a USTAR prefix in the time fields.
        h.accessTime = ZERO_TIME;
        h.changeTime = ZERO_TIME;
        const s = p.string(b, 345, 155);
        if (isASCII(s)) prefix = s;
        h.format = FORMAT_UNKNOWN;
      }
    }
    if (prefix.length > 0) h.name = `${prefix}/${h.name}`;
  }
  return p.err ? undefined : h;
}

/** Go's `parsePAX`: records of one 'x' or 'g' body (GNU sparse 0.0 offsets folded into a map). */
function parsePAX(data: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const sparse: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const r = parsePAXRecord(data, pos);
    if (!r) return undefined;
    pos = r.next;
    if (r.k === SPARSE_OFFSET || r.k === SPARSE_NUMBYTES) {
      const even = sparse.length % 2 === 0;
      if ((even && r.k !== SPARSE_OFFSET) || (!even && r.k !== SPARSE_NUMBYTES) || r.v.includes(',')) return undefined;
      sparse.push(r.v);
    } else {
      out.set(r.k, r.v);
    }
  }
  if (sparse.length > 0) out.set(SPARSE_MAP, sparse.join(','));
  return out;
}

/**
 * Go's `mergePAX`. Returns false where Go returns ErrHeader. Go visits the records in map order
 * and stops at the first bad one, so with a bad record the header is only partly merged (in an
 * order that differs from run to run): callers treat false as an error.
 */
function mergePAX(h: RawGoHeader, pax: Map<string, string>): boolean {
  for (const [k, v] of pax) {
    if (v === '') continue;
    switch (k) {
      case 'path': h.name = v; break;
      case 'linkpath': h.linkname = v; break;
      case 'uname': h.uname = v; break;
      case 'gname': h.gname = v; break;
      case 'uid':
      case 'gid':
      case 'size': {
        const n = parseInt64(v);
        if (n === undefined) return false;
        if (k === 'uid') h.uid = n;
        else if (k === 'gid') h.gid = n;
        else h.size = n;
        break;
      }
      case 'atime':
      case 'mtime':
      case 'ctime': {
        const t = parsePAXTime(v);
        if (!t) return false;
        if (k === 'atime') h.accessTime = t;
        else if (k === 'mtime') h.modTime = t;
        else h.changeTime = t;
        break;
      }
      default:
        if (k.startsWith('SCHILY.xattr.')) {
          h.xattrs ??= new Map();
          h.xattrs.set(k.slice('SCHILY.xattr.'.length), v);
        }
    }
  }
  h.paxRecords = pax;
  return true;
}

/** True where Go's `handleSparseFile` would find a sparse file (or fail on one). */
function isSparse(h: RawGoHeader): boolean {
  if (h.typeflag === TYPE_GNU_SPARSE) return true;
  const r = h.paxRecords;
  if (!r) return false;
  const major = r.get('GNU.sparse.major') ?? '';
  const minor = r.get('GNU.sparse.minor') ?? '';
  if (major === '0' && (minor === '0' || minor === '1')) return true;
  if (major === '1' && minor === '0') return true;
  if (major !== '' || minor !== '') return false;
  return (r.get(SPARSE_MAP) ?? '') !== '';
}

export interface GoTarReadOptions {
  /**
   * After Go's end of the archive, start a new reader on whatever follows, until the input ends
   * (buildah's tar filter does). By default reading stops at the end, as one `tar.Reader` does
   * (copier extracting an archive): what follows is never read.
   */
  untilInputEnds?: boolean;
}

/**
 * Reads `source` as Go's `tar.Reader` does and yields each entry (what `Next` returns). Errors
 * are ReproErrors naming `where` and the byte offset.
 */
export async function* goTarRead(
  source: AsyncIterable<Buffer | Uint8Array>,
  where: string,
  opts: GoTarReadOptions = {},
): AsyncGenerator<GoTarEntry> {
  const src = new Source(source);
  const fail = (code: 'E_TAR_FORMAT' | 'E_TAR_TRUNCATED' | 'E_UNSUPPORTED', at: number, what: string): never => {
    throw new ReproError(code, `${where}: byte offset ${at}: ${what}`);
  };
  try {
    for (;;) {
      // One Go reader: entries until its end of archive.
      let pad = 0;
      let ended = false;
      while (!ended) {
        // next()
        let format = FORMAT_USTAR | FORMAT_PAX | FORMAT_GNU;
        let pax: Map<string, string> | undefined;
        let longName = '';
        let longLink = '';
        let start = -1;
        let entry: GoTarEntry | undefined;
        for (;;) {
          if (pad > 0) {
            const want = pad;
            pad = 0;
            const got = await src.read(want);
            if (got.length < want) {
              ended = true; // tryReadFull: the input ended inside the padding, which Go takes as the end
              break;
            }
          }
          const at = src.position;
          if (start < 0) start = at;
          const blk = await src.read(512);
          if (blk.length === 0) {
            ended = true;
            break;
          }
          if (blk.length < 512) fail('E_TAR_TRUNCATED', at, `truncated: the input ends inside a header block (${blk.length} of 512 bytes)`);
          if (isZeroBlock(blk)) {
            const second = await src.read(512);
            if (second.length > 0 && second.length < 512) fail('E_TAR_TRUNCATED', at + 512, 'truncated: the input ends inside the second end-of-archive block');
            if (second.length === 512 && !isZeroBlock(second)) fail('E_TAR_FORMAT', at + 512, 'a zero block followed by a header (Go: archive/tar: invalid tar header)');
            ended = true;
            break;
          }
          const h = decodeBlock(blk);
          if (!h) fail('E_TAR_FORMAT', at, 'invalid tar header (bad checksum or malformed number; Go: archive/tar: invalid tar header)');
          const hdr = h!;
          let nb = isHeaderOnlyType(hdr.typeflag) ? 0n : hdr.size;
          if (nb < 0n) fail('E_TAR_FORMAT', at, `negative size ${hdr.size}`);
          format &= hdr.format;
          const t = hdr.typeflag;
          if (t === TYPE_XHEADER || t === TYPE_XGLOBAL || t === TYPE_GNU_LONGNAME || t === TYPE_GNU_LONGLINK) {
            if (nb > BigInt(MAX_SPECIAL_FILE_SIZE)) fail('E_TAR_FORMAT', at, `a ${nb}-byte ${t === TYPE_XHEADER || t === TYPE_XGLOBAL ? 'PAX' : 'GNU long name'} header is longer than Go's limit of ${MAX_SPECIAL_FILE_SIZE} bytes`);
            const n = Number(nb);
            const data = await src.read(n);
            if (data.length < n) fail('E_TAR_TRUNCATED', at + 512 + data.length, 'truncated: the input ends inside a PAX or GNU long name body');
            pad = (512 - (n % 512)) % 512;
            const text = data.toString('latin1');
            if (t === TYPE_XHEADER || t === TYPE_XGLOBAL) {
              format &= FORMAT_PAX;
              pax = parsePAX(text);
              if (!pax) fail('E_TAR_FORMAT', at + 512, 'malformed PAX record (Go: archive/tar: invalid tar header)');
              if (t === TYPE_XGLOBAL) {
                const g: RawGoHeader = { ...hdr };
                if (!mergePAX(g, pax!)) {
                  // Go ignores the error, but its merge stopped at the bad record in map order.
                  if ([...pax!].some(([k, v]) => v !== '' && (k === 'path' || k.startsWith('SCHILY.xattr.')))) {
                    fail('E_UNSUPPORTED', at, 'global PAX header with a malformed number or time beside a path or xattr record: Go merges it in random map order, so podman\'s result is not defined');
                  }
                  g.name = hdr.name;
                  delete g.xattrs;
                  delete g.paxRecords;
                }
                entry = {
                  header: {
                    typeflag: TYPE_XGLOBAL, name: g.name, linkname: '', size: 0n, mode: 0n, uid: 0n, gid: 0n, uname: '', gname: '',
                    modTime: ZERO_TIME, accessTime: ZERO_TIME, changeTime: ZERO_TIME, devmajor: 0n, devminor: 0n,
                    ...(g.xattrs ? { xattrs: g.xattrs } : {}), ...(g.paxRecords ? { paxRecords: g.paxRecords } : {}), format,
                  },
                  offset: start, dataSize: 0, body: async function* () { /* no data */ },
                };
                break;
              }
            } else {
              format &= FORMAT_GNU;
              const nul = text.indexOf('\0');
              const s = nul < 0 ? text : text.slice(0, nul);
              if (t === TYPE_GNU_LONGNAME) longName = s;
              else longLink = s;
            }
            continue;
          }
          if (pax && !mergePAX(hdr, pax)) fail('E_TAR_FORMAT', at, 'malformed number or time in a PAX record (Go: archive/tar: invalid tar header)');
          if (longName !== '') hdr.name = longName;
          if (longLink !== '') hdr.linkname = longLink;
          if (hdr.typeflag === 0) hdr.typeflag = hdr.name.endsWith('/') ? 0x35 : 0x30;
          nb = isHeaderOnlyType(hdr.typeflag) ? 0n : hdr.size;
          if (nb < 0n) fail('E_TAR_FORMAT', at, `negative size ${hdr.size}`);
          if (hdr.typeflag === TYPE_GNU_SPARSE && blockFormat(blk) !== FORMAT_GNU) fail('E_TAR_FORMAT', at, 'a GNU sparse header that is not in GNU format (Go: archive/tar: invalid tar header)');
          if (isSparse(hdr)) fail('E_UNSUPPORTED', start, `sparse member ${JSON.stringify(Buffer.from(hdr.name, 'latin1').toString('utf8').slice(0, 100))} is not supported; re-create the archive without --sparse`);
          if (nb > BigInt(Number.MAX_SAFE_INTEGER)) fail('E_UNSUPPORTED', at, `size ${nb} is beyond any input we read`);
          if (format & FORMAT_USTAR && format & FORMAT_PAX) format &= FORMAT_USTAR;
          hdr.format = format;
          const dataSize = Number(nb);
          let consumed = false;
          const dataAt = src.position;
          entry = {
            header: hdr,
            offset: start,
            dataSize,
            body: () => {
              consumed = true;
              return (async function* () {
                const complete = yield* src.chunks(dataSize);
                if (!complete) fail('E_TAR_TRUNCATED', src.position, `truncated: the input ends inside the data of ${JSON.stringify(Buffer.from(hdr.name, 'latin1').toString('utf8').slice(0, 100))} (${dataSize} bytes from offset ${dataAt})`);
              })();
            },
          };
          pad = (512 - (dataSize % 512)) % 512;
          yield entry;
          const left = dataSize - (src.position - dataAt);
          if (!consumed || left > 0) {
            if (!(await src.skip(left))) fail('E_TAR_TRUNCATED', src.position, 'truncated: the input ends inside an entry\'s data');
          }
          entry = undefined;
          break;
        }
        if (entry) yield entry; // a global header
      }
      if (!opts.untilInputEnds) return;
      const more = await src.read(1);
      if (more.length === 0) return;
      // buildah's filter starts a new tar.Reader on the rest: put the byte back.
      src.unshift(more);
    }
  } finally {
    await src.close();
  }
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** The header Go's reader reads from header blocks (as a Go writer wrote them, data not included). */
export async function goReadHeaderBlocks(blocks: Buffer, where: string): Promise<RawGoHeader> {
  for await (const e of goTarRead(once(blocks), where)) return e.header;
  throw new ReproError('E_TAR_FORMAT', `${where}: Go's reader finds no entry in these header blocks`);
}
