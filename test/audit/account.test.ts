/**
 * accountEntries and ownership, pure: a directory that holds accounted entries and nothing
 * unexplained is accounted for as their parent, whatever lies between (owned directories, missing
 * parents, names that sort between a directory and its children); the same accounts as the
 * definition (every entry below, looked at one by one) on random trees; and recorded paths through
 * symlinked directories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountEntries, ownership, type EntryAccount } from '../../src/audit/account.js';
import type { FlatEntry } from '../../src/image/flatten.js';
import type { PackageRecord, RecordedFile } from '../../src/sources/distribution.js';

const file = (path: string): FlatEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, md5: 'aa', layer: 1 });
const dir = (path: string): FlatEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, layer: 1 });
const link = (path: string, linkname: string): FlatEntry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, linkname, layer: 1 });

function pkg(name: string, files: RecordedFile[]): PackageRecord {
  return { distribution: 'debian', name, version: '1', purl: `pkg:deb/debian/${name}@1`, dependsOn: [], supplier: 'Debian', files } as PackageRecord;
}

function accounts(entries: FlatEntry[], owned: string[]): Map<string, EntryAccount> {
  const map = new Map(entries.map((e) => [e.path, e]));
  const records = [pkg('p', owned.map((path) => ({ path: `/${path}`, md5: map.get(path)?.type === 'file' ? 'aa' : undefined }) as RecordedFile))];
  return new Map(accountEntries(map, ownership(map, records), new Map()).map((a) => [a.path, a]));
}

/** The definition: an unexplained directory with no step is its children's parent when something, and nothing unexplained, is below it. */
function byDefinition(entries: FlatEntry[], owned: string[]): Map<string, string> {
  const first = accounts(entries, owned);
  const kind = new Map([...first].map(([p, a]) => [p, a.step === 'parent directories' ? 'unexplained' : a.kind]));
  const paths = [...kind.keys()].sort().reverse();
  for (const p of paths) {
    const e = entries.find((x) => x.path === p)!;
    if (kind.get(p) !== 'unexplained' || e.type !== 'dir') continue;
    const below = paths.filter((q) => q.startsWith(`${p}/`));
    if (below.length > 0 && below.every((q) => kind.get(q) !== 'unexplained')) kind.set(p, 'generated');
  }
  return kind;
}

test('a directory is its children\'s parent when something and nothing unexplained is below it, however deep', () => {
  const entries = [
    dir('a'), file('a/f'),
    dir('a-b'), file('a-b/x'), // sorts between a and a/f; unexplained, and no business of a's
    dir('b'), file('b/x'),
    dir('c'), dir('c/d'), file('c/d/u'), file('c/d/z'), // c/d and c/d/z are owned, c/d/u is not: c stays unexplained
    dir('e'), // nothing below
    dir('g'), dir('g/h'), file('g/h/f'), // g/h becomes a parent, and so g
    dir('m'), file('m/n/f'), // m/n is not an entry
  ];
  const got = accounts(entries, ['a/f', 'c/d', 'c/d/z', 'g/h/f', 'm/n/f']);
  const kinds = Object.fromEntries([...got].map(([p, a]) => [p, a.step === 'parent directories' ? 'parent' : a.kind]));
  assert.deepEqual(kinds, {
    a: 'parent', 'a/f': 'package', 'a-b': 'unexplained', 'a-b/x': 'unexplained', b: 'unexplained', 'b/x': 'unexplained',
    c: 'unexplained', 'c/d': 'package', 'c/d/u': 'unexplained', 'c/d/z': 'package', e: 'unexplained',
    g: 'parent', 'g/h': 'parent', 'g/h/f': 'package', m: 'parent', 'm/n/f': 'package',
  });
  // In path order, whatever order the entries came in.
  assert.deepEqual([...accounts([...entries].reverse(), ['a/f']).keys()], [...got.keys()]);
});

test('parent directories: the same accounts as the definition on random trees', () => {
  let seed = 7;
  // xorshift32: a fixed sequence, the same on every run.
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (let round = 0; round < 200; round++) {
    const names = ['a', 'b', 'a-b', 'a.b', 'c'];
    const entries = new Map<string, FlatEntry>();
    const owned: string[] = [];
    for (let i = 0; i < 40; i++) {
      const depth = 1 + rand(4);
      const parts = Array.from({ length: depth }, () => names[rand(names.length)]!);
      // Directories along the way, most of them entries.
      for (let d = 1; d < depth; d++) {
        const p = parts.slice(0, d).join('/');
        if (rand(5) > 0 && !entries.has(p)) entries.set(p, dir(p));
      }
      const p = parts.join('/');
      if (entries.has(p) || [...entries.keys()].some((q) => q.startsWith(`${p}/`))) continue;
      const isDir = rand(3) === 0;
      entries.set(p, isDir ? dir(p) : file(p));
      if (rand(2) === 0) owned.push(p);
    }
    // A directory an entry lies below is a directory, not a file.
    for (const [p, e] of entries) if (e.type === 'file' && [...entries.keys()].some((q) => q.startsWith(`${p}/`))) entries.set(p, dir(p));
    const list = [...entries.values()];
    const got = accounts(list, owned);
    const want = byDefinition(list, owned);
    for (const [p, kind] of want) assert.equal(got.get(p)!.kind, kind, `round ${round}: ${p}`);
  }
});

