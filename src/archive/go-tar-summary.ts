/**
 * The content summary buildah writes into the history of ADD and COPY (`ADD file:<hex> in /`):
 * the SHA-256 of a tar stream that has gone through three Go `tar.Writer`s, exactly as buildah
 * 1.43 pipes it (add.go, digester.go):
 *
 *   1. `copier.Get` writes the source: the headers of a directory walk, or, for an archive that
 *      ADD extracts, each header as Go's `tar.Reader` read it (times and format kept);
 *   2. a tar filter (counting items) reads that stream and writes every header again;
 *   3. the digester's tar filter reads it and writes every header with ModTime, AccessTime and
 *      ChangeTime set to Go's zero time, in the format its reader reported; the SHA-256 of what it
 *      writes (data copied, two zero blocks at the end) is the summary.
 *
 * Each round trip can change a header (a V7 header becomes USTAR or PAX, a GNU header keeps GNU
 * long names, a PAX header stays PAX even when its only record was a time), so all three are run.
 * See docs/go-tar.md and docs/podman-compat-facts.md §3.3.
 */
import { createHash } from 'node:crypto';
import { ReproError } from '../model/errors.js';
import {
  GO_END_OF_ARCHIVE, GoTarError, ZERO_TIME, entryChunks, goTarHeader, goWriteHeader, isHeaderOnlyType, isZeroTime, rawHeader,
  type GoHeader, type RawGoHeader,
} from './go-tar.js';
import { goReadHeaderBlocks, goTarRead } from './go-tar-reader.js';

const PADDING = Buffer.alloc(512);

export function shown(h: RawGoHeader): string {
  const s = Buffer.from(h.name, 'latin1').toString('utf8');
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}

export function write(h: RawGoHeader, where: string, stage: string): Buffer {
  try {
    return goWriteHeader(h);
  } catch (e) {
    if (e instanceof GoTarError) {
      throw new ReproError('E_UNSUPPORTED', `${where}: ${shown(h)}: ${stage} cannot write this header (podman's build fails the same way): ${e.message}`);
    }
    throw e;
  }
}

/**
 * The header blocks the digester writes for a header that `copier.Get` writes as `h0`: the three
 * writers of buildah's pipe and the two readers between them.
 */
export async function summaryHeader(h0: RawGoHeader, where: string): Promise<Buffer> {
  const b1 = write(h0, where, 'copier.Get\'s tar writer');
  const h1 = await goReadHeaderBlocks(b1, `${where}: ${shown(h0)} as copier.Get wrote it`);
  const b2 = write(h1, where, 'buildah\'s tar filter');
  const h2 = await goReadHeaderBlocks(b2, `${where}: ${shown(h0)} as buildah's tar filter wrote it`);
  h2.modTime = ZERO_TIME;
  h2.accessTime = ZERO_TIME;
  h2.changeTime = ZERO_TIME;
  return write(h2, where, 'buildah\'s digester');
}

/**
 * The digested stream of ADD of an archive (already decompressed): the archive read as Go reads
 * it (up to its end-of-archive marker; what follows is never read), every entry through the three
 * writers, data copied, two zero blocks. What podman refuses is a ReproError.
 */
export async function* goTarReencode(archive: AsyncIterable<Buffer | Uint8Array>, where: string): AsyncGenerator<Buffer> {
  for await (const e of goTarRead(archive, where)) {
    const h = e.header;
    yield await summaryHeader(h, `${where}: entry at byte offset ${e.offset}`);
    if (h.size === 0n) continue;
    if (isHeaderOnlyType(h.typeflag)) {
      throw new ReproError('E_TAR_FORMAT', `${where}: entry at byte offset ${e.offset} (${shown(h)}): a type-${String.fromCharCode(h.typeflag)} entry with size ${h.size}; Go reads no data for it and podman's ADD fails ("incorrect length")`);
    }
    for await (const chunk of e.body()) yield chunk;
    const pad = (512 - (e.dataSize % 512)) % 512;
    if (pad > 0) yield PADDING.subarray(0, pad);
  }
  yield Buffer.from(GO_END_OF_ARCHIVE);
}

