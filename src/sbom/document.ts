/**
 * What an SBOM says, whatever its format: the described element (an image by its manifest digest,
 * or a spec's lock by its digest), the packages (sorted by name, version, architecture), the time
 * (SOURCE_DATE_EPOCH) and the license references the packages use. The encoders (spdx.ts,
 * cyclonedx.ts) turn it into bytes. Pure.
 */
import type { PackageRecord } from '../sources/distribution.js';
import { RefNames, refKey } from '../sources/licenses.js';

export type SbomFormat = 'spdx-json' | 'cyclonedx-json';
export const SBOM_FORMATS: readonly SbomFormat[] = ['spdx-json', 'cyclonedx-json'];

/** The media types of the two formats (also the artifactType of an SBOM referrer). */
export const SBOM_MEDIA_TYPE: Record<SbomFormat, string> = {
  'spdx-json': 'application/spdx+json',
  'cyclonedx-json': 'application/vnd.cyclonedx+json',
};

export interface SbomSubject {
  kind: 'image' | 'lock';
  /** The image's title annotation, or `image`; the spec's name for a lock. */
  name: string;
  /** sha256:… of the image manifest, or of the lock file's bytes. */
  digest: string;
  /** For an image: `linux/amd64`. */
  platform?: { os: string; architecture: string; variant?: string };
}

export interface SbomDocument {
  subject: SbomSubject;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  created: number;
  packages: PackageRecord[];
}

/** By name, version, architecture and purl (each key made once, not once per comparison). */
export function sortPackages(packages: readonly PackageRecord[]): PackageRecord[] {
  const keys = packages.map((p) => `${p.name}\0${p.version}\0${p.architecture ?? ''}\0${p.purl}`);
  const order = packages.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  return order.map((i) => packages[i]!);
}

/** RFC 3339 UTC, whole seconds. */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A name-based UUID from content, given the content's SHA-256 (32 bytes, not modified): the hash
 * truncated, version 5 and RFC 4122 variant bits set.
 */
export function digestUuid(sha256: Buffer): string {
  const h = Buffer.from(sha256);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * A package's description as the SBOM carries it (SPDX `summary`, CycloneDX `description`): the
 * one-line summary the distribution records, cut to `MAX_SUMMARY` characters with `…` when longer.
 * Real ones are under a few hundred characters; a hostile 60 MB %DESC% was copied into the
 * document several times over (800 MB).
 */
export const MAX_SUMMARY = 1024;

export function summaryOf(description: string | undefined): string | undefined {
  if (description === undefined || description.length <= MAX_SUMMARY) return description;
  let cut = MAX_SUMMARY;
  const last = description.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // never half a surrogate pair
  return `${description.slice(0, cut)}…`;
}

/** Every LicenseRef the packages use, once, sorted (the packages as `separateLicenseRefs` returns them). */
export function licenseRefs(packages: readonly PackageRecord[]): Array<{ id: string; name: string }> {
  const refs = new RefNames();
  for (const p of packages) for (const r of p.licenseRefs ?? []) refs.add(r.id, r.name);
  return refs.sorted();
}

/**
 * The packages with no `LicenseRef-` identifier standing for two license names: a package that
 * uses an identifier another package's records make from another name (which takes a search made
 * on purpose, see `licenseRef`), or one that differs from it only in letter case (SPDX matches
 * identifiers without regard to case, `refKey`), gets NOASSERTION and a note naming both, as do
 * all the packages using it; the others are returned as they are. Either format would otherwise
 * say one license where the records name two.
 */
export function separateLicenseRefs(packages: readonly PackageRecord[]): PackageRecord[] {
  const names = new RefNames();
  const clashes = new Map<string, string>();
  for (const p of packages) {
    for (const r of p.licenseRefs ?? []) {
      const clash = names.add(r.id, r.name);
      if (clash !== undefined && !clashes.has(refKey(r.id))) clashes.set(refKey(r.id), clash);
    }
  }
  if (clashes.size === 0) return [...packages];
  return packages.map((p) => {
    const hit = (p.licenseRefs ?? []).find((r) => clashes.has(refKey(r.id)));
    if (!hit) return p;
    const { license: _license, licenseRefs: _refs, ...rest } = p;
    return { ...rest, licenseNote: `${clashes.get(refKey(hit.id))!} in this document; not machine-readable for this SBOM (NOASSERTION)` };
  });
}

/** The image's purl: `pkg:oci/NAME@sha256%3A…?arch=…&os=…`. */
export function imagePurl(s: SbomSubject): string {
  const q = s.platform ? `?arch=${encodeURIComponent(s.platform.architecture)}&os=${encodeURIComponent(s.platform.os)}` : '';
  return `pkg:oci/${encodeURIComponent(s.name.toLowerCase())}@${encodeURIComponent(s.digest)}${q}`;
}
