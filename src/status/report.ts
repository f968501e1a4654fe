/**
 * Combines what the rebuilders say about an image's packages into one report, and renders it in
 * the form arch-repro-status users know (`[+] name version GOOD`, "N/M packages are not
 * reproducible.", "Your image is X.XX% reproducible."). Pure.
 *
 * A package's verdict from one rebuilder is that rebuilder's record of the same name and version
 * (the latest, if several), else, for Debian, of its source package and version; anything else is
 * UNKWN. Over several rebuilders: BAD if any found it BAD, else GOOD if any reproduced it, else
 * UNKWN; rebuilders that found it GOOD and BAD are a disagreement, reported as such.
 */
import type { InstalledPackage } from '../sources/distribution.js';
import { escapeControl } from '../model/errors.js';
import type { RebuilderAnswer, Verdict } from './rebuilderd.js';

export interface RebuilderResult {
  url: string;
  answer?: RebuilderAnswer;
  /** Why it could not be asked. */
  error?: string;
}

export interface PackageStatus {
  distribution: string;
  name: string;
  version: string;
  status: Verdict;
  /** Verdict of each rebuilder that answered, by URL. */
  rebuilders: Record<string, Verdict>;
}

export interface Tally {
  total: number;
  notReproducible: number;
  /** The reproducible share in percent, two decimals (as arch-repro-status prints it). */
  percent: string;
}

export interface StatusReport {
  packages: PackageStatus[];
  rebuilders: Array<{ url: string; api?: 'v1' | 'v0'; error?: string; tally?: Tally }>;
  disagreements: Array<{ name: string; version: string; good: string[]; bad: string[] }>;
  summary: Tally;
}

function tally(verdicts: Verdict[]): Tally {
  const notReproducible = verdicts.filter((v) => v !== 'GOOD').length;
  const total = verdicts.length;
  return { total, notReproducible, percent: total === 0 ? '0.00' : (((total - notReproducible) / total) * 100).toFixed(2) };
}

const key = (distribution: string, name: string, version: string): string => `${distribution}\0${name}\0${version}`;

/** (distribution, name, version) → the latest verdict, for one rebuilder's answer. */
function index(answer: RebuilderAnswer): Map<string, Verdict> {
  const m = new Map<string, Verdict>();
  // Records come oldest first: the last one of a package stands.
  for (const r of answer.records) m.set(key(r.distribution, r.name, r.version), r.status);
  return m;
}

export function combine(packages: InstalledPackage[], results: RebuilderResult[]): StatusReport {
  const answered = results.filter((r) => r.answer).map((r) => ({ url: r.url, known: index(r.answer!) }));
  const perRebuilder = new Map<string, Verdict[]>(answered.map((a) => [a.url, []]));
  const disagreements: StatusReport['disagreements'] = [];
  const statuses = packages.map((p): PackageStatus => {
    const rebuilders: Record<string, Verdict> = {};
    for (const a of answered) {
      const v = a.known.get(key(p.distribution, p.name, p.version))
        ?? (p.source ? a.known.get(key(p.distribution, p.source.name, p.source.version)) : undefined) ?? 'UNKWN';
      rebuilders[a.url] = v;
      perRebuilder.get(a.url)!.push(v);
    }
    const verdicts = Object.values(rebuilders);
    const good = answered.filter((a) => rebuilders[a.url] === 'GOOD').map((a) => a.url);
    const bad = answered.filter((a) => rebuilders[a.url] === 'BAD').map((a) => a.url);
    if (good.length > 0 && bad.length > 0) disagreements.push({ name: p.name, version: p.version, good, bad });
    const status: Verdict = verdicts.includes('BAD') ? 'BAD' : verdicts.includes('GOOD') ? 'GOOD' : 'UNKWN';
    return { distribution: p.distribution, name: p.name, version: p.version, status, rebuilders };
  });
  return {
    packages: statuses,
    rebuilders: results.map((r) => (r.answer ? { url: r.url, api: r.answer.api, tally: tally(perRebuilder.get(r.url)!) } : { url: r.url, error: r.error ?? 'no answer' })),
    disagreements,
    summary: tally(statuses.map((s) => s.status)),
  };
}

const MARK: Record<Verdict, string> = { GOOD: '+', BAD: '-', UNKWN: '?' };

/** The summary lines of arch-repro-status, said of an image. */
export function summaryLines(t: Tally): string[] {
  if (t.total === 0) return ['No packages found.'];
  const first = t.notReproducible === 0 ? 'All packages are reproducible!'
    : t.notReproducible === 1 ? `1/${t.total} package is not reproducible. Almost there.`
      : `${t.notReproducible}/${t.total} packages are not reproducible.`;
  return [first, `Your image is ${t.percent}% reproducible.`];
}

/** A warning line for each rebuilder left out (its error), escaped as the report is. */
export function leftOutWarnings(rebuilders: readonly RebuilderResult[]): string {
  return rebuilders.filter((r) => r.error).map((r) => `${escapeControl(`warning: rebuilder ${r.url} left out: ${r.error}`)}\n`).join('');
}

/**
 * The report as text. Names and versions come from the image's package database (someone else's),
 * and URLs from the command line: control characters and line separators are shown escaped, so
 * that none can start a line of its own (or, with a carriage return, write over one) and forge
 * "Your image is 100.00% reproducible.".
 */
export function renderText(report: StatusReport): string {
  const lines = report.packages.map((p) => `[${MARK[p.status]}] ${p.name} ${p.version} ${p.status}`);
  const asked = report.rebuilders.filter((r) => r.tally);
  if (asked.length > 1) {
    lines.push('');
    for (const r of asked) lines.push(`${r.url}: ${r.tally!.notReproducible}/${r.tally!.total} packages are not reproducible (${r.tally!.percent}% reproducible).`);
  }
  if (report.disagreements.length > 0) {
    lines.push('', `The rebuilders disagree on ${report.disagreements.length} package${report.disagreements.length === 1 ? '' : 's'}:`);
    for (const d of report.disagreements) lines.push(`  ${d.name} ${d.version}: GOOD at ${d.good.join(', ')}; BAD at ${d.bad.join(', ')}`);
  }
  lines.push('', ...summaryLines(report.summary));
  return `${lines.map(escapeControl).join('\n')}\n`;
}
