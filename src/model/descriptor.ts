import { parseDigest, type Digest } from './digest.js';
import { asObject, getNumber, getOptString, getString, getStringMap } from './json.js';
import type { Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  /** OCI 1.1: the type of the artifact a manifest descriptor points at (referrers, index.json entries). */
  artifactType?: string;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  const o = asObject(v, where);
  const d: Descriptor = {
    mediaType: getString(o, 'mediaType', where),
    digest: parseDigest(o['digest'], `${where}.digest`),
    size: getNumber(o, 'size', where),
  };
  const annotations = getStringMap(o, 'annotations', where);
  if (annotations) d.annotations = annotations;
  const artifactType = getOptString(o, 'artifactType', where);
  if (artifactType !== undefined) d.artifactType = artifactType;
  if (o['platform'] !== undefined) {
    const p = asObject(o['platform'], `${where}.platform`);
    const platform: Platform = {
      architecture: getString(p, 'architecture', `${where}.platform`),
      os: getString(p, 'os', `${where}.platform`),
    };
    const variant = getOptString(p, 'variant', `${where}.platform`);
    if (variant !== undefined) platform.variant = variant;
    d.platform = platform;
  }
  return d;
}
