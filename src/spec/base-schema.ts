/** The shape of `base:` in a spec (src/pipeline/base.ts, docs/base-images.md); the lock's is sources/base-lock.ts. */
import { z } from 'zod';
import { comparePaths } from '../model/byte-order.js';

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


/**
 * `base.remove` as the set it means: each path without its leading and trailing slashes, once,
 * in byte order (the order and spelling the user wrote change nothing in the image).
 */
export function removeSet(remove: readonly string[]): string[] {
  return [...new Set(remove.map((p) => p.replace(/^\/+|\/+$/g, '')))].sort(comparePaths);
}

/** `base:` as the spec digest covers it: `remove` as a set, spelled `/PATH`. */
export function canonicalBase(b: BaseSpec): BaseSpec {
  return typeof b === 'string' || b.remove === undefined ? b : { ...b, remove: removeSet(b.remove).map((p) => `/${p}`) };
}
