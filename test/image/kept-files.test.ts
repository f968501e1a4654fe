/**
 * KeptFiles (src/image/kept-files.ts): the bytes of the files a flattening keeps, in shared
 * chunks, read as a ReadonlyMap of views. Edge cases of the layout (empty files, a file of exactly
 * one chunk, bigger ones, more handles than the first tables hold, a file named twice, `clear`),
 * and what it holds: the bytes stored and not much more, whatever their sizes (the keep budget,
 * `keepTotal`, counts the bytes; a chunk a file was too much for the budget's word).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { KeptFiles } from '../../src/image/kept-files.js';

const MiB = 1 << 20;
const bytes = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

test('KeptFiles: empty files, a file of exactly 1 MiB, bigger, pieces, more handles than the first tables, two names of one file, order, clear', () => {
  const k = new KeptFiles();
  const want = new Map<string, Buffer>();
  const put = (path: string, data: Buffer, pieces = false): number => {
    const id = k.store(pieces ? [data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)] : data);
    k.name(path, id);
    want.set(path, data);
    return id;
  };
  put('empty-first', Buffer.alloc(0));
  put('small', bytes(10, 1));
  put('exact', bytes(MiB, 2));
  put('empty-after-full', Buffer.alloc(0));
  put('big', bytes(MiB + 7, 3), true);
  for (let i = 0; i < 300; i++) put(`f${i}`, bytes(i * 13, i));
  const id = put('last', bytes(MiB - 1, 4));
  k.name('last-link', id);
  want.set('last-link', want.get('last')!);
  assert.equal(k.size, want.size);
  assert.deepEqual([...k.keys()], [...want.keys()]);
  for (const [path, data] of want) assert.ok(k.get(path)!.equals(data), path);
  for (const [path, data] of k) assert.ok(data.equals(want.get(path)!), path);
  // A path named again names the new bytes.
  k.name('small', k.store(Buffer.from('again')));
  assert.equal(k.get('small')!.toString(), 'again');
  k.clear();
  assert.equal(k.size, 0);
  assert.equal(k.get('small'), undefined);
  assert.equal(k.has('exact'), false);
  k.name('x', k.store(Buffer.from('after clear')));
  assert.equal(k.get('x')!.toString(), 'after clear');
});

test('KeptFiles holds the bytes stored and not much more: files of just over half a chunk each (was: a 1 MiB chunk each, twice what the budget counted)', () => {
  const files = 48;
  const size = (MiB >> 1) + 1;
  const data = bytes(size, 5);
  const k = new KeptFiles();
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < files; i++) k.name(`f${i}`, k.store(data));
  const held = process.memoryUsage().arrayBuffers - before;
  const stored = files * size;
  // One partly filled chunk at most beyond the bytes, and an eighth of them.
  assert.ok(held <= stored * 1.125 + MiB, `${held} bytes held for ${stored} stored`);
  for (let i = 0; i < files; i++) assert.ok(k.get(`f${i}`)!.equals(data));
});

test('a file of 4 GiB or more is refused before anything is copied (its length would not fit the 32 bits kept)', () => {
  const kept = new KeptFiles();
  const piece = new Uint8Array(1 << 20);
  // 4,096 views of one MiB: 4 GiB in all, nothing allocated for them.
  assert.throws(() => kept.store(new Array<Uint8Array>(4096).fill(piece)), /a kept file of 4294967296 bytes: at most 4 GiB - 1 can be kept/);
  assert.equal(kept.get(String(0)), undefined);
});
