import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { gzipStream, probeInput, deflateBlockReference, deflateBlockNativeSync, GZIP_BLOCK_SIZE } from '../../src/archive/gzip.js';
import { zstdStream, zstdDecompressStream, zstdVersion } from '../../src/archive/zstd.js';
import { crc32, crc32Portable } from '../../src/archive/crc32.js';
import { readGolden } from '../helpers/golden.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const INPUT = probeInput(GZIP_BLOCK_SIZE * 2 + 12345);
const golden = readGolden('compression.json') as Record<string, string>;

test('gzip: reference (pako) output matches the committed golden digest', async () => {
  const out = await collect(gzipStream(chunked(INPUT, 65536), { impl: 'reference' }));
  assert.equal(sha(out), golden['gzip']);
  assert.ok(zlib.gunzipSync(out).equals(INPUT));
  assert.deepEqual([...out.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], 'fixed header: no name, mtime 0, OS 0xff');
});

test('gzip: the native path gives the reference bytes, for any concurrency and input chunking', async () => {
  const ref = await collect(gzipStream(chunked(INPUT, 65536), { impl: 'reference' }));
  for (const concurrency of [1, 2, 7]) {
    for (const chunk of [1000, 1 << 20, INPUT.length]) {
      const out = await collect(gzipStream(chunked(INPUT, chunk), { impl: 'native', concurrency }));
      assert.ok(out.equals(ref), `concurrency ${concurrency}, chunk ${chunk}`);
    }
  }
});

test('gzip: native and reference agree block by block, with and without a dictionary', () => {
  const a = INPUT.subarray(0, 200000);
  const dict = INPUT.subarray(300000, 300000 + 32768);
  for (const [d, last] of [[Buffer.alloc(0), false], [dict, false], [dict, true]] as const) {
    assert.ok(deflateBlockNativeSync(a, d, last).equals(deflateBlockReference(a, d, last)));
  }
});

test('gzip: empty input is a valid gzip stream', async () => {
  const out = await collect(gzipStream(chunked(Buffer.alloc(0), 1)));
  assert.equal(zlib.gunzipSync(out).length, 0);
  assert.equal(sha(out), golden['gzip-empty']);
});

test(`zstd ${zstdVersion()}: golden bytes, the same for 1, 2 and 4 workers and any chunking`, async () => {
  assert.equal(zstdVersion(), '1.5.7');
  const ref = await collect(zstdStream(chunked(INPUT, 65536)));
  assert.equal(sha(ref), golden['zstd']);
  for (const workers of [1, 2, 4]) {
    for (const chunk of [777, INPUT.length]) {
      assert.ok((await collect(zstdStream(chunked(INPUT, chunk), { workers }))).equals(ref), `workers ${workers}, chunk ${chunk}`);
    }
  }
  assert.ok((await collect(zstdDecompressStream(chunked(ref, 1000), 't'))).equals(INPUT));
});

test('zstd: input over several 4 MiB jobs: golden bytes, the same for 1 and 2 workers', async () => {
  const input = probeInput(3 * (4 << 20) + 4321);
  const ref = await collect(zstdStream(chunked(input, 1 << 20)));
  assert.equal(sha(ref), golden['zstd-jobs'], 'pins level, job size and block feeding');
  assert.ok((await collect(zstdStream(chunked(input, 100003), { workers: 1 }))).equals(ref));
  assert.ok((await collect(zstdDecompressStream(chunked(ref, 1 << 16), 't'))).equals(input));
});

test('zstd: a truncated frame is an error', async () => {
  const ref = await collect(zstdStream(chunked(INPUT, 65536)));
  await assert.rejects(collect(zstdDecompressStream(chunked(ref.subarray(0, ref.length - 10), 1000), 'cut.zst')), /cut\.zst: truncated zstd stream/);
});

test('crc32: native and portable agree', () => {
  assert.equal(crc32(INPUT, 0), crc32Portable(INPUT, 0));
  assert.equal(crc32Portable(Buffer.from('123456789'), 0), 0xcbf43926);
});
