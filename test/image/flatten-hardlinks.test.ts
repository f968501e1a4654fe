/**
 * Hard links in flattened layers, read both ways (streamed, and where the layer lies with the
 * hashing on one thread or two, md5 lanes on and off): a link to a file of a layer below is that
 * file as it was when the link's layer was applied (its size and digests, its bytes when the
 * link's path is kept), through chains of links, past whiteouts and later replacements; a link
 * to nothing stays a hard link naming its target. A kept link to a file that is not kept has
 * the file's bytes (read once, charged to the budget once).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenLayers, type FlatEntry, type FlatImage, type FlattenOptions } from '../../src/image/flatten.js';
import { setHashThreads } from '../../src/image/hash-thread.js';
import { setMd5Lanes } from '../../src/image/md5-lanes.js';
import type { LayerReader } from '../../src/image/layer.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { writeTarLayout } from '../helpers/tar-layout.js';
import { asStreams, layoutLayers, plain, sameOutcome } from '../helpers/flatten-ways.js';

let dir: string;
let n = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'flatten-hardlinks-')); });
after(() => {
  setHashThreads('auto');
  setMd5Lanes(true);
  rmSync(dir, { recursive: true, force: true });
});

const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');
const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

async function layersOf(layers: RawMember[][]): Promise<LayerReader[]> {
  return layoutLayers(writeTarLayout(join(dir, `layout${++n}`), layers.map((l) => makeTar(l))));
}

/** The image as streams give it, after checking that every local way gives the same. */
async function flat(layers: RawMember[][], opts: FlattenOptions): Promise<FlatImage> {
  const ls = await layersOf(layers);
  assert.ok(await ls[0]!.localTar(), 'the layout blob is read where it lies');
  setHashThreads('never');
  const streamed = await flattenLayers(asStreams(ls), opts);
  try {
    for (const mode of ['never', 'always', 'auto'] as const) {
      for (const lanes of [true, false]) {
        setHashThreads(mode);
        setMd5Lanes(lanes);
        assert.deepEqual(plain(await flattenLayers(ls, opts)), plain(streamed), `read where it lies, ${mode}, lanes ${lanes ? 'on' : 'off'}`);
      }
    }
  } finally {
    setHashThreads('auto');
    setMd5Lanes(true);
  }
  return streamed;
}

/** Both ways fail alike; the message. */
async function failure(layers: RawMember[][], opts: FlattenOptions): Promise<string> {
  return sameOutcome(await layersOf(layers), opts);
}

const file = (path: string, content: string, layer: number, more: Partial<FlatEntry> = {}): FlatEntry =>
  ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: Buffer.byteLength(content), md5: md5(content), sha256: sha256(content), layer, ...more });
const dangling = (path: string, linkname: string, layer: number): FlatEntry => ({ path, type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname, layer });
const link = (name: string, linkname: string): RawMember => ({ name, type: 'hardlink', linkname });

test('a hard link to a file of a layer below has its size and digests, through a chain of links (was: size 0, no digest)', async () => {
  const f = await flat([
    [{ name: 'a', data: 'below' }, { name: 'a2', type: 'hardlink', linkname: 'a' }],
    [link('b', 'a'), link('c', 'b'), link('d', 'c'), link('e', './a2')],
    [link('g', 'd')],
  ], { hash: true });
  for (const p of ['b', 'c', 'd', 'e']) assert.deepEqual(f.entries.get(p), file(p, 'below', 2));
  assert.deepEqual(f.entries.get('g'), file('g', 'below', 3), 'a link to a link below is a link to its file');
  // md5 only, sha256 where asked: the link takes what its file has.
  const g = await flat([[{ name: 'a', data: 'below' }], [link('b', 'a')]], { md5: true, sha256: (p) => p === 'a' });
  assert.deepEqual(g.entries.get('b'), file('b', 'below', 2));
  // sha256 asked for the links only (audit: a modified file, pacman's mtree): the links have it, their files not.
  const k = await flat([[{ name: 'a', data: 'below' }], [link('b', 'a'), { name: 'f', data: 'same layer' }, link('g', 'f')]], { md5: true, sha256: (p) => p === 'b' || p === 'g' });
  assert.deepEqual(k.entries.get('b'), file('b', 'below', 2));
  assert.deepEqual(k.entries.get('g'), file('g', 'same layer', 2));
  assert.equal(k.entries.get('a')!.sha256, undefined);
  assert.equal(k.entries.get('f')!.sha256, undefined);
  const h = await flat([[{ name: 'a', data: 'below' }], [link('b', 'a')]], { md5: true });
  assert.deepEqual(h.entries.get('b'), { path: 'b', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, md5: md5('below'), layer: 2 });
});

