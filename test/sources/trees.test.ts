import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISTRIBUTIONS } from '../../src/sources/index.js';
import { TREE_READERS } from '../../src/sources/trees.js';

test('TREE_READERS: the distributions\' installed-tree functions, in the same order', async () => {
  assert.deepEqual(TREE_READERS.map((t) => t.distro), DISTRIBUTIONS.map((d) => d.distro));
  for (const [i, t] of TREE_READERS.entries()) {
    const d = DISTRIBUTIONS[i]!;
    for (const k of ['isDatabaseFile', 'isRecordFile', 'isGeneratorInput'] as const) assert.equal(t[k], d[k], `${d.distro}.${k}`);
    const readers = await t.readers();
    for (const k of ['packageRecords', 'generated'] as const) assert.equal(readers[k], d[k], `${d.distro}.${k}`);
  }
});
