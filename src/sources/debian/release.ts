/**
 * InRelease: an OpenPGP cleartext-signed Release file. Only the signed text is ever used, and only
 * when at least one signature verifies against the keyring. The Release lists the indexes with
 * their sizes and SHA-256.
 */
import { ReproError } from '../../model/errors.js';
import { field, parseParagraphs } from './control.js';

// The OpenPGP checks are shared with the other sources; Debian's callers import them from here.
export { readKeyrings, verifyCleartext } from '../openpgp.js';

export interface ReleaseFile {
  date: string;
  /** The Date as seconds since the epoch. */
  epoch: number;
  suite?: string;
  codename?: string;
  architectures: string[];
  components: string[];
  /** Index path (e.g. main/binary-amd64/Packages.gz) → size and SHA-256. */
  files: Map<string, { size: number; sha256: string }>;
}

/** Release Date (RFC 2822, as Debian writes it) → seconds since the epoch. */
export function parseReleaseDate(date: string, where: string): number {
  const m = /^(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT|\+0000|Z)$/.exec(date.trim());
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const mon = m ? months.indexOf(m[2]!) : -1;
  if (!m || mon < 0) throw new ReproError('E_BAD_INPUT', `${where}: Date ${JSON.stringify(date)} is not an RFC 2822 UTC date`);
  return Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
}

export function parseRelease(data: string, where: string): ReleaseFile {
  const [p] = parseParagraphs(data, where);
  if (!p) throw new ReproError('E_BAD_INPUT', `${where}: empty Release file`);
  const date = field(p, 'Date');
  if (!date) throw new ReproError('E_BAD_INPUT', `${where}: no Date field`);
  const files = new Map<string, { size: number; sha256: string }>();
  for (const line of (field(p, 'SHA256') ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [sha256, size, path] = parts as [string, string, string];
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ReproError('E_BAD_INPUT', `${where}: SHA256 entry for ${path} is not 64 hex digits`);
    files.set(path, { size: Number(size), sha256 });
  }
  const rel: ReleaseFile = {
    date, epoch: parseReleaseDate(date, where),
    architectures: (field(p, 'Architectures') ?? '').split(/\s+/).filter(Boolean),
    components: (field(p, 'Components') ?? '').split(/\s+/).filter(Boolean),
    files,
  };
  const suite = field(p, 'Suite');
  const codename = field(p, 'Codename');
  if (suite) rel.suite = suite;
  if (codename) rel.codename = codename;
  return rel;
}
