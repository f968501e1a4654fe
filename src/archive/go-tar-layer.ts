/**
 * A layer tar as podman 5.8 / buildah 1.43 writes it with `--source-date-epoch --rewrite-timestamp`
 * (or `--timestamp`): containers/storage writes each header with Go's `tar.Writer` (format left to
 * Go), buildah's layer filter (`makeFilteredLayerWriteCloser`) reads it back with Go's `tar.Reader`,
 * sets ModTime to the timestamp or clamps it to the epoch, and writes it again in the format the
 * reader reported. The second write differs from a plain one only where the first chose PAX for a
 * reason the clamp removed (an mtime of 2^33 s or later): the entry stays PAX, so a long name
 * that USTAR could split goes into a `path` record. See docs/go-tar.md and docs/podman-compat-facts.md §1.
 */
import { ReproError } from '../model/errors.js';
import {
  FORMAT_UNKNOWN, GoTarError, dataSize, entryChunks, goTarHeader, isZeroTime, rawHeader, unixTime,
  type GoHeader, type GoTime, type GoTarStreamEntry,
} from './go-tar.js';
import { goReadHeaderBlocks } from './go-tar-reader.js';
import { shown, write } from './go-tar-summary.js';

export interface LayerTimes {
  /** `--source-date-epoch` with `--rewrite-timestamp`: later times become this. */
  sourceDateEpoch?: number;
  /** `--timestamp`: every set time becomes this (then clamped by sourceDateEpoch if both). */
  timestamp?: number;
}

function later(a: GoTime, b: GoTime): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}

const OCTAL_TIME_LIMIT = 2 ** 33;

/**
 * `goLayerHeader` where it needs no second reading (both times fit USTAR's octal field: the filter
 * writes what one writer makes of the header with its new time), or undefined.
 */
export function goLayerHeaderAtOnce(h: GoHeader, times: LayerTimes, where = 'layer'): Buffer | undefined {
  const unknown = h.format === undefined || h.format === 'unknown';
  if (unknown && (times.sourceDateEpoch === undefined || Number.isSafeInteger(times.sourceDateEpoch))
    && (times.timestamp === undefined || Number.isSafeInteger(times.timestamp))) {
    let mtime = times.timestamp ?? h.mtime;
    if (times.sourceDateEpoch !== undefined && mtime > times.sourceDateEpoch) mtime = times.sourceDateEpoch;
    if (h.mtime >= 0 && h.mtime < OCTAL_TIME_LIMIT && mtime >= 0 && mtime < OCTAL_TIME_LIMIT) {
      try {
        return goTarHeader({ ...h, mtime, mtimeNsec: 0 });
      } catch (e) {
        if (e instanceof ReproError) throw new ReproError(e.code, `${where}: ${e.message}`);
        throw e;
      }
    }
  }
  return undefined;
}

/** The header blocks of one layer entry after storage's writer and buildah's filter. */
export async function goLayerHeader(h: GoHeader, times: LayerTimes, where = 'layer'): Promise<Buffer> {
  const atOnce = goLayerHeaderAtOnce(h, times, where);
  if (atOnce) return atOnce;
  let raw;
  try {
    raw = rawHeader(h);
  } catch (e) {
    if (e instanceof GoTarError) throw new ReproError('E_UNSUPPORTED', `${where}: ${e.message}`);
    throw e;
  }
  // containers/storage truncates the mtime to whole seconds before its writer sees it.
  if (raw.format === FORMAT_UNKNOWN) raw.modTime = { sec: raw.modTime.sec, nsec: 0 };
  const first = write(raw, where, 'containers/storage\'s tar writer');
  if (times.sourceDateEpoch === undefined && times.timestamp === undefined) return first;
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

/**
 * The layer tar of `entries` (in the layer's order, with their times as on disk): each header
 * through storage's writer and buildah's filter, data passed through and padded (see
 * `entryChunks`), two zero blocks at the end.
 */
export async function* goLayerStream(
  entries: AsyncIterable<GoTarStreamEntry> | Iterable<GoTarStreamEntry>,
  times: LayerTimes,
  where = 'layer',
): AsyncGenerator<Buffer> {
  for await (const e of entries) yield* entryChunks(await goLayerHeader(e.header, times, where), e, dataSize(e.header), where);
  yield Buffer.alloc(1024);
}
