/**
 * Defects found while fuzzing that the corpus replay cannot express (the property there is "a
 * ReproError or success"; these were silent rewrites or wrong numbers, not crashes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mtreeFileList } from '../../src/sources/arch/mtree.js';
import { ReproError } from '../../src/model/errors.js';

test('mtree: a path that unescapes to bytes that are not UTF-8 is refused, not turned into U+FFFD', () => {
  // Two different names (\377 and \376) would both have become "x\uFFFD".
  for (const esc of ['\\377', '\\376']) {
    assert.throws(() => mtreeFileList(`#mtree\n./x${esc} type=file\n`, 'pkg/.MTREE'),
      (e: unknown) => e instanceof ReproError && /pkg\/\.MTREE: line 2: the path .* unescapes to bytes that are not UTF-8/.test(e.message));
  }
  assert.deepEqual(mtreeFileList('#mtree\n./caf\\303\\251 type=file\n', 'm'), ['café']);
});