export interface SummaryEntry {
  /** The header as copier.Get builds it (`tar.FileInfoHeader`, names relative, uname/gname empty). */
  header: GoHeader;
  /** A regular file's data: exactly `header.size` bytes. */
  body?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

/** 2^33 s: the first mtime the 11 octal digits of a USTAR header cannot hold. */
const OCTAL_TIME_LIMIT = 8589934592n;

/**
 * True when the header's times cannot have steered the writers of a pipe: no format asked for,
 * a whole-second mtime that USTAR holds, no atime or ctime. Then the first writer chose its format
 * and PAX records for reasons the later ones see again, and each round trip gives back the same
 * header: the pipe's last write is one write of the header with its times changed.
 */
export function simpleTimes(h: RawGoHeader): boolean {
  return h.format === 0 && h.modTime.nsec === 0 && h.modTime.sec >= 0n && h.modTime.sec < OCTAL_TIME_LIMIT
    && isZeroTime(h.accessTime) && isZeroTime(h.changeTime);
}

/**
 * The digested stream of COPY or ADD of a directory or a single file: the entries of copier.Get's
 * walk (in `filepath.WalkDir` order, made by the caller), each header through the three writers.
 */
export async function* goSummaryStream(entries: AsyncIterable<SummaryEntry> | Iterable<SummaryEntry>, where: string): AsyncGenerator<Buffer> {
  let index = 0;
  for await (const e of entries) {
    let h0: RawGoHeader;
    try {
      h0 = rawHeader(e.header);
    } catch (err) {
      if (err instanceof GoTarError) throw new ReproError('E_UNSUPPORTED', `${where}: entry ${index}: ${err.message}`);
      throw err;
    }
    let header: Buffer;
    if (simpleTimes(h0)) {
      try {
        header = goTarHeader({ ...e.header, mtime: 0, mtimeNsec: 0 }); // a zero time is written as 0
      } catch (err) {
        if (err instanceof ReproError) throw new ReproError(err.code, `${where}: ${err.message}`);
        throw err;
      }
    } else {
      header = await summaryHeader(h0, where);
    }
    // copier.Get copies data for regular files only.
    yield* entryChunks(header, e, h0.typeflag === 0x30 || h0.typeflag === 0 ? e.header.size : 0, where);
    index++;
  }
  yield Buffer.from(GO_END_OF_ARCHIVE);
}

/** The SHA-256 (hex) of a stream. */
export async function sha256Hex(stream: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

/** `file:<hex>` (a file or an archive ADD extracts) or `dir:<hex>` (a directory) of a summary stream. */
export async function contentSummary(kind: 'file' | 'dir', stream: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<string> {
  return `${kind}:${await sha256Hex(stream)}`;
}

/**
 * The summary of several sources (`CompositeDigester.Digest`): `multi:` and the SHA-256 of the
 * parts joined by commas, each `file:<hex>` or `dir:<hex>` (a bare hex for a URL's content).
 */
export function multiContentSummary(parts: readonly string[]): string {
  if (parts.length === 1) return parts[0]!;
  return `multi:${createHash('sha256').update(parts.join(','), 'utf8').digest('hex')}`;
}

/**
 * buildah's `isArchivePath` after decompression: true when Go's reader returns a first entry
 * without an error (an empty archive, two zero blocks, is not an archive: ADD copies the file).
 */
export async function isGoTarArchive(source: AsyncIterable<Buffer | Uint8Array>): Promise<boolean> {
  try {
    for await (const e of goTarRead(source, 'archive probe')) {
      void e;
      return true;
    }
    return false;
  } catch (e) {
    // Go's Next also returns what we refuse to go on with (a sparse file, a size beyond any input).
    if (e instanceof ReproError) return e.code === 'E_UNSUPPORTED';
    throw e;
  }
}
