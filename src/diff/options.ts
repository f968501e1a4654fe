/**
 * What `diff` compares and what it may be told to ignore: the field names, the set `--semantic`
 * stands for, and the predicate that decides whether a difference is ignored. Pure.
 */
import picomatch from 'picomatch';
import { ReproError, option } from '../model/errors.js';
import type { Difference } from './types.js';

/** Fields of a tar entry, in the order they are reported. */
export const ENTRY_FIELDS = [
  'type', 'content', 'link-target', 'mode', 'mode-type-bits', 'uid', 'gid', 'uname', 'gname',
  'mtime', 'atime', 'ctime', 'devices', 'xattrs', 'pax', 'name', 'root-entry', 'tar-format', 'order', 'presence',
] as const;

/** Fields of layers and of the image as a whole. */
export const IMAGE_FIELDS = [
  'compression', 'media-type', 'tar-padding', 'layer-count', 'json-encoding', 'kind', 'platforms',
] as const;

/** Fields of disk images: the partition table, and each partition's file system as a whole. */
export const DISK_FIELDS = [
  'disk-size', 'sector-size', 'disk-guid', 'partition-count', 'partition-type', 'partition-uuid', 'partition-label',
  'partition-offset', 'partition-size', 'partition-flags', 'partition-content', 'fs-label', 'fs-uuid', 'volume-id',
  'fs-field', 'verity-hash-tree', 'partition-bytes',
] as const;

/**
 * Names that stand for several fields. A difference in JSON (index, manifest, config) is named by
 * its path, e.g. `config.config.Env[1]`; these groups name the usual ones.
 */
export const FIELD_GROUPS = {
  created: 'config.created, history[].created and the org.opencontainers.image.created annotation',
  history: 'config.history',
  'image-name': 'the org.opencontainers.image.ref.name and io.containerd.image.name annotations',
  annotations: 'every annotation (index, descriptor, manifest)',
  platform: 'config.architecture, config.os, config.variant, config.os.version, config.os.features',
  'runtime-config': 'config.config (Env, Entrypoint, Cmd, Labels, User, WorkingDir, ...)',
  times: 'mtime, atime and ctime',
  owners: 'uid, gid, uname and gname',
} as const;

/** What --semantic ignores: what diffoci's --semantic ignores, in our field names. */
export const SEMANTIC_IGNORES = [
  'image-name', 'created', 'history', 'times', 'order', 'mode-type-bits', 'tar-format', 'name',
  'root-entry', 'tar-padding', 'json-encoding', 'compression',
] as const;

const ALL_NAMES = new Set<string>([...ENTRY_FIELDS, ...IMAGE_FIELDS, ...DISK_FIELDS, ...Object.keys(FIELD_GROUPS)]);
const JSON_PREFIX = /^(index|manifest|config|descriptor)(\.|\[|$)/;

export const IMAGE_NAME_ANNOTATIONS = new Set(['org.opencontainers.image.ref.name', 'io.containerd.image.name']);
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** Checks --ignore values: a field or group name, or a JSON path under index/manifest/config/descriptor. */
export function checkIgnoreNames(names: readonly string[]): void {
  for (const n of names) {
    if (!ALL_NAMES.has(n) && !JSON_PREFIX.test(n)) {
      throw new ReproError('E_USAGE', `${option('ignore')} ${JSON.stringify(n)}: not a field; expected one of ${[...ALL_NAMES].join(', ')}, or a JSON path such as config.config.Env`);
    }
  }
}

function annotationKey(field: string): string | undefined {
  const m = /\.annotations\["(.*)"\]$/.exec(field) ?? /\.annotations\.([A-Za-z0-9_$]+)$/.exec(field);
  return m ? JSON.parse(`"${m[1]!}"`) as string : undefined;
}

/** Every name a difference answers to: its field, the groups holding it, and its JSON path prefixes. */
export function namesOf(d: Difference): string[] {
  const f = d.field;
  const names = [f];
  if (f === 'mtime' || f === 'atime' || f === 'ctime') names.push('times');
  if (f === 'uid' || f === 'gid' || f === 'uname' || f === 'gname') names.push('owners');
  if (JSON_PREFIX.test(f)) {
    const ann = annotationKey(f);
    if (ann !== undefined) {
      names.push('annotations');
      if (IMAGE_NAME_ANNOTATIONS.has(ann)) names.push('image-name');
      if (ann === CREATED_ANNOTATION) names.push('created');
    }
    if (f === 'config.created' || /^config\.history\[\d+\]\.created$/.test(f)) names.push('created');
    if (f.startsWith('config.history')) names.push('history');
    if (/^config\.(architecture|os|variant)$/.test(f) || /^config\["os\.(version|features)"\]/.test(f) || /^descriptor\.platform(\.|\[|$)/.test(f)) names.push('platform');
    if (f.startsWith('config.config')) names.push('runtime-config');
    // Every prefix of the path, so that --ignore config.config ignores config.config.Env[1].
    for (let i = 1; i < f.length; i++) if (f[i] === '.' || f[i] === '[') names.push(f.slice(0, i));
  }
  return names;
}

export interface IgnoreRules {
  names: Set<string>;
  paths: (path: string) => boolean;
}

export function ignoreRules(semantic: boolean, ignore: readonly string[], ignorePaths: readonly string[]): IgnoreRules {
  checkIgnoreNames(ignore);
  const names = new Set<string>([...(semantic ? SEMANTIC_IGNORES : []), ...ignore]);
  const globs = ignorePaths.map((g) => g.replace(/^\.?\/+/, ''));
  const match = globs.length === 0 ? () => false : picomatch(globs, { dot: true });
  return { names, paths: (p) => match(p) };
}

/** True when the rules say to leave this difference out. */
export function isIgnored(d: Difference, rules: IgnoreRules): boolean {
  if (d.location.path !== undefined && rules.paths(d.location.path)) return true;
  return namesOf(d).some((n) => rules.names.has(n));
}

/** True when an entry path is ignored outright (so that its content need not be compared). */
export function isPathIgnored(path: string, rules: IgnoreRules): boolean {
  return rules.paths(path);
}
