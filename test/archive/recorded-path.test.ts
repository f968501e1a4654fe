/**
 * resolveRecorded: a path a package database records, followed through the image's symlinks
 * (all but the last component), as dpkg and pacman see their own paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordedResolver, resolveRecorded } from '../../src/archive/recorded-path.js';

const links = new Map<string, string>([
  ['bin', 'usr/bin'],
  ['lib', 'usr/lib'],
  ['usr/lib64', '/usr/lib'],
  ['etc/alt', '../usr/share/alt'],
  ['loop/a', 'b'],
  ['loop/b', 'a'],
  ['up', '../../..'],
]);
const tree = { linkOf: (p: string) => links.get(p) };

test('recorded paths are followed through directory symlinks, the last component not', () => {
  const cases: Array<[string, string | undefined]> = [
    ['/bin/ls', 'usr/bin/ls'],
    ['./bin/ls', 'usr/bin/ls'],
    ['bin', 'bin'],
    ['/lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['/usr/lib64/ld.so', 'usr/lib/ld.so'],
    ['/etc/alt/editor', 'usr/share/alt/editor'],
    ['/etc//./alt/x', 'usr/share/alt/x'],
    ['/usr/../etc/passwd', 'etc/passwd'],
    ['/../../etc/passwd', 'etc/passwd'],
    ['/up/etc/passwd', 'etc/passwd'],
    ['/loop/a/x', undefined],
    ['/', ''],
  ];
  for (const [path, want] of cases) assert.equal(resolveRecorded(tree, path), want, path);
});

test('a chain of links is followed up to 40 and refused beyond', () => {
  const chain = new Map<string, string>();
  for (let i = 0; i < 45; i++) chain.set(`l${i}`, `l${i + 1}`);
  chain.set('l45', 'real');
  const t40 = { linkOf: (p: string) => (p === 'l39' ? 'real' : chain.get(p)) };
  assert.equal(resolveRecorded(t40, 'l0/f'), 'real/f');
  assert.equal(resolveRecorded({ linkOf: (p) => chain.get(p) }, 'l0/f'), undefined);
});

test('recordedResolver, which follows each directory once, gives what resolveRecorded gives', () => {
  const paths = [
    '/bin/ls', './bin/ls', 'bin', 'bin/', '/bin/', '/bin/.', '/bin/..', '/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib64/ld.so',
    '/etc/alt/editor', '/etc//./alt/x', '/usr/../etc/passwd', '/../../etc/passwd', '/up/etc/passwd', '/up/bin/sh',
    '/loop/a/x', '/loop/a', '/', '', '.', '..', '/ls', 'ls', '/etc/alt', '/etc/alt/', 'etc/alt/../x', '/lib', '/lib/x',
  ];
  const resolve = recordedResolver(tree);
  // Twice: the second time from the directories it remembers.
  for (const round of [1, 2]) for (const p of paths) assert.equal(resolve(p), resolveRecorded(tree, p), `${p} (round ${round})`);
  const chain = new Map<string, string>();
  for (let i = 0; i < 45; i++) chain.set(`l${i}`, `l${i + 1}`);
  const t40 = { linkOf: (p: string) => (p === 'l39' ? 'real' : chain.get(p)) };
  assert.equal(recordedResolver(t40)('l0/f'), 'real/f');
  assert.equal(recordedResolver({ linkOf: (p) => chain.get(p) })('l0/f'), undefined);
});

test('links count as the kernel counts them, in all: 40 one after another resolve, 41 do not', () => {
  // s0 -> ., then s0/s1 is s1 (-> .), …: a path through n links in a row takes n.
  const tree = { linkOf: (p: string) => (/^s\d+$/.test(p) ? '.' : undefined) };
  const through = (n: number): string => `${Array.from({ length: n }, (_, j) => `s${j}`).join('/')}/f`;
  assert.equal(recordedResolver(tree)(through(40)), 'f');
  assert.equal(recordedResolver(tree)(through(41)), undefined);
  assert.equal(resolveRecorded(tree, through(41)), undefined);
});

test('a link to thousands of links to thousands of components: each link followed once (100,000 paths below it took 11 s)', () => {
  const many = (name: string): string => Array(2000).fill(name).join('/');
  const links = new Map([['a', many('b')], ['b', many('c')], ['c', '.'], ['ok', 'usr']]);
  const resolve = recordedResolver({ linkOf: (p) => links.get(p) });
  const t = performance.now();
  for (let i = 0; i < 100_000; i++) assert.equal(resolve(`a/x${i}/f`), undefined);
  for (let i = 0; i < 100_000; i++) assert.equal(resolve(`ok/x${i}/f`), `usr/x${i}/f`);
  const took = performance.now() - t;
  assert.ok(took < 3000, `${took.toFixed(0)} ms`);
});

test('a plain path (taken apart by slicing) resolves as the same path written with empty and `.` components (taken apart by splitting)', () => {
  // mulberry32: the same trees on every run.
  let seed = 12345;
  const r = (): number => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const names = ['a', 'b', 'bin', 'usr', 'l', '...', '.x', 'x.', ' ', 'a\nb'];
  const targets = ['usr/bin', '/usr', 'b', '../b', '.', '..', '/', 'a/../usr', 'l', '/l/a', ''];
  let through = 0;
  for (let t = 0; t < 200; t++) {
    const links = new Map<string, string>();
    for (let i = Math.floor(r() * 6); i > 0; i--) links.set(Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(names)).join('/'), pick(targets));
    const tree = { linkOf: (p: string) => links.get(p) };
    const plain = recordedResolver(tree);
    const general = recordedResolver(tree);
    for (let i = 0; i < 50; i++) {
      const parts = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(names));
      const path = (r() < 0.7 ? '/' : '') + parts.join('/');
      // The same path with an empty or `.` component, or a trailing slash: not plain.
      const odd = pick([`/.${path.startsWith('/') ? '' : '/'}${path}`, `${path}/`, `${path}/.`, path.replace(/^\/?/, '//'), `./${path.replace(/^\//, '')}`]);
      const want = resolveRecorded(tree, odd);
      assert.equal(plain(path), want, `${JSON.stringify(path)} as ${JSON.stringify(odd)}, links ${JSON.stringify([...links])}`);
      assert.equal(general(odd), want);
      if (want !== undefined && want !== parts.join('/')) through++;
    }
  }
  assert.ok(through > 500, `only ${through} paths went through a link`);
});
