/**
 * Cache.put (what `fetch --from` fills the cache with): a full disk while writing is one line
 * naming the file (exit 3), as for a download, and nothing is left in the cache.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cache } from '../../src/fetch/cache.js';
import { ReproError } from '../../src/model/errors.js';
import { mountSmallTmpfs, unmount } from '../helpers/tmpfs.js';

let work: string;
let small: string | undefined;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cache-put-'));
  small = mountSmallTmpfs(work);
});

after(() => {
  unmount(small);
  rmSync(work, { recursive: true, force: true });
});

async function* pieces(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 64 << 10) yield b.subarray(i, i + (64 << 10));
}

test('Cache.put: a full disk is exit 3 naming the file, nothing left', async (t) => {
  if (!small) return t.skip('needs root for a 1 MiB tmpfs');
  const bytes = randomBytes(2 << 20);
  const expected = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  await assert.rejects(
    new Cache(small).put('archive: pool/big.deb', pieces(bytes), expected),
    (e: unknown) => e instanceof ReproError && e.exitCode === 3 && /^cannot write .*\/sha256\/[0-9a-f]{64}: no space left on device$/.test(e.message),
  );
  assert.deepEqual(readdirSync(join(small, 'sha256')), []);
});

test('Cache.put: bytes that are not the expected ones are refused, nothing left', async () => {
  const cache = new Cache(join(work, 'cache'));
  const bytes = Buffer.from('the real bytes\n');
  const expected = { size: bytes.length, sha256: createHash('sha256').update('other bytes\n!!!').digest('hex') };
  await assert.rejects(cache.put('x', pieces(bytes), expected), (e: unknown) => e instanceof ReproError && e.code === 'E_DIGEST_MISMATCH');
  assert.deepEqual(readdirSync(join(work, 'cache', 'sha256')), []);
});
