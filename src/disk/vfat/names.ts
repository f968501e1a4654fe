/**
 * FAT names: a name that is already an upper-case 8.3 name is stored as it is; any other gets
 * long-name (VFAT) entries and a generated short name, made as Microsoft's FAT specification
 * (fatgen103, "Basis-Name Generation Algorithm") says: upper-cased, spaces and leading periods
 * dropped, characters outside the short-name set turned into `_`, base cut to 8 and extension to
 * 3, and a `~N` tail (the lowest free N) when anything was lost or cut.
 */
import { ReproError } from '../../model/errors.js';

const SHORT_OK = /^[A-Z0-9!#$%&'()@^_`{}~-]$/;
const LONG_BAD = /["*/:<>?\\|\u0000-\u001f]/;

/** Checks a name can be a VFAT long name. */
export function checkLongName(name: string, where: string): void {
  if (LONG_BAD.test(name)) throw new ReproError('E_UNSUPPORTED', `${where}: the name ${JSON.stringify(name)} has a character FAT does not allow`);
  if (/[. ]$/.test(name)) throw new ReproError('E_UNSUPPORTED', `${where}: FAT drops the trailing dot or space of ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name, 'utf16le') > 255 * 2) throw new ReproError('E_UNSUPPORTED', `${where}: the name ${JSON.stringify(name)} is longer than 255 UTF-16 units`);
}

/** The 11-byte short name if `name` is an exact upper-case 8.3 name, else undefined. */
export function exactShortName(name: string): Buffer | undefined {
  const m = /^([^.]{1,8})(?:\.([^.]{1,3}))?$/.exec(name);
  if (!m) return undefined;
  const base = m[1]!;
  const ext = m[2] ?? '';
  if (![...base, ...ext].every((c) => SHORT_OK.test(c))) return undefined;
  return Buffer.from(base.padEnd(8, ' ') + ext.padEnd(3, ' '), 'latin1');
}

/** A short name for a long one that does not collide with `taken` (11-byte keys, latin1). */
export function generateShortName(name: string, taken: Set<string>): Buffer {
  let lossy = false;
  let s = name.toUpperCase();
  const stripped = s.replace(/ /g, '').replace(/^\.+/, '');
  if (stripped !== s) lossy = true;
  s = stripped;
  const conv = (part: string): string => [...part].map((c) => {
    if (SHORT_OK.test(c)) return c;
    lossy = true;
    return '_';
  }).join('');
  const dot = s.lastIndexOf('.');
  const rawBase = dot < 0 ? s : s.slice(0, dot);
  const rawExt = dot < 0 ? '' : s.slice(dot + 1);
  let base = conv(rawBase.replace(/\./g, ''));
  if (rawBase.includes('.')) lossy = true;
  let ext = conv(rawExt);
  const fits = base.length <= 8 && ext.length <= 3 && base.length > 0;
  base = base.slice(0, 8);
  ext = ext.slice(0, 3);
  if (base === '') base = '_';
  const key = (b: string): string => b.padEnd(8, ' ') + ext.padEnd(3, ' ');
  if (!lossy && fits && !taken.has(key(base))) return Buffer.from(key(base), 'latin1');
  for (let n = 1; n < 1000000; n++) {
    const tail = `~${n}`;
    const candidate = key(base.slice(0, 8 - tail.length) + tail);
    if (!taken.has(candidate)) return Buffer.from(candidate, 'latin1');
  }
  throw new ReproError('E_UNSUPPORTED', `cannot make a short name for ${JSON.stringify(name)}`);
}

/** The checksum of a short name that its long-name entries carry. */
export function shortNameChecksum(short: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + short[i]!) & 0xff;
  return sum;
}

/** The long-name entries (32 bytes each) for `name`, in on-disk order (last part first). */
export function longNameEntries(name: string, checksum: number): Buffer[] {
  const units = Buffer.from(name, 'utf16le');
  const count = Math.ceil(units.length / 26);
  const padded = Buffer.alloc(count * 26, 0xff);
  units.copy(padded);
  if (units.length < padded.length) padded.writeUInt16LE(0, units.length);
  const out: Buffer[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const e = Buffer.alloc(32);
    const part = padded.subarray(i * 26, i * 26 + 26);
    e[0] = (i + 1) | (i === count - 1 ? 0x40 : 0);
    part.copy(e, 1, 0, 10);
    e[11] = 0x0f;
    e[12] = 0;
    e[13] = checksum;
    part.copy(e, 14, 10, 22);
    e.writeUInt16LE(0, 26);
    part.copy(e, 28, 22, 26);
    out.push(e);
  }
  return out;
}

/** The volume label as systemd-repart gives it to mkfs.vfat: ASCII, upper case, 11 characters. */
export function fatLabel(label: string): string {
  let s = [...label].map((c) => (c.charCodeAt(0) < 0x80 ? c : '_')).join('').slice(0, 11).toUpperCase();
  s = s.replace(/[*?.,;:/\\|+=<>[\]"\u0000-\u001f\u007f]/g, '_');
  return s;
}
