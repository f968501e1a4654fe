/** The shapes of `base:` in a spec and in its lock (src/pipeline/base.ts, docs/base-images.md). */
import { z } from 'zod';

const DIGEST = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const descriptor = z.strictObject({ mediaType: z.string().min(1), digest: DIGEST, size: z.number().int().min(0) });

/** The lock's `base`: the reference as the spec wrote it and every blob of the image it names. */
export const baseLock = z.strictObject({
  ref: z.string().min(1),
  manifest: descriptor,
  config: descriptor,
  layers: z.array(descriptor),
});
export type BaseLock = z.output<typeof baseLock>;

/** `base:` in the spec: a reference, or one with paths of the base to remove. */
export const baseSpec = z.union([
  z.string().min(1).describe('An image reference pinned by digest: docker://HOST/REPO@sha256:…, oci:DIR:@sha256:…'),
  z.strictObject({
    image: z.string().min(1).describe('An image reference pinned by digest'),
    remove: z.array(z.string().regex(/^\/./, 'an absolute path other than /')).optional()
      .describe("Paths of the base's tree to remove (a whiteout each, in our layer)"),
  }),
]);
export type BaseSpec = z.output<typeof baseSpec>;

