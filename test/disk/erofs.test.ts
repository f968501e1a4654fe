/**
 * The EROFS writer against erofs-utils: `fsck.erofs` is clean, its extraction (owners, modes,
 * times preserved) equals the tree entry for entry, `dump.erofs` shows compact inodes where the
 * time is the build time and extended ones elsewhere; our reader reads what mkfs.erofs makes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileOutput, FileSource } from '../../src/disk/io.js';
import { ErofsReader } from '../../src/disk/erofs/reader.js';
import { planErofs, writeErofs } from '../../src/disk/erofs/writer.js';
import type { FsTree } from '../../src/disk/tree.js';
import { readDirectory } from '../../src/sources/rootfs/directory.js';
import { FIXTURE_EPOCH, makeFixture } from '../helpers/fixtures.js';
import { dirEntry, fileEntry, have, run } from '../helpers/disk.js';
import { fixtureEntries, fsTreeOf, nodes, sha256Of } from '../helpers/fstree.js';

let work: string;
let fixture: string;
const tools = have('fsck.erofs') && have('mkfs.erofs') && have('dump.erofs');

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'erofs-'));
  fixture = join(work, 'fixture');
  await makeFixture(fixture);
});
after(() => rmSync(work, { recursive: true, force: true }));

function writeImage(tree: FsTree, name: string): string {
  const path = join(work, name);
  rmSync(path, { force: true });
  const plan = planErofs(tree, { label: 'usr', uuid: Buffer.from('9abf8135821d477aa3526d102b7e18ed', 'hex'), time: FIXTURE_EPOCH, where: 'test' });
  const out = FileOutput.create(path);
  const r = writeErofs(plan, out);
  out.close();
  truncateSync(path, r.blocks * 4096);
  return path;
}

const S_IF: Record<string, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 };

test('the fixture tree: fsck.erofs is clean and its extraction is the tree', async (t) => {
  if (!tools) { t.skip('erofs-utils not installed'); return; }
  const tree = fsTreeOf((await fixtureEntries(fixture)).values());
  const img = writeImage(tree, 'fixture.erofs');
  const check = run('fsck.erofs', [img]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const out = join(work, 'extracted');
  const x = run('fsck.erofs', [`--extract=${out}`, '--preserve', img]);
  assert.equal(x.status, 0, x.stdout + x.stderr);
  for (const { path, node } of nodes(tree)) {
    const p = join(out, path);
    const st = lstatSync(p, { bigint: true });
    assert.equal(Number(st.mode & 0o170000n), S_IF[node.type], `${path}: type`);
    // fsck.erofs --preserve chowns after chmod, which clears set-id bits: those are checked below.
    assert.equal(Number(st.mode & 0o1777n), node.mode & 0o1777, `${path}: mode`);
    assert.deepEqual([Number(st.uid), Number(st.gid)], [node.uid, node.gid], `${path}: owner`);
    if (node.type !== 'symlink') assert.equal(Number(st.mtimeNs / 1_000_000_000n) - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1 : 0), node.mtime, `${path}: mtime`);
    if (node.type === 'file') assert.equal(createHash('sha256').update(readFileSync(p)).digest('hex'), sha256Of(node), `${path}: content`);
    if (node.type === 'symlink') assert.equal(readlinkSync(p), node.linkname, `${path}: target`);
    if (node.type === 'char' || node.type === 'block') {
      const rdev = Number(st.rdev);
      assert.deepEqual([(rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)], [node.devmajor, node.devminor], `${path}: device`);
    }
  }
  // Compact inodes where the time is the build time, extended ones elsewhere.
  const compact = run('dump.erofs', ['--path=/etc/hostname', img]).stdout;
  const extended = run('dump.erofs', ['--path=/old-file', img]).stdout;
  assert.match(compact, /Inode size: 32 /, compact);
  assert.match(extended, /Inode size: 64 /, extended);
  // Our reader: every xattr (fsck.erofs 1.5 does not extract them).
  const src = FileSource.open(img);
  const seen = new Map([...new ErofsReader(src).walk()].map((e) => [e.path, e]));
  src.close();
  for (const { path, node } of nodes(tree)) {
    assert.deepEqual(seen.get(path)?.xattrs ?? new Map(), node.xattrs ?? new Map(), `${path}: xattrs`);
    assert.equal(seen.get(path)?.mode, node.mode, `${path}: mode with set-id bits`);
  }
});

test('big directories, tails that fit and do not, and every inline boundary', (t) => {
  if (!tools) { t.skip('erofs-utils not installed'); return; }
  const entries = [dirEntry('d')];
  for (let i = 0; i < 2000; i++) entries.push(fileEntry(`d/${'n'.repeat(i % 200)}-${i}`, Buffer.alloc(i * 7, i & 0xff)));
  for (const size of [0, 1, 4095, 4096, 4097, 8191, 3900, 4000, 4032, 4033]) entries.push(fileEntry(`sizes-${size}`, Buffer.alloc(size, 0x5a), { mtime: 1 }));
  const tree = fsTreeOf(entries);
  const img = writeImage(tree, 'big.erofs');
  assert.equal(run('fsck.erofs', [img]).status, 0);
  const out = join(work, 'big-x');
  assert.equal(run('fsck.erofs', [`--extract=${out}`, img]).status, 0);
  for (const { path, node } of nodes(tree)) {
    if (node.type === 'file') assert.equal(createHash('sha256').update(readFileSync(join(out, path))).digest('hex'), sha256Of(node), path);
  }
});

test('our reader reads an image mkfs.erofs made as the tree it was made from', async (t) => {
  if (!tools) { t.skip('erofs-utils not installed'); return; }
  const img = join(work, 'mkfs.erofs');
  const r = run('mkfs.erofs', [img, fixture]);
  assert.equal(r.status, 0, r.stderr);
  const tree = fsTreeOf((await readDirectory(fixture)).entries.values());
  const want = new Map([...nodes(tree)].map((x) => [x.path, x.node]));
  const src = FileSource.open(img);
  try {
    for (const e of new ErofsReader(src).walk()) {
      const n = want.get(e.path);
      assert.ok(n, `unexpected ${e.path}`);
      want.delete(e.path);
      assert.deepEqual([e.type, e.mode, e.uid, e.gid, e.linkname], [n.type, n.mode, n.uid, n.gid, n.linkname], e.path);
      if (e.path !== '') assert.equal(e.mtime, n.mtime, e.path);
      if (n.type === 'char' || n.type === 'block') assert.deepEqual([e.devmajor, e.devminor], [n.devmajor, n.devminor], e.path);
      assert.deepEqual(e.xattrs ?? new Map(), n.xattrs ?? new Map(), e.path);
      if (e.chunks) {
        const h = createHash('sha256');
        for (const c of e.chunks()) h.update(c);
        assert.equal(h.digest('hex'), sha256Of(n), e.path);
      }
    }
  } finally {
    src.close();
  }
  assert.deepEqual([...want.keys()], []);
});
