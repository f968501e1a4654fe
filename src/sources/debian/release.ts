/**
 * InRelease: an OpenPGP cleartext-signed Release file. Only the signed text is ever used, and only
 * when at least one signature verifies against the keyring. The Release lists the indexes with
 * their sizes and SHA-256.
 */
import * as openpgp from 'openpgp';
import { ReproError } from '../../model/errors.js';
import { field, parseParagraphs } from './control.js';

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

/** Reads every key of every keyring given (binary or ASCII-armored). */
export async function readKeyrings(keyrings: Array<{ name: string; bytes: Buffer }>): Promise<openpgp.Key[]> {
  const keys: openpgp.Key[] = [];
  for (const k of keyrings) {
    try {
      const armored = k.bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
      keys.push(...(armored ? await openpgp.readKeys({ armoredKeys: k.bytes.toString('utf8') }) : await openpgp.readKeys({ binaryKeys: k.bytes })));
    } catch (e) {
      throw new ReproError('E_BAD_INPUT', `${k.name}: not an OpenPGP keyring (${(e as Error).message})`);
    }
  }
  return keys;
}

/** Verifies a cleartext-signed file and returns the signed text and the key ids that verified. */
export async function verifyCleartext(text: string, keys: openpgp.Key[], where: string): Promise<{ data: string; signers: string[] }> {
  let message;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (e) {
    throw new ReproError('E_SIGNATURE', `${where}: not an OpenPGP signed message (${(e as Error).message})`);
  }
  const result = await openpgp.verify({ message, verificationKeys: keys });
  const signers: string[] = [];
  const failures: string[] = [];
  for (const s of result.signatures) {
    try {
      await s.verified;
      signers.push(s.keyID.toHex());
    } catch (e) {
      failures.push(`${s.keyID.toHex()}: ${(e as Error).message}`);
    }
  }
  if (signers.length === 0) {
    throw new ReproError('E_SIGNATURE', `${where}: no valid signature from the keyring (${failures.join('; ') || 'no signatures'})`);
  }
  return { data: result.data as string, signers: signers.sort() };
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
