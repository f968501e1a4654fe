/**
 * The ext4 writer against e2fsprogs: `e2fsck -fn` finds nothing to fix, and `debugfs` reads back
 * every entry of the fixture tree as it is (type, mode, owner, times with their epoch bits, link
 * counts, extended attributes, devices, fast and slow symlink targets, content hashes); hash-tree
 * directories of one and two levels; holes and a file past 4 GiB; xattr blocks and ACLs; and our
 * reader against an image mke2fs -d made.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/archive/entry.js';
import { FileOutput, FileSource } from '../../src/disk/io.js';
import { Ext4Reader } from '../../src/disk/ext4/reader.js';
import { minimumBlocks, planExt4, writeExt4 } from '../../src/disk/ext4/writer.js';
import { decodeTime } from '../../src/disk/ext4/format.js';
import type { FsTree } from '../../src/disk/tree.js';
import { makeFixture, CAP_NET_BIND_SERVICE } from '../helpers/fixtures.js';
import { dirEntry, fileEntry, have, run } from '../helpers/disk.js';
import { fixtureEntries, fsTreeOf, nodes, sha256Of } from '../helpers/fstree.js';

let work: string;
let fixture: string;
const tools = have('e2fsck') && have('debugfs') && have('mke2fs');

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ext4-'));
  fixture = join(work, 'fixture');
  await makeFixture(fixture);
});
after(() => rmSync(work, { recursive: true, force: true }));

const OPTS = { label: 'root', uuid: Buffer.from('6de632fe7638444cb917cecf4170af3b', 'hex'), hashSeed: Buffer.from('0a1b2c3d4e5f40718293a4b5c6d7e8f9', 'hex'), time: 1700000000, where: 'test' };

function writeImage(tree: FsTree, name: string, blocks?: number): string {
  const path = join(work, name);
  rmSync(path, { force: true });
  const plan = planExt4(tree, OPTS);
  const out = FileOutput.create(path);
  const r = writeExt4(plan, out, blocks ?? minimumBlocks(plan));
  out.close();
  truncateSync(path, r.blocks * 4096);
  return path;
}

function fsck(path: string): void {
  const r = run('e2fsck', ['-fn', path]);
  assert.equal(r.status, 0, `e2fsck -fn ${path}:\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /Fix\?|Clear\?|Salvage\?|Relocate\?|Optimize\?/);
}

interface Stat { type: string; mode: number; uid: number; gid: number; size: number; links: number; mtime: number; ino: number; xattrs: Map<string, Buffer>; fast?: string; dev?: [number, number]; fileAcl: number; extents: string }

/** `debugfs stat` for many paths in one run. */
function debugfsStats(img: string, paths: string[]): Map<string, Stat> {
  const cmds = join(work, 'cmds');
  writeFileSync(cmds, paths.map((p) => `stat "/${p}"\n`).join(''));
  const r = run('debugfs', ['-f', cmds, img]);
  const out = new Map<string, Stat>();
  for (const block of r.stdout.split(/^debugfs: stat /m).slice(1)) {
    const path = /^"\/(.*)"\n/.exec(block)![1]!;
    const num = (re: RegExp): number => Number(re.exec(block)![1]);
    const mt = /^ ?mtime: 0x([0-9a-f]+):([0-9a-f]+)/m.exec(block)!;
    const xattrs = new Map<string, Buffer>();
    const xs = /Extended attributes:\n((?: {2}.*\n)+)/.exec(block);
    for (const line of xs?.[1]?.split('\n').filter(Boolean) ?? []) {
      const m = /^ {2}(\S+) \((\d+)\)(?: = (.*))?$/.exec(line)!;
      const v = m[3]?.trim();
      // debugfs leaves long values out: then only the size is known.
      xattrs.set(m[1]!, v === undefined ? Buffer.alloc(Number(m[2])) : v.startsWith('"') ? Buffer.from(JSON.parse(v) as string) : Buffer.from(v.replace(/ /g, ''), 'hex'));
    }
    const s: Stat = {
      type: /Type: (.+?)\s+Mode/.exec(block)![1]!, mode: parseInt(/Mode:\s+(\d+)/.exec(block)![1]!, 8), uid: num(/User:\s+(\d+)/), gid: num(/Group:\s+(\d+)/),
      size: num(/Size: (\d+)\n/), links: num(/Links: (\d+)/), mtime: decodeTime(parseInt(mt[1]!, 16), parseInt(mt[2]!, 16)).s, ino: num(/Inode: (\d+)/),
      xattrs, fileAcl: num(/File ACL: (\d+)/), extents: /EXTENTS:\n(.*)/.exec(block)?.[1] ?? '',
    };
    const fast = /Fast link dest: "(.*)"/.exec(block);
    if (fast) s.fast = fast[1]!;
    const dev = /Device major\/minor number: (\d+):(\d+)/.exec(block);
    if (dev) s.dev = [Number(dev[1]), Number(dev[2])];
    out.set(path, s);
  }
  return out;
}

