/**
 * `inspect --referrers REF`: the OCI 1.1 referrers (SBOMs, later attestations) of what REF names,
 * and, through an index, of each of its manifests: digest, artifactType, size, annotations, and
 * how they were found (the registry's referrers API, its sha256-HEX fallback tag, a layout's
 * index.json).
 */
import type { Descriptor } from '../model/descriptor.js';
import type { Platform } from '../model/platform.js';
import { escapeControl } from '../model/errors.js';
import { listReferrers, referrerSubjects } from '../image/referrers.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';

export interface SubjectReferrers {
  digest: string;
  mediaType: string;
  platform?: Platform;
  via: string;
  referrers: Descriptor[];
}

export interface ReferrersResult {
  reference: string;
  subjects: SubjectReferrers[];
}

export async function inspectReferrers(reference: ImageRef | string, opts: TransportOptions = {}): Promise<ReferrersResult> {
  const ref = typeof reference === 'string' ? parseImageRef(reference) : reference;
  const opened = await openImage(ref, opts);
  const subjects = await referrerSubjects(opened);
  const out: SubjectReferrers[] = [];
  for (const s of subjects) {
    const r = await listReferrers(opened, s.digest);
    out.push({ digest: s.digest, mediaType: s.mediaType, ...(s.platform ? { platform: s.platform } : {}), via: r.via, referrers: r.descriptors });
  }
  return { reference: typeof reference === 'string' ? reference : formatImageRef(ref), subjects: out };
}

export function renderReferrers(r: ReferrersResult): string {
  const lines: string[] = [];
  for (const s of r.subjects) {
    // Platform, artifactType and annotations come from documents someone else wrote: a newline
    // in one must not forge a line of the listing.
    const p = s.platform ? ` (${escapeControl(`${s.platform.os}/${s.platform.architecture}${s.platform.variant ? `/${s.platform.variant}` : ''}`)})` : '';
    lines.push(`${s.digest}${p}: ${s.referrers.length} referrer${s.referrers.length === 1 ? '' : 's'}${s.referrers.length > 0 ? ` (${s.via})` : ''}`);
    for (const d of s.referrers) {
      const created = d.annotations?.['org.opencontainers.image.created'];
      lines.push(`  ${d.digest} ${d.artifactType !== undefined ? escapeControl(d.artifactType) : '(no artifactType)'} ${d.size} bytes${created ? ` created ${escapeControl(created)}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
