/**
 * The image spec (`image.yaml`): one definition, from which both the validator and the shipped
 * JSON Schema (docs/image-spec.schema.json, `repro-image schema`) are made. The `source:` and the
 * fields a distribution adds come from the distributions (src/sources/index.ts); nothing here
 * knows one distribution from another. Unknown keys are rejected everywhere.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { PORT, SIGNAL } from '../model/config.js';
import { DISTRIBUTIONS, DISTRIBUTION_SPEC_FIELDS, SOURCE_SCHEMAS } from '../sources/index.js';
import { diskSpec } from './disk-schema.js';
import { baseSpec } from './base-schema.js';


const PASS = z.enum(['exclude', 'ldconfig-aux-cache', 'machine-id', 'random-seed', 'pacman-installdate', 'xattrs', 'clamp-mtime']);

export const containerConfig = z.strictObject({
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  env: z.record(z.string().regex(/^[^=\s]+$/), z.string()).optional(),
  workdir: z.string().regex(/^\//, 'an absolute path').optional(),
  user: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  exposedPorts: z.array(z.string().regex(PORT, 'PORT or PORT/tcp, PORT/udp, PORT/sctp')).optional()
    .describe('Ports the container listens on, such as "80" (tcp) or "53/udp": config.ExposedPorts'),
  volumes: z.array(z.string().regex(/^\//, 'an absolute path')).optional()
    .describe('Paths that hold external data: config.Volumes'),
  stopSignal: z.string().regex(SIGNAL, 'a signal name such as SIGTERM, or its number').optional()
    .describe('The signal that stops the container: config.StopSignal'),
});

const fileCopy = z.strictObject({
  src: z.string().min(1)
    .refine((s) => !s.startsWith('/'), 'a path relative to the spec folder, not an absolute one')
    .refine((s) => !/^(\.\.(\/|$))/.test(posix.normalize(s)), 'a path inside the spec folder ("..", climbing out of it, is refused)')
    .describe('A file or a directory (copied with what it holds), relative to the spec folder and inside it (symlinks resolved)'),
  dest: z.string().regex(/^\//, 'an absolute path').describe('Absolute path in the image'),
  mode: z.union([z.number().int().min(0).max(0o7777), z.string().regex(/^0?[0-7]{3,4}$/)]).optional()
    .describe('Octal string such as "0644" (default: 0644, or 0755 if the source is executable)'),
  uid: z.number().int().min(0).default(0),
  gid: z.number().int().min(0).default(0),
});

const PACKAGE_NAME = z.string().regex(/^[a-z0-9@_+][a-z0-9@._+-]*$/, 'a package name');

/** The most layers a strategy may make (overlayfs and Docker stop at 127 lower directories). */
export const MAX_LAYERS = 127;

