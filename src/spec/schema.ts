/**
 * The image spec (`image.yaml`): one definition, from which both the validator and the shipped
 * JSON Schema (docs/image-spec.schema.json, `repro-image schema`) are made. Unknown keys are
 * rejected everywhere.
 */
import { z } from 'zod';

const PASS = z.enum(['exclude', 'ldconfig-aux-cache', 'machine-id', 'random-seed', 'xattrs', 'clamp-mtime']);

const debianSource = z.strictObject({
  distro: z.literal('debian'),
  suite: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'a suite or codename such as bookworm'),
  components: z.array(z.string().regex(/^[a-z0-9][a-z0-9/-]*$/)).min(1).default(['main']),
  architecture: z.string().regex(/^[a-z0-9-]+$/).default('amd64'),
  mirrors: z.array(z.url({ protocol: /^(https?|file)$/ })).min(1).optional()
    .describe('Mirror base URLs, tried in order; default: the host apt configuration'),
  keyring: z.string().min(1).optional()
    .describe('OpenPGP keyring (binary or armored) relative to the spec; default: the host Debian archive keyring'),
});

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
  source: debianSource,
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a package name')).default([]),
  essential: z.boolean().default(false).describe('Add every Essential: yes package, as debootstrap minbase does'),
  priority: z.enum(['required', 'important']).optional().describe('Also add every package of this priority or higher'),
  config: containerConfig.default({}),
  files: z.array(fileCopy).default([]),
  normalize: z.union([z.array(PASS), z.enum(['all', 'none'])]).default('all'),
  compression: z.enum(['gzip', 'zstd', 'none']).default('gzip'),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/).optional()
    .describe('OCI platform; default: linux/<architecture mapped to the OCI name>'),
});

export type ImageSpec = z.output<typeof imageSpec>;

export function jsonSchema(): unknown {
  return {
    ...(z.toJSONSchema(imageSpec, { io: 'input' }) as Record<string, unknown>),
    $id: 'https://repro-image.invalid/schemas/image-spec-v1.json',
    title: 'repro-image image spec (image.yaml)',
  };
}
