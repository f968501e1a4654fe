/**
 * Choosing within an index, once, for everyone: the entry of a layout's index.json a tag names, and
 * the manifest of a multi-platform index for a platform.
 */
import type { ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { ReproError, option } from '../model/errors.js';
import { isManifestType } from '../model/media-types.js';
import { REF_NAME, type ImageIndex } from '../model/oci-index.js';
import { formatPlatform, type Platform } from '../model/platform.js';

/** The platform an image config declares. */
export function platformOf(config: Pick<ImageConfig, 'os' | 'architecture' | 'variant'>): Platform {
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

/**
 * A platform's variant as containerd normalises it: arm64 without a variant is arm64/v8 (images
 * built by `docker build` often leave it out, Debian's arm64 is linux/arm64/v8).
 */
function variantOf(p: Platform): string | undefined {
  return p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined);
}

/** Whether `have` is the platform `want` asks for (a `want` without a variant takes any variant). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  return have.os === want.os && have.architecture === want.architecture && (want.variant === undefined || variantOf(have) === variantOf(want));
}

function listed(index: ImageIndex): string {
  const manifests = index.manifests.filter((m) => isManifestType(m.mediaType));
  return manifests.map((m) => (m.platform ? formatPlatform(m.platform) : '(no platform)')).join(', ') || 'none';
}

/**
 * The manifest of an index for a platform; without one, the index's only manifest. An error lists
 * the platforms the index has.
 */
export function selectPlatform(index: ImageIndex, want: Platform | undefined, where: string): Descriptor {
  const manifests = index.manifests.filter((m) => isManifestType(m.mediaType));
  if (want === undefined) {
    if (manifests.length === 1) return manifests[0]!;
    throw new ReproError('E_USAGE', `${where}: a multi-platform index; choose one with ${option('platform')} (${listed(index)})`);
  }
  const hit = manifests.find((m) => platformMatches(want, m.platform));
  if (hit) return hit;
  throw new ReproError('E_NOT_FOUND', `${where}: the index has no image for ${formatPlatform(want)} (it has ${listed(index)})`);
}

/** Which entry of a layout's index.json: by tag, by digest, or by position (0-based). */
export interface IndexSelector {
  tag?: string;
  digest?: Digest;
  sourceIndex?: number;
}

/**
 * Picks the index.json entry a tag, digest or position names, or the only entry when none is
 * given. An untagged image is reached by its digest (`oci:DIR:@sha256:…`), as `build` prints it.
 */
export function selectFromIndex(index: ImageIndex, sel: IndexSelector | string | undefined, where: string): Descriptor {
  const s: IndexSelector = typeof sel === 'string' ? { tag: sel } : sel ?? {};
  if (s.tag !== undefined) {
    const hits = index.manifests.filter((m) => m.annotations?.[REF_NAME] === s.tag);
    if (hits.length === 0) throw new ReproError('E_NOT_FOUND', `${where}: no image tagged ${JSON.stringify(s.tag)}`);
    return hits[hits.length - 1]!;
  }
  if (s.digest !== undefined) {
    const hit = index.manifests.find((m) => m.digest === s.digest);
    if (!hit) throw new ReproError('E_NOT_FOUND', `${where}: index.json lists no ${s.digest} (it lists ${index.manifests.map((m) => m.digest).join(', ') || 'nothing'})`);
    return hit;
  }
  if (s.sourceIndex !== undefined) {
    const hit = index.manifests[s.sourceIndex];
    if (!hit) throw new ReproError('E_NOT_FOUND', `${where}: index.json lists ${index.manifests.length} images; there is no @${s.sourceIndex} (they count from 0)`);
    return hit;
  }
  // Referrers (an SBOM beside its image) are listed untagged with their artifactType: not images to choose.
  const images = index.manifests.filter((m) => m.artifactType === undefined || m.annotations?.[REF_NAME] !== undefined);
  if (images.length === 1) return images[0]!;
  if (images.length === 0) throw new ReproError('E_NOT_FOUND', `${where}: the layout holds no image`);
  const names = images.map((m) => (m.annotations?.[REF_NAME] !== undefined ? `:${m.annotations[REF_NAME]}` : `:@${m.digest}`));
  throw new ReproError('E_USAGE', `${where}: holds ${images.length} images; name one with :TAG or :@DIGEST (${names.join(', ')})`);
}