function dumpHash(img: string, path: string): string {
  const to = join(work, 'dumped');
  rmSync(to, { force: true });
  const r = run('debugfs', ['-R', `dump "/${path}" ${to}`, img]);
  assert.equal(r.status, 0, r.stderr);
  return createHash('sha256').update(readFileSync(to)).digest('hex');
}

const TYPES: Record<string, string> = { file: 'regular', dir: 'directory', symlink: 'symlink', char: 'character special', block: 'block special', fifo: 'FIFO' };

test('the fixture tree: e2fsck -fn is clean and debugfs reads every entry back as it is', async (t) => {
  if (!tools) { t.skip('e2fsprogs not installed'); return; }
  const tree = fsTreeOf((await fixtureEntries(fixture)).values());
  const img = writeImage(tree, 'fixture.ext4');
  fsck(img);
  const all = [...nodes(tree)].filter((x) => x.path !== '');
  const stats = debugfsStats(img, all.map((x) => x.path));
  const inodeOf = new Map<string, number>();
  for (const { path, node } of all) {
    const s = stats.get(path);
    assert.ok(s, `debugfs has no ${path}`);
    assert.equal(s.type, TYPES[node.type], `${path}: type`);
    assert.equal(s.mode, node.mode, `${path}: mode`);
    assert.deepEqual([s.uid, s.gid], [node.uid, node.gid], `${path}: owner`);
    assert.equal(s.mtime, node.mtime, `${path}: mtime`);
    assert.deepEqual(s.xattrs, node.xattrs ?? new Map(), `${path}: xattrs`);
    if (node.type === 'file') {
      assert.equal(s.size, node.size, `${path}: size`);
      assert.equal(s.links, node.names, `${path}: links`);
      assert.equal(dumpHash(img, path), sha256Of(node), `${path}: content`);
      const first = inodeOf.get(node.path);
      if (first === undefined) inodeOf.set(node.path, s.ino);
      else assert.equal(s.ino, first, `${path}: a hard link of /${node.path}`);
    }
    if (node.type === 'symlink') {
      if (Buffer.byteLength(node.linkname!) < 60) assert.equal(s.fast, node.linkname, `${path}: fast symlink`);
      else assert.equal(createHash('sha256').update(node.linkname!).digest('hex'), dumpHash(img, path), `${path}: slow symlink`);
    }
    if (node.type === 'char' || node.type === 'block') assert.deepEqual(s.dev, [node.devmajor, node.devminor], `${path}: device`);
  }
  // Inode numbers follow the byte order of paths (after root 2, lost+found 11).
  const byId = [...tree.nodes].slice(1).filter((n) => n.path !== 'lost+found');
  byId.forEach((n, i) => assert.equal(stats.get(n.path)!.ino, 12 + i, `/${n.path}: inode number`));
  assert.deepEqual(stats.get('usr/bin/capable')!.xattrs.get('security.capability'), CAP_NET_BIND_SERVICE);
  const lf = debugfsStats(img, ['lost+found']).get('lost+found');
  assert.deepEqual([lf?.ino, lf?.type, lf?.mode], [11, 'directory', 0o700]);
  // Our reader agrees with the tree too.
  const src = FileSource.open(img);
  const seen = [...new Ext4Reader(src).walk()].map((e) => e.path);
  src.close();
  assert.deepEqual(seen.filter((p) => p !== 'lost+found'), ['', ...all.map((x) => x.path)].sort(byWalk));
});

