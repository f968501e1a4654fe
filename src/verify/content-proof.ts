/**
 * The proof for images whose compression we do not reproduce (podman compresses at push with a Go
 * gzip whose bytes change between library versions and are recorded nowhere). It goes in two
 * steps and says which it reached:
 *
 * 1. content — the published config's bytes are our rebuilt config's bytes (so every diff_id is
 *    ours), and every published layer blob, checked against its descriptor, is exactly one plain
 *    gzip member (or a zstd or uncompressed blob) that decompresses to our layer tar;
 * 2. digest — our manifest, written with the publisher's compressed layer descriptors in place of
 *    ours, hashes to the published manifest digest.
 *
 * Reaching 2 means the published image is, byte for byte, what the inputs give, compressed.
 */
import { createHash } from 'node:crypto';
import { strictGunzip } from '../archive/gzip-strict.js';
import type { ResolvedImage } from '../image/read.js';
import type { Descriptor } from '../model/descriptor.js';
import { ReproError } from '../model/errors.js';
import { layerCompression } from '../model/media-types.js';

export interface LayerProof {
  /** 1-based. */
  number: number;
  published: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>;
  /** sha256 of what the published blob decompresses to. */
  decompressed?: string;
  /** Our layer tar's sha256 (our diff_id). */
  rebuilt?: string;
  ok: boolean;
  problem?: string;
}

export interface ContentProof {
  /** `digest`: both steps; `content`: step 1 only; `none`: step 1 failed. */
  level: 'digest' | 'content' | 'none';
  configIdentical: boolean;
  layers: LayerProof[];
  /** Our manifest with the published layer descriptors, and its digest. */
  manifest?: { digest: string; identical: boolean };
  /** One line per failed check. */
  problems: string[];
}

/** Writes our manifest with other layer descriptors (the builder's own encoder, so the bytes are its bytes). */
export type ManifestWithLayers = (layers: ReadonlyArray<Pick<Descriptor, 'mediaType' | 'digest' | 'size'>>) => Buffer;

async function decompressedDigest(image: ResolvedImage, i: number): Promise<string> {
  const layer = image.layers[i]!;
  const d = layer.descriptor!;
  const hash = createHash('sha256');
  const stream = layerCompression(d.mediaType) === 'gzip'
    ? strictGunzip(layer.compressed(), layer.where)
    : layer.uncompressed();
  for await (const c of stream) hash.update(c);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * What each published layer decompresses to, read one layer after another, starting now (so that
 * it runs while something else does, e.g. the rebuild). A failure is kept for whoever awaits it
 * (and is no unhandled rejection if nobody does: the rebuild failed first).
 */
export function decompressedDigests(published: ResolvedImage): Array<Promise<string>> {
  let previous: Promise<unknown> = Promise.resolve();
  return published.layers.map((_, i) => {
    const p = previous.then(() => decompressedDigest(published, i));
    previous = p.catch(() => undefined); // also marks p handled: awaiting it later still throws
    return p;
  });
}

/**
 * Proves (or disproves) that `published` is `rebuilt` compressed: `rebuilt` is our image as built,
 * known by its config (whose diff_ids are our layer tars' digests: no layer of it is read), `manifestWith` writes our manifest around given layers;
 * `decompressed`, when given, are the published layers' digests already under way.
 */
export async function proveContent(rebuilt: Pick<ResolvedImage, 'config'>, published: ResolvedImage, manifestWith: ManifestWithLayers, decompressed?: ReadonlyArray<Promise<string>>): Promise<ContentProof> {
  const problems: string[] = [];
  const configIdentical = rebuilt.config.bytes.equals(published.config.bytes);
  if (!configIdentical) problems.push(`config: published ${published.config.digest}, rebuilt ${rebuilt.config.digest}`);
  const ours = rebuilt.config.value.rootfs.diff_ids;
  const theirs = published.manifest.value.layers;
  if (ours.length !== theirs.length) problems.push(`layers: published ${theirs.length}, rebuilt ${ours.length}`);
  const layers: LayerProof[] = [];
  for (const [i, d] of theirs.entries()) {
    const proof: LayerProof = { number: i + 1, published: { digest: d.digest, size: d.size, mediaType: d.mediaType }, ok: false };
    if (ours[i] !== undefined) proof.rebuilt = ours[i]!;
    try {
      proof.decompressed = await (decompressed?.[i] ?? decompressedDigest(published, i));
      proof.ok = proof.decompressed === proof.rebuilt;
      if (!proof.ok) proof.problem = `layer ${i + 1} ${d.digest}: decompresses to ${proof.decompressed}, our layer tar is ${proof.rebuilt ?? '(none)'}`;
    } catch (e) {
      // A blob that is not its descriptor, or not one plain member, is a failed proof, not a crash.
      if (!(e instanceof ReproError) || e.code === 'E_IO' || e.code === 'E_NETWORK' || e.code === 'E_AUTH') throw e;
      proof.problem = e.message;
    }
    if (proof.problem) problems.push(proof.problem);
    layers.push(proof);
  }
  const contentProven = problems.length === 0;
  const result: ContentProof = { level: contentProven ? 'content' : 'none', configIdentical, layers, problems };
  if (contentProven) {
    const bytes = manifestWith(theirs.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const identical = digest === published.descriptor.digest;
    result.manifest = { digest, identical };
    if (identical) result.level = 'digest';
    else problems.push(`manifest: ours around the published layers hashes to ${digest}, published ${published.descriptor.digest}`);
  }
  return result;
}
