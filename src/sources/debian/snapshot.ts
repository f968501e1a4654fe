/**
 * Debian snapshots, laid out as snapshot.debian.org serves them: one tree per archive and
 * timestamp, `<base>/archive/<archive>/<YYYYMMDDTHHMMSSZ>/` holding `dists/` and `pool/` as a mirror
 * does (the archive is `debian`, or `debian-security` for a `-security` suite). The timestamps an
 * archive has are listed, as JSON, by the service's machine-readable interface:
 * `<base>/mr/timestamp/?archive=<archive>` → `{"result": {"<archive>": ["…", …]}}`. The service
 * answers a timestamp it does not hold with the one before it, so one timestamp serves every
 * archive. A base is the service's root (`https://snapshot.debian.org`, or a copy of it).
 */
import { ReproError } from '../../model/errors.js';
import { parseJsonBytes } from '../../model/json.js';
import { fetchBytes } from '../../fetch/get.js';
import { safeUrl } from '../../fetch/http.js';

/** The documented default base: the public snapshot service. */
export const SNAPSHOT_SERVICE = 'https://snapshot.debian.org';

const TIMESTAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The seconds since the epoch of a snapshot timestamp, or undefined when it is not one (20250520T000000Z). */
export function timestampEpoch(ts: string): number | undefined {
  const m = TIMESTAMP.exec(ts);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return t / 1000;
}

/** The archive of the snapshot service that holds a suite. */
export function archiveOf(suite: string): 'debian' | 'debian-security' {
  return suite.endsWith('-security') ? 'debian-security' : 'debian';
}

/** The bases of a snapshot source: its mirrors, else the public service. */
export function snapshotBases(mirrors: string[] | undefined): string[] {
  return mirrors ? mirrors.map((m) => m.replace(/\/+$/, '')) : [SNAPSHOT_SERVICE];
}

/** The roots (where `dists/` and `pool/` are) of a suite at a timestamp, one per base. */
export function snapshotRoots(bases: string[], suite: string, timestamp: string): string[] {
  return bases.map((b) => `${b}/archive/${archiveOf(suite)}/${timestamp}`);
}

/** The newest timestamp of an archive, asked of each base in turn until one answers. */
export async function latestTimestamp(bases: string[], archive: string): Promise<string> {
  const failures: string[] = [];
  for (const base of bases) {
    const url = `${base}/mr/timestamp/?archive=${encodeURIComponent(archive)}`;
    try {
      const bytes = await fetchBytes(url, { limit: 16 << 20 });
      // Not V8's message: it quotes the start of the body (an HTML page, newlines and all).
      const json = parseJsonBytes(bytes, 'not JSON');
      const list = (json as { result?: Record<string, unknown> } | null)?.result?.[archive];
      if (!Array.isArray(list)) throw new ReproError('E_BAD_INPUT', `no result.${archive} list of timestamps`);
      const valid = list.filter((t): t is string => typeof t === 'string' && timestampEpoch(t) !== undefined).sort();
      const newest = valid.at(-1);
      if (newest === undefined) throw new ReproError('E_BAD_INPUT', `no timestamp in result.${archive}`);
      return newest;
    } catch (e) {
      if (e instanceof ReproError && e.code === 'E_USAGE') throw e;
      // The query is ours (no secret in it), so it is shown; the base goes through safeUrl.
      failures.push(`${safeUrl(`${base}/mr/timestamp/`)}?archive=${encodeURIComponent(archive)}: ${(e as Error).message}`);
    }
  }
  throw new ReproError('E_NETWORK', `no snapshot service listed the timestamps of ${archive}: ${failures.join('; ')}`);
}
