/**
 * `copy SRC DST`: any transport to any transport, moving the source's graph as it is: the same
 * manifest and index bytes, the same (still compressed) layers, so the digest at the destination
 * is the source's. Everything read is verified on the way. The exceptions: docker-archive, which
 * stores no manifest at all (its layers and config are kept, its manifest digest cannot be), and
 * Docker media types copied to an OCI layout or archive, which are converted to OCI ones (config
 * and layers unchanged, the manifest digests change; the result says so).
 */
import type { Digest } from '../model/digest.js';
import { MediaType, isIndexType } from '../model/media-types.js';
import { toPlatform, type Platform } from '../model/platform.js';
import type { RegistryOptions } from './registry/client.js';
import { loadGraph, type ImageGraph } from '../image/graph.js';
import { allReferrers } from '../image/referrer.js';
import { connect, openImage, writeGraph, type TransportOptions, type WriteResult } from './index.js';
import { blobProgress } from './progress.js';
import { formatImageRef, parseImageRef, type ImageRef } from './reference.js';

export interface CopyOptions {
  /** Credentials, TLS and upload settings for docker:// references (both sides). */
  registry?: RegistryOptions;
  /** For the source alone, over `registry`. */
  sourceRegistry?: RegistryOptions;
  /** For the destination alone, over `registry`. */
  destinationRegistry?: RegistryOptions;
  /** From a multi-platform index, copy only this platform's image (`linux/arm64` or an object). */
  platform?: Platform | string;
  /** Time stamp of archive members (oci-archive, docker-archive); default 0. */
  mtime?: number;
  /** Bytes of blobs read so far, of the total. */
  onProgress?: (done: number, total: number) => void;
  /** Carry the OCI 1.1 referrers (SBOMs…) of every manifest copied along, as referrers at the destination. */
  all?: boolean;
}

export interface CopyResult {
  source: string;
  destination: string;
  /** The digest of the manifest or index copied; the destination has the same one. */
  digest: Digest;
  mediaType: string;
  /** False for docker-archive, which keeps no manifest, and when Docker media types were converted. */
  digestKept: boolean;
  /** An OCI destination got OCI media types: the source's digest `from` became `to` (= `digest`). */
  converted?: { from: Digest; to: Digest };
  manifests: number;
  blobs: number;
  bytes: number;
  /** For a registry destination: blobs already there, mounted from another repository, uploaded. */
  pushed?: WriteResult['blobs'];
  /** With `all`: the referrers carried along. */
  referrers?: Array<{ digest: Digest; artifactType?: string }>;
}

/** Per-blob byte counts summed over the graph, reported as (done, total). */
function aggregate(graph: ImageGraph, onProgress: (done: number, total: number) => void): (blob: string, done: number, size: number) => void {
  return blobProgress(onProgress, graph.blobs.reduce((n, b) => n + b.descriptor.size, 0));
}

function withProgress(graph: ImageGraph, onProgress: (done: number, total: number) => void): ImageGraph {
  const report = aggregate(graph, onProgress);
  return {
    ...graph,
    blobs: graph.blobs.map((b) => ({
      descriptor: b.descriptor,
      source: {
        ...b.source,
        async *open() {
          let n = 0;
          for await (const c of b.source.open()) {
            n += c.length;
            report(b.descriptor.digest, n, b.descriptor.size);
            yield c;
          }
        },
      },
    })),
  };
}

export async function copy(src: ImageRef | string, dst: ImageRef | string, opts: CopyOptions = {}): Promise<CopyResult> {
  const from = typeof src === 'string' ? parseImageRef(src, 'source') : src;
  const to = typeof dst === 'string' ? parseImageRef(dst, 'destination') : dst;
  const platform = opts.platform === undefined ? undefined : toPlatform(opts.platform);
  const side = (r: RegistryOptions | undefined): TransportOptions => (r || opts.registry ? { registry: { ...opts.registry, ...r } } : {});
  // A push reads some blobs straight from their files, so the uploader counts what it sends; its
  // callback exists before the graph (and so the total) is known, as the client is made early.
  let report: ((blob: string, done: number, size: number) => void) | undefined;
  let destination = side(opts.destinationRegistry);
  if (opts.onProgress && to.transport === 'docker') {
    destination = { ...destination, registry: { ...destination.registry, onProgress: (blob, done, size) => report?.(blob, done, size) } };
  }
  // A destination registry is pinged while the source is read; if the source fails, the ping is
  // abandoned (it would otherwise keep the process waiting on its retries).
  const early = new AbortController();
  if (to.transport === 'docker') {
    const outer = destination.registry?.signal;
    destination = { ...destination, registry: { ...destination.registry, signal: outer ? AbortSignal.any([outer, early.signal]) : early.signal } };
  }
  const connected = connect(to, destination);
  connected.catch(() => { /* awaited below */ });
  let graph: ImageGraph;
  try {
    const opened = await openImage(from, side(opts.sourceRegistry));
    // Local blobs are hashed before a writer copies their files; remote ones as they stream.
    graph = await loadGraph(opened, { ...(platform ? { platform } : {}), verifyLocal: to.transport !== 'docker', ...(opts.all ? { referrers: true } : {}) });
  } catch (e) {
    early.abort();
    throw e;
  }
  if (opts.onProgress && to.transport === 'docker') report = aggregate(graph, opts.onProgress);
  else if (opts.onProgress) graph = withProgress(graph, opts.onProgress);
  const written = await writeGraph(to, graph, opts.mtime ?? 0, await connected);
  const result: CopyResult = {
    source: formatImageRef(from),
    destination: formatImageRef(to),
    digest: written.converted?.to ?? graph.root.digest,
    mediaType: written.converted ? (isIndexType(graph.root.mediaType) ? MediaType.ociIndex : MediaType.ociManifest) : graph.root.mediaType,
    digestKept: to.transport !== 'docker-archive' && !written.converted,
    manifests: graph.documents.length,
    blobs: graph.blobs.length,
    bytes: graph.blobs.reduce((n, b) => n + b.descriptor.size, 0),
  };
  if (written.blobs) result.pushed = written.blobs;
  if (written.converted) result.converted = written.converted;
  const referrers = allReferrers(graph);
  if (referrers.length > 0) result.referrers = referrers.map((r) => ({ digest: r.root.digest, ...(r.root.artifactType ? { artifactType: r.root.artifactType } : {}) }));
  return result;
}
