import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockAssembler, BlockPool, STREAM_BLOCK_SIZE, fixedBlocks, type Block } from '../../src/archive/blocks.js';
import { orderEntries, tarBlocks } from '../../src/archive/tar-writer.js';
import { readTar } from '../../src/archive/tar-reader.js';
import type { Entry } from '../../src/archive/entry.js';
import { probeInput } from '../../src/archive/gzip.js';

const file = (path: string, data: Buffer): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, content: { kind: 'bytes', data } });

async function collect(it: AsyncIterable<Block> | Iterable<Block>): Promise<Block[]> {
  const out: Block[] = [];
  for await (const b of it) out.push({ data: Buffer.from(b.data), last: b.last });
  return out;
}

test('BlockAssembler: full blocks, one short last block, whatever the writes', () => {
  for (const total of [0, 1, 7, 8, 9, 24, 25]) {
    const asm = new BlockAssembler(8);
    const src = Buffer.from(Array.from({ length: total }, (_, i) => i));
    for (let i = 0; i < total; i += 3) asm.write(src.subarray(i, i + 3));
    const blocks = [...asm.take(), ...asm.finish()];
    assert.ok(blocks.every((b, i) => b.last === (i === blocks.length - 1)), `total ${total}: only the last is marked`);
    assert.ok(blocks.slice(0, -1).every((b) => b.data.length === 8), `total ${total}: full blocks`);
    assert.ok(Buffer.concat(blocks.map((b) => b.data)).equals(src), `total ${total}: same bytes`);
    assert.ok(blocks.at(-1)!.data.length > 0 || total === 0, `total ${total}: no empty last block after full ones`);
  }
});

test('fixedBlocks: any chunking gives the same blocks', async () => {
  const data = probeInput(3 * 1000 + 17);
  const ref = await collect(fixedBlocks([data], 1000));
  for (const chunk of [1, 999, 1000, 1001, data.length]) {
    const parts = [];
    for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
    assert.deepEqual(await collect(fixedBlocks(parts, 1000)), ref);
  }
});

test('tarBlocks: 1 MiB blocks, the same bytes with and without a recycling pool', async () => {
  const entries = orderEntries([
    file('a', probeInput(STREAM_BLOCK_SIZE + 100)),
    file('b', Buffer.from('small\n')),
    file('c', probeInput(2 * STREAM_BLOCK_SIZE - 700)),
    { path: 'd', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
  ]);
  const plain = await collect(tarBlocks(entries, 't'));
  const pool = new BlockPool(STREAM_BLOCK_SIZE, 2);
  const pooled: Block[] = [];
  for (const b of tarBlocks(entries, 't', pool)) {
    pooled.push({ data: Buffer.from(b.data), last: b.last });
    b.data.fill(0xee); // a consumer may scribble over a block it gave back
    pool.give(b.data);
  }
  assert.deepEqual(pooled, plain);
  assert.ok(plain.slice(0, -1).every((b) => b.data.length === STREAM_BLOCK_SIZE && !b.last));
  assert.ok(plain.at(-1)!.last);
  const names: string[] = [];
  async function* one(): AsyncGenerator<Buffer> { yield Buffer.concat(plain.map((b) => b.data)); }
  for await (const { member, body } of readTar(one(), 't')) {
    names.push(member.name);
    for await (const _ of body()) { /* drain */ }
  }
  assert.deepEqual(names, ['a', 'b', 'c', 'd/']);
});

test('tarBlocks: a file that shrank or grew since it was scanned is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'blocks-'));
  try {
    const p = join(dir, 'f');
    writeFileSync(p, 'x'.repeat(1000));
    const e: Entry = { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 1000, content: { kind: 'file', path: p } };
    truncateSync(p, 10);
    assert.throws(() => [...tarBlocks([e], 'root')], /root: f: .*changed size after it was scanned \(1000 bytes then, 10 now\)/);
    writeFileSync(p, 'x'.repeat(1000));
    appendFileSync(p, 'more');
    assert.throws(() => [...tarBlocks([e], 'root')], /root: f: .*changed size after it was scanned \(1000 bytes then, 1004 now\)/);
    rmSync(p);
    assert.throws(() => [...tarBlocks([e], 'root')], /root: f: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
