/**
 * The pure pieces on their own: unified diffs (checked by applying them with patch(1)), the
 * out-of-order set, whiteouts, chunk-independent content comparison, read-ahead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAhead } from '../../src/archive/read-ahead.js';
import { compareSides, compareStreams, readContent } from '../../src/diff/content.js';
import { outOfOrder } from '../../src/diff/order.js';
import { unifiedDiff } from '../../src/diff/unified.js';

/** A small deterministic generator (xorshift) so that failures can be replayed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

test('unified diffs apply with patch(1) and give the other side back', (t) => {
  if (spawnSync('sh', ['-c', 'command -v patch']).status !== 0) { t.skip('patch is not installed'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'udiff-'));
  try {
    const r = rng(42);
    const words = ['a', 'b', 'c', 'd', '', 'long line with words'];
    const text = (): string => {
      const s = Array.from({ length: r(20) }, () => words[r(words.length)]!).join('\n');
      return r(3) === 0 ? s : `${s}\n`;
    };
    for (let i = 0; i < 150; i++) {
      const a = text();
      const b = r(5) === 0 ? `${a}tail\n` : text();
      const d = unifiedDiff(a, b, ['a/f', 'b/f']);
      if (a === b) { assert.equal(d, ''); continue; }
      assert.notEqual(d, '', JSON.stringify([a, b]));
      writeFileSync(join(dir, 'f'), a);
      writeFileSync(join(dir, 'p'), d);
      const p = spawnSync('patch', ['-s', '-f', join(dir, 'f'), join(dir, 'p')], { encoding: 'utf8' });
      assert.equal(p.status, 0, `${p.stdout}${p.stderr}\n${d}`);
      assert.equal(readFileSync(join(dir, 'f'), 'utf8'), b, d);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unified diff format: hunks, context and the missing final newline', () => {
  assert.equal(unifiedDiff('x\ny\n', 'x\nz\n', ['a/f', 'b/f']), '--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n');
  assert.equal(unifiedDiff('x\n', 'x', ['a/f', 'b/f']), '--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+x\n\\ No newline at end of file\n');
  const many = Array.from({ length: 30 }, (_, i) => `l${i}`);
  const changed = many.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l));
  const d = unifiedDiff(`${many.join('\n')}\n`, `${changed.join('\n')}\n`, ['a', 'b']);
  assert.deepEqual(d.split('\n').filter((l) => l.startsWith('@@')), ['@@ -1,6 +1,6 @@', '@@ -23,7 +23,7 @@']);
});

test('out of order: the fewest entries that make the two orders agree', () => {
  const p = (a: number, b: number): { indexA: number; indexB: number } => ({ indexA: a, indexB: b });
  assert.deepEqual(outOfOrder([p(0, 0), p(1, 1), p(2, 2)]), []);
  assert.deepEqual(outOfOrder([p(0, 1), p(1, 2), p(2, 3), p(3, 0)]), [p(3, 0)]);
  assert.equal(outOfOrder([p(0, 3), p(1, 2), p(2, 1), p(3, 0)]).length, 3);
});

async function* chunks(data: Buffer, cut: (n: number) => number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length;) {
    const n = Math.max(1, cut(data.length - i));
    yield data.subarray(i, i + n);
    i += n;
  }
}

test('content comparison does not depend on how the two streams are cut', async () => {
  const r = rng(7);
  const a = Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff));
  const b = Buffer.from(a);
  b[1234] = 0;
  b[4000] = 1;
  const expected = { firstDiff: 1234, lastDiff: 4000 };
  for (let i = 0; i < 20; i++) {
    const c = await compareStreams(chunks(a, (n) => 1 + r(n)), chunks(b, (n) => 1 + r(n)), 256);
    assert.deepEqual({ firstDiff: c.firstDiff, lastDiff: c.lastDiff }, expected);
    assert.equal(c.equal, false);
    assert.equal(c.a.sha256, (await readContent(chunks(a, () => 100), 0)).sha256);
    // The hex view starts at the 16-byte row before the one holding byte 1234, however the streams are cut.
    assert.equal(c.window?.offset, 1216);
    assert.deepEqual(c.window?.a, a.subarray(1216, 1216 + 64));
    assert.deepEqual(c.window?.b, b.subarray(1216, 1216 + 64));
  }
  const same = await compareStreams(chunks(a, () => 333), chunks(a, () => 1000), 256);
  assert.equal(same.equal, true);
  assert.equal(same.a.sha256, undefined, 'equal content side by side is not hashed');
  const shorter = await compareStreams(chunks(a, () => 700), chunks(a.subarray(0, 4500), () => 64), 8192);
  assert.deepEqual([shorter.firstDiff, shorter.lastDiff], [4500, 4999]);
  const apart = compareSides(await readContent(chunks(a, () => 10), 8192), await readContent(chunks(b, () => 99), 8192));
  assert.deepEqual([apart.firstDiff, apart.lastDiff], [1234, 4000]);
});

test('read-ahead passes every chunk through in order, then the error after them', async () => {
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 50; i++) yield Buffer.from([i]);
    throw new Error('boom');
  }
  const seen: number[] = [];
  await assert.rejects(async () => { for await (const c of readAhead(source(), 8)) seen.push(c[0]!); }, /boom/);
  assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
  let closed = false;
  async function* endless(): AsyncGenerator<Buffer> {
    try { for (;;) yield Buffer.alloc(4); } finally { closed = true; }
  }
  for await (const _ of readAhead(endless(), 64)) break;
  assert.equal(closed, true, 'stopping early stops the source');
});

test('entry names are matched without leading ./ or /, empty or . segments, or a trailing /', async () => {
  const { matchPath } = await import('../../src/archive/paths.js');
  const cases: Array<[string, string]> = [
    ['etc/', 'etc'], ['./etc/x', 'etc/x'], ['/a//b/./c/', 'a/b/c'], ['.', '.'], ['./', '.'], ['', '.'],
    ['a/.', 'a'], ['a//', 'a'], ['../x', '../x'], ['a/b', 'a/b'],
  ];
  for (const [name, path] of cases) assert.equal(matchPath(name), path, name);
});
