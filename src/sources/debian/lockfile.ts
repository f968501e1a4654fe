/** The lock of a Debian spec: the signed Release it was resolved from and every .deb pinned. */
import { z } from 'zod';
import { lockHeader, sha256Hex } from '../distribution.js';

export const debianLockedPackage = z.strictObject({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  filename: z.string(),
  size: z.number().int().min(0),
  sha256: sha256Hex,
  source: z.string(),
  sourceVersion: z.string(),
  component: z.string(),
});

export const debianLock = z.strictObject({
  ...lockHeader,
  source: z.strictObject({
    distro: z.literal('debian'),
    suite: z.string(),
    codename: z.string().optional(),
    architecture: z.string(),
    components: z.array(z.string()),
    date: z.string(),
    sourceDateEpoch: z.number().int(),
    inRelease: z.strictObject({ size: z.number().int(), sha256: sha256Hex }),
    signers: z.array(z.string()),
    indexes: z.array(z.strictObject({ path: z.string(), size: z.number().int(), sha256: sha256Hex })),
  }),
  packages: z.array(debianLockedPackage),
});

export type DebianLock = z.output<typeof debianLock>;
export type DebianLockedPackage = z.output<typeof debianLockedPackage>;
