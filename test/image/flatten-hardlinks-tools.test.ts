/**
 * Hard links through symlinks, flattened as real tools make them on a file system: two layers
 * applied in order by GNU tar (the upper layer's whiteouts removed first, then its other entries
 * extracted) and by `umoci unpack` of an OCI layout of them. A link that flatten makes a file is,
 * on the disk of both, a second name of the file named (one inode); a link that flatten leaves
 * naming nothing is one that neither could make (link(2) failed: GNU tar goes on, umoci stops).
 * Read both ways (streamed, and where the layer lies), alike.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenLayers } from '../../src/image/flatten.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { writeTarLayout } from '../helpers/tar-layout.js';
import { asStreams, layoutLayers, plain } from '../helpers/flatten-ways.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'flatten-hardlinks-tools-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const symlink = (name: string, linkname: string): RawMember => ({ name, type: 'symlink', linkname });
const link = (name: string, linkname: string): RawMember => ({ name, type: 'hardlink', linkname });
const whiteout = (name: string): RawMember => ({ name, data: '' });

/** `s` a symlink to the directory `c`. */
const LOWER: RawMember[] = [{ name: 'c', type: 'dir' }, { name: 'c/f', data: 'lower c/f' }, { name: 'x', data: 'x' }, symlink('s', 'c')];

/** An upper layer whose link `b` is the file at `same` once applied, or names nothing (undefined). */
const CASES: Array<{ name: string; upper: RawMember[]; same: string | undefined }> = [
  { name: 'through a symlink below whited out, to a file met earlier', upper: [whiteout('.wh.s'), { name: 'c/f', data: 'upper c/f' }, link('b', 's/f')], same: undefined },
  { name: 'through a symlink below whited out, to a link met earlier', upper: [whiteout('.wh.s'), link('c/h', 'x'), link('b', 's/h')], same: undefined },
  { name: 'through a symlink below whited out, to a symlink met earlier', upper: [whiteout('.wh.s'), symlink('c/t', 'f'), link('b', 's/t')], same: undefined },
  { name: 'through a symlink below, to a file met earlier', upper: [{ name: 'c/f', data: 'upper c/f' }, link('b', 's/f')], same: 'c/f' },
  { name: 'through a link of the layer to a symlink below', upper: [link('h', 's'), link('b', 'h/f')], same: 'c/f' },
  { name: 'through a link to a link of the layer to a symlink below', upper: [link('h', 's'), link('h2', 'h'), link('b', 'h2/f')], same: 'c/f' },
  { name: 'through a link of the layer to a symlink below, to a file met earlier', upper: [{ name: 'c/g', data: 'upper c/g' }, link('h', 's'), link('b', 'h/g')], same: 'c/g' },
  { name: 'through a link of the layer to a symlink below that it whites out', upper: [whiteout('.wh.s'), link('h', 's'), link('b', 'h/f')], same: undefined },
];

/** Whether `b` is, in the tree at `root`, a second name of `same` (or, for undefined, absent). */
function checkTree(root: string, same: string | undefined, tool: string): void {
  if (same === undefined) {
    assert.throws(() => lstatSync(join(root, 'b')), { code: 'ENOENT' }, `${tool}: b was made`);
    return;
  }
  const b = lstatSync(join(root, 'b'));
  assert.ok(b.isFile(), `${tool}: b is a file`);
  assert.equal(b.ino, lstatSync(join(root, same)).ino, `${tool}: b is ${same}`);
}

for (const [i, { name, upper, same }] of CASES.entries()) {
  test(`a hard link ${name}: as GNU tar and umoci make it`, async () => {
    const here = join(dir, `case${i}`);
    mkdirSync(here);
    const tars = [makeTar(LOWER), makeTar(upper)];
    const ref = writeTarLayout(join(here, 'layout'), tars);

    // GNU tar: the lower layer, the upper one's whiteouts, then its entries.
    const root = join(here, 'gnu');
    mkdirSync(root);
    tars.forEach((t, n) => writeFileSync(join(here, `${n}.tar`), t));
    assert.equal(spawnSync('tar', ['-xpf', join(here, '0.tar'), '-C', root]).status, 0);
    for (const m of upper) if (m.name.startsWith('.wh.')) rmSync(join(root, m.name.slice(4)), { recursive: true, force: true });
    const g = spawnSync('tar', ['-xpf', join(here, '1.tar'), '-C', root, '--exclude=.wh.*'], { encoding: 'utf8' });
    assert.equal(g.status, same === undefined ? 2 : 0, g.stderr);
    if (same === undefined) assert.match(g.stderr, /b: Cannot hard link to/);
    checkTree(root, same, 'GNU tar');

    // umoci: stops at the link it cannot make.
    const bundle = join(here, 'bundle');
    const u = spawnSync('umoci', ['unpack', '--image', `${ref.slice('oci:'.length)}`, bundle], { encoding: 'utf8' });
    if (same === undefined) {
      assert.notEqual(u.status, 0);
      assert.match(`${u.stdout}${u.stderr}`, /unpack entry: [bh]: link: no such file or directory/);
    } else {
      assert.equal(u.status, 0, u.stderr);
      checkTree(join(bundle, 'rootfs'), same, 'umoci');
    }

    // Flatten, both ways alike: b is the file named (its bytes), or a link naming nothing.
    const ls = await layoutLayers(ref);
    const opts = { hash: true, keep: (p: string) => p === 'b' };
    const f = await flattenLayers(asStreams(ls), opts);
    assert.deepEqual(plain(await flattenLayers(ls, opts)), plain(f), 'read where it lies');
    const b = f.entries.get('b');
    if (same === undefined) assert.equal(b?.type, 'hardlink');
    else {
      assert.equal(b?.type, 'file');
      assert.equal(b.md5, f.entries.get(same)?.md5);
      assert.equal(f.kept.get('b')?.toString(), readFileSync(join(root, same), 'utf8'));
    }
  });
}
