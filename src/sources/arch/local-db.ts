/**
 * pacman's local database, as libalpm's _alpm_local_db_write leaves it after installing into an
 * empty root: `var/lib/pacman/local/ALPM_DB_VERSION` and per package `NAME-VERSION/` with `desc`
 * (fields in libalpm's order, each written only when the package has it), `files` (%FILES%
 * sorted, %BACKUP% with the MD5 of each installed backup file) and the package's own `mtree`,
 * `install` and `changelog`. %INSTALLDATE% is SOURCE_DATE_EPOCH (what pacman writes when it honours
 * SOURCE_DATE_EPOCH, instead of the wall clock). Pure: returns entries.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../../archive/entry.js';
import { formatDep, parseDep } from './depends.js';
import { formatDesc } from './desc.js';
import type { KeptMember, PackageFile } from './package.js';
import type { PkgInfo } from './pkginfo.js';

/** libalpm's ALPM_LOCAL_DB_VERSION. */
export const LOCAL_DB_VERSION = 9;
export const LOCAL_DB = 'var/lib/pacman/local';

export interface LocalPackage {
  name: string;
  version: string;
  file: PackageFile;
  reason: 'explicit' | 'dependency';
  /** %VALIDATION% lines: what pacman checked before installing (none, sha256, pgp…). */
  validation: string[];
  /** Content of an installed regular file of this package, by its path in the package. */
  read: (path: string) => Buffer | undefined;
}

/** The last value of a key: libalpm's parser keeps overwriting a scalar with each line. */
const last = (p: PkgInfo, k: string): string | undefined => p.get(k)?.at(-1);

/** Leading integer, as libalpm's _alpm_parsedate / strtoll read it (0 when there is none). */
function leadingInt(s: string | undefined): number {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m ? Number(m[1]) : 0;
}

export function descFile(p: LocalPackage, installDate: number): string {
  const info = p.file.pkginfo;
  const s: Array<[string, string[]]> = [['NAME', [p.name]], ['VERSION', [p.version]]];
  const scalar = (key: string, field: string): void => {
    const v = last(info, field);
    if (v !== undefined) s.push([key, [v]]);
  };
  const number = (key: string, v: number): void => {
    if (v !== 0) s.push([key, [String(v)]]);
  };
  const list = (key: string, field: string, deps = false): void => {
    const v = info.get(field);
    if (v && v.length > 0) s.push([key, deps ? v.map((d) => formatDep(parseDep(d))) : v]);
  };
  scalar('BASE', 'pkgbase');
  scalar('DESC', 'pkgdesc');
  scalar('URL', 'url');
  scalar('ARCH', 'arch');
  number('BUILDDATE', leadingInt(last(info, 'builddate')));
  number('INSTALLDATE', installDate);
  scalar('PACKAGER', 'packager');
  number('SIZE', leadingInt(last(info, 'size')));
  if (p.reason === 'dependency') s.push(['REASON', ['1']]);
  list('GROUPS', 'group');
  list('LICENSE', 'license');
  if (p.validation.length > 0) s.push(['VALIDATION', p.validation]);
  list('REPLACES', 'replaces', true);
  list('DEPENDS', 'depend', true);
  list('OPTDEPENDS', 'optdepend', true);
  list('CONFLICTS', 'conflict', true);
  list('PROVIDES', 'provides', true);
  list('XDATA', 'xdata');
  return formatDesc(s);
}

export function filesFile(p: LocalPackage): string {
  const s: Array<[string, string[]]> = [];
  if (p.file.fileList.length > 0) s.push(['FILES', p.file.fileList]);
  const backup = p.file.pkginfo.get('backup') ?? [];
  if (backup.length > 0) {
    // A backup file the package does not install has no hash; libalpm prints its NULL as glibc does.
    s.push(['BACKUP', backup.map((b) => {
      const data = p.read(b);
      return `${b}\t${data ? createHash('md5').update(data).digest('hex') : '(null)'}`;
    })]);
  }
  return formatDesc(s);
}

export function localDatabase(packages: LocalPackage[], sde: number): Entry[] {
  const dir = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: sde, size: 0 });
  const file = (path: string, data: Buffer, mtime = sde, uid = 0, gid = 0): Entry => ({ path, type: 'file', mode: 0o644, uid, gid, mtime, size: data.length, content: { kind: 'bytes', data } });
  const kept = (path: string, m: KeptMember): Entry => file(path, m.data, m.mtime, m.uid, m.gid);
  const out: Entry[] = [dir(LOCAL_DB), file(`${LOCAL_DB}/ALPM_DB_VERSION`, Buffer.from(`${LOCAL_DB_VERSION}\n`))];
  for (const p of packages) {
    const d = `${LOCAL_DB}/${p.name}-${p.version}`;
    out.push(dir(d), file(`${d}/desc`, Buffer.from(descFile(p, sde))), file(`${d}/files`, Buffer.from(filesFile(p))));
    if (p.file.mtree) out.push(kept(`${d}/mtree`, p.file.mtree));
    if (p.file.install) out.push(kept(`${d}/install`, p.file.install));
    if (p.file.changelog) out.push(kept(`${d}/changelog`, p.file.changelog));
  }
  return out;
}

/** %VALIDATION% for a package installed from a lock: see libalpm's _alpm_pkg_validate_internal. */
export function validationOf(signatures: 'verified' | 'not-verified', signatureIn: 'database' | 'file' | 'none'): string[] {
  if (signatures === 'not-verified' || signatureIn === 'none') return ['sha256'];
  // A signature from the database spares the checksum; one from a .sig file does not.
  return signatureIn === 'database' ? ['pgp'] : ['sha256', 'pgp'];
}
