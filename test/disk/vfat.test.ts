/**
 * The FAT writer against dosfstools and mtools: `fsck.vfat -n` is clean for FAT16 and FAT32,
 * mtools lists and copies every file back with its long name and content, `minfo` shows the
 * volume id and label given; anything FAT cannot hold is refused by name; our reader reads what
 * mkfs.vfat and mcopy make.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/archive/entry.js';
import { FileOutput, FileSource } from '../../src/disk/io.js';
import { VfatReader } from '../../src/disk/vfat/reader.js';
import { planVfat, vfatMinimumBytes, writeVfat } from '../../src/disk/vfat/writer.js';
import type { FsTree } from '../../src/disk/tree.js';
import { readDirectory } from '../../src/sources/rootfs/directory.js';
import { dirEntry, fileEntry, have, run } from '../helpers/disk.js';
import { fsTreeOf, nodes, sha256Of } from '../helpers/fstree.js';

let work: string;
const tools = have('fsck.vfat') && have('mcopy') && have('minfo') && have('mkfs.vfat');
// mtools reads names in the locale's charset; long names need UTF-8.
const MT = { LC_ALL: 'C.UTF-8', MTOOLS_SKIP_CHECK: '1' };

before(() => { work = mkdtempSync(join(tmpdir(), 'vfat-')); });
after(() => rmSync(work, { recursive: true, force: true }));

function esp(): Entry[] {
  return [
    dirEntry('EFI'), dirEntry('EFI/BOOT'), fileEntry('EFI/BOOT/BOOTX64.EFI', Buffer.alloc(70000, 0x4d)),
    dirEntry('loader'), dirEntry('loader/entries'), fileEntry('loader/loader.conf', 'timeout 0\n'),
    fileEntry('loader/entries/debian-6.1.0-57-amd64.conf', 'title Debian\n'),
    ...Array.from({ length: 300 }, (_, i) => fileEntry(`loader/entries/entry-number-${i}.conf`, `entry ${i}\n`)),
    dirEntry('Ünïcödé-directory'), fileEntry('Ünïcödé-directory/fïlé with spaces.txt', 'unicode\n'), fileEntry('empty', ''),
    fileEntry('exactly-one-cluster', Buffer.alloc(2048, 1)), fileEntry('hard', 'same\n', { inode: 'i1' }), fileEntry('hard-2', 'same\n', { inode: 'i1' }),
  ];
}

function writeImage(tree: FsTree, name: string, bytes?: number): string {
  const path = join(work, name);
  rmSync(path, { force: true });
  const plan = planVfat(tree, { label: 'esp', volumeId: 0xe7b87c0d, time: 1700000000, sectorSize: 512, hiddenSectors: 2048, where: 'test' });
  const size = bytes ?? vfatMinimumBytes(plan);
  const out = FileOutput.create(path);
  writeVfat(plan, out, size);
  out.close();
  truncateSync(path, size);
  return path;
}

for (const [fat, bytes] of [[16, undefined], [32, 600 * 1024 * 1024]] as const) {
  test(`FAT${fat}: fsck.vfat -n is clean; mtools reads every name and byte; volume id and label`, (t) => {
    if (!tools) { t.skip('dosfstools or mtools not installed'); return; }
    const tree = fsTreeOf(esp());
    const img = writeImage(tree, `esp${fat}.img`, bytes);
    const ck = run('fsck.vfat', ['-n', '-v', img]);
    assert.equal(ck.status, 0, ck.stdout + ck.stderr);
    assert.doesNotMatch(ck.stdout, /differ|Fix|invalid|mismatch/i);
    const info = run('minfo', ['-i', img, '::'], { env: MT });
    assert.match(info.stdout, /serial number: E7B87C0D/i);
    assert.match(info.stdout, /disk label="ESP        "/);
    assert.match(info.stdout, new RegExp(`disk type="FAT${fat}   "`));
    const out = join(work, `copied${fat}`);
    mkdirSync(out);
    const cp = run('mcopy', ['-s', '-n', '-i', img, '::/*', out], { env: MT });
    assert.equal(cp.status, 0, cp.stderr);
    for (const { path, node } of nodes(tree)) {
      if (node.type === 'file') assert.equal(createHash('sha256').update(readFileSync(join(out, path))).digest('hex'), sha256Of(node), path);
    }
    const dir = run('mdir', ['-i', img, '::/loader/entries'], { env: MT });
    assert.match(dir.stdout, /DEBIAN~1 CON\s+13 2023-11-14  22:13  debian-6\.1\.0-57-amd64\.conf/);
    // Our reader: the same names, times in UTC.
    const src = FileSource.open(img);
    const read = [...new VfatReader(src).walk()];
    src.close();
    assert.deepEqual(read.map((e) => e.path).sort(), [...nodes(tree)].map((x) => x.path).sort());
    assert.ok(read.filter((e) => e.path !== '').every((e) => e.mtime === 1700000000));
  });
}

test('what FAT cannot hold is refused by name', () => {
  const cases: Array<[Entry[], RegExp]> = [
    [[{ path: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'x' }], /test: \/l is a symlink; FAT holds only files and directories/],
    [[fileEntry('a:b', 'x')], /the name "a:b" has a character FAT does not allow/],
    [[fileEntry('trailing.', 'x')], /FAT drops the trailing dot or space of "trailing\."/],
    [[fileEntry('Case', 'x'), fileEntry('case', 'y')], /\/case: FAT names ignore case/],
  ];
  for (const [entries, re] of cases) {
    assert.throws(() => {
      const plan = planVfat(fsTreeOf(entries), { label: 'esp', volumeId: 1, time: 0, sectorSize: 512, hiddenSectors: 0, where: 'test' });
      writeVfat(plan, { write() {} }, vfatMinimumBytes(plan));
    }, re);
  }
});

test('our reader reads what mkfs.vfat and mcopy make', async (t) => {
  if (!tools) { t.skip('dosfstools or mtools not installed'); return; }
  const src = join(work, 'src');
  mkdirSync(join(src, 'EFI/BOOT'), { recursive: true });
  mkdirSync(join(src, 'Ünïcödé-directory'));
  writeFileSync(join(src, 'EFI/BOOT/BOOTX64.EFI'), Buffer.alloc(50000, 7));
  writeFileSync(join(src, 'Ünïcödé-directory/a long file name.txt'), 'x\n');
  writeFileSync(join(src, 'README'), 'readme\n');
  const img = join(work, 'mkfs.img');
  assert.equal(run('mkfs.vfat', ['-C', '-n', 'TOOLS', img, '8192']).status, 0);
  assert.equal(run('mcopy', ['-s', '-i', img, join(src, 'EFI'), join(src, 'Ünïcödé-directory'), join(src, 'README'), '::/'], { env: MT }).status, 0);
  const want = new Map([...nodes(fsTreeOf((await readDirectory(src)).entries.values()))].map((x) => [x.path, x.node]));
  const s = FileSource.open(img);
  const r = new VfatReader(s);
  assert.equal(r.info.label, 'TOOLS');
  for (const e of r.walk()) {
    const n = want.get(e.path);
    assert.ok(n, `unexpected ${e.path}`);
    want.delete(e.path);
    assert.equal(e.type, n.type, e.path);
    if (e.chunks) {
      const h = createHash('sha256');
      for (const c of e.chunks()) h.update(c);
      assert.equal(h.digest('hex'), sha256Of(n), e.path);
    }
  }
  s.close();
  assert.deepEqual([...want.keys()], []);
});
