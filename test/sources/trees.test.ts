import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISTRIBUTIONS } from '../../src/sources/index.js';
import { TREE_READERS } from '../../src/sources/trees.js';

test('TREE_READERS: the distributions\' installed-tree functions, in the same order', () => {
  assert.deepEqual(TREE_READERS.map((t) => t.distro), DISTRIBUTIONS.map((d) => d.distro));
  for (const [i, t] of TREE_READERS.entries()) {
    const d = DISTRIBUTIONS[i]!;
    for (const k of ['isDatabaseFile', 'isRecordFile', 'packageRecords', 'isGeneratorInput', 'generated'] as const) assert.equal(t[k], d[k], `${d.distro}.${k}`);
  }
});
