import { canonicalBytes } from './canonical-json.js';
import { checkConsistentSizes, parseDescriptor, type Descriptor } from './descriptor.js';
import { ReproError } from './errors.js';
import { asObject, getArray, getOptString, getStringMap, parseJsonBytes, rawJson, type RawJson } from './json.js';
import { MediaType, isManifestType } from './media-types.js';

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  /** OCI 1.1: what kind of artifact this manifest is (when it is not an image). */
  artifactType?: string;
  /** OCI 1.1: the manifest this one refers to (an SBOM's image). */
  subject?: Descriptor;
}

export function parseManifest(bytes: Buffer, where: string, declaredType?: string): RawJson<Manifest> {
  const o = asObject(parseJsonBytes(bytes, where), where);
  if (o['schemaVersion'] !== 2) throw new ReproError('E_BAD_JSON', `${where}.schemaVersion: expected 2`);
  const mediaType = getOptString(o, 'mediaType', where) ?? declaredType ?? MediaType.ociManifest;
  if (!isManifestType(mediaType)) throw new ReproError('E_BAD_JSON', `${where}.mediaType: not an image manifest: ${mediaType}`);
  const m: Manifest = {
    schemaVersion: 2,
    mediaType,
    config: parseDescriptor(o['config'], `${where}.config`),
    layers: getArray(o, 'layers', where).map((l, i) => parseDescriptor(l, `${where}.layers[${i}]`)),
  };
  const annotations = getStringMap(o, 'annotations', where);
  if (annotations) m.annotations = annotations;
  checkConsistentSizes([[m.config, `${where}.config`], ...m.layers.map((l, i): [Descriptor, string] => [l, `${where}.layers[${i}]`])]);
  const artifactType = getOptString(o, 'artifactType', where);
  if (artifactType !== undefined) m.artifactType = artifactType;
  if (o['subject'] !== undefined) m.subject = parseDescriptor(o['subject'], `${where}.subject`);
  return rawJson(bytes, m);
}

export function encodeManifest(m: Manifest): RawJson<Manifest> {
  return rawJson(canonicalBytes(m), m);
}