const layerGroup = z.union([
  z.strictObject({
    packages: z.union([z.array(PACKAGE_NAME).min(1), z.literal('rest')])
      .describe('The packages of this layer, or `rest`: every package no other group names'),
  }),
  z.strictObject({
    files: z.union([z.literal('all'), z.array(z.string().regex(/^\//, 'an absolute path')).min(1)])
      .describe("The spec's files: entries: `all` (those no other group names), or the dest of each"),
  }),
], { error: 'a group is one of packages: [NAME, …], packages: rest, files: all, files: [DEST, …]' });

/** How the tree is cut into layers: see docs/layers.md. */
export const layersSpec = z.union([
  z.literal('single').describe('One layer holding the whole tree (the default)'),
  z.strictObject({
    auto: z.number().int().min(2).max(MAX_LAYERS)
      .describe('At most this many layers: the most depended-on packages alone, the other packages together, then the package database and whatever no package owns'),
  }),
  z.array(layerGroup).min(1).max(MAX_LAYERS - 1)
    .describe('Layers in order, each a group of packages or the spec files; a last layer holds the package database, files no package owns and packages no group names'),
], { error: 'single, { auto: N } or a list of groups' });

export type LayersSpec = z.output<typeof layersSpec>;

export const imageSpec = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
  source: z.discriminatedUnion('distro', SOURCE_SCHEMAS),
  base: baseSpec.optional()
    .describe('A base image pinned by digest, under our layers: a reference, or { image: REF, remove: [PATH, …] }; see docs/base-images.md'),
  packages: z.array(PACKAGE_NAME).default([]),
  ...DISTRIBUTION_SPEC_FIELDS,
  config: containerConfig.default({}),
  annotations: z.record(z.string().min(1), z.string()).optional()
    .describe('Manifest annotations (org.opencontainers.image.created is set from SOURCE_DATE_EPOCH); --annotation adds to them'),
  files: z.array(fileCopy).default([]),
  normalize: z.union([z.array(PASS), z.enum(['all', 'none'])]).default('all'),
  compression: z.enum(['gzip', 'zstd', 'none']).default('gzip'),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/).optional()
    .describe('OCI platform; default: linux/<architecture mapped to the OCI name>'),
  layers: layersSpec.default('single')
    .describe('How the tree is cut into layers: single (default), auto: N, or a list of groups; see docs/layers.md'),
  disk: diskSpec.optional().describe('A disk image (build --output disk:FILE.raw): seed, sector size, partitions; see docs/disk.md'),
}).superRefine((spec, ctx) => {
  if (Array.isArray(spec.layers)) {
    const seen = new Map<string, number>();
    let rest: number | undefined;
    let files: number | undefined;
    const dests = new Set(spec.files.map((f) => f.dest));
    const named = new Map<string, number>();
    spec.layers.forEach((g, i) => {
      if ('files' in g) {
        if (g.files === 'all') {
          if (files !== undefined) ctx.addIssue({ code: 'custom', path: ['layers', i, 'files'], message: `the spec files are already the group layers[${files}]` });
          files = i;
          return;
        }
        g.files.forEach((dest, j) => {
          const first = named.get(dest);
          if (!dests.has(dest)) ctx.addIssue({ code: 'custom', path: ['layers', i, 'files', j], message: `${dest} is the dest of no files: entry` });
          else if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['layers', i, 'files', j], message: `${dest} is already in layers[${first}]` });
          else named.set(dest, i);
        });
        return;
      }
      if (g.packages === 'rest') {
        if (rest !== undefined) ctx.addIssue({ code: 'custom', path: ['layers', i, 'packages'], message: `rest is already the group layers[${rest}]` });
        rest = i;
        return;
      }
      g.packages.forEach((name, j) => {
        const first = seen.get(name);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['layers', i, 'packages', j], message: `${name} is already in layers[${first}]` });
        else seen.set(name, i);
      });
    });
  }
  for (const d of DISTRIBUTIONS) d.checkSpec(spec, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
});

export type ImageSpec = z.output<typeof imageSpec>;

/** URL schemes a mirror may use (the validator checks them; the schema says it as a pattern). */
const MIRROR_URL = '^(https?|file)://[^\\s]+$';

/**
 * Rewrites what zod writes that other validators refuse: `format` values they do not know
 * (`starts_with`, refused by ajv in strict mode) go, with the same check kept as a `pattern`;
 * `uri` (an optional format that ajv only knows with ajv-formats) becomes the mirror pattern.
 */
function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'format' && v === 'uri') out['pattern'] = MIRROR_URL;
    else if (k !== 'format') out[k] = portable(v);
  }
  return out;
}

/**
 * The JSON Schema of image.yaml: draft 2020-12, written only with keywords draft-07 shares (so the
 * YAML language server of editors, which reads draft-07, gives them the same meaning), no unknown
 * format, and no `$id` (a schema is named by where it is put: see README, "Editors").
 */
export function jsonSchema(): unknown {
  const { $schema, ...rest } = portable(z.toJSONSchema(imageSpec, { io: 'input' })) as Record<string, unknown>;
  return { $schema, title: 'repro-image image spec (image.yaml)', ...rest };
}
