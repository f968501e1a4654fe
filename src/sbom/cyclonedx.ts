/**
 * CycloneDX 1.6 JSON. metadata.component is the image (type container, its manifest digest as
 * version and SHA-256 hash, a pkg:oci purl) or the lock; every distribution package is a
 * component (type library, bom-ref = purl, the package file's SHA-256 where a lock pins it, the
 * license as an SPDX expression where the distribution records one, the name of each
 * `LicenseRef-` in it as a property), and `dependencies` has the subject depending on every
 * package and each package on its dependencies. Bytes: canonical JSON (RFC 8785), arrays sorted,
 * timestamp = SOURCE_DATE_EPOCH, serialNumber a UUID of the document's own bytes without it. Pure.
 */
import { JsonItems, canonicalWithDigestMember } from '../model/canonical-stream.js';
import type { PackageRecord } from '../sources/distribution.js';
import { digestUuid, imagePurl, rfc3339, separateLicenseRefs, sortPackages, summaryOf, type SbomDocument } from './document.js';

const SUBJECT_REF = 'subject';

/**
 * The name of each `LicenseRef-` of a component's expression: CycloneDX 1.6 has no place for it
 * (an `expression` is a string, and a list of licenses with `license.name` cannot say OR, nor sit
 * beside an expression), so one property per reference, `ID=NAME` (an idstring has no `=`: the
 * first `=` ends the identifier), by identifier: what SPDX's `hasExtractedLicensingInfos` says.
 */
const LICENSE_REF = 'repro-image:license-ref';

function licenseRefNames(p: PackageRecord): Array<{ id: string; name: string }> {
  return [...(p.licenseRefs ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function component(p: PackageRecord): Record<string, unknown> {
  const c: Record<string, unknown> = {
    type: 'library',
    'bom-ref': p.purl,
    name: p.name,
    version: p.version,
    purl: p.purl,
    supplier: { name: p.supplier },
  };
  if (p.file) c['hashes'] = [{ alg: 'SHA-256', content: p.file.sha256 }];
  if (p.license) c['licenses'] = [{ expression: p.license }];
  if (p.description) c['description'] = summaryOf(p.description);
  if (p.homepage && /^https?:\/\/[^\s"<>\\^`{|}]+$/.test(p.homepage)) c['externalReferences'] = [{ type: 'website', url: p.homepage }];
  const props: Array<{ name: string; value: string }> = [];
  if (p.architecture) props.push({ name: 'repro-image:architecture', value: p.architecture });
  if (p.file) props.push({ name: 'repro-image:package-file', value: p.file.name });
  if (p.source && (p.source.name !== p.name || p.source.version !== p.version)) props.push({ name: 'repro-image:source-package', value: `${p.source.name} ${p.source.version}` });
  for (const r of licenseRefNames(p)) props.push({ name: LICENSE_REF, value: `${r.id}=${r.name}` });
  if (p.licenseNote) props.push({ name: 'repro-image:license-note', value: p.licenseNote });
  if (props.length > 0) c['properties'] = props;
  return c;
}

/**
 * Components and dependencies are written one at a time (`JsonItems`), in their sorted order
 * (components as the packages are sorted; dependencies by ref, the subject's `dependsOn` being
 * every purl in that same order): nothing per package is held beyond the record.
 */
export function encodeCycloneDx(doc: SbomDocument): Buffer {
  const s = doc.subject;
  const packages = sortPackages(separateLicenseRefs(doc.packages));
  const subject: Record<string, unknown> = {
    type: s.kind === 'image' ? 'container' : 'operating-system',
    'bom-ref': SUBJECT_REF,
    name: s.name,
    version: s.digest,
    hashes: [{ alg: 'SHA-256', content: s.digest.replace(/^sha256:/, '') }],
  };
  if (s.kind === 'image') subject['purl'] = imagePurl(s);
  // A dependency names a package: the last of that name in the order above.
  const refs = new Map(packages.map((p) => [p.name, p.purl]));
  // The subject (-1) first, then the packages, sorted by ref (as an array of the entries was).
  const refOf = (i: number): string => (i < 0 ? SUBJECT_REF : packages[i]!.purl);
  const order = [-1, ...packages.keys()].sort((a, b) => (refOf(a) < refOf(b) ? -1 : refOf(a) > refOf(b) ? 1 : 0));
  const byPurl = order.filter((i) => i >= 0);
  const dependencies = function* (): Generator<unknown> {
    for (const i of order) {
      if (i < 0) yield { ref: SUBJECT_REF, dependsOn: new JsonItems(byPurl.map((j) => packages[j]!.purl)) };
      else yield { ref: packages[i]!.purl, dependsOn: [...new Set(packages[i]!.dependsOn.map((d) => refs.get(d)).filter((x): x is string => x !== undefined))].sort() };
    }
  };
  const body: Record<string, unknown> = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: {
      timestamp: rfc3339(doc.created),
      tools: { components: [{ type: 'application', name: 'repro-image' }] },
      component: subject,
    },
    components: new JsonItems((function* () {
      for (const p of packages) yield component(p);
    })()),
    dependencies: new JsonItems(dependencies()),
  };
  return canonicalWithDigestMember(body, 'serialNumber', (h) => `urn:uuid:${digestUuid(h)}`);
}
