/**
 * OCI 1.1 referrers on a registry (distribution-spec 1.1): listed through the referrers API
 * (`GET /v2/NAME/referrers/DIGEST`, an image index) where the registry has it, else through the
 * fallback tag `sha256-HEX` (an index the clients keep); pushed as manifests by digest, the
 * fallback tag updated when the registry does not say (OCI-Subject) that it indexed the subject
 * itself. Debian's docker-registry (distribution 2.8) has no referrers API: there the tag is used.
 */
import type { Descriptor } from '../../model/descriptor.js';
import type { Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import { MediaType } from '../../model/media-types.js';
import { parseIndex } from '../../model/oci-index.js';
import { fallbackTag, referrersIndex } from '../../image/referrer.js';
import { unexpected, type RegistryClient } from './client.js';
import { repositoryScope } from './challenge.js';
import { MANIFEST_LIMIT, fetchManifest, putManifest } from './manifests.js';

export interface ReferrerListing {
  descriptors: Descriptor[];
  /** How they were found. */
  via: 'referrers-api' | 'fallback-tag' | 'none';
}

/** The fallback tag's index, or undefined when the tag does not exist. */
async function fallbackIndex(client: RegistryClient, repository: string, subject: Digest): Promise<Descriptor[] | undefined> {
  try {
    const m = await fetchManifest(client, repository, fallbackTag(subject));
    return parseIndex(m.bytes, `${client.registry}/${repository}:${fallbackTag(subject)}`).value.manifests;
  } catch (e) {
    if (e instanceof ReproError && e.code === 'E_NOT_FOUND') return undefined;
    throw e;
  }
}

export async function listRegistryReferrers(client: RegistryClient, repository: string, subject: Digest): Promise<ReferrerListing> {
  const where = `${client.registry}/${repository}@${subject}`;
  const res = await client.send({
    url: `/v2/${repository}/referrers/${subject}`,
    headers: { accept: MediaType.ociIndex },
    scopes: [repositoryScope(repository, ['pull'])],
    noRetryStatuses: [404, 400, 405],
  });
  if (res.status === 200) {
    const bytes = await res.bytes(MANIFEST_LIMIT);
    return { descriptors: parseIndex(bytes, `${where}: referrers`).value.manifests, via: 'referrers-api' };
  }
  if (res.status !== 404 && res.status !== 400 && res.status !== 405) throw await unexpected(res, `${where}: cannot list referrers`);
  res.discard();
  const listed = await fallbackIndex(client, repository, subject);
  return listed ? { descriptors: listed, via: 'fallback-tag' } : { descriptors: [], via: 'none' };
}

/**
 * Puts a referrer's manifest (its blobs are pushed before) and, unless the registry answered with
 * OCI-Subject, adds it to the subject's fallback tag index.
 */
export async function pushReferrerManifest(client: RegistryClient, repository: string, descriptor: Descriptor, bytes: Buffer, subject: Digest): Promise<'referrers-api' | 'fallback-tag'> {
  const r = await putManifest(client, repository, descriptor.digest, descriptor, bytes);
  if (r.subject === subject) return 'referrers-api';
  const existing = (await fallbackIndex(client, repository, subject)) ?? [];
  if (existing.some((d) => d.digest === descriptor.digest)) return 'fallback-tag';
  const index = referrersIndex([...existing, descriptor]);
  await putManifest(client, repository, fallbackTag(subject), { mediaType: MediaType.ociIndex, digest: index.digest, size: index.bytes.length }, index.bytes);
  return 'fallback-tag';
}