function byWalk(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    if (c) return c;
  }
  return pa.length - pb.length;
}

test('hash-tree directories of one and two levels pass e2fsck and are read back whole', (t) => {
  if (!tools) { t.skip('e2fsprogs not installed'); return; }
  const entries: Entry[] = [dirEntry('one'), dirEntry('two')];
  for (let i = 0; i < 3000; i++) entries.push(fileEntry(`one/file-${i}`, `${i}\n`));
  // 240-byte names: 15 a leaf, more than 507 leaves need a second level.
  for (let i = 0; i < 9000; i++) entries.push(fileEntry(`two/${String(i).padStart(5, '0')}${'x'.repeat(235)}`, ''));
  const img = writeImage(fsTreeOf(entries), 'htree.ext4');
  fsck(img);
  for (const [dir, levels] of [['one', 0], ['two', 1]] as const) {
    const r = run('debugfs', ['-R', `htree /${dir}`, img]);
    assert.match(r.stdout, new RegExp(`Indirect levels: ${levels}\\n`), `${dir}: ${r.stdout.slice(0, 300)}`);
  }
  const src = FileSource.open(img);
  const paths = [...new Ext4Reader(src).walk()].map((e) => e.path);
  src.close();
  assert.equal(paths.filter((p) => p.startsWith('one/')).length, 3000);
  assert.equal(paths.filter((p) => p.startsWith('two/')).length, 9000);
});

test('holes, a file past 4 GiB, an xattr block and POSIX ACLs', (t) => {
  if (!tools) { t.skip('e2fsprogs not installed'); return; }
  const big = join(work, 'sparse');
  const fd = openSync(big, 'w');
  const block = (c: number): Buffer => Buffer.alloc(4096, c);
  writeSync(fd, Buffer.concat([block(1), block(2), block(3)]), 0, 3 * 4096, 0);
  writeSync(fd, block(4), 0, 4096, 2 ** 31);
  writeSync(fd, Buffer.concat([block(5), Buffer.from('tail')]), 0, 4100, 2 ** 32 + 8192);
  closeSync(fd);
  const size = 2 ** 32 + 8192 + 4100;
  // A VFS POSIX ACL: user::rw-, user:1000:r--, group::r--, mask::r--, other::---.
  const acl = Buffer.alloc(4 + 5 * 8);
  acl.writeUInt32LE(2, 0);
  [[0x01, 6, 0xffffffff], [0x02, 4, 1000], [0x04, 4, 0xffffffff], [0x10, 4, 0xffffffff], [0x20, 0, 0xffffffff]].forEach(([tag, perm, id], i) => {
    acl.writeUInt16LE(tag!, 4 + i * 8);
    acl.writeUInt16LE(perm!, 6 + i * 8);
    acl.writeUInt32LE(id!, 8 + i * 8);
  });
  const entries: Entry[] = [
    { path: 'sparse', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 2 ** 32 + 5, size, content: { kind: 'file', path: big } },
    fileEntry('with-block', 'x', { xattrs: new Map([['user.big', Buffer.alloc(300, 0x61)], ['trusted.t', Buffer.from('v')]]) }),
    fileEntry('with-acl', 'y', { xattrs: new Map([['system.posix_acl_access', acl]]) }),
  ];
  const img = writeImage(fsTreeOf(entries), 'sparse.ext4');
  fsck(img);
  const s = debugfsStats(img, ['sparse', 'with-block', 'with-acl']);
  assert.equal(s.get('sparse')!.size, size);
  assert.equal(s.get('sparse')!.mtime, 2 ** 32 + 5);
  // Data at 0-2, 524288 and 1048578-1048579: the rest are holes.
  assert.match(s.get('sparse')!.extents, /^\(0-2\):\d+-\d+, \(524288\):\d+, \(1048578-1048579\):\d+-\d+$/);
  assert.ok(s.get('with-block')!.fileAcl > 0, 'the xattrs went into a block');
  assert.equal(s.get('with-block')!.xattrs.get('user.big')?.length, 300);
  // ext4 keeps ACLs in its own format: version 1, 4-byte entries but for named users and groups.
  const disk = Buffer.from('01000000' + '01000600' + '02000400' + 'e8030000' + '04000400' + '10000400' + '20000000', 'hex');
  assert.deepEqual(s.get('with-acl')!.xattrs.get('system.posix_acl_access'), disk);
  // Read back through our reader, chunk by chunk, against the same bytes of the source file.
  const src = FileSource.open(img);
  const host = FileSource.open(big);
  const all = [...new Ext4Reader(src).walk()];
  const e = all.find((x) => x.path === 'sparse')!;
  let pos = 0;
  for (const c of e.chunks!()) {
    assert.ok(c.equals(host.read(pos, c.length, 'source')), `sparse: bytes at ${pos}`);
    pos += c.length;
  }
  assert.equal(pos, size);
  assert.deepEqual(all.find((x) => x.path === 'with-block')!.xattrs?.get('user.big'), Buffer.alloc(300, 0x61));
  assert.deepEqual(all.find((x) => x.path === 'with-acl')!.xattrs?.get('system.posix_acl_access'), acl);
  src.close();
  host.close();
});

