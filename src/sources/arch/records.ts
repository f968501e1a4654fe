/**
 * Arch Linux packages as an SBOM and an audit see them, read from pacman's local database: each
 * `var/lib/pacman/local/NAME-VERSION/desc` (name, version, architecture, base, licenses,
 * dependencies, provisions, URL), `files` (%FILES%, %BACKUP% with the md5 of each backup file as
 * installed) and `mtree` (gzip'd: type, mode, owner, size, sha256 and link target of every path).
 * Pure.
 */
import { gunzipSync } from 'node:zlib';
import { LicenseCollector, MAX_LICENSE_LINE, licenseTerm, type LicenseRecords } from '../licenses.js';
import { purl } from '../purl.js';
import type { GeneratedEntry, PackageRecord, RecordedFile, TreeView } from '../distribution.js';
import { ReproError } from '../../model/errors.js';
import { parseDep, satisfiesDep, type Dep } from './depends.js';
import { descValue, parseDesc, type DescFields, type DescKeys } from './desc.js';
import { localEntries, type LocalEntry } from './local-entries.js';
import type { ArchLock } from './lockfile.js';
import { parseMtree } from './mtree.js';

const LOCAL = /^var\/lib\/pacman\/local\/([^/]+)\/(desc|files|mtree)$/;

const DESC = /^var\/lib\/pacman\/local\/[^/]+\/desc$/;

/** pacman's database proper: a package's desc (without it, or unread, the package is not there). */
export function isArchDatabaseFile(path: string): boolean {
  return path.startsWith('var/lib/pacman/local/') && DESC.test(path);
}

export function isArchRecordFile(path: string): boolean {
  // Asked of every file of an image: the prefix first, the pattern only under it.
  return path.startsWith('var/lib/pacman/local/') && LOCAL.test(path);
}

export function archPurl(name: string, version: string, architecture: string | undefined): string {
  return purl('alpm', 'arch', name, version, { arch: architecture });
}

/**
 * %LICENSE% entries: each an SPDX expression or a name (`custom:…` included); all of them apply.
 * Past `MAX_LICENSES` distinct licenses or an entry longer than `MAX_LICENSE_LINE`: a note, no
 * expression (as for a Debian copyright file).
 */
function licenses(values: string[], where: string): LicenseRecords {
  const collector = new LicenseCollector(where);
  for (const raw of values) {
    const v = raw.trim();
    if (v === '') continue;
    if (v.length > MAX_LICENSE_LINE) {
      collector.refuse(`a %LICENSE% entry of ${v.length} characters, more than ${MAX_LICENSE_LINE}`);
      break;
    }
    const refs = new Map<string, string>();
    const alts = v.split(/(?<!\s)\s+OR\s+/).map((alt) => {
      const t = licenseTerm(alt.replace(/^\(|\)$/g, ''));
      if (t.ref) refs.set(t.ref.id, t.ref.name);
      return t.expression;
    });
    if (!collector.add(alts)) break;
    collector.use(refs);
  }
  return collector.result();
}

/** The most an mtree may decompress to (the size flatten keeps of a database file). */
const MTREE_LIMIT = 64 << 20;

function mtreeFiles(data: Buffer | undefined, where: string): Map<string, RecordedFile> {
  const out = new Map<string, RecordedFile>();
  if (!data) return out;
  let text: string;
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      text = gunzipSync(data, { maxOutputLength: MTREE_LIMIT }).toString('utf8');
    } catch (e) {
      // An mtree we cannot read would leave the package's files unchecked: refused, not skipped.
      const big = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new ReproError('E_BAD_INPUT', big ? `${where}: decompresses to more than ${MTREE_LIMIT >> 20} MiB` : `${where}: not a gzip stream we can read (${(e as Error).message})`);
    }
  } else {
    text = data.toString('utf8');
  }
  for (const e of parseMtree(text, where)) {
    if (e.path.startsWith('.')) continue; // the package's own metadata, never installed
    const k = e.keywords;
    const type = k.get('type') ?? 'file';
    const f: RecordedFile = { path: e.path, type: type === 'dir' ? 'dir' : type === 'link' ? 'symlink' : 'file' };
    const num = (key: string, radix = 10): number | undefined => {
      const v = k.get(key);
      return v !== undefined && /^[0-9]+$/.test(v) ? parseInt(v, radix) : undefined;
    };
    const mode = num('mode', 8);
    if (mode !== undefined) f.mode = mode & 0o7777;
    const uid = num('uid');
    if (uid !== undefined) f.uid = uid;
    const gid = num('gid');
    if (gid !== undefined) f.gid = gid;
    if (f.type === 'file') {
      const size = num('size');
      if (size !== undefined) f.size = size;
      const sha = k.get('sha256digest');
      if (sha && /^[0-9a-f]{64}$/.test(sha)) f.sha256 = sha;
      const md5 = k.get('md5digest');
      if (md5 && /^[0-9a-f]{32}$/.test(md5)) f.md5 = md5;
    }
    if (f.type === 'symlink' && k.has('link')) f.link = k.get('link')!;
    out.set(e.path, f);
  }
  return out;
}

