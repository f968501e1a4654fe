/**
 * Cause hints: every difference is put under one named finding (the most specific that fits), and
 * findings are listed with a count, a one-line title, a hint and a few examples. The catalogue is
 * documented in docs/diff.md. Pure.
 */
import picomatch from 'picomatch';
import { namesOf } from './options.js';
import type { Difference, Finding } from './types.js';

/** What a finding's title and hint may draw on besides its count: its first difference and every field seen. */
export interface FindingFacts {
  first: Difference;
  fields: ReadonlySet<string>;
}

interface FindingDef {
  title: (n: number, facts: FindingFacts) => string;
  hint: string | ((facts: FindingFacts) => string);
}

function utc(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isSafeInteger(seconds) ? `${seconds} (${new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')})` : String(seconds);
}

/** Where the platform differs: the index's descriptor, the config, or both. */
function platformHint(f: FindingFacts): string {
  const where: string[] = [];
  const fields = [...f.fields];
  if (fields.some((x) => x.startsWith('descriptor.platform'))) where.push("the platform of the index.json descriptor that points at the manifest (descriptor.platform: a property of the layout or index, not of the image's own config)");
  if (fields.some((x) => x.startsWith('config'))) where.push("the image config's architecture, os or variant (config.architecture, config.os, config.variant)");
  return `It differs in ${where.join(', and in ') || 'the platform fields'}.`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The catalogue, in the order findings are listed. */
export const FINDINGS: Record<string, FindingDef> = {
  'disk-ids': { title: (n) => `disk GUID or partition UUIDs differ (${plural(n, 'identifier')})`, hint: 'repro-image and systemd-repart derive them from the disk seed (verity partitions from their root hash): a different seed, or different verity data.' },
  'partition-table': { title: (n) => `partition table differs (${plural(n, 'field')})`, hint: 'Types, labels, offsets, sizes or flags of partitions, or the disk size: the disk definitions differ, or a file system grew.' },
  'file-system': { title: (n) => `file system metadata differs (${plural(n, 'field')})`, hint: 'Superblock fields: labels, UUIDs, volume ids, sizes, free counts, creation times (mkfs tools record their run time and random ids unless given them).' },
  verity: { title: (n) => `verity hash trees differ (${plural(n, 'partition')})`, hint: 'A verity hash tree follows every byte of the partition it protects (and its salt).' },
  'partition-bytes': { title: (n) => `raw partition content differs (${plural(n, 'partition')})`, hint: 'Partitions without a file system we read are compared byte by byte.' },
  platforms: { title: (n) => `the platform lists differ (${plural(n, 'platform')})`, hint: 'A multi-platform index lists a platform the other does not.' },
  'layer-count': { title: () => 'layer count differs', hint: 'The images have different numbers of layers; their flattened filesystems are compared instead of layer by layer.' },
  compression: { title: (n) => `compression differs, content identical (${plural(n, 'layer')})`, hint: 'The layer blobs differ but their uncompressed tar streams (diff_ids) are the same: pin the compressor, its version, level and settings.' },
  'media-type': { title: (n) => `media types differ (${n})`, hint: 'OCI and Docker media types, or different layer compressions.' },
  created: { title: (n) => `image creation time differs (${plural(n, 'field')})`, hint: 'config.created, history times and the created annotation: derive them from SOURCE_DATE_EPOCH.' },
  history: { title: (n) => `history differs (${plural(n, 'field')})`, hint: 'config.history records build steps, often with tool versions: keep it fixed.' },
  'image-name': { title: (n) => `image name annotations differ (${n})`, hint: 'The ref.name / image.name annotations name the image, not its content.' },
  annotations: { title: (n) => `annotations differ (${plural(n, 'annotation')})`, hint: 'Annotations often carry build times, revisions or builder versions.' },
  platform: { title: (n) => `platform differs (${plural(n, 'field')})`, hint: platformHint },
  'runtime-config': { title: (n) => `runtime config differs (${plural(n, 'field')})`, hint: 'Env, Entrypoint, Cmd, Labels, User, WorkingDir ... in config.config.' },
  config: { title: (n) => `other config fields differ (${plural(n, 'field')})`, hint: 'Fields of the image config outside config.config.' },
  manifest: { title: (n) => `manifest fields differ (${plural(n, 'field')})`, hint: 'Fields of the manifest other than layers and annotations.' },
  index: { title: (n) => `index fields differ (${plural(n, 'field')})`, hint: 'Fields of index.json or of a multi-platform index.' },
  'json-encoding': { title: (n) => `JSON encoding differs, values identical (${plural(n, 'document')})`, hint: 'The same values serialised differently (key order, whitespace): write canonical JSON.' },
  'tar-padding': { title: (n) => `end-of-archive padding differs (${plural(n, 'layer')})`, hint: 'Different numbers of zero blocks after the last entry (tar record size): the bytes differ, the files do not.' },
  removed: { title: (n) => `only in A: ${plural(n, 'entry', 'entries')}`, hint: 'Entries that B does not have.' },
  added: { title: (n) => `only in B: ${plural(n, 'entry', 'entries')}`, hint: 'Entries that A does not have.' },
  'entry-order': { title: (n) => `entry order differs (${plural(n, 'entry', 'entries')} out of order)`, hint: 'The archives list the same entries in another order: sort them (tar --sort=name; repro-image build sorts by path).' },
  'source-date-epoch': {
    title: (n, f) => `the two builds used different SOURCE_DATE_EPOCH values (A ${utc(f.first.a)}, B ${utc(f.first.b)}; ${plural(n, 'entry', 'entries')} carry their build's time)`,
    hint: "Each side's file times are clamped to its own build time, and the configs' created fields show different times: the builds were given different SOURCE_DATE_EPOCH values. Rebuild with the other's (its config.created, as seconds).",
  },
  'mtime-after-epoch': { title: (n) => `mtime newer than SOURCE_DATE_EPOCH on ${plural(n, 'entry', 'entries')}`, hint: 'Files written during the build keep the build time: clamp times to SOURCE_DATE_EPOCH (tar --clamp-mtime --mtime=@$SOURCE_DATE_EPOCH; repro-image build does it).' },
  mtime: { title: (n) => `file times differ on ${plural(n, 'entry', 'entries')}`, hint: 'Modification times differ and neither is newer than SOURCE_DATE_EPOCH (when one is known: the images\' created time, or --source-date-epoch): the inputs carried different times.' },
  'atime-ctime': { title: (n) => `pax atime/ctime records differ on ${plural(n, 'entry', 'entries')}`, hint: "pax atime/ctime records carry the build host's access and change times: leave them out (tar --pax-option=delete=atime,delete=ctime)." },
  'pacman-installdate': { title: (n) => `pacman %INSTALLDATE% differs in ${plural(n, 'package')}`, hint: 'pacman records the install time in var/lib/pacman/local/*/desc: set it to SOURCE_DATE_EPOCH.' },
  'ldconfig-aux-cache': { title: () => 'ldconfig aux-cache differs', hint: "var/cache/ldconfig/aux-cache holds file times and inode numbers of the build host: remove it (repro-image build's ldconfig-aux-cache pass)." },
  'random-seed': { title: (n) => `random-seed differs (${plural(n, 'file')})`, hint: 'systemd and systemd-boot random seeds are random by design: remove them (the random-seed pass).' },
  'machine-id': { title: (n) => `machine-id differs (${plural(n, 'file')})`, hint: 'etc/machine-id is generated at install time: truncate it to empty (the machine-id pass).' },
  'pyc-timestamp': { title: (n) => `Python .pyc timestamps differ in ${plural(n, 'file')}`, hint: "The .pyc header records the source file's mtime and size: compile with SOURCE_DATE_EPOCH set (checked-hash pycs) or clamp source times first." },
  'gzip-header-time': { title: (n) => `gzip header time differs in ${plural(n, 'file')}`, hint: 'The gzip header stores a time (and name): compress with gzip -n, or set SOURCE_DATE_EPOCH for tools that honour it.' },
  'gzip-compression': { title: (n) => `gzip-compressed files differ only in compression (${plural(n, 'file')})`, hint: 'The decompressed content is the same: pin the compressor and level.' },
  'log-files': { title: (n) => `log files differ (${plural(n, 'file')})`, hint: 'Logs record times and hosts: remove var/log contents from the image, or --ignore-path var/log/**.' },
  caches: { title: (n) => `package manager caches differ (${plural(n, 'file')})`, hint: 'Caches (apt, debconf, pacman, fontconfig, man-db ...) record build-time state: remove them from the image.' },
  'backup-files': { title: (n) => `backup files differ (${plural(n, 'file')})`, hint: 'dpkg and debconf keep -old backups of their databases: remove them.' },
  content: { title: (n) => `file content differs (${plural(n, 'file')})`, hint: 'The bytes of these files differ: see each file for a diff.' },
  'entry-type': { title: (n) => `entry types differ (${plural(n, 'entry', 'entries')})`, hint: 'A path is a different kind of entry (file, directory, link ...) on each side.' },
  'link-target': { title: (n) => `link targets differ (${plural(n, 'link')})`, hint: 'Symlink or hard link targets differ (hard links should point at the first path in byte order).' },
  mode: { title: (n) => `permission bits differ on ${plural(n, 'entry', 'entries')}`, hint: "Modes depend on the build host's umask unless set explicitly." },
  'mode-type-bits': { title: (n) => `redundant file-type bits of the mode field differ on ${plural(n, 'entry', 'entries')}`, hint: 'Some writers (BuildKit) put the file type into the mode field as well; harmless but different bytes.' },
  owners: { title: (n) => `owner ids differ on ${plural(n, 'entry', 'entries')}`, hint: 'Files owned by the build user, or ids from another passwd: set owners explicitly (tar --owner=0 --group=0 --numeric-owner).' },
  'owner-names': { title: (n) => `owner names differ on ${plural(n, 'entry', 'entries')}`, hint: 'User and group names come from the build host: leave them out (repro-image writes numeric owners only).' },
  devices: { title: (n) => `device numbers differ (${plural(n, 'entry', 'entries')})`, hint: 'Character or block devices with other major/minor numbers.' },
  xattrs: { title: (n) => `extended attributes differ on ${plural(n, 'entry', 'entries')}`, hint: "SELinux labels and ACLs are the build host's: keep only what the image needs (e.g. security.capability)." },
  'pax-records': { title: (n) => `other pax records differ on ${plural(n, 'entry', 'entries')}`, hint: 'Extra pax records (e.g. from GNU tar or bsdtar) that are not header fields.' },
  'tar-format': { title: (n) => `tar dialect differs on ${plural(n, 'entry', 'entries')}`, hint: 'The same entry is written as ustar, pax or GNU: use one writer and one format (POSIX pax).' },
  'name-form': { title: (n) => `entry names spelled differently on ${plural(n, 'entry', 'entries')}`, hint: 'Leading ./ or / (or a trailing /) on names, or an entry for the root directory itself: tar -C dir . writes ./ names and a ./ entry.' },
};

/** Findings decided by the path of a file whose content differs or that only one side has. */
const PATH_RULES: Array<[string, string[]]> = [
  ['ldconfig-aux-cache', ['var/cache/ldconfig/aux-cache']],
  ['random-seed', ['var/lib/systemd/random-seed', 'efi/loader/random-seed', 'boot/loader/random-seed', 'boot/efi/loader/random-seed']],
  ['machine-id', ['etc/machine-id', 'var/lib/dbus/machine-id']],
  ['backup-files', ['var/lib/dpkg/*-old', 'var/cache/debconf/*-old', 'etc/*-']],
  ['log-files', ['var/log/**']],
  ['caches', ['var/cache/**', 'var/lib/apt/lists/**', 'usr/lib/*/gdk-pixbuf-2.0/*/loaders.cache', 'usr/share/mime/**', 'etc/ld.so.cache']],
];

const pathMatchers = PATH_RULES.map(([id, globs]) => [id, picomatch(globs, { dot: true })] as const);

export function pathFinding(path: string): string | undefined {
  for (const [id, match] of pathMatchers) if (match(path)) return id;
  return undefined;
}

/** The finding of an entry field (other than content and presence, which go by path). */
export function fieldFinding(field: string, a: unknown, b: unknown, epoch: number | undefined, epochs?: { a: number; b: number }): string {
  switch (field) {
    case 'mtime':
      if (epochs && typeof a === 'number' && typeof b === 'number') {
        // Each side within its own build time, and at least one clamped to it: different epochs.
        if (a <= epochs.a && b <= epochs.b && (a === epochs.a || b === epochs.b)) return 'source-date-epoch';
        return a > epochs.a || b > epochs.b ? 'mtime-after-epoch' : 'mtime';
      }
      return epoch !== undefined && ((typeof a === 'number' && a > epoch) || (typeof b === 'number' && b > epoch)) ? 'mtime-after-epoch' : 'mtime';
    case 'atime':
    case 'ctime':
      return 'atime-ctime';
    case 'uid':
    case 'gid':
      return 'owners';
    case 'uname':
    case 'gname':
      return 'owner-names';
    case 'type':
      return 'entry-type';
    case 'order':
      return 'entry-order';
    case 'name':
      return 'name-form';
    case 'pax':
      return 'pax-records';
    case 'disk-guid':
    case 'partition-uuid':
      return 'disk-ids';
    case 'disk-size':
    case 'sector-size':
    case 'partition-count':
    case 'partition-type':
    case 'partition-label':
    case 'partition-offset':
    case 'partition-size':
    case 'partition-flags':
    case 'partition-content':
      return 'partition-table';
    case 'fs-label':
    case 'fs-uuid':
    case 'volume-id':
    case 'fs-field':
      return 'file-system';
    case 'verity-hash-tree':
      return 'verity';
    default:
      return field in FINDINGS ? field : 'content';
  }
}

/** The finding of a difference in index, descriptor, manifest or config JSON. */
export function jsonFinding(d: Difference): string {
  const names = namesOf(d);
  for (const id of ['image-name', 'created', 'history', 'platform', 'runtime-config', 'annotations']) if (names.includes(id)) return id;
  if (/\.mediaType$/.test(d.field)) return 'media-type';
  if (d.field.startsWith('config')) return 'config';
  if (d.field.startsWith('index')) return 'index';
  return 'manifest';
}

const MAX_EXAMPLES = 5;

/** Groups differences into findings, in catalogue order; `format` renders a location for examples. */
export function groupFindings(diffs: Iterable<Difference>, format: (d: Difference) => string, extraCounts: Map<string, number> = new Map()): Finding[] {
  const by = new Map<string, { count: number; examples: string[]; first?: Difference; fields: Set<string> }>();
  for (const d of diffs) {
    let g = by.get(d.finding);
    if (!g) by.set(d.finding, (g = { count: 0, examples: [], first: d, fields: new Set() }));
    g.count++;
    g.fields.add(d.field);
    if (g.examples.length < MAX_EXAMPLES) g.examples.push(format(d));
  }
  for (const [id, n] of extraCounts) {
    const g = by.get(id);
    if (g) g.count += n;
    else by.set(id, { count: n, examples: [], fields: new Set() });
  }
  const out: Finding[] = [];
  for (const [id, def] of Object.entries(FINDINGS)) {
    const g = by.get(id);
    if (!g) continue;
    const facts: FindingFacts = { first: g.first ?? { location: { level: 'layer' }, field: '', finding: id }, fields: g.fields };
    out.push({ id, title: def.title(g.count, facts), hint: typeof def.hint === 'string' ? def.hint : def.hint(facts), count: g.count, examples: g.examples });
  }
  return out;
}
