/**
 * readTarAt (an archive read at offsets: flatten's local layers) against readTar (a stream): the
 * same members, field for field, and the same error where an archive is bad, over fixed
 * dialects and thousands of random archives cut or corrupted at random places.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK } from '../../src/archive/tar-header.js';
import { readTar, readTarAt, type TarMember } from '../../src/archive/tar-reader.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { rng } from '../helpers/rng.js';

type Outcome = { members: Array<{ member: TarMember; data: string }> } | { error: string };

async function streamed(tar: Buffer, chunk: number): Promise<Outcome> {
  const members: Array<{ member: TarMember; data: string }> = [];
  try {
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let at = 0; at < tar.length; at += chunk) yield tar.subarray(at, at + chunk);
    }
    for await (const { member, body } of readTar(chunks(), 'x.tar')) {
      const parts: Buffer[] = [];
      for await (const c of body()) parts.push(c);
      members.push({ member, data: Buffer.concat(parts).toString('hex') });
    }
    return { members };
  } catch (e) {
    return { error: `${(e as { code?: string }).code}: ${(e as Error).message}` };
  }
}

function positional(tar: Buffer): Outcome {
  const members: Array<{ member: TarMember; data: string }> = [];
  try {
    // Each read overwrites one scratch buffer, as flatten's window does: a member keeping a view of it would change.
    let scratch = Buffer.alloc(0);
    const readAt = (position: number, length: number): Buffer => {
      const part = tar.subarray(position, position + length);
      if (scratch.length < part.length) scratch = Buffer.alloc(part.length);
      scratch.fill(0xee);
      part.copy(scratch);
      return scratch.subarray(0, part.length);
    };
    for (const { member, dataLen } of readTarAt(readAt, tar.length, 'x.tar')) {
      members.push({ member, data: tar.subarray(member.dataOffset, member.dataOffset + dataLen).toString('hex') });
    }
    return { members };
  } catch (e) {
    return { error: `${(e as { code?: string }).code}: ${(e as Error).message}` };
  }
}

const dialects: RawMember[] = [
  { name: 'dir', type: 'dir' },
  { name: 'dir/file', data: 'hello\n', uid: 1000, gid: 1000, uname: 'u', gname: 'g' },
  { name: 'dir/big', data: Buffer.alloc(3 * BLOCK + 17, 7) },
  { name: 'dir/empty', data: '' },
  { name: 'dir/link', type: 'symlink', linkname: 'file' },
  { name: 'dir/hard', type: 'hardlink', linkname: 'dir/file' },
  { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
  { name: 'fifo', type: 'fifo' },
  { name: `long/${'n'.repeat(150)}/${'m'.repeat(120)}`, data: 'long', pax: { path: `long/${'n'.repeat(150)}/${'m'.repeat(120)}` } },
  { name: 'x', data: 'xattr', pax: { 'SCHILY.xattr.user.a': 'b', mtime: '1600000000.5' } },
  { name: 'gnu', data: 'gnu', magic: 'gnu' },
  { name: 'old', data: 'v7', magic: 'v7' },
];

test('readTarAt yields what readTar yields, for every dialect and any chunking of the stream', async () => {
  const tar = makeTar(dialects);
  const at = positional(tar);
  assert.ok('members' in at && at.members.length === dialects.length, JSON.stringify(at).slice(0, 300));
  for (const chunk of [1, 511, 512, 4096, tar.length]) assert.deepEqual(at, await streamed(tar, chunk), `chunk ${chunk}`);
});

test('readTarAt fails as readTar does on cut and corrupted archives (2,000 random cases)', async () => {
  const r = rng(16);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  let errors = 0;
  for (let i = 0; i < 2000; i++) {
    const members = Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(dialects));
    let tar = makeTar(members, { end: r() < 0.9, endBlocks: 1 + Math.floor(r() * 2) });
    const how = r();
    if (how < 0.4) tar = tar.subarray(0, Math.floor(r() * tar.length));
    else if (how < 0.7) {
      tar = Buffer.from(tar);
      tar[Math.floor(r() * tar.length)] = Math.floor(r() * 256);
    }
    const at = positional(tar);
    if ('error' in at) errors++;
    assert.deepEqual(at, await streamed(tar, 1 + Math.floor(r() * 2048)), `case ${i}: ${tar.length} bytes`);
  }
  assert.ok(errors > 500, `only ${errors} of the cases were bad archives`);
});

test('readTarAt yields a member whose data is cut before it fails, as readTar does (a caller that stops at the member fails alike)', async () => {
  const tar = makeTar(dialects);
  for (let cut = 0; cut <= tar.length; cut += 97) {
    const t = tar.subarray(0, cut);
    const seenStreamed: string[] = [];
    const seenAt: string[] = [];
    let errorStreamed = '';
    let errorAt = '';
    try {
      async function* chunks(): AsyncGenerator<Buffer> {
        yield t;
      }
      for await (const { member, body } of readTar(chunks(), 'x.tar')) {
        seenStreamed.push(member.name);
        for await (const c of body()) void c;
      }
    } catch (e) {
      errorStreamed = (e as Error).message;
    }
    try {
      for (const { member } of readTarAt((p, n) => t.subarray(p, p + n), t.length, 'x.tar')) seenAt.push(member.name);
    } catch (e) {
      errorAt = (e as Error).message;
    }
    assert.deepEqual({ seen: seenAt, error: errorAt }, { seen: seenStreamed, error: errorStreamed }, `cut at ${cut}`);
  }
});
