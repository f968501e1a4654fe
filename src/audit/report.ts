/**
 * The audit's report: every entry's account tallied by what explains it (packages reproduced from
 * source, packages not reproduced, packages not yet checked, named build steps, modified,
 * unexplained), per package and per step, and rendered as the summary lines a person reads at a
 * glance. Pure but for the accounts `buildReport` is given, which become the report's entries.
 */
import { escapeName } from '../model/errors.js';
import type { Verdict } from '../status/rebuilderd.js';
import type { StatusReport } from '../status/report.js';
import type { EntryAccount, MissingFile } from './account.js';

export interface Tally {
  entries: number;
  bytes: number;
}

export type Bucket = 'reproduced' | 'notReproduced' | 'unknown' | 'packages' | 'generated' | 'modified' | 'unexplained';

/**
 * A package as the report names it. Its licenses, dependencies and file list are not here: the
 * SBOM (`sbom`) has the first two, and the report's entries name their owners.
 */
export interface PackageAudit {
  distribution: string;
  name: string;
  version: string;
  architecture?: string;
  /** The source package (name and version). */
  source?: { name: string; version: string };
  purl?: string;
  /** GOOD/BAD/UNKWN when rebuilders were asked. */
  verdict?: Verdict;
  rebuilders?: Record<string, Verdict>;
  /** Entries (and bytes) of the image this package accounts for, and how many of them it recorded otherwise. */
  entries: number;
  bytes: number;
  modified: number;
  /** Paths it recorded that the image does not have. */
  missing: number;
}

export interface AuditReport {
  target: string;
  manifest: string;
  platform: string;
  /** Whether rebuilders were asked (else package entries are in `packages`, not reproduced/notReproduced/unknown). */
  checked: boolean;
  total: Tally;
  summary: Record<Bucket, Tally>;
  /** Entries and bytes per named step (generated). */
  steps: Record<string, Tally>;
  packages: PackageAudit[];
  rebuilders: StatusReport['rebuilders'];
  disagreements: StatusReport['disagreements'];
  modified: EntryAccount[];
  unexplained: EntryAccount[];
  /** Regular files from packages whose bytes could not be checked (no digest recorded), and their tally. */
  unchecked: EntryAccount[];
  uncheckedTotal: Tally;
  missing: MissingFile[];
  /** Every entry, in path order (for the HTML tree and for --json). */
  entries: Array<EntryAccount & { bucket: Bucket }>;
  /**
   * What the package databases say that their own tools would not have written (a name or version
   * dpkg or makepkg refuses), one line each naming the file and field; each package is kept as
   * written (see docs/robustness.md). `--strict` fails on any.
   */
  warnings: string[];
}

const zero = (): Tally => ({ entries: 0, bytes: 0 });

/**
 * The report's package entries by name and version: by name alone while a name has one version
 * (nearly always), so that 300,000 packages make no key string each (`name\0version`: 17 MB) and
 * the first entry of a name is found without a second map. A package given again (one name and
 * version) replaces the entry, as `Map.set` of one key does.
 */
class PackageIndex {
  private readonly byName = new Map<string, PackageAudit>();
  /** Entries of a name that has another version first: by `name\0version`. */
  private readonly others = new Map<string, PackageAudit>();

  set(a: PackageAudit): void {
    const first = this.byName.get(a.name);
    if (first === undefined || first.version === a.version) this.byName.set(a.name, a);
    else this.others.set(`${a.name}\0${a.version}`, a);
  }

  get(name: string, version: string): PackageAudit | undefined {
    const first = this.byName.get(name);
    return first === undefined || first.version === version ? first : this.others.get(`${name}\0${version}`);
  }

  /** The entry of a name given first. */
  first(name: string): PackageAudit | undefined {
    return this.byName.get(name);
  }

  values(): PackageAudit[] {
    return [...this.byName.values(), ...this.others.values()];
  }
}

/** The verdict of an entry from its owners': GOOD if any reproduced it, else BAD if any did not, else UNKWN. */
function entryVerdict(owners: EntryAccount['owners'], verdicts: ReadonlyMap<string, Verdict>): Verdict {
  const vs = (owners ?? []).map((o) => verdicts.get(`${o.name}\0${o.version}`) ?? 'UNKWN');
  return vs.includes('GOOD') ? 'GOOD' : vs.includes('BAD') ? 'BAD' : 'UNKWN';
}

/** An entry as the report's lists (modified, unexplained, unchecked) show it: its account, without its bucket. */
function listed(e: EntryAccount & { bucket?: Bucket }): EntryAccount {
  const { bucket: _bucket, ...account } = e;
  return account;
}

/**
 * The report of an image's accounts. The accounts are taken over: each becomes the report's entry
 * for its path, its bucket added (a copy of each was as many objects again as the image has
 * entries); the lists of modified, unexplained and unchecked entries are copies without it.
 */
