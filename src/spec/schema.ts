/**
 * The image spec (`image.yaml`): one definition, from which both the validator and the shipped
 * JSON Schema (docs/image-spec.schema.json, `repro-image schema`) are made. The `source:` and the
 * fields a distribution adds come from the distributions (src/sources/index.ts); nothing here
 * knows one distribution from another. Unknown keys are rejected everywhere.
 */
import { z } from 'zod';
import { DISTRIBUTIONS, DISTRIBUTION_SPEC_FIELDS, SOURCE_SCHEMAS } from '../sources/index.js';
import { diskSpec } from './disk-schema.js';

const PASS = z.enum(['exclude', 'ldconfig-aux-cache', 'machine-id', 'random-seed', 'pacman-installdate', 'xattrs', 'clamp-mtime']);

export const containerConfig = z.strictObject({
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  env: z.record(z.string().regex(/^[^=\s]+$/), z.string()).optional(),
  workdir: z.string().startsWith('/').optional(),
  user: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const fileCopy = z.strictObject({
  src: z.string().min(1).describe('Path relative to the spec folder'),
  dest: z.string().startsWith('/').describe('Absolute path in the image'),
  mode: z.union([z.number().int().min(0).max(0o7777), z.string().regex(/^0?[0-7]{3,4}$/)]).optional()
    .describe('Octal string such as "0644" (default: 0644, or 0755 if the source is executable)'),
  uid: z.number().int().min(0).default(0),
  gid: z.number().int().min(0).default(0),
});

export const imageSpec = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
  source: z.discriminatedUnion('distro', SOURCE_SCHEMAS),
  packages: z.array(z.string().regex(/^[a-z0-9@_+][a-z0-9@._+-]*$/, 'a package name')).default([]),
  ...DISTRIBUTION_SPEC_FIELDS,
  config: containerConfig.default({}),
  files: z.array(fileCopy).default([]),
  normalize: z.union([z.array(PASS), z.enum(['all', 'none'])]).default('all'),
  compression: z.enum(['gzip', 'zstd', 'none']).default('gzip'),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/).optional()
    .describe('OCI platform; default: linux/<architecture mapped to the OCI name>'),
  disk: diskSpec.optional().describe('A disk image (build --output disk:FILE.raw): seed, sector size, partitions; see docs/disk.md'),
}).superRefine((spec, ctx) => {
  for (const d of DISTRIBUTIONS) d.checkSpec(spec, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
});

export type ImageSpec = z.output<typeof imageSpec>;

export function jsonSchema(): unknown {
  return {
    ...(z.toJSONSchema(imageSpec, { io: 'input' }) as Record<string, unknown>),
    $id: 'https://repro-image.invalid/schemas/image-spec-v1.json',
    title: 'repro-image image spec (image.yaml)',
  };
}
