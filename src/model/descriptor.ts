import { parseDigest, sha256, type Digest } from './digest.js';
import { ReproError } from './errors.js';
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
  if (o['data'] !== undefined) checkEmbeddedData(o['data'], d, where);
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

/** A descriptor's embedded `data` must be base64 of exactly the bytes its digest and size name. */
function checkEmbeddedData(v: unknown, d: Descriptor, where: string): void {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
    throw new ReproError('E_BAD_JSON', `${where}.data: expected base64`);
  }
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length !== d.size || sha256(bytes) !== d.digest) {
    throw new ReproError('E_DIGEST_MISMATCH', `${where}.data: the embedded data is not the ${d.size} bytes of ${d.digest}`);
  }
}

/**
 * Every descriptor that names one digest must give it one size: the bytes are the same, so two
 * sizes mean one of them is false (and a reader that checks only the first would let it through).
 */
export function checkConsistentSizes(descriptors: Array<[Descriptor, string]>): void {
  const seen = new Map<Digest, [number, string]>();
  for (const [d, where] of descriptors) {
    const prev = seen.get(d.digest);
    if (prev === undefined) seen.set(d.digest, [d.size, where]);
    else if (prev[0] !== d.size) {
      throw new ReproError('E_BAD_INPUT', `${where}: ${d.digest} has size ${d.size}, but ${prev[1]} gives it size ${prev[0]}`);
    }
  }
}
