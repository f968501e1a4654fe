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

/** The rules written out plainly (each removal scans every path): what FlatFileSystem must agree with. */
class Naive {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  private under(dir: string): void {
    const root = dir === '' || dir === '.';
    for (const p of [...this.files.keys()]) if (root ? p !== '' && p !== '.' : p.startsWith(`${dir}/`)) this.files.delete(p);
    for (const p of [...this.dirs]) if (root ? p !== '' && p !== '.' : p.startsWith(`${dir}/`)) this.dirs.delete(p);
  }
  apply(l: LayerChanges<string>): void {
    for (const w of l.whiteouts) {
      if (w.opaque) this.under(w.dir);
      else {
        this.files.delete(w.path);
        this.dirs.delete(w.path);
        this.under(w.path);
      }
    }
    for (const e of l.entries) {
      if (e.dir) this.dirs.add(e.path);
      else if (this.dirs.has(e.path)) {
        this.dirs.delete(e.path);
        this.under(e.path);
      }
      this.files.delete(e.path);
      if (e.value !== undefined) this.files.set(e.path, e.value);
      for (let i = e.path.lastIndexOf('/'); i > 0; i = e.path.lastIndexOf('/', i - 1)) this.dirs.add(e.path.slice(0, i));
    }
  }
}

test('FlatFileSystem agrees with the rules written out plainly on 2,000 random layer sequences', () => {
  let seed = 11;
  const r = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const names = ['a', 'b', 'c'];
  const randomPath = (): string => Array.from({ length: 1 + Math.floor(r() * 3) }, () => names[Math.floor(r() * names.length)]!).join('/');
  for (let n = 0; n < 2000; n++) {
    const fs = new FlatFileSystem<string>();
    const naive = new Naive();
    for (let l = 0, layers = 1 + Math.floor(r() * 4); l < layers; l++) {
      const whiteouts = Array.from({ length: Math.floor(r() * 3) }, () => {
        const p = randomPath();
        const slash = p.lastIndexOf('/');
        return r() < 0.3 ? `${slash < 0 ? '' : `${p.slice(0, slash + 1)}`}.wh..wh..opq` : `${p.slice(0, slash + 1)}.wh.${p.slice(slash + 1)}`;
      });
      const entries = Array.from({ length: Math.floor(r() * 6) }, (): [string, boolean] => [randomPath(), r() < 0.4]);
      const changes = layer(entries, whiteouts);
      fs.apply(changes);
      naive.apply(changes);
      assert.deepEqual([...fs.files].sort(), [...naive.files].sort(), `sequence ${n}, layer ${l}`);
    }
  }
});
