/**
 * The image spec (`image.yaml`): one definition, from which both the validator and the shipped
 * JSON Schema (docs/image-spec.schema.json, `repro-image schema`) are made. Unknown keys are
 * rejected everywhere.
 */
import { z } from 'zod';

const PASS = z.enum(['exclude', 'ldconfig-aux-cache', 'machine-id', 'random-seed', 'pacman-installdate', 'xattrs', 'clamp-mtime']);

const mirrors = z.array(z.url({ protocol: /^(https?|file)$/ })).min(1);

const debianSource = z.strictObject({
  distro: z.literal('debian'),
  suite: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'a suite or codename such as bookworm'),
  components: z.array(z.string().regex(/^[a-z0-9][a-z0-9/-]*$/)).min(1).default(['main']),
  architecture: z.string().regex(/^[a-z0-9-]+$/).default('amd64'),
  mirrors: mirrors.optional()
    .describe('Mirror base URLs, tried in order; default: the host apt configuration'),
  keyring: z.string().min(1).optional()
    .describe('OpenPGP keyring (binary or armored) relative to the spec; default: the host Debian archive keyring'),
});

/** A real calendar date written as the Arch Linux Archive does: YYYY/MM/DD. */
const snapshotDate = z.string().regex(/^\d{4}\/\d{2}\/\d{2}$/, 'a date such as 2024/03/01 (YYYY/MM/DD)')
  .refine((s) => {
    const [y, m, d] = s.split('/').map(Number) as [number, number, number];
    const t = new Date(Date.UTC(y, m - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, 'not a calendar date');

const archSource = z.strictObject({
  distro: z.literal('arch'),
  snapshot: snapshotDate.describe('Arch Linux Archive snapshot (YYYY/MM/DD); also the default SOURCE_DATE_EPOCH (that day, 00:00 UTC)'),
  repositories: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a repository name such as core')).min(1).default(['core', 'extra']),
  architecture: z.string().regex(/^[a-z0-9_]+$/).default('x86_64'),
  mirrors: mirrors.optional()
    .describe('Bases laid out like the Arch Linux Archive snapshot ($repo/os/$arch/ below them; $repo and $arch are substituted where written), tried in order; default: the archive snapshot'),
  keyring: z.string().min(1).optional()
    .describe('OpenPGP keyring of the packagers (binary or armored) relative to the spec; default: the host pacman keyring'),
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
  source: z.discriminatedUnion('distro', [debianSource, archSource]),
  packages: z.array(z.string().regex(/^[a-z0-9@_+][a-z0-9@._+-]*$/, 'a package name')).default([]),
  essential: z.boolean().default(false).describe('Add every Essential: yes package, as debootstrap minbase does'),
  priority: z.enum(['required', 'important']).optional().describe('Also add every package of this priority or higher'),
  config: containerConfig.default({}),
  files: z.array(fileCopy).default([]),
  normalize: z.union([z.array(PASS), z.enum(['all', 'none'])]).default('all'),
  compression: z.enum(['gzip', 'zstd', 'none']).default('gzip'),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/).optional()
    .describe('OCI platform; default: linux/<architecture mapped to the OCI name>'),
}).superRefine((spec, ctx) => {
  // Package names: Debian's policy (two or more characters, no _ or @) for Debian sources.
  if (spec.source.distro === 'debian') {
    spec.packages.forEach((p, i) => {
      if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) ctx.addIssue({ code: 'custom', path: ['packages', i], message: 'a package name' });
    });
  } else {
    if (spec.essential) ctx.addIssue({ code: 'custom', path: ['essential'], message: 'applies to Debian sources only' });
    if (spec.priority !== undefined) ctx.addIssue({ code: 'custom', path: ['priority'], message: 'applies to Debian sources only' });
  }
});

export type ImageSpec = z.output<typeof imageSpec>;
export type DebianSource = z.output<typeof debianSource>;
export type ArchSource = z.output<typeof archSource>;
/** A spec narrowed to one distribution's source. */
export type SpecOf<S> = Omit<ImageSpec, 'source'> & { source: S };
export type DebianSpec = SpecOf<DebianSource>;
export type ArchSpec = SpecOf<ArchSource>;

export function jsonSchema(): unknown {
  return {
    ...(z.toJSONSchema(imageSpec, { io: 'input' }) as Record<string, unknown>),
    $id: 'https://repro-image.invalid/schemas/image-spec-v1.json',
    title: 'repro-image image spec (image.yaml)',
  };
}

export function isDebianSpec(spec: ImageSpec): spec is DebianSpec {
  return spec.source.distro === 'debian';
}

export function isArchSpec(spec: ImageSpec): spec is ArchSpec {
  return spec.source.distro === 'arch';
}
