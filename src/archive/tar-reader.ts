/**
 * A streaming tar reader for every dialect we meet in root filesystems and layers: ustar, pax
 * (local and global records), GNU long names and base-256 numbers, old v7 headers.
 */
import { ReproError } from '../model/errors.js';
import { ByteReader } from './byte-reader.js';
import { checkPathLimits } from './paths.js';
import {
  BLOCK, NUMERIC_RANGE, PATH_MAX, TypeFlag, decodeHeader, decodeName, decodePaxRecords, inRange, isZeroBlock, padding,
  type HeaderFields, type HeaderMagic, type NumericField,
} from './tar-header.js';

/**
 * How a member was spelled: the header magic, plus how long names were carried
 * (`pax`: a local pax header; `gnu-longname`: GNU 'L'/'K' members).
 */
export interface TarDialect {
  magic: HeaderMagic;
  paxHeader: boolean;
  gnuLongName: boolean;
}

export interface TarMember {
  /** Member name as stored (after pax/GNU long names), not yet cleaned. */
  name: string;
  typeflag: number;
  mode: number;
  /** The header's whole mode field, file type bits included when the writer set them. */
  rawMode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Owner names (pax uname/gname win over the header's); '' when absent. */
  uname: string;
  gname: string;
  dialect: TarDialect;
  xattrs: Map<string, Buffer>;
  /** All pax records that applied to this member (global then local), for diagnostics. */
  pax: Map<string, Buffer>;
  /** Byte offset of the first header block belonging to this member (pax/GNU headers included). */
  headerOffset: number;
  /** Byte offset of the member's data in the uncompressed archive. */
  dataOffset: number;
}

const HEADER_ONLY = new Set<number>([
  TypeFlag.hardlink, TypeFlag.symlink, TypeFlag.char, TypeFlag.block, TypeFlag.dir, TypeFlag.fifo,
]);

const MAX_META = 16 << 20; // a pax or GNU long-name body larger than this is not a real header

function decodeLibarchiveName(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ReproError('E_TAR_FORMAT', `${what}: malformed percent-encoding in the xattr name`);
  }
}

/** A pax number: decimal, an optional fraction only for times (dropped, rounding down), in range. */
function paxNumber(key: NumericField, text: string, at: string): number {
  const ok = key === 'mtime' ? /^-?[0-9]{1,20}(\.[0-9]{0,20})?$/.test(text) : /^[0-9]{1,20}$/.test(text);
  if (!ok) throw new ReproError('E_TAR_FORMAT', `${at}: malformed pax ${key} value ${JSON.stringify(text.slice(0, 40))}`);
  const v = Math.floor(Number(text));
  if (!inRange(key, v)) {
    const [lo, hi] = NUMERIC_RANGE[key];
    throw new ReproError('E_TAR_FORMAT', `${at}: pax ${key} ${text.slice(0, 40)} out of range (${lo}..${hi})`);
  }
  return v;
}

function applyPax(f: HeaderFields, pax: Map<string, Buffer>, where: string, offset: number): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  if (pax.size === 0) return xattrs; // most members: no message to prepare
  const at = `${where}: member ${JSON.stringify(f.name.slice(0, 100))} at byte offset ${offset}`;
  for (const [key, value] of pax) {
    const text = (): string => value.toString('utf8');
    if (key === 'path' || key === 'linkpath') {
      if (value.length > PATH_MAX) {
        throw new ReproError('E_BAD_INPUT', `${at}: pax ${key} of ${value.length} bytes is longer than PATH_MAX (${PATH_MAX})`);
      }
      const s = decodeName(value, `${at}: pax ${key}`);
      if (s.includes('\0')) throw new ReproError('E_TAR_FORMAT', `${at}: pax ${key} holds a NUL byte`);
      if (key === 'path') f.name = s;
      else f.linkname = s;
    } else if (key === 'size' || key === 'uid' || key === 'gid' || key === 'mtime') {
      f[key] = paxNumber(key, text(), at);
    } else if (key === 'uname') f.uname = text();
    else if (key === 'gname') f.gname = text();
    else if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      xattrs.set(decodeLibarchiveName(key.slice('LIBARCHIVE.xattr.'.length), at), Buffer.from(text(), 'base64'));
    } else if (key.startsWith('GNU.sparse.')) {
      throw new ReproError('E_UNSUPPORTED', `${where}: sparse member at byte offset ${offset} is not supported; re-create the archive without --sparse`);
    }
  }
  return xattrs;
}

