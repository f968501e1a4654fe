/**
 * A registry blob as a re-openable source: GET `/v2/REPO/blobs/DIGEST`, through redirects (to
 * storage, without our credentials), resumed with a `Range` request when the connection drops or
 * the body ends short of the expected size. It never yields more than the expected size; whether
 * the bytes hash to the digest is checked by the verifying wrapper every consumer reads through.
 */
import type { BlobSource } from '../../image/image.js';
import type { Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import { DEFAULT_RETRY, retryDelay } from '../../fetch/http.js';
import { unexpected, type RegistryClient } from './client.js';
import { repositoryScope } from './challenge.js';

/** Socket reads (16–64 KiB) are gathered into pieces of this size before they are passed on. */
const PIECE = 1 << 20;

/** `limit` caps a blob of unknown size (what a reader accepts when no descriptor says how long). */
export function registryBlob(client: RegistryClient, repository: string, digest: Digest, size: number | undefined, limit = Number.MAX_SAFE_INTEGER): BlobSource {
  const where = `${client.registry}/${repository}@${digest}`;
  const policy = client.options.retry ?? DEFAULT_RETRY;
  return {
    async *open() {
      let offset = 0;
      for (let attempt = 1; ; attempt++) {
        const res = await client.send({
          url: `/v2/${repository}/blobs/${digest}`,
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          scopes: [repositoryScope(repository, ['pull'])],
        });
        let skip = 0;
        if (res.status === 200) {
          skip = offset; // the server ignored the Range header: drop what we already have
        } else if (res.status === 206 && offset > 0) {
          const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
          if (!m || Number(m[1]) !== offset) {
            res.discard();
            throw new ReproError('E_NETWORK', `${where}: asked for bytes from ${offset}, got Content-Range ${JSON.stringify(res.headers['content-range'] ?? '')}`);
          }
        } else if (res.status === 404) {
          throw await unexpected(res, `${where}: no such blob`);
        } else {
          throw await unexpected(res, `${where}: cannot fetch the blob`);
        }
        let reason: string;
        let held: Buffer[] = [];
        let heldBytes = 0;
        try {
          for await (const chunk of res.body) {
            let c = chunk;
            if (skip > 0) {
              if (c.length <= skip) {
                skip -= c.length;
                continue;
              }
              c = c.subarray(skip);
              skip = 0;
            }
            if (size !== undefined && offset + c.length > size) {
              throw new ReproError('E_SIZE_MISMATCH', `${where}: the registry sent more than the expected ${size} bytes`);
            }
            if (offset + c.length > limit) {
              throw new ReproError('E_BAD_INPUT', `${where}: the registry sent more than the maximum blob size of ${limit} bytes`);
            }
            offset += c.length;
            held.push(c);
            heldBytes += c.length;
            if (heldBytes >= PIECE) {
              const piece = Buffer.concat(held, heldBytes);
              held = [];
              heldBytes = 0;
              yield piece;
            }
          }
          if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
          if (size === undefined || offset >= size) return;
          reason = `body ended after ${offset} of ${size} bytes`;
        } catch (e) {
          if (e instanceof ReproError) throw e;
          // What arrived before the break is good as far as it goes: pass it on, resume after it.
          if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
          reason = `connection broke after ${offset} bytes (${(e as Error).message})`;
        }
        if (attempt >= policy.attempts) throw new ReproError('E_NETWORK', `${where}: ${reason} (after ${attempt} attempts)`);
        const delay = retryDelay(policy, attempt);
        client.options.onRetry?.(`${where}: ${reason}; resuming in ${delay} ms`);
        await new Promise((ok) => setTimeout(ok, delay));
      }
    },
  };
}
