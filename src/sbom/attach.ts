/**
 * `build --sbom`: the SBOM of the image being built, made from its tree's package database once
 * the manifest is known, written beside the image as an OCI 1.1 referrer (see image/referrer.ts).
 * The same document `sbom REF` makes of the built image.
 */
import type { Attachment } from '../image/referrer.js';
import type { BuiltImage } from '../pipeline/tree-steps.js';
import { rfc3339, type SbomFormat } from './document.js';
import { TITLE, checkFormat, encodeSbom, isRecordFile, recordsOf } from './sbom.js';

/**
 * `onWarnings`: given the package database's warnings (a name or version its own tools would not
 * have written: the package is in the SBOM as written), as `sbom REF` prints them.
 */
export function sbomAttachment(format: SbomFormat | string, onWarnings?: (warnings: string[]) => void): (image: BuiltImage) => Attachment {
  const f = checkFormat(format);
  return (image) => {
    const subject = { kind: 'image' as const, name: image.manifest.value.annotations?.[TITLE] ?? 'image', digest: image.manifest.digest, platform: image.platform };
    const packages = recordsOf(image.files(isRecordFile));
    onWarnings?.(packages.flatMap((p) => p.warnings ?? []));
    const r = encodeSbom(f, { subject, created: image.sourceDateEpoch, packages });
    return { artifactType: r.mediaType, mediaType: r.mediaType, data: r.bytes, annotations: { 'org.opencontainers.image.created': rfc3339(image.sourceDateEpoch) } };
  };
}
