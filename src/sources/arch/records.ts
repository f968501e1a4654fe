/**
 * Arch Linux packages as an SBOM and an audit see them, read from pacman's local database: each
 * `var/lib/pacman/local/NAME-VERSION/desc` (name, version, architecture, base, licenses,
 * dependencies, provisions, URL), `files` (%FILES%, %BACKUP% with the md5 of each backup file as
 * installed) and `mtree` (gzip'd: type, mode, owner, size, sha256 and link target of every path).
 * Pure.
 */
import { gunzipSync } from 'node:zlib';
import { parseLicenseExpression, writeLicenseExpression } from '../license-expression.js';
import { LicenseCollector, MAX_LICENSE_LINE, alternativesItem, licenseTerm, type LicenseItem, type LicenseRecords } from '../licenses.js';
import { NameFilter } from '../name-filter.js';
import { ownString } from '../own-string.js';
import { purl } from '../purl.js';
import type { GeneratedEntry, PackageRecord, RecordOptions, RecordedFile, TreeView } from '../distribution.js';
import { ReproError } from '../../model/errors.js';
import { DependencyIndex } from './dependency-index.js';
import { parseDep } from './depends.js';
import { descValue, parseDesc, type DescFields, type DescKeys } from './desc.js';
import { localEntries } from './local-entries.js';
import type { ArchLock } from './lockfile.js';
import { parseMtree } from './mtree.js';


export function archPurl(name: string, version: string, architecture: string | undefined): string {
  return purl('alpm', 'arch', name, version, { arch: architecture });
}

/**
 * One %LICENSE% entry as an item, its references added to `refs`. An SPDX license expression
 * (Arch RFC 0016: `MIT AND Apache-2.0`, `(MIT OR Apache-2.0) AND Unicode-3.0`, `GPL-3.0-or-later
 * WITH GCC-exception-3.1`) is read by Annex D's grammar (`parseLicenseExpression`), each term
 * recognised or made a reference (`licenseTerm`), and written with the fewest parentheses, its
 * operands in the order the package gives them. An entry that is no expression (`Bar Baz`,
 * `MIT AND`, `(MIT AND Zlib`) is read as it was before, byte for byte: split on ` OR `, a
 * parenthesis at either end of each part dropped, each part one name, the parts sorted; so a
 * bare old-style name (`GPL`, `custom:foo`) is one `LicenseRef-` as it was.
 */
function entryItem(v: string, refs: Array<[string, string]>): LicenseItem {
  const terms: string[] = [];
  const term = (text: string): string => {
    const t = licenseTerm(text);
    if (t.ref) refs.push([t.ref.id, t.ref.name]);
    terms.push(t.expression);
    return t.expression;
  };
  const parsed = parseLicenseExpression(v);
  if (parsed !== undefined) return { expression: writeLicenseExpression(parsed, term), or: parsed.op === 'OR', terms };
  return alternativesItem(v.split(/(?<!\s)\s+OR\s+/).map((alt) => term(alt.replace(/^\(|\)$/g, ''))));
}

/**
 * %LICENSE% entries, given one at a time: each an SPDX expression or a name (`custom:…` included);
 * all of them apply. Past `MAX_LICENSES` distinct licenses or an entry longer than
 * `MAX_LICENSE_LINE`: a note, no expression (as for a Debian copyright file), and the entries
 * after it are not looked at.
 */
