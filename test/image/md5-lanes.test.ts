/**
 * The MD5 lanes (md5-lanes.ts over md5-wasm.ts) against node:crypto: every length around the
 * padding's edges and the pieces' edges, and random files of random sizes in random order, each
 * digest the one createHash gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { md5Lanes, type LaneFile } from '../../src/image/md5-lanes.js';
import { rng } from '../helpers/rng.js';

function check(datas: Buffer[]): void {
  const lanes = md5Lanes();
  assert.ok(lanes, 'WebAssembly SIMD is there on the machines we test on');
  const got = new Array<string | undefined>(datas.length);
  let next = 0;
  lanes.run((): LaneFile | undefined => {
    const i = next++;
    const data = datas[i];
    if (data === undefined) return undefined;
    return {
      size: data.length,
      read: (into, at) => {
        assert.ok(at + into.length <= data.length, 'reads stay inside the file');
        into.set(data.subarray(at, at + into.length));
      },
      done: (md5) => {
        assert.equal(got[i], undefined, 'one digest per file');
        got[i] = Buffer.from(md5).toString('hex');
      },
    };
  });
  assert.deepEqual(got, datas.map((d) => createHash('md5').update(d).digest('hex')));
}

test('md5 lanes: every length around the padding and the pieces, one to eighteen files at once', () => {
  const r = rng(5);
  const fill = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
  for (const piece of [64 << 10, 128 << 10]) for (const d of [-65, -64, -57, -56, -55, -1, 0, 1, 55, 56, 64]) lengths.push(piece + d);
  for (let count = 1; count <= 18; count++) check(lengths.slice(0, count).map(fill));
  check(lengths.map(fill));
});

test('md5 lanes: 600 random files, big and small in any order', () => {
  const r = rng(9);
  const datas = Array.from({ length: 600 }, () => {
    const n = r() < 0.05 ? Math.floor(r() * (1 << 20)) : Math.floor(r() * 5000);
    return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  });
  check(datas);
});
