/**
 * Debian's part of the image spec: its `source:` (suite, components, architecture, mirrors,
 * keyring) and the top-level fields only Debian has (`essential`, `priority`), with the checks
 * the schema cannot say.
 */
import { z } from 'zod';
import type { SpecView } from '../distribution.js';
import { timestampEpoch } from './snapshot.js';

const suiteName = z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'a suite or codename such as bookworm');

export const debianSource = z.strictObject({
  distro: z.literal('debian'),
  suite: suiteName,
  extraSuites: z.array(suiteName).min(1).optional()
    .describe('Further suites layered over suite, such as bookworm-updates and bookworm-security: of two versions of a package the higher wins, as apt chooses'),
  snapshot: z.string().refine((s) => s === 'latest' || timestampEpoch(s) !== undefined, 'a snapshot timestamp such as 20250520T000000Z (YYYYMMDDTHHMMSSZ, UTC), or latest').optional()
    .describe('Resolve against this snapshot of the archive (snapshot.debian.org layout: <base>/archive/debian/<timestamp>/); latest: the newest, chosen by lock and written into the lock. Also the default SOURCE_DATE_EPOCH'),
  components: z.array(z.string().regex(/^[a-z0-9][a-z0-9/-]*$/)).min(1).default(['main']),
  architecture: z.string().regex(/^[a-z0-9-]+$/).default('amd64'),
  architectures: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1).optional()
    .describe('Build one image per architecture, each resolved from its own Packages indexes, into one lock and one OCI index (sorted by platform); replaces architecture'),
  mirrors: z.array(z.url({ protocol: /^(https?|file)$/ })).min(1).optional()
    .describe('Mirror base URLs, tried in order; default: the host apt configuration. With snapshot: snapshot service bases (<base>/archive/<archive>/<timestamp>/ below them); default: https://snapshot.debian.org'),
  keyring: z.string().min(1).optional()
    .describe('OpenPGP keyring (binary or armored) relative to the spec; default: the host Debian archive keyring'),
});

/** Top-level spec fields that only a Debian source uses. */
export const debianSpecFields = {
  essential: z.boolean().default(false).describe('Add every Essential: yes package, as debootstrap minbase does'),
  priority: z.enum(['required', 'important']).optional().describe('Also add every package of this priority or higher'),
};

export type DebianSource = z.output<typeof debianSource>;

export type DebianSpec = SpecView<DebianSource> & { essential: boolean; priority?: 'required' | 'important' };

/** Package names follow Debian's policy (two or more characters, no _ or @); essential and priority are Debian's alone. */
export function checkDebianSpec(spec: SpecView<{ distro: string }>, issue: (path: Array<string | number>, message: string) => void): void {
  if (spec.source.distro === 'debian') {
    spec.packages.forEach((p, i) => {
      if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) issue(['packages', i], 'a package name');
    });
    const src = spec.source as Partial<DebianSource>;
    if (src.architectures !== undefined) {
      if (src.architecture !== undefined && src.architecture !== 'amd64') issue(['source', 'architecture'], 'give architecture or architectures, not both');
      const archs = new Set<string>();
      src.architectures.forEach((a, i) => {
        if (archs.has(a)) issue(['source', 'architectures', i], `${a} is listed twice`);
        archs.add(a);
      });
      if (spec['platform'] !== undefined) issue(['platform'], 'with source.architectures, each image\'s platform is its architecture\'s');
      // A base image is one platform's image: building several platforms on it would need one base per platform.
      if (spec['base'] !== undefined) issue(['base'], 'a base image is one platform\'s image; a spec with source.architectures cannot build on it');
    }
    const seen = new Set([src.suite]);
    (src.extraSuites ?? []).forEach((s, i) => {
      if (seen.has(s)) issue(['source', 'extraSuites', i], `${s} is listed twice (suite or extraSuites)`);
      seen.add(s);
    });
  } else {
    if (spec['essential'] === true) issue(['essential'], 'applies to Debian sources only');
    if (spec['priority'] !== undefined) issue(['priority'], 'applies to Debian sources only');
  }
}
