/**
 * Manifests and indexes on a registry: fetched with an Accept list covering the OCI and Docker
 * schema 2 types, checked against the digest asked for (or the registry's Docker-Content-Digest),
 * and put back with their exact bytes and media type.
 */
import { sha256 } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import { MediaType, isIndexType, isManifestType } from '../../model/media-types.js';
import type { Descriptor } from '../../model/descriptor.js';
import { retryDelay, DEFAULT_RETRY } from '../../fetch/http.js';
import { unexpected, type RegistryClient } from './client.js';
import { repositoryScope } from './challenge.js';

/** Every manifest type we read, OCI first. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');

/** Registries must accept manifests of at least 4 MiB; we read no larger one. */
export const MANIFEST_LIMIT = 4 << 20;

/** The media type of a manifest document: its own mediaType field, else the Content-Type, else its shape. */
export function documentMediaType(bytes: Buffer, contentType: string | undefined): string {
  let o: Record<string, unknown> = {};
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) o = v as Record<string, unknown>;
  } catch {
    // reported by the parser that reads it
  }
  if (typeof o['mediaType'] === 'string' && o['mediaType'] !== '') return o['mediaType'];
  const ct = contentType?.split(';')[0]?.trim();
  if (ct && (isIndexType(ct) || isManifestType(ct))) return ct;
  return Array.isArray(o['manifests']) ? MediaType.ociIndex : MediaType.ociManifest;
}

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** GETs `/v2/REPO/manifests/REFERENCE` and verifies what comes back. */
export async function fetchManifest(client: RegistryClient, repository: string, reference: string): Promise<FetchedManifest> {
  const where = `${client.registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  const policy = client.options.retry ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    const res = await client.send({
      url: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [repositoryScope(repository, ['pull'])],
    });
    if (res.status === 404) throw await unexpected(res, `${where}: no such manifest`);
    if (res.status !== 200) throw await unexpected(res, `${where}: cannot fetch the manifest`);
    let bytes: Buffer;
    try {
      bytes = await res.bytes(MANIFEST_LIMIT);
    } catch (e) {
      if (e instanceof ReproError && e.code === 'E_NETWORK' && attempt < policy.attempts) {
        const delay = retryDelay(policy, attempt);
        client.options.onRetry?.(`${where}: ${e.message}; retry ${attempt} in ${delay} ms`);
        await new Promise((ok) => setTimeout(ok, delay));
        continue;
      }
      if (e instanceof ReproError && e.code === 'E_BAD_INPUT') throw new ReproError('E_BAD_INPUT', `${where}: manifest larger than ${MANIFEST_LIMIT} bytes`);
      throw e;
    }
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new ReproError('E_DIGEST_MISMATCH', `${where}: the registry served a manifest whose content hashes to ${digest}`);
    }
    const served = res.headers['docker-content-digest'];
    if (typeof served === 'string' && served.startsWith('sha256:') && served !== digest) {
      throw new ReproError('E_DIGEST_MISMATCH', `${where}: the registry says the manifest is ${served} but its content hashes to ${digest}`);
    }
    const mediaType = documentMediaType(bytes, res.headers['content-type']);
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }
}

/**
 * PUTs a manifest or index with its exact bytes under a tag or its digest. Returns the registry's
 * OCI-Subject header: present when it took a manifest with a subject into its referrers API.
 */
export async function putManifest(client: RegistryClient, repository: string, reference: string, descriptor: Descriptor, bytes: Buffer): Promise<{ subject?: string }> {
  const where = `${client.registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  const res = await client.send({
    method: 'PUT',
    url: `/v2/${repository}/manifests/${reference}`,
    headers: { 'content-type': descriptor.mediaType, 'content-length': String(bytes.length) },
    body: bytes,
    scopes: [repositoryScope(repository, ['pull', 'push'])],
  });
  if (res.status !== 201 && res.status !== 200) throw await unexpected(res, `${where}: manifest ${descriptor.digest} refused`);
  res.discard();
  const stored = res.headers['docker-content-digest'];
  if (typeof stored === 'string' && stored.startsWith('sha256:') && stored !== descriptor.digest) {
    throw new ReproError('E_DIGEST_MISMATCH', `${where}: the registry stored the manifest as ${stored}, not ${descriptor.digest}`);
  }
  const subject = res.headers['oci-subject'];
  return typeof subject === 'string' ? { subject } : {};
}
