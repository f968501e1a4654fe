/**
 * The entries of pacman's local database, read as libalpm reads them (be_local.c,
 * local_db_populate and local_db_read): one directory `var/lib/pacman/local/NAME-VERSION/` per
 * package, its name and version split from the directory's name at the second `-` from the end
 * (_alpm_splitname), its `desc` saying the same name and version. What libalpm would log as an
 * error and leave out, or read otherwise than the desc says, is refused here, naming the file:
 * a desc without %NAME% or %VERSION%, a directory name that does not split, a desc whose name or
 * version is not its directory's ("database is inconsistent"), and a second entry of one name
 * ("duplicated database entry": libalpm keeps whichever its readdir met first). A database read
 * otherwise would be an image with a package left out, or two versions of one, which `status`
 * would ask the rebuilders about and `audit` account files to. Pure.
 */
import { escapeControl, ReproError } from '../../model/errors.js';
import { descValue, parseDesc, type DescFields, type DescKeys } from './desc.js';
import { pacmanPackageWarnings } from './names.js';

const DESC = /^(var\/lib\/pacman\/local\/([^/]+))\/desc$/;

export interface LocalEntry {
  /** `var/lib/pacman/local/NAME-VERSION`. */
  dir: string;
  /** Its desc: `DIR/desc`. */
  descPath: string;
  desc: DescFields;
  name: string;
  version: string;
  /** A name or version makepkg would not make (names.ts), said and kept. */
  warnings: string[];
}

/** libalpm's _alpm_splitname: the name and the version (`PKGVER-PKGREL`, epoch included) of a directory's name. */
export function splitEntryName(dirName: string): { name: string; version: string } | undefined {
  const rel = dirName.lastIndexOf('-');
  const ver = rel > 0 ? dirName.lastIndexOf('-', rel - 1) : -1;
  if (ver <= 0) return undefined;
  return { name: dirName.slice(0, ver), version: dirName.slice(ver + 1) };
}

const shown = (s: string): string => escapeControl(s.slice(0, 200));

/**
 * Every entry's desc among `files` (path → bytes), read for `keys` (NAME and VERSION are always
 * read; the values of keys read `each` go to the visitor `visit` gives for the desc), in the order
 * of their directories' names; refused as the module says.
 */
export function localEntries(files: ReadonlyMap<string, Buffer>, keys: DescKeys = new Map(), visit?: (descPath: string) => (key: string, value: string) => void): LocalEntry[] {
  const wanted: DescKeys = new Map([...keys, ['NAME', 'first'], ['VERSION', 'first']]);
  const out: LocalEntry[] = [];
  for (const [path, data] of files) {
    const m = DESC.exec(path);
    if (!m) continue;
    const at = escapeControl(path);
    const desc = parseDesc(data.toString('utf8'), at, wanted, visit?.(path));
    const name = descValue(desc, 'NAME');
    const version = descValue(desc, 'VERSION');
    if (!name) throw new ReproError('E_BAD_INPUT', `${at}: no %NAME%`);
    if (!version) throw new ReproError('E_BAD_INPUT', `${at}: no %VERSION%`);
    const split = splitEntryName(m[2]!);
    if (!split) throw new ReproError('E_BAD_INPUT', `${escapeControl(m[1]!)}: not a pacman database entry's name (NAME-PKGVER-PKGREL)`);
    if (split.name !== name || split.version !== version) {
      throw new ReproError('E_BAD_INPUT', `${at}: %NAME% and %VERSION% say ${shown(name)} ${shown(version)}, not the directory's ${shown(split.name)} ${shown(split.version)}`);
    }
    out.push({ dir: m[1]!, descPath: path, desc, name, version, warnings: pacmanPackageWarnings(name, version, path) });
  }
  out.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  const seen = new Map<string, string>();
  for (const e of out) {
    const first = seen.get(e.name);
    if (first !== undefined) throw new ReproError('E_BAD_INPUT', `${escapeControl(e.dir)}: package ${shown(e.name)} is stated again (first as ${escapeControl(first)}); pacman's local database holds one entry per package`);
    seen.set(e.name, e.dir);
  }
  return out;
}
