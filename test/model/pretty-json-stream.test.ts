/**
 * `prettyJsonBlocks` is `JSON.stringify(value, null, 2)` in pieces: the same characters for every
 * kind of value JSON.stringify takes (members left out, items written as null, empty lists and
 * objects, toJSON, boxed primitives, strings that escape), at every depth walked, in blocks of
 * about 64 Ki characters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prettyJsonBlocks } from '../../src/model/pretty-json-stream.js';

const joined = (v: unknown, depth?: number): string => [...prettyJsonBlocks(v, depth)].join('');

test('the same text as JSON.stringify(value, null, 2), at every depth walked', () => {
  const values: unknown[] = [
    undefined, null, 0, -0, 1.5, 'a\n"b"\u2028', true, [], {}, [[]], [{}], { a: [] }, { a: {} },
    { a: undefined, b: () => 1, c: Symbol('s') }, [undefined, () => 1, Symbol('s'), null],
    { a: 1, b: [1, { c: [2, { d: 'x\ny' }], e: {} }], f: { g: { h: [[], {}] } } },
    { d: new Date(0), n: Object(1) as unknown, s: Object('s') as unknown, t: { toJSON: () => ({ x: [1, 2] }) } },
    Object.assign(Object.create(null) as object, { z: 1, a: [1] }),
    { '1': 'one', b: 2, '0': 'zero' },
    { x: [[[1, { y: [2, [3, { z: 'w' }]] }], []], [[undefined]], [[], [{}]]] },
    [[[[1, 2], [3]], [[4]]]],
    { packages: Array.from({ length: 3000 }, (_, i) => ({ name: `p${i}`, files: [`f${i}`], source: { name: `s${i}` } })), warnings: [] },
  ];
  for (const v of values) {
    for (const depth of [0, 1, 2, 3, 4, 5, 7]) assert.equal(joined(v, depth), JSON.stringify(v, null, 2) ?? '', `${String(JSON.stringify(v))?.slice(0, 80)} at depth ${depth}`);
  }
});

test('in blocks of about 64 Ki characters, or a batch of 256 items when that is more', () => {
  const v = { items: Array.from({ length: 20_000 }, (_, i) => ({ i, s: 'x'.repeat(20) })) };
  const blocks = [...prettyJsonBlocks(v)];
  assert.ok(blocks.length > 10);
  // A batch of these items is about 15 Ki characters: a block is one batch past 64 Ki at most.
  for (const b of blocks.slice(0, -1)) assert.ok(b.length >= 65536 && b.length < 65536 + 20_000, String(b.length));
  assert.equal(blocks.join(''), JSON.stringify(v, null, 2));
  // Items of 1 Ki characters: each batch is a block of its own.
  const big = { a: 1, items: Array.from({ length: 1000 }, (_, i) => ({ i, s: 'y'.repeat(1024) })), z: [1] };
  const bigBlocks = [...prettyJsonBlocks(big)];
  assert.equal(bigBlocks.join(''), JSON.stringify(big, null, 2));
  assert.ok(bigBlocks.filter((b) => b.length > 256 * 1024).length === 3, bigBlocks.map((b) => b.length).join());
});
