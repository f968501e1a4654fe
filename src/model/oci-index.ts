import { canonicalBytes } from './canonical-json.js';
import { checkConsistentSizes, parseDescriptor, type Descriptor } from './descriptor.js';
import { ReproError } from './errors.js';
import { asObject, getArray, getOptString, getStringMap, parseJsonBytes, rawJson, type RawJson } from './json.js';
import { MediaType, isIndexType } from './media-types.js';

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CREATED = 'org.opencontainers.image.created';

export function parseIndex(bytes: Buffer, where: string): RawJson<ImageIndex> {
  const o = asObject(parseJsonBytes(bytes, where), where);
  if (o['schemaVersion'] !== 2) throw new ReproError('E_BAD_JSON', `${where}.schemaVersion: expected 2`);
  const mediaType = getOptString(o, 'mediaType', where) ?? MediaType.ociIndex;
  if (!isIndexType(mediaType)) throw new ReproError('E_BAD_JSON', `${where}.mediaType: not an image index: ${mediaType}`);
  const idx: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: getArray(o, 'manifests', where).map((d, i) => parseDescriptor(d, `${where}.manifests[${i}]`)),
  };
  const annotations = getStringMap(o, 'annotations', where);
  if (annotations) idx.annotations = annotations;
  checkConsistentSizes(idx.manifests.map((m, i): [Descriptor, string] => [m, `${where}.manifests[${i}]`]));
  return rawJson(bytes, idx);
}

export function encodeIndex(idx: ImageIndex): RawJson<ImageIndex> {
  return rawJson(canonicalBytes(idx), idx);
}