/** A member and its data: read through `body`, or at once with `whole` when the data is at hand. */
export interface TarItem {
  member: TarMember;
  body: () => AsyncGenerator<Buffer>;
  /**
   * The whole data as one view of the input, when it lies in the chunk being read (most small
   * members); else undefined, and the data is read through `body`. Either, once.
   */
  whole: () => Buffer | undefined;
}

/** What a header block is: a metadata header whose `meta` bytes come next, or a member with `dataLen` bytes of data. */
export type HeaderStep = { meta: number } | { member: TarMember; dataLen: number };

/**
 * The reading of header blocks, whatever brings them: the pax records (global and local) and GNU
 * long names that apply to the next member, and the member each non-metadata header makes. Pure:
 * `readTar` (a stream) and `readTarAt` (a file read at offsets) feed it the same blocks.
 */
export class TarHeaders {
  private global = new Map<string, Buffer>();
  private local = new Map<string, Buffer>();
  private longName: string | undefined;
  private longLink: string | undefined;
  private memberStart = -1;
  /** The metadata header whose data `meta` is to get: its type and offset. */
  private pending: { typeflag: number; offset: number } | undefined;

  constructor(private readonly where: string) {}

  /** The header block at byte `offset` (not a zero block). */
  header(block: Buffer, offset: number): HeaderStep {
    const where = this.where;
    if (this.memberStart < 0) this.memberStart = offset;
    const f = decodeHeader(block, offset, where);
    const t = f.typeflag;
    if (t === TypeFlag.paxLocal || t === TypeFlag.paxGlobal || t === TypeFlag.gnuLongName || t === TypeFlag.gnuLongLink) {
      if (f.size > MAX_META) throw new ReproError('E_TAR_FORMAT', `${where}: ${f.size}-byte metadata header at byte offset ${offset}`);
      this.pending = { typeflag: t, offset };
      return { meta: f.size };
    }
    if (t === TypeFlag.gnuSparse) {
      throw new ReproError('E_UNSUPPORTED', `${where}: GNU sparse member at byte offset ${offset} is not supported; re-create the archive without --sparse`);
    }
    if (t === TypeFlag.gnuMultiVol) {
      throw new ReproError('E_UNSUPPORTED', `${where}: multi-volume member at byte offset ${offset} is not supported`);
    }
    const { local, global, longName, longLink, memberStart } = this;
    const dialect: TarDialect = { magic: f.magic ?? 'v7', paxHeader: local.size > 0, gnuLongName: longName !== undefined || longLink !== undefined };
    if (longName !== undefined) f.name = longName;
    if (longLink !== undefined) f.linkname = longLink;
    const pax = global.size === 0 && local.size === 0 ? new Map<string, Buffer>() : new Map([...global, ...local]);
    const xattrs = applyPax(f, pax, where, memberStart);
    checkPathLimits(f.name, f.linkname, `${where}: member at byte offset ${memberStart}`);
    const dataLen = HEADER_ONLY.has(t) ? 0 : f.size;
    const member: TarMember = {
      name: f.name, typeflag: t, mode: f.mode & 0o7777, rawMode: f.mode, uid: f.uid, gid: f.gid,
      size: HEADER_ONLY.has(t) ? 0 : f.size, mtime: f.mtime, linkname: f.linkname,
      devmajor: f.devmajor, devminor: f.devminor, uname: f.uname ?? '', gname: f.gname ?? '', dialect, xattrs, pax,
      headerOffset: memberStart, dataOffset: offset + BLOCK,
    };
    if (local.size > 0) this.local = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    this.memberStart = -1;
    return { member, dataLen };
  }

  /** The data of the metadata header `header` last returned. */
  meta(data: Buffer): void {
    const p = this.pending;
    if (!p) throw new Error('internal: tar metadata without its header');
    this.pending = undefined;
    const { typeflag: t, offset } = p;
    const where = this.where;
    if (t === TypeFlag.paxLocal) for (const [k, v] of decodePaxRecords(data, offset + BLOCK, where)) this.local.set(k, v);
    else if (t === TypeFlag.paxGlobal) {
      this.global = new Map([...this.global, ...decodePaxRecords(data, offset + BLOCK, where)]);
    } else {
      // A C string: up to the first NUL.
      const nul = data.indexOf(0);
      const bytes = nul < 0 ? data : data.subarray(0, nul);
      const what = t === TypeFlag.gnuLongName ? 'GNU long name' : 'GNU long link target';
      if (bytes.length > PATH_MAX) {
        throw new ReproError('E_BAD_INPUT', `${where}: ${what} of ${bytes.length} bytes at byte offset ${offset} is longer than PATH_MAX (${PATH_MAX})`);
      }
      const s = decodeName(bytes, `${where}: ${what} at byte offset ${offset}`);
      if (t === TypeFlag.gnuLongName) this.longName = s;
      else this.longLink = s;
    }
  }
}

