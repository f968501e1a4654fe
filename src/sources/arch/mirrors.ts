/**
 * Where an Arch spec's files come from: `source.mirrors`, else the Arch Linux Archive snapshot of
 * the spec's date. Each base holds `$repo/os/$arch/` below it, as the archive's snapshots do; a base
 * written with `$repo` or `$arch` (pacman's mirrorlist form) has them substituted instead.
 */
import type { ArchSource } from './schema.js';

/** The documented default: the Arch Linux Archive's dated snapshots. */
export const ARCHIVE_BASE = 'https://archive.archlinux.org/repos';

export function archBases(source: ArchSource): string[] {
  if (source.mirrors) return source.mirrors.map((m) => m.replace(/\/+$/, ''));
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
