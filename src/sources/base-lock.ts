/**
 * The lock's `base`: the reference as the spec wrote it and every blob of the image it names
 * (src/pipeline/base.ts, docs/base-images.md). Part of the lock every distribution writes, so it
 * lives beside the lock's shape (distribution.ts); the spec's `base:` is in spec/base-schema.ts.
 */
import { z } from 'zod';

const DIGEST = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const descriptor = z.strictObject({ mediaType: z.string().min(1), digest: DIGEST, size: z.number().int().min(0) });

export const baseLock = z.strictObject({
  ref: z.string().min(1),
  manifest: descriptor,
  config: descriptor,
  layers: z.array(descriptor),
});
export type BaseLock = z.output<typeof baseLock>;
