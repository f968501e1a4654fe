/**
 * Every distribution the spec knows, in one list: the spec schema, the lock file, the build and
 * `status` find a distribution here and never branch on its name. Add a distribution by adding
 * its folder and one entry below.
 */
import { ReproError } from '../model/errors.js';
import { arch } from './arch/distribution.js';
import { debian } from './debian/distribution.js';
import { debianSpecFields } from './debian/schema.js';
import type { Distribution } from './distribution.js';

export const DISTRIBUTIONS = [debian, arch] as const;

/** The `source:` schemas of every distribution, for the spec's discriminated union. */
export const SOURCE_SCHEMAS = [debian.sourceSchema, arch.sourceSchema] as const;

/** Top-level spec fields that distributions add (each refuses its own in other distributions' specs). */
export const DISTRIBUTION_SPEC_FIELDS = { ...debianSpecFields };

export type AnyLock = ReturnType<(typeof DISTRIBUTIONS)[number]['lockSchema']['parse']>;

export function distributionFor(distro: string): Distribution {
  const d = DISTRIBUTIONS.find((x) => x.distro === distro);
  if (!d) throw new ReproError('E_SPEC', `source.distro ${JSON.stringify(distro)}: not a distribution this tool knows (${DISTRIBUTIONS.map((x) => x.distro).join(', ')})`);
  return d as Distribution;
}
