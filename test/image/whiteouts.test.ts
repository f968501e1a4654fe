/**
 * The one whiteout implementation (src/image/whiteouts.ts): whiteouts hide a path and its subtree
 * below, opaque whiteouts empty a directory below, a non-directory replaces a directory with its
 * content, and a layer's whiteouts never hide what the same layer adds.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { FlatFileSystem, whiteoutOf, type LayerChanges } from '../../src/image/whiteouts.js';

const layer = (entries: Array<[string, boolean]>, whiteouts: string[] = []): LayerChanges<string> => ({
  whiteouts: whiteouts.map((w) => whiteoutOf(w)!),
  entries: entries.map(([path, dir]) => ({ path, dir, value: path })),
});

function base(): FlatFileSystem<string> {
  const fs = new FlatFileSystem<string>();
  fs.apply(layer(['a', 'a/x', 'a/y', 'a/y/z', 'b', 'ab'].map((p) => [p, false])));
  return fs;
}

test('whiteouts remove the named entry and its subtree; opaque ones empty the directory', () => {
  const one = base();
  one.apply(layer([], ['a/.wh.y']));
  assert.deepEqual([...one.files.keys()], ['a', 'a/x', 'b', 'ab']);
  const two = base();
  two.apply(layer([], ['a/.wh..wh..opq']));
  assert.deepEqual([...two.files.keys()], ['a', 'b', 'ab']);
  const three = base();
  three.apply(layer([], ['.wh.a']));
  assert.deepEqual([...three.files.keys()], ['b', 'ab']);
});

test('a whiteout hides only the layers below; a file in place of a directory removes its content', () => {
  const fs = new FlatFileSystem<string>();
  fs.apply(layer([['etc', true], ['etc/a', false], ['var/lib/dpkg/status', false]]));
  // The same layer whites out etc/a and adds it again: the new one stays.
  fs.apply(layer([['etc/a', false], ['var/lib', false]], ['etc/.wh.a']));
  assert.deepEqual([...fs.files.keys()].sort(), ['etc', 'etc/a', 'var/lib']);
  // A directory over a directory keeps what is below it.
  fs.apply(layer([['etc', true]]));
  assert.deepEqual([...fs.files.keys()].sort(), ['etc', 'etc/a', 'var/lib']);
  // An entry kept as nothing still replaces what was below it.
  fs.apply({ whiteouts: [], entries: [{ path: 'etc', dir: false, value: undefined }] });
  assert.deepEqual([...fs.files.keys()].sort(), ['var/lib']);
});

test('whiteoutOf: names, opaque markers, top-level paths', () => {
  assert.deepEqual(whiteoutOf('a/b/.wh.c'), { opaque: false, path: 'a/b/c' });
  assert.deepEqual(whiteoutOf('.wh.c'), { opaque: false, path: 'c' });
  assert.deepEqual(whiteoutOf('a/.wh..wh..opq'), { opaque: true, dir: 'a' });
  assert.equal(whiteoutOf('a/b.wh.c'), undefined);
});
