/**
 * Debian packages as an SBOM and an audit see them, read from an installed tree's dpkg database:
 * `var/lib/dpkg/status` (name, version, architecture, source, dependencies, conffiles with their
 * md5), `info/PKG[:ARCH].list` (every path the package installed), `info/PKG[:ARCH].md5sums`
 * (the md5 of each regular file it shipped), `usr/share/doc/PKG/copyright` (licenses, when
 * machine-readable) and os-release (the codename in the purl). Pure.
 */
import { escapeControl, ReproError } from '../../model/errors.js';
import { NameFilter } from '../name-filter.js';
import { ownString } from '../own-string.js';
import { purl } from '../purl.js';
import type { PackageRecord, RecordOptions, RecordedFile } from '../distribution.js';
import { eachParagraph, field, type Paragraph } from './control.js';
import { copyrightLicenses } from './copyright.js';
import { eachDep, type Dep } from './depends.js';
import { debianPackageWarnings } from './names.js';
import type { DebianLock } from './lockfile.js';
import { DPKG_STATUS, INFO, OS_RELEASE } from './tree-files.js';

/** `VERSION_CODENAME` of os-release, the distro qualifier of Debian purls. */
export function codenameOf(files: ReadonlyMap<string, Buffer>): string | undefined {
  for (const p of OS_RELEASE) {
    const text = files.get(p)?.toString('utf8');
    const m = text ? /^VERSION_CODENAME=["']?([^"'\n]*)["']?$/m.exec(text) : null;
    if (m && m[1]) return m[1];
  }
  return undefined;
}

export function debianPurl(name: string, version: string, architecture: string | undefined, distro: string | undefined): string {
  return purl('deb', 'debian', name, version, { arch: architecture, distro });
}

const firstLine = (v: string | undefined): string | undefined => {
  const nl = v?.indexOf('\n') ?? -1;
  return (nl < 0 ? v : v!.slice(0, nl))?.trim() || undefined;
};