test('recorded paths are found through the image\'s symlinked directories, each directory resolved once', () => {
  const entries = [link('bin', 'usr/bin'), dir('usr'), dir('usr/bin'), file('usr/bin/ls'), file('usr/bin/cat'), link('lib', 'usr/lib'), dir('usr/lib')];
  const map = new Map(entries.map((e) => [e.path, e]));
  const own = ownership(map, [pkg('coreutils', [{ path: '/bin/ls' }, { path: '/bin/cat' }, { path: '/bin/rm' }, { path: '/lib/x' }] as RecordedFile[])]);
  assert.deepEqual([...own.owned.keys()].sort(), ['usr/bin/cat', 'usr/bin/ls']);
  assert.deepEqual(own.missing, [{ package: 'coreutils', path: '/bin/rm' }, { package: 'coreutils', path: '/lib/x' }]);
});

test('a file is checked when an owner that records its digest matches it; a file no matching owner records a digest of is unchecked', () => {
  const entries = [dir('usr'), file('usr/a'), file('usr/b'), file('usr/c'), link('usr/l', 'a')];
  const map = new Map(entries.map((e) => [e.path, e]));
  const records = [
    pkg('one', [{ path: '/usr/a', md5: 'aa' }, { path: '/usr/b' }, { path: '/usr/c', md5: 'ff' }, { path: '/usr/l' }] as RecordedFile[]),
    // Multi-Arch: same: a second owner of a and c that records no digest.
    pkg('two', [{ path: '/usr/a' }, { path: '/usr/c' }] as RecordedFile[]),
  ];
  const got = new Map(accountEntries(map, ownership(map, records), new Map()).map((a) => [a.path, a]));
  assert.equal(got.get('usr/a')!.kind, 'package');
  assert.equal(got.get('usr/a')!.unchecked, undefined);
  assert.equal(got.get('usr/b')!.unchecked, true);
  // c: its recorded digest differs, but the owner that records none "matches": unchecked, not clean.
  assert.equal(got.get('usr/c')!.kind, 'package');
  assert.equal(got.get('usr/c')!.unchecked, true);
  // A symlink has no bytes to check.
  assert.equal(got.get('usr/l')!.unchecked, undefined);
});

test('a path whose record has a digest and no type must be a regular file: a symlink or a directory there is modified, wherever it leads', () => {
  const entries = [dir('usr'), file('usr/a'), link('usr/vdir', 'a'), link('usr/dangling', '/nonexistent'), dir('usr/d'), link('usr/plain', 'a'), link('usr/shared', 'a')];
  const map = new Map(entries.map((e) => [e.path, e]));
  const records = [
    // dpkg: md5sums (and conffiles) have a digest of each regular file; the .list no type.
    pkg('one', [{ path: '/usr/a', md5: 'aa' }, { path: '/usr/vdir', md5: 'aa' }, { path: '/usr/dangling', md5: 'bb' }, { path: '/usr/d', md5: 'cc', conffile: true }, { path: '/usr/plain' }, { path: '/usr/shared', md5: 'aa' }] as RecordedFile[]),
    // Multi-Arch: same: an owner that records no digest of it matches a symlink, as it matches a file.
    pkg('two', [{ path: '/usr/shared' }] as RecordedFile[]),
  ];
  const got = new Map(accountEntries(map, ownership(map, records), new Map()).map((a) => [a.path, a]));
  assert.equal(got.get('usr/a')!.kind, 'package');
  // A link to a file of the very bytes recorded: still not the file (dpkg --verify says M).
  assert.equal(got.get('usr/vdir')!.kind, 'modified');
  assert.deepEqual(got.get('usr/vdir')!.differences, ['a file recorded (md5 aa), a symlink in the image (to "a")']);
  assert.deepEqual(got.get('usr/vdir')!.recorded, { md5: 'aa' });
  assert.deepEqual(got.get('usr/dangling')!.differences, ['a file recorded (md5 bb), a symlink in the image (to "/nonexistent")']);
  assert.deepEqual(got.get('usr/d')!.differences, ['a file recorded (md5 cc), a dir in the image']);
  assert.equal(got.get('usr/d')!.conffile, true);
  // No digest recorded: a symlink is what the .list may well have meant.
  assert.equal(got.get('usr/plain')!.kind, 'package');
  assert.equal(got.get('usr/shared')!.kind, 'package');
  // A type recorded (pacman's mtree) is compared as before: a file recorded, a symlink there.
  const typed = [pkg('arch', [{ path: '/usr/vdir', type: 'file', sha256: 'dd' }] as RecordedFile[])];
  const t = accountEntries(map, ownership(map, typed), new Map()).find((a) => a.path === 'usr/vdir')!;
  assert.deepEqual(t.differences, ['a file recorded, a symlink in the image']);
});
