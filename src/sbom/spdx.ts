/**
 * SPDX 2.3 JSON. The described element is a package for the image (primaryPackagePurpose
 * CONTAINER, its manifest digest as checksum and version) or for the lock; every distribution
 * package is a package it CONTAINS (purl as an external reference, the package file's SHA-256
 * where a lock pins it, the declared license where the distribution records one, else
 * NOASSERTION), with DEPENDS_ON relationships between them. Bytes: canonical JSON (RFC 8785),
 * arrays sorted, `created` = SOURCE_DATE_EPOCH, the document namespace derived from the content
 * (a UUID of the document's own bytes without it). Pure.
 */
import { createHash } from 'node:crypto';
import { canonicalBytes } from '../model/canonical-json.js';
import type { PackageRecord } from '../sources/distribution.js';
import { contentUuid, licenseRefs, imagePurl, rfc3339, separateLicenseRefs, sortPackages, summaryOf, type SbomDocument } from './document.js';

const NOASSERTION = 'NOASSERTION';

function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

export function packageId(p: PackageRecord): string {
  return `SPDXRef-Package-${idPart(p.name)}-${createHash('sha256').update(p.purl).digest('hex').slice(0, 12)}`;
}

const isUrl = (s: string | undefined): s is string => s !== undefined && /^https?:\/\/[^\s"<>\\^`{|}]+$/.test(s);

function spdxPackage(p: PackageRecord): Record<string, unknown> {
  const pkg: Record<string, unknown> = {
    SPDXID: packageId(p),
    name: p.name,
    versionInfo: p.version,
    supplier: `Organization: ${p.supplier}`,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: p.license ?? NOASSERTION,
    copyrightText: NOASSERTION,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }],
  };
  if (p.file) {
    pkg['packageFileName'] = p.file.name;
    pkg['checksums'] = [{ algorithm: 'SHA256', checksumValue: p.file.sha256 }];
  }
  if (isUrl(p.homepage)) pkg['homepage'] = p.homepage;
  if (p.description) pkg['summary'] = summaryOf(p.description);
  if (p.licenseNote) pkg['licenseComments'] = p.licenseNote;
  if (p.source && (p.source.name !== p.name || p.source.version !== p.version)) pkg['sourceInfo'] = `built from the source package ${p.source.name} ${p.source.version}`;
  return pkg;
}

export function encodeSpdx(doc: SbomDocument): Buffer {
  const s = doc.subject;
  const packages = sortPackages(separateLicenseRefs(doc.packages));
  const hex = s.digest.replace(/^sha256:/, '');
  const top: Record<string, unknown> = {
    SPDXID: 'SPDXRef-Subject',
    name: s.name,
    versionInfo: s.digest,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
    primaryPackagePurpose: s.kind === 'image' ? 'CONTAINER' : 'OPERATING-SYSTEM',
    comment: s.kind === 'image' ? 'The container image, by its manifest digest.' : 'The packages a lock file pins, by the lock file digest.',
  };
  if (s.kind === 'image') top['externalRefs'] = [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(s) }];
  const ids = new Map(packages.map((p) => [p.name, packageId(p)]));
  const relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }> = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Subject' },
  ];
  for (const p of packages) {
    relationships.push({ spdxElementId: 'SPDXRef-Subject', relationshipType: 'CONTAINS', relatedSpdxElement: packageId(p) });
    for (const d of p.dependsOn) {
      const to = ids.get(d);
      if (to) relationships.push({ spdxElementId: packageId(p), relationshipType: 'DEPENDS_ON', relatedSpdxElement: to });
    }
  }
  const rel = (r: (typeof relationships)[number]): string => `${r.spdxElementId}\0${r.relationshipType}\0${r.relatedSpdxElement}`;
  relationships.sort((a, b) => (rel(a) < rel(b) ? -1 : rel(a) > rel(b) ? 1 : 0));
  const body: Record<string, unknown> = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${s.name}@${s.digest}`,
    creationInfo: { created: rfc3339(doc.created), creators: ['Tool: repro-image'] },
    packages: [top, ...packages.map(spdxPackage)].sort((a, b) => ((a['SPDXID'] as string) < (b['SPDXID'] as string) ? -1 : 1)),
    relationships,
  };
  const refs = licenseRefs(packages);
  if (refs.length > 0) {
    body['hasExtractedLicensingInfos'] = refs.map((r) => ({
      licenseId: r.id,
      name: r.name,
      extractedText: `The license the distribution's package records name "${r.name}"; its text is in the package's own files.`,
    }));
  }
  // The namespace is derived from everything else in the document, so the same content gives the same bytes.
  body['documentNamespace'] = `urn:uuid:${contentUuid(canonicalBytes(body))}`;
  return canonicalBytes(body);
}
