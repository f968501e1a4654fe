/** The shape of `base:` in a spec (src/pipeline/base.ts, docs/base-images.md); the lock's is sources/base-lock.ts. */
import { z } from 'zod';

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

