/**
 * Debian packages as an SBOM and an audit see them, read from an installed tree's dpkg database:
 * `var/lib/dpkg/status` (name, version, architecture, source, dependencies, conffiles with their
 * md5), `info/PKG[:ARCH].list` (every path the package installed), `info/PKG[:ARCH].md5sums`
 * (the md5 of each regular file it shipped), `usr/share/doc/PKG/copyright` (licenses, when
 * machine-readable) and os-release (the codename in the purl). Pure.
 */
import { escapeControl, ReproError } from '../../model/errors.js';
import { purl } from '../purl.js';
import type { PackageRecord, RecordedFile } from '../distribution.js';
import { field, parseParagraphs, type Paragraph } from './control.js';
import { copyrightLicenses } from './copyright.js';
import { parseDeps } from './depends.js';
import { debianPackageWarnings } from './names.js';
import type { DebianLock } from './lockfile.js';

export const DPKG_STATUS = 'var/lib/dpkg/status';
const INFO = 'var/lib/dpkg/info/';
const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];

/** dpkg's database proper: without it (or unread) an image would have no packages. */
export function isDebianDatabaseFile(path: string): boolean {
  return path === DPKG_STATUS;
}

export function isDebianRecordFile(path: string): boolean {
  if (path === DPKG_STATUS || OS_RELEASE.includes(path)) return true;
  if (path.startsWith(INFO)) return path.endsWith('.list') || path.endsWith('.md5sums');
  return isDebianLicenseFile(path);
}

/** A package's copyright file: read for its licenses only (see `Distribution.isLicenseFile`). */
export function isDebianLicenseFile(path: string): boolean {
  // Asked of every file of an image: the suffix first, the pattern only where it fits.
  return path.endsWith('/copyright') && /^usr\/share\/doc\/[^/]+\/copyright$/.test(path);
}

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

/** Depends and Pre-Depends resolved to installed packages: per group, the first alternative installed or provided. */
function dependencies(p: Paragraph, installed: ReadonlySet<string>, providers: ReadonlyMap<string, string[]>, where: string): string[] {
  const out = new Set<string>();
  let groups;
  try {
    groups = [...parseDeps(field(p, 'Pre-Depends'), where), ...parseDeps(field(p, 'Depends'), where)];
  } catch {
    return [];
  }
  for (const g of groups) {
    for (const alt of g) {
      const hit = installed.has(alt.name) ? alt.name : providers.get(alt.name)?.[0];
      if (hit) {
        out.add(hit);
        break;
      }
    }
  }
  return [...out].sort();
}

/**
 * The installed paragraphs of dpkg's status, refused (as dpkg refuses them) when the file is not
 * deb822, a paragraph has no Package, an installed package has no Version, or one package and
 * architecture is stated twice: a database we cannot read is bad input, not an image without
 * packages.
 */
export function installedParagraphs(status: Buffer, where = DPKG_STATUS): Paragraph[] {
  const paragraphs = parseParagraphs(status.toString('utf8'), where);
  const seen = new Map<string, number>();
  const out: Paragraph[] = [];
  for (const p of paragraphs) {
    const name = field(p, 'Package');
    if (!name) throw new ReproError('E_BAD_INPUT', `${where}:${p.line}: a paragraph without a Package field`);
    if (!/ installed$/.test(field(p, 'Status') ?? '')) continue;
    const shown = escapeControl(name.slice(0, 80));
    if (!field(p, 'Version')) throw new ReproError('E_BAD_INPUT', `${where}:${p.line}: package ${shown} is installed but has no Version field`);
    const key = `${name}\0${field(p, 'Architecture') ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined) throw new ReproError('E_BAD_INPUT', `${where}:${p.line}: package ${shown} (${escapeControl((field(p, 'Architecture') ?? 'no architecture').slice(0, 40))}) is stated again (first at line ${first})`);
    seen.set(key, p.line);
    out.push(p);
  }
  return out;
}

export function debianRecords(files: ReadonlyMap<string, Buffer>): PackageRecord[] {
  const status = files.get(DPKG_STATUS);
  if (!status) return [];
  const installed = installedParagraphs(status);
  const names = new Set(installed.map((p) => field(p, 'Package')!));
  const providers = new Map<string, string[]>();
  for (const p of installed) {
    try {
      for (const g of parseDeps(field(p, 'Provides'), DPKG_STATUS)) {
        for (const d of g) {
          const list = providers.get(d.name);
          if (list) list.push(field(p, 'Package')!);
          else providers.set(d.name, [field(p, 'Package')!]);
        }
      }
    } catch { /* a Provides we cannot read provides nothing */ }
  }
  for (const list of providers.values()) list.sort();
  const distro = codenameOf(files);
  return installed.map((p): PackageRecord => {
    const name = field(p, 'Package')!;
    const version = field(p, 'Version')!;
    const architecture = field(p, 'Architecture');
    const m = /^(\S+)(?:\s+\((.+)\))?$/.exec(field(p, 'Source') ?? name);
    const info = (ext: string): Buffer | undefined => files.get(`${INFO}${name}:${architecture}.${ext}`) ?? files.get(`${INFO}${name}.${ext}`);
    const sums = md5sums(info('md5sums')?.toString('utf8'));
    const conf = conffiles(p);
    const listed = (info('list')?.toString('utf8') ?? '').split('\n').map((l) => l.replace(/^\/+/, '').replace(/\/+$/, '')).filter((l) => l !== '' && l !== '.');
    const recorded: RecordedFile[] = listed.map((path) => {
      const f: RecordedFile = { path };
      const md5 = sums.get(path);
      if (md5) f.md5 = md5;
      const c = conf.get(path);
      if (c !== undefined) {
        f.conffile = true;
        if (c !== 'newconffile') f.md5 = c;
      }
      return f;
    });
    // A conffile dpkg knows but the .list lost (or a database that never had one) is still recorded.
    const inList = new Set(listed);
    for (const [path, md5] of conf) {
      if (!inList.has(path)) recorded.push({ path, conffile: true, ...(md5 !== 'newconffile' ? { md5 } : {}) });
    }
    const copyright = files.get(`usr/share/doc/${name}/copyright`);
    const lic = copyright ? copyrightLicenses(copyright.toString('utf8'), `usr/share/doc/${name}/copyright`) : undefined;
    const r: PackageRecord = {
      distribution: 'debian', name, version, source: { name: m?.[1] ?? name, version: m?.[2] ?? version },
      purl: debianPurl(name, version, architecture, distro),
      dependsOn: dependencies(p, names, providers, `${DPKG_STATUS}: ${name}`),
      supplier: 'Debian',
      files: recorded,
    };
    if (architecture) r.architecture = architecture;
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
    return r;
  });
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