export function buildReport(
  head: { target: string; manifest: string; platform: string },
  accounts: EntryAccount[],
  packages: ReadonlyArray<Pick<PackageAudit, 'distribution' | 'name' | 'version' | 'architecture' | 'source' | 'purl'> & { warnings?: string[] }>,
  missing: MissingFile[],
  status: StatusReport | undefined,
): AuditReport {
  const verdicts = new Map<string, Verdict>((status?.packages ?? []).map((p) => [`${p.name}\0${p.version}`, p.status]));
  const byRebuilder = new Map((status?.packages ?? []).map((p) => [`${p.name}\0${p.version}`, p.rebuilders]));
  const summary: Record<Bucket, Tally> = { reproduced: zero(), notReproduced: zero(), unknown: zero(), packages: zero(), generated: zero(), modified: zero(), unexplained: zero() };
  const steps: Record<string, Tally> = {};
  // What the report says of a package, not the whole record it was given.
  // Made field by field, in the order the JSON has them (no object spread per package: 300,000
  // packages made 130 MB of short-lived objects here).
  const perPackage = new PackageIndex();
  for (const p of packages) {
    const a = { distribution: p.distribution, name: p.name, version: p.version } as PackageAudit;
    if (p.architecture !== undefined) a.architecture = p.architecture;
    if (p.source !== undefined) a.source = { name: p.source.name, version: p.source.version };
    if (p.purl !== undefined) a.purl = p.purl;
    a.entries = 0;
    a.bytes = 0;
    a.modified = 0;
    a.missing = 0;
    perPackage.set(a);
  }
  const total = zero();
  const uncheckedTotal = zero();
  const entries: AuditReport['entries'] = [];
  const add = (t: Tally, a: EntryAccount): void => {
    t.entries++;
    t.bytes += a.size;
  };
  for (const a of accounts) {
    add(total, a);
    let bucket: Bucket;
    if (a.kind === 'package') {
      bucket = !status ? 'packages' : ({ GOOD: 'reproduced', BAD: 'notReproduced', UNKWN: 'unknown' } as const)[entryVerdict(a.owners, verdicts)];
    } else {
      bucket = a.kind;
    }
    add(summary[bucket], a);
    if (a.unchecked) add(uncheckedTotal, a);
    if (a.kind === 'generated') add((steps[a.step!] ??= zero()), a);
    for (const o of a.owners ?? []) {
      const p = perPackage.get(o.name, o.version);
      if (!p) continue;
      // Bytes go to the first owner only, so that package bytes add up to the image's.
      if (o === a.owners![0]) p.bytes += a.size;
      p.entries++;
      if (a.kind === 'modified') p.modified++;
    }
    const e = a as EntryAccount & { bucket: Bucket };
    e.bucket = bucket;
    entries.push(e);
  }
  // A missing path counts for the first package of its name (one lookup each, not a scan).
  for (const m of missing) {
    const p = perPackage.first(m.package);
    if (p) p.missing++;
  }
  // The report's own objects, finished in place (not copied: one object a package, 300,000 of them).
  const pkgs: PackageAudit[] = perPackage.values().map((p) => {
    if (status) {
      const key = `${p.name}\0${p.version}`;
      p.verdict = verdicts.get(key) ?? 'UNKWN';
      p.rebuilders = byRebuilder.get(key) ?? {};
    }
    return p;
  }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
  return {
    ...head,
    checked: status !== undefined,
    total,
    summary,
    steps: Object.fromEntries(Object.entries(steps).sort(([a], [b]) => (a < b ? -1 : 1))),
    packages: pkgs,
    rebuilders: status?.rebuilders ?? [],
    disagreements: status?.disagreements ?? [],
    modified: entries.filter((a) => a.kind === 'modified').map(listed),
    unexplained: entries.filter((a) => a.kind === 'unexplained').map(listed),
    unchecked: entries.filter((a) => a.unchecked === true).map(listed),
    uncheckedTotal,
    missing,
    entries,
    warnings: packages.flatMap((p) => p.warnings ?? []),
  };
}

/**
 * Whether `--strict` passes: every byte accounted for, nothing modified, every file from packages
 * checked against a recorded digest, no package database warning, every package GOOD (when
 * rebuilders were asked).
 */
export function strictPasses(r: AuditReport): boolean {
  if (r.summary.unexplained.entries > 0 || r.summary.modified.entries > 0 || r.uncheckedTotal.entries > 0 || r.warnings.length > 0) return false;
  if (r.checked && r.packages.some((p) => p.verdict !== 'GOOD')) return false;
  return true;
}

/** 1234567 → `1.2 MiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * 1234567 → `1,234,567`, as the en-US locale writes whole numbers, without ICU (whose first use
 * costs about 0.1 s, a sixth of an audit, and whose data is the Node build's).
 */
export function thousands(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  const head = digits.length % 3 || 3;
  let out = digits.slice(0, head);
  for (let i = head; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}

const count = (n: number, one: string, many = `${one}s`): string => `${thousands(n)} ${n === 1 ? one : many}`;

function pct(part: number, whole: number): string {
  return whole === 0 ? '0.00%' : `${((part / whole) * 100).toFixed(2)}%`;
}

/** The lines a person reads at a glance. */
export function summaryLines(r: AuditReport): string[] {
  const rows: Array<[string, Tally]> = r.checked
    ? [['from packages reproduced from source', r.summary.reproduced], ['from packages not reproduced (BAD)', r.summary.notReproduced],
      ['from packages not (yet) reproduced (UNKWN)', r.summary.unknown]]
    : [['from packages (no rebuilder asked)', r.summary.packages]];
  rows.push(['generated by named build steps', r.summary.generated], ['modified since installed', r.summary.modified], ['unexplained', r.summary.unexplained]);
  const lines = [`${count(r.total.entries, 'entry', 'entries')}, ${bytes(r.total.bytes)} (${thousands(r.total.bytes)} bytes) in ${r.target}:`];
  for (const [label, t] of rows) {
    lines.push(`  ${label.padEnd(44)} ${thousands(t.entries).padStart(7)} entries ${bytes(t.bytes).padStart(10)}  ${pct(t.bytes, r.total.bytes).padStart(7)} of bytes`);
  }
  const open = r.summary.modified.bytes + r.summary.unexplained.bytes;
  const unaccounted = r.summary.modified.entries + r.summary.unexplained.entries;
  lines.push(unaccounted === 0 ? 'Every entry is accounted for.' : `${count(unaccounted, 'entry', 'entries')} (${bytes(open)}) not accounted for.`);
  const u = r.uncheckedTotal;
  if (u.entries > 0) lines.push(`${count(u.entries, 'file')} (${bytes(u.bytes)}) from packages not checked: no digest recorded.`);
  return lines;
}

export function renderText(r: AuditReport): string {
  const out: string[] = [];
  if (r.warnings.length > 0) {
    out.push(`Package database warnings (the packages are read as written): ${thousands(r.warnings.length)}`);
    for (const w of r.warnings) out.push(`  ${w}`);
    out.push('');
  }
  if (r.checked) {
    for (const p of r.packages) out.push(`[${p.verdict === 'GOOD' ? '+' : p.verdict === 'BAD' ? '-' : '?'}] ${p.name} ${p.version} ${p.verdict}: ${count(p.entries, 'entry', 'entries')}, ${bytes(p.bytes)}${p.modified ? `, ${p.modified} modified` : ''}`);
    out.push('');
    if (r.disagreements.length > 0) {
      out.push(`The rebuilders disagree on ${count(r.disagreements.length, 'package')}:`);
      for (const d of r.disagreements) out.push(`  ${d.name} ${d.version}: GOOD at ${d.good.join(', ')}; BAD at ${d.bad.join(', ')}`);
      out.push('');
    }
  }
  if (Object.keys(r.steps).length > 0) {
    out.push('Generated by named build steps:');
    for (const [step, t] of Object.entries(r.steps)) out.push(`  ${step}: ${count(t.entries, 'entry', 'entries')}, ${bytes(t.bytes)}`);
    out.push('');
  }
  if (r.modified.length > 0) {
    out.push('Modified since installed:');
    for (const a of r.modified) out.push(`  ${a.path} (${a.owners!.map((o) => o.name).join(', ')}${a.conffile ? ', conffile' : ''}): ${(a.differences ?? []).join('; ')}`);
    out.push('');
  }
  if (r.unexplained.length > 0) {
    out.push('Unexplained:');
    for (const a of r.unexplained) out.push(`  ${a.path} (${a.type}${a.type === 'file' ? `, ${bytes(a.size)}` : ''})${a.differences ? `: ${a.differences.join('; ')}` : ''}`);
    out.push('');
  }
  if (r.unchecked.length > 0) {
    out.push(`From packages, not checked (no digest recorded): ${count(r.unchecked.length, 'file')}${r.unchecked.length > 20 ? ' (first 20)' : ''}`);
    for (const a of r.unchecked.slice(0, 20)) out.push(`  ${a.path} (${a.owners!.map((o) => o.name).join(', ')}, ${bytes(a.size)})`);
    out.push('');
  }
  if (r.missing.length > 0) {
    out.push(`Recorded by packages, not in the image: ${count(r.missing.length, 'path')}${r.missing.length > 20 ? ' (first 20)' : ''}`);
    for (const m of r.missing.slice(0, 20)) out.push(`  /${m.path} (${m.package})`);
    out.push('');
  }
  out.push(...summaryLines(r));
  // Paths, names and versions come from the image: a newline or an escape sequence in one is shown
  // escaped, so that none can start a line of its own (a forged "Every entry is accounted for.").
  return `${out.map(escapeName).join('\n')}\n`;
}