function licenseReader(where: string): { add(raw: string): void; result(): LicenseRecords } {
  const collector = new LicenseCollector(where);
  let done = false;
  // An entry met again at once changes nothing: not looked at again (30 million lines of one).
  let last: string | undefined;
  return {
    add(raw) {
      if (done || raw === last) return;
      last = raw;
      const v = raw.trim();
      if (v === '') return;
      if (v.length > MAX_LICENSE_LINE) {
        collector.refuse(`a %LICENSE% entry of ${v.length} characters, more than ${MAX_LICENSE_LINE}`);
        done = true;
        return;
      }
      // Every (id, name) pair, not one name per id: two names of one id in one entry are the collector's to see.
      const refs: Array<[string, string]> = [];
      const item = entryItem(v, refs);
      if (!collector.add(item)) {
        done = true;
        return;
      }
      collector.use(refs);
    },
    result: () => collector.result(),
  };
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

/** The paths a package installed: its `files` (%FILES%, %BACKUP% md5s), with what its mtree says of each. */
function recordedFiles(files: ReadonlyMap<string, Buffer>, dir: string): RecordedFile[] {
  const mtree = mtreeFiles(files.get(`${dir}/mtree`), `${dir}/mtree`);
  const listText = files.get(`${dir}/files`)?.toString('utf8');
  const list: DescFields = listText ? parseDesc(listText, `${dir}/files`, FILES_KEYS) : new Map();
  const backup = new Map((list.get('BACKUP') ?? []).map((b) => b.split('\t')).filter((x) => x.length === 2).map(([p, md5]) => [p!, md5!] as const));
  return (list.get('FILES') ?? []).map((raw) => {
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
}

/**
 * What the records use of a desc, read first (everything else is skipped as it is read): the
 * single values, %LICENSE% value by value (nothing kept but the package's licenses), the names
 * %DEPENDS% asks for (noted in a `NameFilter`, nothing kept), and whether it has %PROVIDES%.
 */
const DESC_KEYS: DescKeys = new Map([
  ['NAME', 'first'], ['VERSION', 'first'], ['ARCH', 'first'], ['URL', 'first'], ['DESC', 'first'],
  ['LICENSE', 'each'], ['DEPENDS', 'each'], ['PROVIDES', 'first'],
]);
/** What the records use of a desc without dependencies (`dependencies: false`), or licenses (`licenses: false`). */
const descKeys = (opts: RecordOptions): DescKeys => (opts.dependencies === false || opts.licenses === false
  ? new Map([...DESC_KEYS].filter(([k]) => (opts.dependencies !== false || (k !== 'DEPENDS' && k !== 'PROVIDES')) && (opts.licenses !== false || k !== 'LICENSE')))
  : DESC_KEYS);
/** %PROVIDES%, read second: only the provisions of names some dependency may ask for are kept. */
const PROVIDES_KEYS: DescKeys = new Map([['PROVIDES', 'each']]);
/** %DEPENDS%, read last, once every package is known: each value is resolved as it is read. */
const DEPENDS_KEYS: DescKeys = new Map([['DEPENDS', 'each']]);
/** What the records use of a `files`. */
const FILES_KEYS: DescKeys = new Map([['FILES', 'all'], ['BACKUP', 'all']]);

/**
 * A short value copied out of its desc's text (`ownString`), so that every package's URL does not
 * keep its desc. A longer value (a hostile %DESC% line of megabytes) is most of what it keeps anyway.
 */
const own = (v: string | undefined): string | undefined => (v === undefined || v.length < 13 || v.length > 4096 ? v : ownString(v));

interface Local {
  dir: string;
  /** Its desc's path (read again for %PROVIDES% and %DEPENDS%). */
  descPath: string;
  name: string;
  version: string;
  architecture?: string;
  url?: string;
  description?: string;
  licenses: LicenseRecords;
  /** Whether its desc has the keys read again (it is not read again for nothing). */
  hasProvides: boolean;
  hasDepends: boolean;
  warnings: string[];
}

/**
 * The packages of pacman's local database. Each desc is read three times, never held: for what
 * each package is, with the names its dependencies ask for; for the provisions of those names;
 * then, every package known, for its %DEPENDS%, each dependency resolved as it is read to the
 * installed package that satisfies it (or to nothing, and dropped). A package's record keeps the
 * names it depends on, each once: a %DEPENDS% of 30 million lines costs nothing (it was a string
 * and an object a line: 1.7 GB), nor do millions of provisions nothing depends on. Without
 * dependencies (`opts.dependencies: false`) each desc is read once, %DEPENDS% and %PROVIDES%
 * skipped unread; without licenses, %LICENSE% too.
 */
export function archRecords(files: ReadonlyMap<string, Buffer>, opts: RecordOptions = {}): PackageRecord[] {
  const asked = new NameFilter();
  const licenses = new Map<string, ReturnType<typeof licenseReader>>();
  // As libalpm reads the local database (local-entries.ts): an entry it cannot read, or whose name
  // and version are not its directory's, or a second entry of one name, is refused.
  const entries = localEntries(files, descKeys(opts), (descPath) => {
    const lic = licenseReader(descPath);
    licenses.set(descPath, lic);
    let last: string | undefined;
    return (key, value) => {
      if (key === 'LICENSE') lic.add(value);
      else if (value !== last) {
        last = value;
        asked.add(parseDep(value).name);
      }
    };
  });
  const locals = entries.map(({ dir, descPath, desc, name, version, warnings }): Local => {
    const l: Local = {
      dir, descPath, name: own(name)!, version: own(version)!, licenses: licenses.get(descPath)!.result(),
      hasProvides: desc.has('PROVIDES'), hasDepends: desc.has('DEPENDS'), warnings,
    };
    const architecture = own(descValue(desc, 'ARCH'));
    if (architecture !== undefined) l.architecture = architecture;
    const url = own(descValue(desc, 'URL'));
    if (url !== undefined) l.url = url;
    const description = own(descValue(desc, 'DESC'));
    if (description !== undefined) l.description = description;
    return l;
  });
  // A dependency is satisfied by the first package in name order that satisfies it.
  locals.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const index = opts.dependencies === false ? undefined : new DependencyIndex(locals);
  if (index) locals.forEach((l, i) => {
    if (!l.hasProvides) return;
    let last: string | undefined;
    parseDesc(files.get(l.descPath)!.toString('utf8'), l.descPath, PROVIDES_KEYS, (_key, value) => {
      if (value === last) return;
      last = value;
      const p = parseDep(value);
      if (asked.has(p.name)) index.provide(i, p);
    });
  });
  return locals.map((l): PackageRecord => {
    const dependsOn = new Set<string>();
    let last: string | undefined;
    if (index && l.hasDepends) parseDesc(files.get(l.descPath)!.toString('utf8'), l.descPath, DEPENDS_KEYS, (_key, value) => {
      if (value === last) return;
      last = value;
      const at = index.resolve(parseDep(value));
      if (at !== undefined) dependsOn.add(locals[at]!.name);
    });
    const recorded = opts.files === false ? [] : recordedFiles(files, l.dir);
    const lic = l.licenses;
    const r: PackageRecord = {
      distribution: 'archlinux', name: l.name, version: l.version,
      purl: archPurl(l.name, l.version, l.architecture),
      dependsOn: [...dependsOn].sort(),
      supplier: 'Arch Linux',
      files: recorded,
    };
    if (l.architecture) r.architecture = l.architecture;
    if (l.warnings.length > 0) r.warnings = l.warnings;
    if (lic.expression) r.license = lic.expression;
    if (lic.refs.length > 0) r.licenseRefs = lic.refs;
    if (lic.note) r.licenseNote = lic.note;
    if (l.url) r.homepage = l.url;
    if (l.description) r.description = l.description;
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