/** Conffiles: ` /etc/foo 0123…abcd [obsolete]` lines of the status paragraph. */
function conffiles(p: Paragraph): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (field(p, 'Conffiles') ?? '').split('\n')) {
    const m = /^\s*\/(\S+)\s+([0-9a-f]{32}|newconffile)(?:\s+\S+)*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** `md5  path` lines (path without a leading slash). */
function md5sums(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^([0-9a-f]{32}) [ *]?\/?(.+)$/.exec(line);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

/**
 * Depends and Pre-Depends resolved to installed packages: per group, the first alternative
 * installed or provided (by the first provider in name order). Each relation is resolved as it is
 * read and only the packages it resolves to are kept, each once; a field we cannot read gives none.
 */
function dependencies(p: Paragraph, installed: ReadonlySet<string>, providers: ReadonlyMap<string, string>, where: string): string[] {
  const out = new Set<string>();
  let done = false;
  const visit = (alt: Dep, first: boolean): void => {
    if (first) done = false;
    if (done) return;
    const hit = installed.has(alt.name) ? alt.name : providers.get(alt.name);
    if (hit) {
      out.add(hit);
      done = true;
    }
  };
  try {
    eachDep(field(p, 'Pre-Depends'), where, visit, true);
    eachDep(field(p, 'Depends'), where, visit, true);
  } catch {
    return [];
  }
  return [...out].sort();
}

/** A `.list` line without its leading and trailing slashes. */
function withoutSlashes(line: string): string {
  let from = 0;
  let to = line.length;
  while (from < to && line.charCodeAt(from) === 0x2f) from++;
  while (to > from && line.charCodeAt(to - 1) === 0x2f) to--;
  return from === 0 && to === line.length ? line : line.slice(from, to);
}

/**
 * A path a package installed, with the md5 its md5sums gives it and its conffile's (`newconffile`:
 * none), made in one object literal with its fields in the order they were always set (a field
 * added after an object is made costs it a property array: 40 bytes a file).
 */
function recordedFile(path: string, md5: string | undefined, conffile: string | undefined): RecordedFile {
  if (conffile === undefined) return md5 ? { path, md5 } : { path };
  if (md5) return { path, md5: conffile !== 'newconffile' ? conffile : md5, conffile: true };
  return conffile !== 'newconffile' ? { path, conffile: true, md5: conffile } : { path, conffile: true };
}

/** The paths a package installed: its `.list`, with the md5 of each from its `.md5sums` and its conffiles. */
function recordedFiles(p: Paragraph, files: ReadonlyMap<string, Buffer>, name: string, architecture: string | undefined): RecordedFile[] {
  const info = (ext: string): Buffer | undefined => files.get(`${INFO}${name}:${architecture}.${ext}`) ?? files.get(`${INFO}${name}.${ext}`);
  const sums = md5sums(info('md5sums')?.toString('utf8'));
  const conf = conffiles(p);
  const listed = (info('list')?.toString('utf8') ?? '').split('\n').map(withoutSlashes).filter((l) => l !== '' && l !== '.');
  const recorded: RecordedFile[] = listed.map((path) => recordedFile(path, sums.get(path), conf.get(path)));
  // A conffile dpkg knows but the .list lost (or a database that never had one) is still recorded.
  const inList = new Set(listed);
  for (const [path, md5] of conf) {
    if (!inList.has(path)) recorded.push({ path, conffile: true, ...(md5 !== 'newconffile' ? { md5 } : {}) });
  }
  return recorded;
}

const isInstalled = (p: Paragraph): boolean => / installed$/.test(field(p, 'Status') ?? '');

/** What every reader of an installed paragraph needs (lower case): the other fields are read as asked for. */
const fieldSet = (...names: string[]): ReadonlySet<string> => new Set(['package', 'status', 'version', 'architecture', ...names]);

/**
 * Calls `visit` with each installed paragraph of dpkg's status, in file order, keeping only the
 * `wanted` fields (lower case; Package, Status, Version and Architecture always), checked as dpkg
 * would: the file must be deb822, a paragraph must have a Package, an installed package a
 * Version, and one package and architecture may be stated once. A database we cannot read is bad
 * input, not an image without packages. Nothing is kept from one paragraph to the next but each
 * package's name and architecture. The error is the one reading the whole file first gave (where
 * it is not deb822, else the first paragraph refused); nothing is visited after that paragraph.
 */
export function eachInstalledParagraph(text: string, where: string, wanted: ReadonlySet<string>, visit: (p: Paragraph) => void): void {
  const seen = new Map<string, number>();
  let refused: ReproError | undefined;
  eachParagraph(text, where, (p) => {
    if (refused) return;
    const name = field(p, 'Package');
    if (!name) {
      refused = new ReproError('E_BAD_INPUT', `${where}:${p.line}: a paragraph without a Package field`);
      return;
    }
    if (!isInstalled(p)) return;
    const shown = (): string => escapeControl(name.slice(0, 80));
    if (!field(p, 'Version')) {
      refused = new ReproError('E_BAD_INPUT', `${where}:${p.line}: package ${shown()} is installed but has no Version field`);
      return;
    }
    const key = `${name}\0${field(p, 'Architecture') ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined) {
      refused = new ReproError('E_BAD_INPUT', `${where}:${p.line}: package ${shown()} (${escapeControl((field(p, 'Architecture') ?? 'no architecture').slice(0, 40))}) is stated again (first at line ${first})`);
      return;
    }
    seen.set(key, p.line);
    visit(p);
  }, wanted);
  if (refused) throw refused;
}

/** The fields of each reading of the status (see debianRecords). */
const DEPENDS_FIELDS = fieldSet('depends', 'pre-depends');
const PROVIDES_FIELDS = fieldSet('provides');
const RECORD_FIELDS = fieldSet('source', 'depends', 'pre-depends', 'homepage', 'description', 'conffiles');
/** The fields of the one reading without dependencies. */
const RECORD_ONLY_FIELDS = fieldSet('source', 'homepage', 'description', 'conffiles');

/**
 * The status is read three times, each time keeping only the fields it needs and no paragraph
 * once used: checked, with the installed names and the names dependencies ask for (noted in a
 * `NameFilter`); then the provisions of those names (each name's first provider in name order);
 * then the records. A Depends or Provides of millions of relations costs the packages it resolves
 * to (it cost 3 GB), and 300,000 packages no list of paragraphs beside their records.
 * Without dependencies (`opts.dependencies: false`) it is read once, checked as it is read, each
 * record made from its paragraph; Depends, Pre-Depends and Provides are skipped unread.
 */
export function debianRecords(files: ReadonlyMap<string, Buffer>, opts: RecordOptions = {}): PackageRecord[] {
  const status = files.get(DPKG_STATUS);
  if (!status) return [];
  const text = status.toString('utf8');
  const distro = codenameOf(files);
  const out: PackageRecord[] = [];
  const record = (p: Paragraph, dependsOn: (name: string) => string[]): void => {
    const name = field(p, 'Package')!;
    const version = field(p, 'Version')!;
    const architecture = field(p, 'Architecture');
    const m = /^(\S+)(?:\s+\((.+)\))?$/.exec(field(p, 'Source') ?? name);
    const recorded = opts.files === false ? [] : recordedFiles(p, files, name, architecture);
    const copyright = opts.licenses === false ? undefined : files.get(`usr/share/doc/${name}/copyright`);
    const lic = copyright ? copyrightLicenses(copyright.toString('utf8'), `usr/share/doc/${name}/copyright`) : undefined;
    // In one object literal, architecture last as it always was: a field added after costs a
    // property array a package, and a spread (`{ ...r, architecture }`) a hidden class a package.
    const source = { name: m?.[1] ?? name, version: m?.[2] ?? version };
    const purl = debianPurl(name, version, architecture, distro);
    const r: PackageRecord = architecture
      ? { distribution: 'debian', name, version, source, purl, dependsOn: dependsOn(name), supplier: 'Debian', files: recorded, architecture }
      : { distribution: 'debian', name, version, source, purl, dependsOn: dependsOn(name), supplier: 'Debian', files: recorded };
    const warnings = debianPackageWarnings(name, version, `${DPKG_STATUS}:${p.line}`);
    if (warnings.length > 0) r.warnings = warnings;
    if (lic?.expression !== undefined) {
      r.license = lic.expression;
      if (lic.refs.length > 0) r.licenseRefs = lic.refs;
    }
    if (lic?.note !== undefined) r.licenseNote = lic.note;
    const homepage = field(p, 'Homepage');
    if (homepage) r.homepage = homepage;
    const description = firstLine(field(p, 'Description'));
    if (description) r.description = description;
    out.push(r);
  };
  if (opts.dependencies === false) {
    eachInstalledParagraph(text, DPKG_STATUS, RECORD_ONLY_FIELDS, (p) => record(p, () => []));
    return out;
  }
  const names = new Set<string>();
  const asked = new NameFilter();
  const ask = (d: Dep): void => asked.add(d.name);
  eachInstalledParagraph(text, DPKG_STATUS, DEPENDS_FIELDS, (p) => {
    names.add(field(p, 'Package')!);
    try {
      eachDep(field(p, 'Pre-Depends'), DPKG_STATUS, ask, true);
      eachDep(field(p, 'Depends'), DPKG_STATUS, ask, true);
    } catch { /* resolves to nothing (see dependencies) */ }
  });
  const providers = new Map<string, string>();
  eachParagraph(text, DPKG_STATUS, (p) => {
    if (!isInstalled(p)) return;
    const name = field(p, 'Package')!;
    const provides = field(p, 'Provides');
    try {
      eachDep(provides, DPKG_STATUS, () => {}, true);
    } catch {
      return; // a Provides we cannot read provides nothing
    }
    eachDep(provides, DPKG_STATUS, (d) => {
      if (!asked.has(d.name)) return;
      const first = providers.get(d.name);
      if (first === undefined || name < first) providers.set(first === undefined ? ownString(d.name) : d.name, name);
    }, true);
  }, PROVIDES_FIELDS);
  eachParagraph(text, DPKG_STATUS, (p) => {
    if (isInstalled(p)) record(p, (name) => dependencies(p, names, providers, `${DPKG_STATUS}: ${name}`));
  }, RECORD_FIELDS);
  return out;
}

export function debianLockRecords(lock: DebianLock): PackageRecord[] {
  const distro = lock.source.codename ?? lock.source.suite;
  return lock.packages.map((p) => ({
    distribution: 'debian', name: p.name, version: p.version, source: { name: p.source, version: p.sourceVersion },
    architecture: p.architecture,
    purl: debianPurl(p.name, p.version, p.architecture, distro),
    dependsOn: [],
    supplier: 'Debian',
    file: { name: p.filename.slice(p.filename.lastIndexOf('/') + 1), size: p.size, sha256: p.sha256 },
    files: [],
  }));
}

