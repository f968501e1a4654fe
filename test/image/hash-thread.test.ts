import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ThreadHashes, THREAD_MIN_BYTES, THREAD_MIN_CORES, hexDigest, inlineHashes, setHashThreads, streamHashes } from '../../src/image/hash-thread.js';
import { verifyStream } from '../../src/image/verified.js';
import { flattenLayers } from '../../src/image/flatten.js';
import { layerReader } from '../../src/image/layer.js';
import { bytesSource } from '../../src/image/image.js';
import type { Digest } from '../../src/model/digest.js';
import { MediaType } from '../../src/model/media-types.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { rng } from '../helpers/rng.js';

const hex = (alg: string, b: Uint8Array): string => createHash(alg).update(b).digest('hex');

function randomBytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Items of awkward sizes around the 1 MiB batches, fed in chunks that straddle them. */
async function digestsOf(h: ReturnType<typeof streamHashes>, items: Buffer[], chunk: number): Promise<string[]> {
  const out: Array<Promise<string>> = [];
  for (const item of items) {
    for (let at = 0; at < item.length; at += chunk) {
      h.update(item.subarray(at, at + chunk));
      const w = h.ready();
      if (w) await w;
    }
    out.push(h.end());
  }
  h.flush();
  try {
    return await Promise.all(out);
  } finally {
    await h.close();
  }
}

test('hash thread: the digests of items of every size are createHash\'s, across batch boundaries', async () => {
  const sizes = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 0, 3 * (1 << 20) + 7, 511, 0];
  const items = sizes.map((n, i) => randomBytes(n, i + 1));
  for (const alg of ['md5', 'sha256'] as const) {
    const want = items.map((b) => hex(alg, b));
    assert.deepEqual(await digestsOf(new ThreadHashes(alg, 'test'), items, 65536 + 3), want);
    assert.deepEqual(await digestsOf(inlineHashes(alg), items, 4096), want);
  }
});

test('hash thread: two channels open at once share the worker and keep their own items', async () => {
  const a = new ThreadHashes('sha256', 'a');
  const b = new ThreadHashes('md5', 'b');
  const x = randomBytes(2_500_000, 7);
  const y = randomBytes(1_700_000, 8);
  const pa = digestsOf(a, [x, y], 100_000);
  const pb = digestsOf(b, [y, x, y], 70_001);
  assert.deepEqual(await pa, [hex('sha256', x), hex('sha256', y)]);
  assert.deepEqual(await pb, [hex('md5', y), hex('md5', x), hex('md5', y)]);
  // Closed: the next hasher starts a worker again.
  assert.deepEqual(await digestsOf(new ThreadHashes('md5', 'c'), [x], 1 << 20), [hex('md5', x)]);
});

test('hash thread: a hasher closed before its end abandons its digests without an unhandled rejection', async () => {
  const h = new ThreadHashes('md5', 'early');
  h.update(randomBytes(3 << 20, 3));
  const d = h.end();
  await h.close();
  await assert.rejects(d, /hashing stopped/);
});

test('streamHashes: a thread only for streams big enough to pay for it, with a core to spare', async () => {
  assert.ok(!(streamHashes('md5', THREAD_MIN_BYTES - 1, 'small') instanceof ThreadHashes));
  const big = streamHashes('md5', THREAD_MIN_BYTES, 'big');
  assert.equal(big instanceof ThreadHashes, availableParallelism() >= THREAD_MIN_CORES);
  await big.close();
  setHashThreads('always');
  try {
    const small = streamHashes('md5', 1, 'small');
    assert.ok(small instanceof ThreadHashes);
    await small.close();
  } finally {
    setHashThreads('auto');
  }
});

async function* chunked(b: Buffer, n: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < b.length; at += n) yield b.subarray(at, at + n);
}

test('verifyStream: a big blob (hashed on the thread) passes whole, and a wrong one is refused at its end', async (t) => {
  setHashThreads('always');
  t.after(() => setHashThreads('auto'));
  const blob = randomBytes(THREAD_MIN_BYTES + 12345, 11);
  const d = { digest: `sha256:${hex('sha256', blob)}` as Digest, size: blob.length };
  let n = 0;
  for await (const c of verifyStream(chunked(blob, 1 << 20), d, 'B')) n += c.length;
  assert.equal(n, blob.length);
  const bad = Buffer.from(blob);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
  await assert.rejects(async () => { for await (const _ of verifyStream(chunked(bad, 1 << 20), d, 'B')) { /* read */ } },
    (e: Error & { code?: string }) => e.code === 'E_DIGEST_MISMATCH' && /B: blob sha256:/.test(e.message));
  // Stopping early stops the hashing too (the test would hang on a live worker otherwise).
  for await (const _ of verifyStream(chunked(blob, 1 << 20), d, 'B')) break;
});

test('flattenLayers: a big layer\'s md5 (taken on the thread) are those of a small one, hard links included', async (t) => {
  setHashThreads('always');
  t.after(() => setHashThreads('auto'));
  const members: RawMember[] = [{ name: 'd', type: 'dir' }];
  for (let i = 0; i < 40; i++) members.push({ name: `d/f${i}`, data: randomBytes(i * 9000 + (i % 3), 100 + i) });
  members.push({ name: 'd/empty', data: '' });
  members.push({ name: 'd/link', type: 'hardlink', linkname: 'd/f7' });
  members.push({ name: 'd/big', data: randomBytes(THREAD_MIN_BYTES, 99) });
  const tar = makeTar(members);
  const layer = layerReader(() => bytesSource(tar), {
    number: 1, where: 'L', descriptor: { mediaType: MediaType.ociLayer, digest: `sha256:${hex('sha256', tar)}` as Digest, size: tar.length },
  });
  const big = await flattenLayers([layer], { md5: true });
  for (const m of members) {
    if (m.type !== undefined) continue;
    assert.equal(big.entries.get(m.name)?.md5, hex('md5', Buffer.from(m.data ?? '')), m.name);
  }
  assert.equal(big.entries.get('d/link')?.md5, big.entries.get('d/f7')?.md5);
  assert.equal(big.entries.get('d/link')?.type, 'file');
});

test('hash thread: works in a process started with options a worker file refuses (--input-type, --eval)', () => {
  const url = new URL('../../src/image/hash-thread.js', import.meta.url).href;
  const code = `import { ThreadHashes } from ${JSON.stringify(url)};
    const h = new ThreadHashes('md5', 'e'); h.update(Buffer.from('abc')); const d = h.end(); h.flush();
    console.log(await d); await h.close();`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(out.trim(), hex('md5', Buffer.from('abc')));
});

test('hexDigest: the digest createHash gives, for empty and bigger inputs', () => {
  for (const data of [Buffer.alloc(0), Buffer.from('abc'), randomBytes(100000, 5)]) {
    for (const a of ['md5', 'sha256'] as const) assert.equal(hexDigest(a, data), hex(a, data));
  }
  assert.equal(inlineHashes('md5').inline, true);
});