test('a hard link is its file as it was when the link was applied: replaced later in the layer or above, the link keeps the old bytes', async () => {
  const f = await flat([
    [{ name: 'a', data: 'old' }, { name: 'x', data: 'old x' }],
    [link('b', 'a'), { name: 'a', data: 'new in the same layer' }, { name: 'x', data: 'new x' }, link('y', 'x')],
    [{ name: 'a', data: 'newer' }, link('c', 'b')],
  ], { hash: true, keep: (p) => p === 'b' || p === 'c' });
  assert.deepEqual(f.entries.get('b'), file('b', 'old', 2));
  assert.deepEqual(f.entries.get('a'), file('a', 'newer', 3));
  assert.deepEqual(f.entries.get('y'), file('y', 'new x', 2), 'a file met earlier in the layer is the one named');
  assert.deepEqual(f.entries.get('c'), file('c', 'old', 3), 'a link to that link names the old file too');
  assert.equal(f.kept.get('b')?.toString(), 'old');
  assert.equal(f.kept.get('c')?.toString(), 'old');
});

test('a hard link to nothing stays a hard link naming its target: whited out in its own layer (wherever the whiteout is listed), in a layer between, by an opaque directory, never there', async () => {
  const f = await flat([
    [{ name: 'a', data: 'a' }, { name: 'm', data: 'm' }, { name: 'd/o', data: 'o' }],
    [link('b', 'a'), { name: '.wh.a', data: '' }, { name: '.wh.m', data: '' }],
    [link('n', 'm'), { name: 'd/.wh..wh..opq', data: '' }, link('p', 'd/o'), link('q', 'nowhere'), { name: 'dir', type: 'dir' }, link('r', 'dir')],
  ], { hash: true });
  assert.deepEqual(f.entries.get('b'), dangling('b', 'a', 2));
  assert.deepEqual(f.entries.get('n'), dangling('n', 'm', 3));
  assert.deepEqual(f.entries.get('p'), dangling('p', 'd/o', 3));
  assert.deepEqual(f.entries.get('q'), dangling('q', 'nowhere', 3));
  assert.deepEqual(f.entries.get('r'), dangling('r', 'dir', 3));
});

/** The layers of the next test: a lower layer of directories, a layer that replaces them with non-directories before or after hard links into them. */
const REPLACED_DIRS: RawMember[][] = [
  [
    { name: 'p/f', data: 'lower p' }, { name: 'q/f', data: 'lower q' }, { name: 'r/d/g', data: 'lower r' },
    { name: 's/f', data: 'lower s' }, { name: 't/f', data: 'lower t' }, { name: 'v/d/g', data: 'lower v/d' }, { name: 'v/f', data: 'lower v' },
  ],
  [
    link('before', 'p/f'), { name: 'p', data: 'p, a file now' },
    { name: 'q', data: 'q, a file now' }, link('after', 'q/f'),
    { name: 'r', type: 'symlink', linkname: 'nowhere' }, link('deep', 'r/d/g'),
    link('s1', 's/f'), { name: 's', type: 'symlink', linkname: 'nowhere' }, link('s2', 's1'),
    { name: 't', data: '' }, link('t1', 't/f'), link('t2', 't1'),
    { name: 'v/d', data: 'v/d, a file now' }, link('sibling', 'v/f'),
  ],
];