test('a fixed size larger than needed: free space counted right; too small: refused by name', (t) => {
  if (!tools) { t.skip('e2fsprogs not installed'); return; }
  const entries = [fileEntry('a', Buffer.alloc(100000, 1))];
  fsck(writeImage(fsTreeOf(entries), 'roomy.ext4', 70000));
  const plan = planExt4(fsTreeOf([fileEntry('a', Buffer.alloc(20 << 20, 1))]), OPTS);
  const out = FileOutput.create(join(work, 'small.ext4'));
  assert.throws(() => writeExt4(plan, out, 2000), /test: the ext4 file system is full \(2000 blocks of 4096 bytes\); give the partition more room/);
  out.close();
});

test('our reader reads an image mke2fs -d made as the tree it was made from', async (t) => {
  if (!tools) { t.skip('e2fsprogs not installed'); return; }
  const img = join(work, 'mke2fs.ext4');
  const r = run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', fixture, img, '32M'], { env: { E2FSPROGS_FAKE_TIME: '1700000000' } });
  assert.equal(r.status, 0, r.stderr);
  const tree = fsTreeOf((await import('../../src/sources/rootfs/directory.js').then((m) => m.readDirectory(fixture))).entries.values());
  const want = new Map([...nodes(tree)].map((x) => [x.path, x.node]));
  const src = FileSource.open(img);
  try {
    for (const e of new Ext4Reader(src).walk()) {
      if (e.path === '' || e.path === 'lost+found') continue;
      const n = want.get(e.path);
      assert.ok(n, `unexpected ${e.path}`);
      want.delete(e.path);
      assert.equal(e.type, n.type, e.path);
      assert.equal(e.mode, n.mode, e.path);
      assert.deepEqual([e.uid, e.gid], [n.uid, n.gid], e.path);
      assert.equal(e.mtime, n.mtime, e.path);
      assert.equal(e.linkname, n.linkname, e.path);
      assert.deepEqual(e.xattrs ?? new Map(), n.xattrs ?? new Map(), e.path);
      if (n.type === 'char' || n.type === 'block') assert.deepEqual([e.devmajor, e.devminor], [n.devmajor, n.devminor], e.path);
      if (e.chunks) {
        const h = createHash('sha256');
        for (const c of e.chunks()) h.update(c);
        assert.equal(h.digest('hex'), sha256Of(n), e.path);
      }
    }
  } finally {
    src.close();
  }
  assert.deepEqual([...want.keys()].filter((p) => p !== ''), []);
});
