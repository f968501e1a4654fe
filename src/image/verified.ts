/**
 * Reading through a check: a blob source that hashes and counts what passes through it and fails
 * (a `MismatchError`: E_DIGEST_MISMATCH / E_SIZE_MISMATCH, naming the blob and where it came from)
 * as soon as it has seen too many bytes, or at its end when the size or digest is wrong. This is
 * the one verified-read path: every manifest, index, config and layer anyone reads passes here.
 * Consumers that write what they read to a temporary name only rename it into place when the read
 * completed, so wrong bytes never land.
 */
import type { BlobSource } from './image.js';
import type { Descriptor } from '../model/descriptor.js';
import { MismatchError, ReproError } from '../model/errors.js';
import { openDocument, type BlobStore } from './store.js';
import { streamHashes } from './hash-thread.js';

type Expected = Pick<Descriptor, 'digest' | 'size'>;

export async function* verifyStream(chunks: AsyncIterable<Buffer>, d: Expected, where: string): AsyncGenerator<Buffer> {
  // A big blob (a layer) is hashed on another thread while its consumer works on its bytes.
  const h = streamHashes('sha256', d.size, where);
  try {
    let n = 0;
    for await (const c of chunks) {
      n += c.length;
      if (n > d.size) throw new MismatchError('E_SIZE_MISMATCH', `${where}: blob ${d.digest} is longer than its ${d.size} bytes`, d, { size: n, overrun: true });
      h.update(c);
      const wait = h.ready();
      if (wait) await wait;
      yield c;
    }
    if (n !== d.size) throw new MismatchError('E_SIZE_MISMATCH', `${where}: blob ${d.digest} ended after ${n} of ${d.size} bytes`, d, { size: n });
    const digest = h.end();
    h.flush();
    const got = `sha256:${await digest}`;
    if (got !== d.digest) throw new MismatchError('E_DIGEST_MISMATCH', `${where}: blob ${d.digest} has the wrong content (it hashes to ${got})`, d, { digest: got, size: n });
  } finally {
    await h.close();
  }
}

/** A source whose every reading is verified; a location (`ref`) is kept for writers that copy files. */
export function verifiedSource(src: BlobSource, d: Expected, where: string): BlobSource {
  return { ...src, open: () => verifyStream(src.open(), d, where) };
}

/** The most a JSON document (manifest, index, config) may weigh when it is read whole. */
export const MAX_DOCUMENT = 64 << 20;

/** Reads a whole blob (a manifest, index or config) and verifies it. */
export async function readVerified(src: BlobSource, d: Expected, where: string, limit = MAX_DOCUMENT): Promise<Buffer> {
  if (d.size > limit) throw new ReproError('E_BAD_INPUT', `${where}: ${d.digest} is ${d.size} bytes, more than the ${limit} read whole`);
  const parts: Buffer[] = [];
  for await (const c of verifyStream(src.open(), d, where)) parts.push(c);
  return Buffer.concat(parts);
}

/** A manifest or index document from a store, verified. */
export async function readDocument(store: BlobStore, d: Descriptor): Promise<Buffer> {
  return readVerified(await openDocument(store, d), d, store.where);
}

/** A config (or any other blob read whole) from a store, verified. */
export async function readBlob(store: BlobStore, d: Descriptor): Promise<Buffer> {
  return readVerified(await store.blob(d.digest, d.size), d, store.where);
}
