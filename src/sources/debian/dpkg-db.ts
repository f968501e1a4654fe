/**
 * The dpkg database of an installed set, as dpkg itself would leave it after unpacking and
 * configuring: `var/lib/dpkg/status` (one paragraph per package, in dpkg's field order, with
 * `Status: install ok installed`, sorted by name), `info/<pkg>.list` with the paths each package
 * ships, and its other control files (md5sums, conffiles, maintainer scripts). Pure: returns entries.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../../archive/entry.js';
import { field, formatParagraph } from './control.js';
import type { UnpackedPackage } from './install.js';

/** dpkg's own field order (lib/dpkg/parse.c fieldinfos); other fields follow in their order. */
const STATUS_ORDER = [
  'Package', 'Essential', 'Protected', 'Status', 'Priority', 'Section', 'Installed-Size', 'Origin',
  'Maintainer', 'Bugs', 'Architecture', 'Multi-Arch', 'Source', 'Version', 'Config-Version',
  'Replaces', 'Provides', 'Depends', 'Pre-Depends', 'Recommends', 'Suggests', 'Breaks', 'Conflicts',
  'Enhances', 'Conffiles', 'Description', 'Triggers-Pending', 'Triggers-Awaited',
];
const DESCRIPTION_AT = STATUS_ORDER.indexOf('Description');

export type ReadFile = (installedPath: string) => Buffer | undefined;

export function infoName(p: UnpackedPackage): string {
  return field(p.control, 'Multi-Arch') === 'same' ? `${p.name}:${p.architecture}` : p.name;
}

function statusParagraph(p: UnpackedPackage, read: ReadFile): string {
  const fields = p.control.fields.filter(([k]) => k.toLowerCase() !== 'status' && k.toLowerCase() !== 'conffiles');
  fields.push(['Status', 'install ok installed']);
  const conffiles = (p.controlFiles.get('conffiles')?.toString('utf8') ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('/'));
  if (conffiles.length > 0) {
    const lines = conffiles.map((c) => {
      const data = read(p.installed.get(c.slice(1)) ?? '');
      return ` ${c} ${data ? createHash('md5').update(data).digest('hex') : 'newconffile'}`;
    });
    fields.push(['Conffiles', `\n${lines.join('\n')}`]);
  }
  const rank = (k: string): number => {
    const i = STATUS_ORDER.findIndex((n) => n.toLowerCase() === k.toLowerCase());
    // Fields dpkg does not know come after Description, in the order the package gives them.
    return i >= 0 ? i : DESCRIPTION_AT + 0.5;
  };
  const ordered = fields.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f[0]) - rank(b.f[0]) || a.i - b.i).map(({ f }) => f);
  return formatParagraph(ordered);
}

export function dpkgDatabase(packages: UnpackedPackage[], read: ReadFile, mtime: number): Entry[] {
  const file = (path: string, data: Buffer, mode = 0o644): Entry => ({ path, type: 'file', mode, uid: 0, gid: 0, mtime, size: data.length, content: { kind: 'bytes', data } });
  const dir = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 });
  const out: Entry[] = [dir('var/lib/dpkg'), dir('var/lib/dpkg/info'), dir('var/lib/dpkg/updates')];
  const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  out.push(file('var/lib/dpkg/status', Buffer.from(sorted.map((p) => statusParagraph(p, read)).join('\n'))));
  out.push(file('var/lib/dpkg/diversions', Buffer.alloc(0)));
  out.push(file('var/lib/dpkg/info/format', Buffer.from('1\n')));
  for (const p of sorted) {
    const n = infoName(p);
    const list = ['/.', ...p.shipped.map((s) => `/${s}`)].join('\n');
    out.push(file(`var/lib/dpkg/info/${n}.list`, Buffer.from(`${list}\n`)));
    for (const [name, data] of [...p.controlFiles].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push(file(`var/lib/dpkg/info/${n}.${name}`, data, (p.controlModes.get(name) ?? 0o644) & 0o111 ? 0o755 : 0o644));
    }
  }
  return out;
}

/** `Package` and `Architecture` of a status paragraph (its key: one record per package and architecture). */
function statusKey(paragraph: string): string {
  const pkg = /^Package:[ \t]*(\S+)/m.exec(paragraph)?.[1] ?? '';
  const arch = /^Architecture:[ \t]*(\S+)/m.exec(paragraph)?.[1] ?? '';
  return `${pkg}\0${arch}`;
}

function paragraphs(text: string): string[] {
  return text.split(/\n(?:[ \t]*\n)+/).map((p) => p.replace(/\n+$/, '')).filter((p) => p.trim() !== '').map((p) => `${p}\n`);
}

/**
 * The status of our packages installed over a base's: the base's paragraphs of packages we do not
 * install, then ours, sorted by name (then architecture), as dpkg keeps them. Ours replace the
 * base's records of the same package and architecture.
 */
export function mergeStatus(base: string, ours: string): string {
  const out = new Map<string, string>();
  for (const p of paragraphs(base)) out.set(statusKey(p), p);
  for (const p of paragraphs(ours)) out.set(statusKey(p), p);
  // By name, then architecture ("\0" sorts before any character of a name).
  const sorted = [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.map(([, p]) => p).join('\n');
}