test('a hard link into a directory its own layer replaced with a file or symlink names nothing when the link comes after the replacement, the old file when before (was: the old file either way)', async () => {
  const keep = (p: string): boolean => ['before', 'after', 'deep', 's1', 's2', 't1', 't2', 'sibling'].includes(p);
  const f = await flat(REPLACED_DIRS, { hash: true, keep });
  // As GNU tar and umoci apply the layer in order: link(2) before the replacement takes the file; after, a/f is ENOTDIR or ENOENT.
  assert.deepEqual(f.entries.get('before'), file('before', 'lower p', 2));
  assert.deepEqual(f.entries.get('after'), dangling('after', 'q/f', 2));
  assert.deepEqual(f.entries.get('deep'), dangling('deep', 'r/d/g', 2));
  assert.deepEqual(f.entries.get('s1'), file('s1', 'lower s', 2));
  assert.deepEqual(f.entries.get('s2'), file('s2', 'lower s', 2), 'a link to a link made before the replacement is that file too');
  assert.deepEqual(f.entries.get('t1'), dangling('t1', 't/f', 2));
  assert.deepEqual(f.entries.get('t2'), dangling('t2', 't/f', 2), 'a link to a link that names nothing names nothing');
  assert.deepEqual(f.entries.get('sibling'), file('sibling', 'lower v', 2), 'a directory beside the target replaced: the target is still there');
  assert.deepEqual([...f.kept.keys()].sort(), ['before', 's1', 's2', 'sibling']);
  assert.equal(f.kept.get('before')?.toString(), 'lower p');
  assert.equal(f.kept.get('s2')?.toString(), 'lower s');
  for (const gone of ['p/f', 'q/f', 'r/d/g', 's/f', 't/f', 'v/d/g']) assert.equal(f.entries.has(gone), false, gone);
  // Kept links that name nothing take nothing from the budget; the one before the replacement does, alike both ways.
  assert.equal(await failure(REPLACED_DIRS, { keep: (p) => ['after', 'deep', 't1', 't2'].includes(p), keepLimit: 3 }), 'read');
  assert.match(await failure(REPLACED_DIRS, { keep: (p) => p === 'before', keepLimit: 3 }), /^E_BAD_INPUT: img: layer 2 sha256:[0-9a-f]{64}: before: 7 bytes, more than the 3 read/);
  // A layer that names a path twice (the spec forbids it) is applied in order all the same: the directory's file is gone with it.
  // And a link to a link that names a directory of its layer names nothing, whatever lay at that path below (was: the file below).
  const d = await flat([
    [{ name: 'x', data: 'x' }, { name: 'w', data: 'lower w' }],
    [{ name: 'u', type: 'dir' }, { name: 'u/f', data: 'in the layer' }, { name: 'u', data: 'u, a file' }, { name: 'u', type: 'dir' }, link('dup', 'u/f'), link('ok', 'x'), { name: 'w', type: 'dir' }, link('m', 'w'), link('n', 'm')],
  ], { hash: true });
  assert.deepEqual(d.entries.get('dup'), dangling('dup', 'u/f', 2));
  assert.deepEqual(d.entries.get('ok'), file('ok', 'x', 2));
  assert.deepEqual(d.entries.get('m'), dangling('m', 'w', 2));
  assert.deepEqual(d.entries.get('n'), dangling('n', 'w', 2));
});

