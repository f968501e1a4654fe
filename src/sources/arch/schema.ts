/** Arch Linux's part of the image spec: its `source:` (an archive snapshot, repositories, mirrors, keyring). */
import { z } from 'zod';
import type { SpecView } from '../distribution.js';

/** A real calendar date written as the Arch Linux Archive does: YYYY/MM/DD. */
const snapshotDate = z.string().regex(/^\d{4}\/\d{2}\/\d{2}$/, 'a date such as 2024/03/01 (YYYY/MM/DD)')
  .refine((s) => {
    const [y, m, d] = s.split('/').map(Number) as [number, number, number];
    const t = new Date(Date.UTC(y, m - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, 'not a calendar date');

export const archSource = z.strictObject({
  distro: z.literal('arch'),
  snapshot: snapshotDate.describe('Arch Linux Archive snapshot (YYYY/MM/DD); also the default SOURCE_DATE_EPOCH (that day, 00:00 UTC)'),
  repositories: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a repository name such as core')).min(1).default(['core', 'extra']),
  architecture: z.string().regex(/^[a-z0-9_]+$/).default('x86_64'),
  mirrors: z.array(z.url({ protocol: /^(https?|file)$/ })).min(1).optional()
    .describe('Bases laid out like the Arch Linux Archive snapshot ($repo/os/$arch/ below them; $repo and $arch are substituted where written), tried in order; default: the archive snapshot'),
  keyring: z.string().min(1).optional()
    .describe('OpenPGP keyring of the packagers (binary or armored) relative to the spec; default: the host pacman keyring'),
});

export type ArchSource = z.output<typeof archSource>;
export type ArchSpec = SpecView<ArchSource>;
