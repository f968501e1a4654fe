/**
 * Where an Arch spec's files come from: `source.mirrors` (the list for every architecture, or the
 * architecture's own list of a map), else the Arch Linux Archive snapshot of the spec's date. Each
 * base holds `$repo/os/$arch/` below it, as the archive's snapshots do; a base written with `$repo`
 * or `$arch` (pacman's mirrorlist form, such as Arch Linux ARM's `$arch/$repo`) has them
 * substituted instead.
 */
import { mirrorsFor, type ArchSource } from './schema.js';

/** The documented default: the Arch Linux Archive's dated snapshots. */
export const ARCHIVE_BASE = 'https://archive.archlinux.org/repos';

/** The bases of an architecture (default: the source's `architecture`), in order. */
export function archBases(source: ArchSource, architecture = source.architecture): string[] {
  const mirrors = mirrorsFor(source, architecture);
  if (mirrors) return mirrors.map((m) => m.replace(/\/+$/, ''));
  return [`${ARCHIVE_BASE}/${source.snapshot}`];
}

/** The directory URL of one repository below a base (no trailing slash). */
export function repoUrl(base: string, repo: string, arch: string): string {
  if (base.includes('$repo') || base.includes('$arch')) return base.replaceAll('$repo', repo).replaceAll('$arch', arch).replace(/\/+$/, '');
  return `${base}/${repo}/os/${arch}`;
}

/** The URLs of a file of a repository, one per base, in order. */
export function fileUrls(bases: string[], repo: string, arch: string, filename: string): string[] {
  return bases.map((b) => `${repoUrl(b, repo, arch)}/${encodeURIComponent(filename)}`);
}

/** SOURCE_DATE_EPOCH of a snapshot: its day at 00:00 UTC. */
export function snapshotEpoch(snapshot: string): number {
  const [y, m, d] = snapshot.split('/').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / 1000;
}