test('a hard link to a symlink or a device below is that symlink or device', async () => {
  const f = await flat([
    [{ name: 's', type: 'symlink', linkname: 'target' }, { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 }],
    [link('t', 's'), link('u', 'dev/null')],
  ], { hash: true });
  assert.deepEqual(f.entries.get('t'), { path: 't', type: 'symlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'target', layer: 2 });
  assert.deepEqual(f.entries.get('u'), { path: 'u', type: 'char', mode: 0o644, uid: 0, gid: 0, size: 0, layer: 2 });
});

test('a kept hard link to a file not kept has its bytes: in the same layer, in a layer below (was: missing from kept)', async () => {
  const keep = (p: string): boolean => p.startsWith('var/lib/dpkg/');
  const sums = `${md5('hello\n')}  usr/bin/foo\n`;
  const f = await flat([
    [{ name: 'usr/share/below', data: 'Package: foo\n' }],
    [
      { name: 'usr/share/sums', data: sums }, link('var/lib/dpkg/info/foo.md5sums', 'usr/share/sums'),
      link('var/lib/dpkg/status', 'usr/share/below'), link('var/lib/dpkg/status-copy', 'var/lib/dpkg/status'),
    ],
  ], { md5: true, keep });
  assert.equal(f.kept.get('var/lib/dpkg/info/foo.md5sums')?.toString(), sums);
  assert.equal(f.kept.get('var/lib/dpkg/status')?.toString(), 'Package: foo\n');
  assert.equal(f.kept.get('var/lib/dpkg/status-copy')?.toString(), 'Package: foo\n');
  assert.equal(f.kept.has('usr/share/sums'), false, 'the file itself is not kept');
  assert.equal(f.kept.has('usr/share/below'), false);
  assert.equal(f.entries.get('var/lib/dpkg/status')!.md5, md5('Package: foo\n'));
});

test('the bytes of a file not kept are charged to the budget once for all its kept links, and a link past the limit is refused alike both ways', async () => {
  const keep = (p: string): boolean => p.startsWith('keep/');
  const big = 'x'.repeat(3000);
  const layers = [[{ name: 'f', data: big }], [link('keep/a', 'f'), link('keep/b', 'f'), { name: 'g', data: big }, link('keep/c', 'g'), link('keep/d', 'g')]];
  const f = await flat(layers, { keep, keepTotal: 7000 });
  for (const p of ['keep/a', 'keep/b', 'keep/c', 'keep/d']) assert.equal(f.kept.get(p)?.length, 3000, p);
  // keep/c is charged as its member is met, keep/a once the layer's links below are resolved (after its read).
  assert.match(await failure(layers, { keep, keepTotal: 5000 }), /^E_BAD_INPUT: img: layer 2 sha256:[0-9a-f]{64}: keep\/a: the package database files pass 5000 bytes in all$/);
  assert.match(await failure(layers, { keep, keepLimit: 2000 }), /^E_BAD_INPUT: img: layer 2 sha256:[0-9a-f]{64}: keep\/c: 3000 bytes, more than the 2000 read/);
});

const symlink = (name: string, linkname: string): RawMember => ({ name, type: 'symlink', linkname });
/** `s0 -> s1 -> … -> s{n-1} -> c`: the path `s0/f` takes n links. */
const chain = (n: number): RawMember[] => Array.from({ length: n }, (_, i) => symlink(`s${i}`, i === n - 1 ? 'c' : `s${i + 1}`));

test('a hard link whose target goes through a symlink to a directory is the file there, as link(2) follows it: in the same layer or below, relative, absolute or `..` confined to the root (was: names nothing)', async () => {
  const f = await flat([
    [{ name: 'c/f', data: 'c/f' }, { name: 'x/y/g', data: 'x/y/g' }, symlink('below', 'c'), symlink('abs', '/c'), symlink('up', '../../../c')],
    [
      symlink('a', 'c'), link('b', 'a/f'), link('b2', 'abs/f'), link('b3', 'up/f'), link('b4', 'below/f'), link('b5', './below/../c/f'),
      symlink('d', 'x/y'), symlink('e', 'd/../y'), link('b6', 'e/g'), link('b7', 'b'),
      symlink('last', 'c/f'), link('b8', 'last'),
    ],
  ], { hash: true, keep: (p) => p === 'b4' });
  for (const p of ['b', 'b2', 'b3', 'b4', 'b5', 'b7']) assert.deepEqual(f.entries.get(p), file(p, 'c/f', 2), p);
  // `e/g`: `d` is x/y, its `..` is x (the kernel's, not d/../y = y), so x/y/g.
  assert.deepEqual(f.entries.get('b6'), file('b6', 'x/y/g', 2));
  assert.equal(f.kept.get('b4')?.toString(), 'c/f', 'kept through a symlink below: the file\'s bytes');
  // The last component is not followed: a link to a symlink is that symlink.
  assert.deepEqual(f.entries.get('b8'), { path: 'b8', type: 'symlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'c/f', layer: 2 });
  // Both ways, alike: the kept link's bytes charged to the budget.
  assert.match(await failure([[{ name: 'c/f', data: 'c/f' }, symlink('a', 'c')], [link('k', 'a/f')]], { keep: (p) => p === 'k', keepLimit: 2 }), /^E_BAD_INPUT: img: layer 2 sha256:[0-9a-f]{64}: k: 3 bytes, more than the 2 read/);
});

test('a hard link through a symlink names nothing where link(2) fails: a loop, more than 40 links, a symlink met after the link or gone before it', async () => {
  const f = await flat([
    [{ name: 'c/f', data: 'c/f' }, symlink('w', 'c'), symlink('r', 'c'), symlink('o', 'c'), ...chain(41)],
    [
      symlink('lp', 'lp2'), symlink('lp2', 'lp'), link('loop', 'lp/f'), link('deep', 's0/f'), link('ok', 's1/f'),
      link('early', 'a/f'), symlink('a', 'c'),
      link('whited', 'w/f'), { name: '.wh.w', data: '' },
      { name: 'r', data: 'r, a file now' }, link('replaced', 'r/f'),
      { name: 'o', type: 'dir' }, link('dir', 'o/f'),
    ],
  ], { hash: true });
  assert.deepEqual(f.entries.get('loop'), dangling('loop', 'lp/f', 2));
  assert.deepEqual(f.entries.get('deep'), dangling('deep', 's0/f', 2), '41 links');
  assert.deepEqual(f.entries.get('ok'), file('ok', 'c/f', 2), '40 links');
  assert.deepEqual(f.entries.get('early'), dangling('early', 'a/f', 2), 'the symlink comes after the link');
  assert.deepEqual(f.entries.get('whited'), dangling('whited', 'w/f', 2), 'whited out by the layer (the whiteout listed after)');
  assert.deepEqual(f.entries.get('replaced'), dangling('replaced', 'r/f', 2), 'replaced with a file before the link');
  assert.deepEqual(f.entries.get('dir'), dangling('dir', 'o/f', 2), 'replaced with a directory before the link');
});

// Checked against GNU tar 1.34 (the layer's whiteouts removed first, then its entries extracted),
// umoci 0.4.7 (`umoci unpack`) and containerd 1.7's applier (`archive.Apply`), each applying the
// two layers on a real file system: all three fail the link (ENOENT), as link(2) does.
test('a hard link through a symlink below that its layer whites out names nothing, even to a file or a link met earlier in the layer (was: that file)', async () => {
  const f = await flat([
    [{ name: 'c/f', data: 'lower c/f' }, { name: 'x', data: 'x' }, symlink('w', 'c'), symlink('v', 'c'), symlink('u', 'c')],
    [
      { name: '.wh.w', data: '' }, { name: 'c/f', data: 'upper c/f' }, link('b', 'w/f'),
      link('c/h', 'x'), link('b2', 'w/h'), link('b3', 'b'), symlink('c/s', 'f'), link('b4', 'w/s'),
      { name: 'c/g', data: 'g' }, link('late', 'v/g'), link('ok', 'u/f'), { name: '.wh.v', data: '' },
    ],
  ], { hash: true, keep: (p) => ['b', 'b2', 'b3', 'ok'].includes(p) });
  assert.deepEqual(f.entries.get('b'), dangling('b', 'w/f', 2), 'a file of the layer');
  assert.deepEqual(f.entries.get('b2'), dangling('b2', 'w/h', 2), 'a link of the layer to a file below');
  assert.deepEqual(f.entries.get('b3'), dangling('b3', 'w/f', 2), 'a link to such a link');
  assert.deepEqual(f.entries.get('b4'), dangling('b4', 'w/s', 2), 'a symlink of the layer');
  // umoci and containerd remove a whiteout's path when they meet it, so they make this link (the file);
  // the layer's whiteouts apply first here, wherever they are listed (as the OCI spec has them hide the layers below).
  assert.deepEqual(f.entries.get('late'), dangling('late', 'v/g', 2), 'the whiteout listed after the link');
  assert.deepEqual(f.entries.get('c/h'), file('c/h', 'x', 2));
  assert.deepEqual(f.entries.get('ok'), file('ok', 'upper c/f', 2), 'a symlink below that the layer leaves: the file met earlier');
  assert.deepEqual([...f.kept.keys()], ['ok']);
  assert.equal(f.kept.get('ok')?.toString(), 'upper c/f');
});

// Checked as the test above: GNU tar, umoci and containerd make `h` a second name of the symlink
// `s` (link(2) does not follow a symlink), then follow it for `h/f`: `b` is `c/f`, one inode.
test('a hard link through a hard link of its layer to a symlink below follows that symlink, as link(2) does (was: names nothing)', async () => {
  const f = await flat([
    [{ name: 'c/f', data: 'lower c/f' }, symlink('s', 'c'), symlink('t', 'c')],
    [
      link('h', 's'), link('b', 'h/f'), link('h2', 'h'), link('b2', 'h2/f'),
      { name: 'c/g', data: 'upper c/g' }, link('b3', 'h/g'),
      { name: '.wh.t', data: '' }, link('ht', 't'), link('bt', 'ht/f'),
    ],
  ], { hash: true, keep: (p) => p === 'b' || p === 'b3' });
  const sym = (path: string): FlatEntry => ({ path, type: 'symlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'c', layer: 2 });
  assert.deepEqual(f.entries.get('h'), sym('h'));
  assert.deepEqual(f.entries.get('h2'), sym('h2'));
  assert.deepEqual(f.entries.get('b'), file('b', 'lower c/f', 2));
  assert.deepEqual(f.entries.get('b2'), file('b2', 'lower c/f', 2), 'through a link to that link');
  assert.deepEqual(f.entries.get('b3'), file('b3', 'upper c/g', 2), 'to a file met earlier in the layer');
  assert.deepEqual(f.entries.get('ht'), dangling('ht', 't', 2));
  assert.deepEqual(f.entries.get('bt'), dangling('bt', 'ht/f', 2), 'the symlink whited out: the link through it names nothing');
  assert.equal(f.kept.get('b')?.toString(), 'lower c/f');
  assert.equal(f.kept.get('b3')?.toString(), 'upper c/g');
});
