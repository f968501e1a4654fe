/**
 * Writing an image graph to a registry in the order the distribution spec asks: every blob (each
 * image's layers, then its config), then each child manifest by digest, then the root under its tag
 * (or digest). Manifests go with their exact bytes and media type. Up to BLOB_CONCURRENCY blobs
 * move at once (a small config need not wait behind a large layer); when one fails for good, the
 * others are abandoned.
 */
import type { Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import { inOrderCancelling } from '../../fetch/pool.js';
import type { ImageGraph } from '../../image/graph.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { putManifest } from './manifests.js';
import { manifestReference, type RegistryName } from './name.js';
import { BlobUploader, type BlobOutcome } from './upload.js';
import { allReferrers } from '../../image/referrer.js';
import { parseManifest } from '../../model/manifest.js';
import { pushReferrerManifest } from './referrers.js';

export const BLOB_CONCURRENCY = 4;

export interface PushResult {
  digest: Digest;
  blobs: Record<BlobOutcome, number>;
  /** Referrers pushed, and whether the registry indexed them itself or the fallback tag was updated. */
  referrers?: Array<{ digest: Digest; subject: Digest; via: 'referrers-api' | 'fallback-tag' }>;
}

export async function writeRegistry(name: RegistryName, graph: ImageGraph, opts: RegistryOptions = {}, client = new RegistryClient(name.registry, opts)): Promise<PushResult> {
  if (name.digest !== undefined && name.digest !== graph.root.digest) {
    throw new ReproError('E_BAD_INPUT', `docker://${name.registry}/${name.repository}@${name.digest}: the image to push is ${graph.root.digest}`);
  }
  const mountFrom = graph.origin && graph.origin.registry === name.registry && graph.origin.repository !== name.repository ? graph.origin.repository : undefined;
  const counts: Record<BlobOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 };
  const outcomes = await inOrderCancelling(graph.blobs.length, BLOB_CONCURRENCY, (i, signal) =>
    new BlobUploader(client, name.repository, mountFrom, signal).push(graph.blobs[i]!.descriptor, graph.blobs[i]!.source, mountFrom));
  for (const o of outcomes) counts[o]++;
  for (const doc of graph.documents) {
    const isRoot = doc.descriptor.digest === graph.root.digest;
    const reference = isRoot ? manifestReference(name) : doc.descriptor.digest;
    await putManifest(client, name.repository, reference, doc.descriptor, doc.bytes);
  }
  // Referrers after their subject: blobs, then the artifact manifest by digest (and the fallback tag).
  const referrers = await pushReferrers(client, name.repository, allReferrers(graph), counts, mountFrom);
  return { digest: graph.root.digest, blobs: counts, ...(referrers.length > 0 ? { referrers } : {}) };
}

/**
 * Pushes referrer graphs whose subjects are in the repository already: each one's blobs, then its
 * artifact manifest by digest, then (where the registry does not index it itself) the fallback tag.
 */
export async function pushReferrers(client: RegistryClient, repository: string, graphs: ImageGraph[], counts: Record<BlobOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 }, mountFrom?: string): Promise<NonNullable<PushResult['referrers']>> {
  const referrers: NonNullable<PushResult['referrers']> = [];
  for (const r of graphs) {
    const outcomes = await inOrderCancelling(r.blobs.length, BLOB_CONCURRENCY, (i, signal) =>
      new BlobUploader(client, repository, mountFrom, signal).push(r.blobs[i]!.descriptor, r.blobs[i]!.source, mountFrom));
    for (const o of outcomes) counts[o]++;
    const doc = r.documents.find((d) => d.descriptor.digest === r.root.digest)!;
    const subject = parseManifest(doc.bytes, `referrer ${r.root.digest}`).value.subject;
    if (!subject) throw new ReproError('E_BAD_INPUT', `referrer ${r.root.digest}: the manifest has no subject`);
    const via = await pushReferrerManifest(client, repository, r.root, doc.bytes, subject.digest);
    referrers.push({ digest: r.root.digest, subject: subject.digest, via });
  }
  return referrers;
}
