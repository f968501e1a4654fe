/**
 * A layer tar as podman 5.8 / buildah 1.43 writes it with `--source-date-epoch --rewrite-timestamp`
 * (or `--timestamp`): containers/storage writes each header with Go's `tar.Writer` (format left to
 * Go), buildah's layer filter (`makeFilteredLayerWriteCloser`) reads it back with Go's `tar.Reader`,
 * sets ModTime to the timestamp or clamps it to the epoch, and writes it again in the format the
 * reader reported. The second write differs from a plain one only where the first chose PAX for a
 * reason the clamp removed (an mtime of 2^33 s or later): the entry stays PAX, so a long name
 * that USTAR could split goes into a `path` record. See docs/podman-compat-facts.md §1 and §6.
 */
import { ReproError } from '../model/errors.js';
import {
  FORMAT_UNKNOWN, GO_END_OF_ARCHIVE, GoTarError, isHeaderOnlyType, isZeroTime, rawHeader, unixTime,
  type GoHeader, type GoTime, type GoTarStreamEntry,
} from './go-tar.js';
import { goReadHeaderBlocks } from './go-tar-reader.js';
import { shown, simpleTimes, write } from './go-tar-summary.js';

export interface LayerTimes {
  /** `--source-date-epoch` with `--rewrite-timestamp`: later times become this. */
  sourceDateEpoch?: number;
  /** `--timestamp`: every set time becomes this (then clamped by sourceDateEpoch if both). */
  timestamp?: number;
}

function later(a: GoTime, b: GoTime): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}

/** The header blocks of one layer entry after storage's writer and buildah's filter. */
export async function goLayerHeader(h: GoHeader, times: LayerTimes, where = 'layer'): Promise<Buffer> {
  let raw;
  try {
    raw = rawHeader(h);
  } catch (e) {
    if (e instanceof GoTarError) throw new ReproError('E_UNSUPPORTED', `${where}: ${e.message}`);
    throw e;
  }
  // containers/storage truncates the mtime to whole seconds before its writer sees it.
  if (raw.format === FORMAT_UNKNOWN) raw.modTime = { sec: raw.modTime.sec, nsec: 0 };
  if (times.sourceDateEpoch === undefined && times.timestamp === undefined) return write(raw, where, 'containers/storage\'s tar writer');
  const mod = rewritten(raw.modTime, times);
  if (simpleTimes(raw) && simpleTimes({ ...raw, modTime: mod })) {
    // Both times fit USTAR: the filter writes what one writer makes of the header with its new time.
    return write({ ...raw, modTime: mod }, where, 'buildah\'s layer filter');
  }
  const first = write(raw, where, 'containers/storage\'s tar writer');
  const r = await goReadHeaderBlocks(first, `${where}: ${shown(raw)} as containers/storage wrote it`);
  const m = rewritten(r.modTime, times);
  if (!isZeroTime(r.modTime)) r.modTime = m;
  if (!isZeroTime(r.accessTime)) r.accessTime = m;
  if (!isZeroTime(r.changeTime)) r.changeTime = m;
  return write(r, where, 'buildah\'s layer filter');
}

/** buildah's rule: the timestamp if given, then no later than the epoch. */
function rewritten(t: GoTime, times: LayerTimes): GoTime {
  let mod = t;
  if (times.timestamp !== undefined) mod = unixTime(BigInt(times.timestamp), 0n);
  if (times.sourceDateEpoch !== undefined) {
    const sde = unixTime(BigInt(times.sourceDateEpoch), 0n);
    if (later(mod, sde)) mod = sde;
  }
  return mod;
}

const PADDING = Buffer.alloc(512);

/**
 * The layer tar of `entries` (in the layer's order, with their times as on disk): each header
 * through storage's writer and buildah's filter, data passed through (never copied) and padded,
 * two zero blocks at the end. Chunks of padding are views of a shared zero buffer: consumers must
 * not write into what they are given.
 */
export async function* goLayerStream(
  entries: AsyncIterable<GoTarStreamEntry> | Iterable<GoTarStreamEntry>,
  times: LayerTimes,
  where = 'layer',
): AsyncGenerator<Buffer> {
  for await (const e of entries) {
    yield await goLayerHeader(e.header, times, where);
    const flag = typeof e.header.type === 'number' ? e.header.type : undefined;
    const expected = (flag !== undefined ? isHeaderOnlyType(flag) : e.header.type !== 'file') ? 0 : e.header.size;
    let n = 0;
    if (e.body) {
      for await (const chunk of e.body()) {
        n += chunk.length;
        if (n > expected) break;
        if (chunk.length > 0) yield chunk;
      }
    }
    if (n !== expected) {
      throw new ReproError('E_IO', `${where}: ${JSON.stringify(String(e.header.name).slice(0, 100))}: ${n > expected ? 'more than' : n} bytes of data where the header says ${expected}`);
    }
    const pad = (512 - (n % 512)) % 512;
    if (pad > 0) yield PADDING.subarray(0, pad);
  }
  yield Buffer.from(GO_END_OF_ARCHIVE);
}
