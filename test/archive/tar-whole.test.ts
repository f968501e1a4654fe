/**
 * readTar's `whole`: a member's data at once, as a view of the chunk being read, when it lies in
 * that chunk; else undefined, and `body` reads it across chunks. Either way the members after it
 * come right.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTar } from '../../src/archive/tar-reader.js';
import { makeTar } from '../helpers/tar-maker.js';

async function* chunked(b: Buffer, n: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < b.length; at += n) yield b.subarray(at, at + n);
}

const members = [
  { name: 'a', data: 'alpha' },
  { name: 'big', data: Buffer.alloc(3000, 7) },
  { name: 'd', type: 'dir' as const },
  { name: 'e', data: '' },
  { name: 'z', data: 'omega' },
];

test('whole: data in the chunk at hand comes at once; data across chunks is left to body', async () => {
  const tar = makeTar(members);
  for (const chunk of [tar.length, 2048, 1024, 512, 700]) {
    const seen = new Map<string, string>();
    const wholes: string[] = [];
    for await (const { member, body, whole } of readTar(chunked(tar, chunk), 'T')) {
      const w = whole();
      if (w !== undefined) {
        wholes.push(member.name);
        assert.equal(whole(), undefined, 'once');
        seen.set(member.name, w.toString('latin1'));
        continue;
      }
      const parts: Buffer[] = [];
      for await (const c of body()) parts.push(c);
      seen.set(member.name, Buffer.concat(parts).toString('latin1'));
    }
    for (const m of members) assert.equal(seen.get(m.name), m.type === 'dir' ? '' : Buffer.from(m.data).toString('latin1'), `${m.name} in chunks of ${chunk}`);
    if (chunk === tar.length) assert.deepEqual(wholes, ['a', 'big', 'd', 'e', 'z']);
    if (chunk === 1024) assert.ok(!wholes.includes('big'), 'a member longer than the chunk is read through body');
  }
});

test('whole: not offered once body has been asked for', async () => {
  const tar = makeTar(members);
  for await (const { member, body, whole } of readTar(chunked(tar, tar.length), 'T')) {
    if (member.name !== 'a') continue;
    const it = body();
    assert.equal(whole(), undefined);
    const first = await it.next();
    assert.equal(first.value?.toString(), 'alpha');
  }
});
