/**
 * Arch Linux's part of the image spec: its `source:` (an archive snapshot, repositories, the
 * architecture or architectures, mirrors, keyring), with the checks the schema cannot say.
 */
import { z } from 'zod';
import type { SpecView } from '../distribution.js';

/** A real calendar date written as the Arch Linux Archive does: YYYY/MM/DD. */
const snapshotDate = z.string().regex(/^\d{4}\/\d{2}\/\d{2}$/, 'a date such as 2024/03/01 (YYYY/MM/DD)')
  .refine((s) => {
    const [y, m, d] = s.split('/').map(Number) as [number, number, number];
    const t = new Date(Date.UTC(y, m - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, 'not a calendar date');

const archName = z.string().regex(/^[a-z0-9_]+$/, 'a pacman architecture such as x86_64 or aarch64');
const mirrorList = z.array(z.url({ protocol: /^(https?|file)$/ })).min(1);

/** The one architecture the Arch Linux Archive (the default mirror) carries. */
export const ARCHIVE_ARCHITECTURE = 'x86_64';

export const archSource = z.strictObject({
  distro: z.literal('arch'),
  snapshot: snapshotDate.describe('Arch Linux Archive snapshot (YYYY/MM/DD); also the default SOURCE_DATE_EPOCH (that day, 00:00 UTC)'),
  repositories: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a repository name such as core')).min(1).default(['core', 'extra']),
  architecture: archName.default(ARCHIVE_ARCHITECTURE),
  architectures: z.array(archName).min(1).optional()
    .describe('Build one image per architecture, each resolved from its own repository databases, into one lock and one OCI index (sorted by platform); replaces architecture. Every architecture but x86_64 needs mirrors that serve it'),
  mirrors: z.union([mirrorList, z.record(archName, mirrorList)]).optional()
    .describe('Bases laid out like the Arch Linux Archive snapshot ($repo/os/$arch/ below them; $repo and $arch are substituted where written, as in http://mirror.archlinuxarm.org/$arch/$repo), tried in order: a list for every architecture, or a map from architecture to its list (an architecture it leaves out: the archive snapshot, x86_64 only); default: the archive snapshot'),
  keyring: z.string().min(1).optional()
    .describe('OpenPGP keyring of the packagers (binary or armored) relative to the spec; default: the host pacman keyring'),
});

export type ArchSource = z.output<typeof archSource>;
export type ArchSpec = SpecView<ArchSource>;

/** The mirrors a source names for an architecture (its own list, else the list for all); undefined: none. */
export function mirrorsFor(source: Pick<ArchSource, 'mirrors'>, architecture: string): string[] | undefined {
  const m = source.mirrors;
  if (m === undefined || Array.isArray(m)) return m;
  return Object.hasOwn(m, architecture) ? m[architecture] : undefined;
}

/**
 * `architectures` replaces `architecture` (each listed once; no `platform:` or `base:` beside it);
 * an architecture other than x86_64 needs mirrors that serve it (the archive has x86_64 alone); a
 * map of mirrors names only architectures the spec builds.
 */
export function checkArchSpec(spec: SpecView<{ distro: string }>, issue: (path: Array<string | number>, message: string) => void): void {
  if (spec.source.distro !== 'arch') return;
  const src = spec.source as Partial<ArchSource>;
  const multi = src.architectures;
  if (multi !== undefined) {
    if (src.architecture !== undefined && src.architecture !== ARCHIVE_ARCHITECTURE) issue(['source', 'architecture'], 'give architecture or architectures, not both');
    const seen = new Set<string>();
    multi.forEach((a, i) => {
      if (seen.has(a)) issue(['source', 'architectures', i], `${a} is listed twice`);
      seen.add(a);
    });
    if (spec['platform'] !== undefined) issue(['platform'], 'with source.architectures, each image\'s platform is its architecture\'s');
    if (spec['base'] !== undefined) issue(['base'], 'a base image is one platform\'s image; a spec with source.architectures cannot build on it');
  }
  const archs = multi ?? [src.architecture ?? ARCHIVE_ARCHITECTURE];
  archs.forEach((a, i) => {
    if (a === ARCHIVE_ARCHITECTURE || mirrorsFor(src, a) !== undefined) return;
    issue(multi === undefined ? ['source', 'architecture'] : ['source', 'architectures', i],
      `${a}: the Arch Linux Archive has x86_64 only; add source.mirrors.${a}: [URL, …] naming mirrors that serve ${a} (Arch Linux ARM: http://mirror.archlinuxarm.org/$arch/$repo)`);
  });
  const m = src.mirrors;
  if (m !== undefined && !Array.isArray(m)) {
    for (const a of Object.keys(m).sort()) {
      if (!archs.includes(a)) issue(['source', 'mirrors', a], `${a} is not an architecture this spec builds (${archs.join(', ')})`);
    }
  }
}