/**
 * Yields each member. The member's data must be read through `body` before the next iteration,
 * or it is skipped. The archive must end with a zero block (a truncated archive is an error).
 */
export async function* readTar(
  source: AsyncIterable<Buffer | Uint8Array>,
  where: string,
  opts: { onEnd?: (endOffset: number) => void } = {},
): AsyncGenerator<TarItem> {
  const r = new ByteReader(source, where);
  const headers = new TarHeaders(where);
  try {
    for (;;) {
      // Most headers and paddings lie in the chunk at hand: taken without waiting on a promise.
      if (r.buffered === 0 && await r.atEnd()) {
        throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated: no end-of-archive marker (input ends at byte offset ${r.position})`);
      }
      const offset = r.position;
      const block = r.buffered >= BLOCK ? r.take(BLOCK) : await r.read(BLOCK, 'a tar header');
      if (isZeroBlock(block)) {
        // End of archive: a second zero block should follow; a lone one at EOF is accepted. The
        // rest (record padding) is read so that the producer finishes and reports its own errors.
        opts.onEnd?.(offset);
        await r.drain();
        return;
      }
      const step = headers.header(block, offset);
      if ('meta' in step) {
        headers.meta(await r.read(step.meta, 'extended header data'));
        await r.skip(padding(step.meta), 'padding');
        continue;
      }
      const { member, dataLen } = step;
      let consumed = false;
      const dataOf = (): string => `the data of ${JSON.stringify(member.name)}`;
      const body = (): AsyncGenerator<Buffer> => {
        consumed = true;
        return r.chunks(dataLen, dataOf);
      };
      const whole = (): Buffer | undefined => {
        if (consumed || r.buffered < dataLen) return undefined;
        consumed = true;
        return r.take(dataLen);
      };
      yield { member, body, whole };
      if (!consumed) {
        if (r.buffered >= dataLen) r.take(dataLen);
        else await r.skip(dataLen, dataOf);
      } else if (r.position !== member.dataOffset + dataLen) {
        await r.skip(member.dataOffset + dataLen - r.position, dataOf);
      }
      const pad = padding(dataLen);
      if (r.buffered >= pad) r.take(pad);
      else await r.skip(pad, 'padding');
    }
  } finally {
    await r.close();
  }
}

/**
 * Reads `length` bytes at `position` of an archive held somewhere that can be read at any offset
 * (a file); fewer only at its end. The bytes may be a view that the next call reuses.
 */
export type ReadAt = (position: number, length: number) => Buffer;

/**
 * The members of an archive of `size` bytes read at offsets: headers only, each member's data
 * left where it lies (at `member.dataOffset`, `dataLen` bytes) for the caller to read, or not.
 * The same members, checks and messages as `readTar`; the bytes after the end-of-archive marker
 * are not read. A member whose data runs past the end is yielded, and the walk fails when it
 * goes on (its data is not all there: not to be used). Nothing a member holds is a view of what
 * `read` returns (decodePaxRecords copies the values), so `read` may reuse its buffer.
 */
export function* readTarAt(read: ReadAt, size: number, where: string): Generator<{ member: TarMember; dataLen: number }> {
  const headers = new TarHeaders(where);
  const exactly = (position: number, n: number, what: string): Buffer => {
    const b = n === 0 ? Buffer.alloc(0) : read(position, n);
    if (b.length < n) {
      throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated: input ends at byte offset ${position + b.length} inside ${what} (${n} bytes expected from offset ${position})`);
    }
    return b;
  };
  let offset = 0;
  for (;;) {
    if (offset >= size) throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated: no end-of-archive marker (input ends at byte offset ${size})`);
    const block = exactly(offset, BLOCK, 'a tar header');
    if (isZeroBlock(block)) return;
    const step = headers.header(block, offset);
    offset += BLOCK;
    if ('meta' in step) {
      headers.meta(exactly(offset, step.meta, 'extended header data'));
      offset += step.meta + padding(step.meta);
      if (offset > size) throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated: input ends at byte offset ${size} inside padding`);
      continue;
    }
    const end = offset + step.dataLen;
    // A member whose data is cut is yielded first, as readTar yields it before its body fails:
    // what the caller makes of the member (a check that throws) comes before the truncation.
    yield step;
    if (end > size) throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated: input ends at byte offset ${size} inside the data of ${JSON.stringify(step.member.name)}`);
    offset = end + padding(step.dataLen);
    if (offset > size) throw new ReproError('E_TAR_TRUNCATED', `${where}: truncated: input ends at byte offset ${size} inside padding`);
  }
}