/** What the records use of a desc (everything else is skipped as it is read). */
const DESC_KEYS: DescKeys = new Map([
  ['NAME', 'first'], ['VERSION', 'first'], ['ARCH', 'first'], ['URL', 'first'], ['DESC', 'first'],
  ['LICENSE', 'all'], ['DEPENDS', 'all'], ['PROVIDES', 'all'],
]);
/** What the records use of a `files`. */
const FILES_KEYS: DescKeys = new Map([['FILES', 'all'], ['BACKUP', 'all']]);

interface Local extends LocalEntry {
  provides: Dep[];
}

export function archRecords(files: ReadonlyMap<string, Buffer>): PackageRecord[] {
  // As libalpm reads the local database (local-entries.ts): an entry it cannot read, or whose name
  // and version are not its directory's, or a second entry of one name, is refused.
  const locals: Local[] = localEntries(files, DESC_KEYS).map((e) => ({ ...e, provides: (e.desc.get('PROVIDES') ?? []).map(parseDep) }));
  locals.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // The packages that may satisfy a dependency on a name (by their own or a provision), in the
  // order above: a dependency is matched against these, not against every package.
  const byName = new Map<string, number[]>();
  locals.forEach((l, i) => {
    for (const n of new Set([l.name, ...l.provides.map((p) => p.name)])) {
      const list = byName.get(n);
      if (list) list.push(i);
      else byName.set(n, [i]);
    }
  });
  return locals.map((l): PackageRecord => {
    const dependsOn = new Set<string>();
    for (const d of (l.desc.get('DEPENDS') ?? []).map(parseDep)) {
      const at = byName.get(d.name)?.find((i) => satisfiesDep(locals[i]!, d));
      if (at !== undefined) dependsOn.add(locals[at]!.name);
    }
    const mtree = mtreeFiles(files.get(`${l.dir}/mtree`), `${l.dir}/mtree`);
    const listText = files.get(`${l.dir}/files`)?.toString('utf8');
    const list: DescFields = listText ? parseDesc(listText, `${l.dir}/files`, FILES_KEYS) : new Map();
    const backup = new Map((list.get('BACKUP') ?? []).map((b) => b.split('\t')).filter((x) => x.length === 2).map(([p, md5]) => [p!, md5!] as const));
    const recorded: RecordedFile[] = (list.get('FILES') ?? []).map((raw) => {
      const path = raw.replace(/\/+$/, '');
      const f: RecordedFile = { ...(mtree.get(path) ?? {}), path };
      if (raw.endsWith('/') && f.type === undefined) f.type = 'dir';
      if (backup.has(path)) {
        f.conffile = true;
        const md5 = backup.get(path)!;
        // The md5 pacman recorded at install time is what the file was then.
        if (/^[0-9a-f]{32}$/.test(md5)) f.md5 = md5;
      }
      return f;
    });
    const lic = licenses(l.desc.get('LICENSE') ?? [], `${l.dir}/desc`);
    const architecture = descValue(l.desc, 'ARCH');
    const r: PackageRecord = {
      distribution: 'archlinux', name: l.name, version: l.version,
      purl: archPurl(l.name, l.version, architecture),
      dependsOn: [...dependsOn].sort(),
      supplier: 'Arch Linux',
      files: recorded,
    };
    if (architecture) r.architecture = architecture;
    if (l.warnings.length > 0) r.warnings = l.warnings;
    if (lic.expression) r.license = lic.expression;
    if (lic.refs.length > 0) r.licenseRefs = lic.refs;
    if (lic.note) r.licenseNote = lic.note;
    const url = descValue(l.desc, 'URL');
    if (url) r.homepage = url;
    const description = descValue(l.desc, 'DESC');
    if (description) r.description = description;
    return r;
  });
}

/**
 * The packages a lock pins. In a lock of several architectures, two files of one name, version and
 * architecture (an `any` package the architectures' repositories give with other bytes) would have
 * one purl: each gets purl-spec's `checksum` qualifier, so that SBOM identifiers stay apart.
 */
export function archLockRecords(lock: ArchLock): PackageRecord[] {
  const seen = new Map<string, number>();
  for (const p of lock.packages) {
    const u = archPurl(p.name, p.version, p.architecture);
    seen.set(u, (seen.get(u) ?? 0) + 1);
  }
  return lock.packages.map((p): PackageRecord => ({
      distribution: 'archlinux', name: p.name, version: p.version, architecture: p.architecture,
      purl: seen.get(archPurl(p.name, p.version, p.architecture))! > 1
        ? purl('alpm', 'arch', p.name, p.version, { arch: p.architecture, checksum: `sha256:${p.sha256}` })
        : archPurl(p.name, p.version, p.architecture),
      dependsOn: [],
      supplier: 'Arch Linux',
      file: { name: p.filename, size: p.size, sha256: p.sha256 },
      files: [],
  }));
}

/** pacman's state: the local database and the directories pacman makes in a new root. */
export function isPacmanState(path: string): boolean {
  return /^var\/lib\/pacman(\/|$)/.test(path) || /^var\/cache\/pacman(\/|$)/.test(path);
}

/** What the Arch install step adds beyond the packages: pacman's local database and state directories. */
export function archGenerated(view: TreeView): GeneratedEntry[] {
  const out: GeneratedEntry[] = [];
  for (const [path, e] of view.all) {
    if (!isPacmanState(path) || view.entries.has(path)) continue;
    out.push({ path, step: 'pacman-database', type: e.type === 'dir' ? 'dir' : e.type === 'symlink' ? 'symlink' : 'file' });
  }
  return out;
}
