/**
 * The image config, its history and the manifest, as buildah writes them (docs/
 * podman-compat-facts.md §3, §4): Go's `json.Marshal` of image-spec's `v1.Image` and `v1.Manifest`
 * (struct field order, sorted maps, omitempty), history `created_by` strings per buildah version.
 *
 * Emulated: buildah 1.42–1.44 (podman 5.7, 5.8), measured against podman 5.8.6 / buildah 1.43.2.
 * The other rows of the version table are from reading buildah's sources and were not run.
 */
import { goJsonBytes, goMap } from '../../model/go-json.js';
import { rfc3339 } from '../../model/config.js';
import type { Descriptor } from '../../model/descriptor.js';
import type { Digest } from '../../model/digest.js';
import { MediaType } from '../../model/media-types.js';
import type { Platform } from '../../model/platform.js';
import type { ResolvedInstruction } from './types.js';

/** The buildah versions whose history strings we know (see `BUILDAH_VERSIONS`). */
export type BuildahVersion = '1.39' | '1.41' | '1.43';

/** podman → the buildah it links, and which history rules that buildah follows. */
export const BUILDAH_VERSIONS: Record<BuildahVersion, { podman: string; measured: boolean; clamp: boolean; copySuffix: 'one' | 'four' | 'five' }> = {
  '1.39': { podman: '≤ 5.4', measured: false, clamp: false, copySuffix: 'one' },
  '1.41': { podman: '5.6', measured: false, clamp: false, copySuffix: 'four' },
  '1.43': { podman: '5.7, 5.8', measured: true, clamp: true, copySuffix: 'five' },
};

export interface RuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface HistoryItem {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface BuildahImage {
  created: string;
  architecture: string;
  os: string;
  variant?: string;
  config: RuntimeConfig;
  diffIds: Digest[];
  history: HistoryItem[];
}

/** What the `|...` suffix of a history line is for this build. */
export interface HistoryContext {
  version: BuildahVersion;
  sourceDateEpoch: number;
  /** `--rewrite-timestamp`: buildah ≥ 1.42 marks every step `|clamp-mtime=SDE`. */
  rewriteTimestamp: boolean;
}

function mutations(ctx: HistoryContext): string {
  return BUILDAH_VERSIONS[ctx.version].clamp && ctx.rewriteTimestamp ? `|clamp-mtime=${ctx.sourceDateEpoch}` : '';
}

/** The text after `COPY`/`ADD … in DEST`. */
function copySuffix(ctx: HistoryContext): string {
  switch (BUILDAH_VERSIONS[ctx.version].copySuffix) {
    case 'one': return ' ';
    case 'four': return '    ';
    case 'five': return `     ${mutations(ctx)} `;
  }
}

/** `created_by` of one instruction; `summary` is the ADD/COPY content summary (`file:…`, `dir:…`). */
export function createdBy(ins: ResolvedInstruction, ctx: HistoryContext, summary?: string): string {
  const original = ins.source.original;
  const m = mutations(ctx);
  switch (ins.kind) {
    case 'run': {
      const text = original.slice(4);
      const args = ins.buildArgs.map(([k, v]) => {
        // A value ENV set for the same name wins, as in the environment the RUN gets.
        const fromEnv = ins.env.find((e) => e.startsWith(`${k}=`));
        return `${k}=${fromEnv !== undefined ? fromEnv.slice(k.length + 1) : v}`;
      });
      return `${args.length > 0 ? `|${args.length} ${args.join(' ')} ` : ''}/bin/sh -c ${text}${m}`;
    }
    case 'arg':
      return `/bin/sh -c #(nop) ARG ${ins.buildArgs.map(([k]) => k).join(' ')}${m}`;
    case 'add':
    case 'copy':
      return `/bin/sh -c #(nop) ${ins.kind.toUpperCase()} ${summary} in ${ins.rawDest}${copySuffix(ctx)}`;
    default:
      return `/bin/sh -c #(nop) ${original}${m}`;
  }
}

/** Applies a metadata instruction to the runtime config (ENV is applied from the resolver's env). */
export function applyInstruction(cfg: RuntimeConfig, ins: ResolvedInstruction): void {
  switch (ins.kind) {
    case 'label':
      cfg.Labels = { ...cfg.Labels, ...Object.fromEntries(ins.pairs) };
      return;
    case 'cmd':
      cfg.Cmd = [...ins.cmd];
      return;
    case 'entrypoint':
      cfg.Entrypoint = ins.entrypoint === null ? null : [...ins.entrypoint];
      if (ins.clearsCmd) cfg.Cmd = null;
      return;
    case 'workdir':
      cfg.WorkingDir = ins.path;
      return;
    case 'user':
      cfg.User = ins.user;
      return;
    case 'expose':
      cfg.ExposedPorts = { ...cfg.ExposedPorts, ...Object.fromEntries(ins.ports.map((p) => [p, {} as Record<string, never>])) };
      return;
    case 'volume':
      cfg.Volumes = { ...cfg.Volumes, ...Object.fromEntries(ins.paths.map((p) => [p, {} as Record<string, never>])) };
      return;
    case 'stopsignal':
      cfg.StopSignal = ins.signal;
      return;
    default:
  }
}

const nonEmpty = <T>(v: T[] | null | undefined): T[] | undefined => (v && v.length > 0 ? v : undefined);
const nonEmptyMap = <T>(v: Record<string, T> | undefined): ReturnType<typeof goMap<T>> | undefined => (v && Object.keys(v).length > 0 ? goMap(v) : undefined);

/** v1.Image as Go's json.Marshal writes it. */
export function encodeBuildahConfig(img: BuildahImage): Buffer {
  const c = img.config;
  return goJsonBytes({
    created: img.created,
    architecture: img.architecture,
    os: img.os,
    variant: img.variant || undefined,
    config: {
      User: c.User || undefined,
      ExposedPorts: nonEmptyMap(c.ExposedPorts),
      Env: nonEmpty(c.Env),
      Entrypoint: nonEmpty(c.Entrypoint),
      Cmd: nonEmpty(c.Cmd),
      Volumes: nonEmptyMap(c.Volumes),
      WorkingDir: c.WorkingDir || undefined,
      Labels: nonEmptyMap(c.Labels),
      StopSignal: c.StopSignal || undefined,
    },
    rootfs: { type: 'layers', diff_ids: img.diffIds },
    history: img.history.map((h) => ({
      created: h.created,
      created_by: h.created_by || undefined,
      author: h.author || undefined,
      comment: h.comment || undefined,
      empty_layer: h.empty_layer ? true : undefined,
    })),
  });
}

export interface ManifestInputs {
  config: Pick<Descriptor, 'digest' | 'size'>;
  layers: ReadonlyArray<{ mediaType: string; digest: string; size: number }>;
  /** The base image's stored manifest digest and name ('' for FROM scratch). */
  baseDigest: string;
  baseName: string;
  sourceDateEpoch: number;
}

/** v1.Manifest as Go's json.Marshal writes it (containers/image, buildah's commit). */
export function encodeBuildahManifest(m: ManifestInputs): Buffer {
  return goJsonBytes({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: m.config.digest, size: m.config.size },
    layers: m.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: goMap({
      'org.opencontainers.image.base.digest': m.baseDigest,
      'org.opencontainers.image.base.name': m.baseName,
      'org.opencontainers.image.created': rfc3339(m.sourceDateEpoch),
    }),
  });
}

export function platformFields(p: Platform): Pick<BuildahImage, 'architecture' | 'os' | 'variant'> {
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) };
}
