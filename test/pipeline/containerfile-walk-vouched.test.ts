/**
 * The walk copier.ts `putEntries` vouches for (an apply into an empty directory, a COPY moved into
 * an empty stage root) must be tree.ts `walkTree` of the directory after it, node for node and
 * field for field (abs included): modes with set-id bits and --chmod, owners with --chown,
 * security.capability on files and directories, user.* and trusted.* attributes, times before
 * 1970, after 2^33 s, fractional and nanosecond ones, directory times set at the end, hard links
 * inside, across and out of directories moved whole (and one made later to an inode found in
 * place), sockets, fifos, devices, empty files, names whose walk order is not their byte order,
 * a subtree of the applied tree moved again, and a layer read from its tar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, openSync, lchownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { naiveChanges } from '../../src/pipeline/containerfile/changes.js';
import { putEntries, type PutEntry } from '../../src/pipeline/containerfile/copier.js';
import { changeItems, itemEntries, type LayerItem } from '../../src/pipeline/containerfile/layer-tar.js';
import { applyLayers, type WalkAfter } from '../../src/pipeline/containerfile/stage.js';
import { treeEntries } from '../../src/pipeline/containerfile/tree-entries.js';
import { walkOfDir, walkTree, type FsNode } from '../../src/pipeline/containerfile/tree.js';
import { xattrReader, type XattrReader } from '../../src/sources/rootfs/xattrs.js';
import { CAP_NET_BIND_SERVICE } from '../helpers/fixtures.js';
import { tarLayer, writeTar } from '../helpers/layer-files.js';

const SDE = 1700000000;
const isRoot = process.getuid?.() === 0;
const skip = !isRoot && 'needs root (owners, devices, trusted.* attributes)';
type Xattr = typeof import('fs-xattr');

/** A POSIX ACL (system.posix_acl_access): user::rw-, user:1234:r--, group::r--, mask::r--, other::r--. */
const ACL = ((): Buffer => {
  const entries: Array<[number, number, number]> = [[0x01, 6, 0xffffffff], [0x02, 4, 1234], [0x04, 4, 0xffffffff], [0x10, 4, 0xffffffff], [0x20, 4, 0xffffffff]];
  const b = Buffer.alloc(4 + 8 * entries.length);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + 8 * i);
    b.writeUInt16LE(perm, 6 + 8 * i);
    b.writeUInt32LE(id, 8 + 8 * i);
  });
  return b;
})();

/** Sets a time to the nanosecond (`touch -h -d @…`: Node's Dates stop at milliseconds). */
function touchNs(abs: string, at: string): void {
  execFileSync('touch', ['-h', '-d', `@${at}`, abs]);
}

function socketAt(abs: string): void {
  execFileSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(abs)})`]);
}

/** A stage's tree with the hard cases, every node new in one layer. */
function hardTree(live: string, x: Xattr): void {
  const p = (rel: string): string => join(live, rel);
  const file = (rel: string, body = `${rel}\n`): void => writeFileSync(p(rel), body);
  for (const d of ['bin', 'capdir/sub', 'attrs/sub', 'times/old-dir', 'times/frac-dir', 'links/in', 'other', 'dev', 'sock', 'linkattr', 'order/a', 'own/deep', 'empty-dir']) mkdirSync(p(d), { recursive: true });
  // Set-id bits, capabilities (owner already the entry's: the capability alone makes the chown).
  file('bin/suid-cap', '#!/bin/sh\n');
  chmodSync(p('bin/suid-cap'), 0o4755);
  x.setAttributeSync(p('bin/suid-cap'), 'security.capability', CAP_NET_BIND_SERVICE);
  file('bin/sgid');
  lchownSync(p('bin/sgid'), 0, 50);
  chmodSync(p('bin/sgid'), 0o2711);
  file('bin/cap-owned');
  lchownSync(p('bin/cap-owned'), 33, 33);
  chmodSync(p('bin/cap-owned'), 0o6750);
  x.setAttributeSync(p('bin/cap-owned'), 'security.capability', CAP_NET_BIND_SERVICE);
  file('bin/empty', '');
  chmodSync(p('bin'), 0o1777);
  // A directory with a capability (a chown keeps it: the kernel drops it from non-directories only).
  x.setAttributeSync(p('capdir'), 'security.capability', CAP_NET_BIND_SERVICE);
  x.setAttributeSync(p('capdir'), 'user.b', Buffer.from('b'));
  lchownSync(p('capdir'), 1000, 1000);
  chmodSync(p('capdir'), 0o2775);
  x.setAttributeSync(p('capdir/sub'), 'security.capability', CAP_NET_BIND_SERVICE);
  file('capdir/sub/f');
  // Kept, dropped and host attributes, their names out of order.
  x.setAttributeSync(p('attrs'), 'user.z', Buffer.from('z'));
  x.setAttributeSync(p('attrs'), 'user.a', Buffer.alloc(0));
  x.setAttributeSync(p('attrs'), 'trusted.t', Buffer.from('t'));
  x.setAttributeSync(p('attrs'), 'user.overlay.o', Buffer.from('o'));
  file('attrs/f');
  x.setAttributeSync(p('attrs/f'), 'user.z', Buffer.from('zz'));
  x.setAttributeSync(p('attrs/f'), 'user.a', Buffer.from('aa'));
  x.setAttributeSync(p('attrs/f'), 'trusted.q', Buffer.from('q'));
  x.setAttributeSync(p('attrs/f'), 'security.capability', CAP_NET_BIND_SERVICE);
  x.setAttributeSync(p('attrs/sub'), 'trusted.only', Buffer.from('dropped'));
  file('attrs/sub/g');
  x.setAttributeSync(p('attrs/sub/g'), 'trusted.only', Buffer.from('dropped'));
  // Host attributes neither kept nor dropped (a label, an ACL, whose mask a chmod changes): read,
  // not known; a directory with one is made new, not moved whole.
  file('capdir/sub/labelled');
  x.setAttributeSync(p('capdir/sub/labelled'), 'security.hostlabel', Buffer.from('label'));
  x.setAttributeSync(p('capdir/sub/labelled'), 'system.posix_acl_access', ACL);
  mkdirSync(p('labelled-dir'));
  x.setAttributeSync(p('labelled-dir'), 'security.hostlabel', Buffer.from('label'));
  file('labelled-dir/f');
  // Owners and modes a chown or chmod changes.
  lchownSync(p('own'), 1234, 5678);
  chmodSync(p('own'), 0o700);
  file('own/deep/f');
  lchownSync(p('own/deep/f'), 1234, 5678);
  chmodSync(p('own/deep/f'), 0o600);
  lchownSync(p('own/deep'), 1, 2);
  // Links: both names inside one directory, across two, the first name outside, the first inside,
  // three names.
  file('links/a');
  linkSync(p('links/a'), p('links/in/a2'));
  file('aa-outside-first');
  linkSync(p('aa-outside-first'), p('links/second'));
  file('links/inside-first');
  linkSync(p('links/inside-first'), p('zz-outside-later'));
  file('links/c1');
  linkSync(p('links/c1'), p('other/c2'));
  file('links/three');
  linkSync(p('links/three'), p('links/in/three'));
  linkSync(p('links/three'), p('other/three'));
  // Symlinks (their own times), a fifo, devices (a major and minor past 255).
  symlinkSync('../bin/sgid', p('links/rel'));
  symlinkSync('/nowhere', p('links/dangling'));
  execFileSync('mknod', [p('dev/fifo'), 'p']);
  execFileSync('mknod', [p('dev/null'), 'c', '1', '3']);
  execFileSync('mknod', [p('dev/loop'), 'b', '7', '0']);
  execFileSync('mknod', [p('dev/big'), 'c', '300', '70000']);
  // A socket: a walk leaves it out, and its directory does not move whole.
  file('sock/beside');
  socketAt(p('sock/s'));
  socketAt(p('top-socket'));
  // A symlink with an attribute of its own: its directory does not move whole either.
  symlinkSync('x', p('linkattr/l'));
  // Names whose walk order differs from the byte order of their paths, and past U+FFFF.
  for (const n of ['a-b', 'a.b', 'a0', 'é', '\uE000', '\u{1F600}', '\u{1F601}', '\uFFFD']) file(`order/${n}`);
  file('order/a/x');
  file('order-');
  // Times: before 1970 (whole and fractional), 0, after 2^33 s, fractional, nanoseconds, the epoch, after it.
  const times: Array<[string, string]> = [
    ['pre-1970', String(-86400 * 365)], ['pre-1970-frac', '-100.25'], ['zero', '0'], ['far', String(2 ** 33 + 5)],
    ['frac', `${SDE - 1}.5`], ['nsec', `${SDE - 100}.000000001`], ['epoch', String(SDE)], ['after', String(SDE + 100)],
  ];
  for (const [n, t] of times) {
    file(`times/${n}`);
    touchNs(p(`times/${n}`), t);
  }
  symlinkSync('pre-1970', p('times/link'));
  touchNs(p('times/link'), '-5');
  touchNs(p('times/old-dir'), String(-1e9));
  touchNs(p('times/frac-dir'), `${SDE - 7}.25`);
  touchNs(p('empty-dir'), String(SDE - 3));
  touchNs(p('capdir/sub'), String(SDE - 4));
}

/** A symlink's own attribute (fs-xattr follows links; an O_PATH fd does not). */
function linkAttr(x: Xattr, abs: string): void {
  const fd = openSync(abs, 0o10000000 | constants.O_NOFOLLOW);
  try {
    x.setAttributeSync(`/proc/self/fd/${fd}`, 'trusted.link', Buffer.from('own'));
  } finally {
    closeSync(fd);
  }
}

function items(live: string, reader: XattrReader): LayerItem[] {
  return changeItems(naiveChanges([], walkTree(live, reader)));
}

async function newLive(work: string, name: string, x: Xattr): Promise<string> {
  const live = join(work, `live-${name}`);
  mkdirSync(live);
  hardTree(live, x);
  linkAttr(x, join(live, 'linkattr/l'));
  return live;
}

test('an apply into an empty directory vouches for the walk of it: a live layer moved (whole directories), and the same layer read from its tar', { skip }, async () => {
  const reader = await xattrReader('/tmp', '');
  const x = await import('fs-xattr');
  const work = mkdtempSync(join(tmpdir(), 'walk-vouched-apply-'));
  try {
    const live = await newLive(work, 'apply', x);
    const layer = items(live, reader);
    await writeTar(layer, join(work, 'layer.tar'), SDE);
    const image = join(work, 'image');
    const walk: WalkAfter = { reader };
    await applyLayers(image, [{ where: 'live', entries: () => itemEntries(layer, SDE, { move: true, xattrs: reader }) }], 'live', undefined, walk);
    assert.ok(!existsSync(join(live, 'capdir')) && existsSync(join(live, 'sock/s')), 'directories moved whole, not the one with a socket');
    assert.ok(walk.nodes, 'the apply vouches for its walk');
    assert.deepEqual(walk.nodes, walkTree(image, reader));
    const fromTar = join(work, 'from-tar');
    const w2: WalkAfter = { reader };
    await applyLayers(fromTar, [tarLayer(join(work, 'layer.tar'), 1)], 'tar', undefined, w2);
    assert.ok(w2.nodes, 'the tar apply vouches for its walk');
    assert.deepEqual(w2.nodes, walkTree(fromTar, reader));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a COPY moved into an empty stage root vouches for the walk after it: with and without --chown and --chmod, of the whole tree and of a subtree, its inodes as walked or as the apply vouched', { skip }, async () => {
  const reader = await xattrReader('/tmp', '');
  const x = await import('fs-xattr');
  const work = mkdtempSync(join(tmpdir(), 'walk-vouched-copy-'));
  try {
    const variants: Array<{ chown?: { uid: number; gid: number }; chmod?: string }> = [
      {}, { chown: { uid: 0, gid: 0 } }, { chown: { uid: 7, gid: 8 } }, { chmod: '4755' }, { chmod: '640', chown: { uid: 0, gid: 50 } },
    ];
    let n = 0;
    for (const v of variants) {
      for (const sub of ['', 'links', 'capdir']) {
        for (const retouch of [false, true]) {
          const name = `${n++}`;
          const what = `${JSON.stringify(v)} of /${sub}${retouch ? ', retouched' : ''}`;
          const live = await newLive(work, name, x);
          const image = join(work, `image-${name}`);
          const walk: WalkAfter = { reader };
          await applyLayers(image, [{ where: what, entries: () => itemEntries(items(live, reader), SDE, { move: true, xattrs: reader }) }], what, undefined, walk);
          assert.ok(walk.nodes, `${what}: the apply vouches for its walk`);
          let walked = walk.nodes;
          if (retouch) {
            // Times the apply does not make (before 1970, fractional, nanoseconds, on directories),
            // attributes it does not set: the COPY sees them in the inodes as walked.
            touchNs(join(image, 'links/a'), '-3.5');
            touchNs(join(image, 'links/in'), `${SDE - 9}.000000007`);
            touchNs(join(image, 'capdir/sub/f'), String(-7));
            touchNs(join(image, 'capdir/sub'), '-1');
            touchNs(join(image, 'links/rel'), `${SDE}.75`);
            touchNs(join(image, 'times/far'), String(2 ** 33 + 11));
            x.setAttributeSync(join(image, 'links/c1'), 'trusted.host', Buffer.from('h'));
            x.setAttributeSync(join(image, 'capdir/sub/f'), 'user.later', Buffer.from('l'));
            walked = walkTree(image, reader);
          }
          const src = sub === '' ? image : join(image, sub);
          const root = join(work, `root-${name}`);
          mkdirSync(root);
          const fields = v.chmod !== undefined ? { chmod: v.chmod } : {};
          const nodes = await putEntries(root, treeEntries(src, '', fields as never, v.chown, { move: true, walked: walkOfDir(walked, image, src)!, plain: true, xattrs: reader }), { where: what, walk: reader });
          assert.ok(nodes, `${what}: the COPY vouches for its walk`);
          assert.deepEqual(nodes, walkTree(root, reader), `${what}: the COPY's walk`);
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a hard link made later to an inode found in place, or linked across two directories moved whole: the walk the put vouches for is the walk of the tree', { skip }, async () => {
  const reader = await xattrReader('/tmp', '');
  const work = mkdtempSync(join(tmpdir(), 'walk-vouched-links-'));
  try {
    const src = join(work, 'src');
    mkdirSync(join(src, 'm/deep'), { recursive: true });
    mkdirSync(join(src, 'n'), { recursive: true });
    writeFileSync(join(src, 'm/deep/f'), 'one name when found\n');
    writeFileSync(join(src, 'm/g'), 'two names, both in moved directories\n');
    linkSync(join(src, 'm/g'), join(src, 'n/g2'));
    lutimesSync(join(src, 'm/deep/f'), SDE - 50, SDE - 50);
    const walked = walkTree(src, reader);
    const entry = (n: FsNode, e: Partial<PutEntry>): PutEntry => ({
      path: n.path, kind: n.kind, mode: n.mode, uid: n.uid, gid: n.gid, mtime: n.mtimeSec, ...(n.kind === 'file' ? { copyFrom: n.abs, move: true } : {}), seen: n, ...e,
    });
    const by = (p: string): FsNode => walked.find((n) => n.path === p)!;
    const entries: PutEntry[] = [
      entry(by('m'), { moveFrom: by('m').abs }),
      entry(by('m/deep'), {}),
      // Found in place with one name, chowned: a later link gives it a second.
      entry(by('m/deep/f'), { uid: 5, gid: 6, mtime: SDE - 20 }),
      entry(by('m/g'), { uid: 9 }),
      entry(by('n'), { moveFrom: by('n').abs }),
      // Found in place as a second name: the inode ends with this entry's owner, mode and time.
      { path: 'n/g2', kind: 'hardlink', mode: 0o640, uid: 10, gid: 11, mtime: SDE - 2, linkname: 'm/g' },
      { path: 'z-later-link', kind: 'hardlink', mode: 0o600, uid: 3, gid: 4, mtime: SDE - 1, linkname: 'm/deep/f' },
    ];
    const root = join(work, 'root');
    mkdirSync(root);
    const nodes = await putEntries(root, entries, { where: 'links', walk: reader });
    assert.ok(nodes, 'the put vouches for its walk');
    assert.deepEqual(nodes, walkTree(root, reader));
    assert.ok(nodes.find((n) => n.path === 'm/deep/f')!.inode !== undefined, 'two names now');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('where the put cannot vouch for the walk it gives none, or the walk of the tree: a path named twice, a parent made on the way, a link to a path it did not name, entries out of walk order', { skip }, async () => {
  const reader = await xattrReader('/tmp', '');
  const work = mkdtempSync(join(tmpdir(), 'walk-vouched-not-'));
  try {
    const body = (s: string) => async function* (): AsyncGenerator<Buffer> { yield Buffer.from(s); };
    const f = (path: string, mode = 0o644, s = path): PutEntry => ({ path, kind: 'file', mode, uid: 0, gid: 0, mtime: SDE, body: body(s) });
    const d = (path: string): PutEntry => ({ path, kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: SDE - 1 });
    const shapes: Array<{ name: string; entries: PutEntry[]; vouched: boolean }> = [
      { name: 'named twice', entries: [d('a'), f('a/f', 0o600), f('a/f', 0o644, 'again')], vouched: false },
      { name: 'a directory named again', entries: [d('a'), f('a/f'), { ...d('a'), mode: 0o700 }], vouched: false },
      { name: 'a file replaced by a directory', entries: [f('a'), d('a'), f('a/g')], vouched: false },
      { name: 'a parent made on the way', entries: [f('p/q/f')], vouched: false },
      { name: 'a link through a symlink', entries: [d('a'), f('a/f'), { path: 'l', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: SDE, linkname: 'a' }, { path: 'h', kind: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtime: SDE, linkname: 'l/f' }], vouched: false },
      { name: 'out of walk order', entries: [d('a'), f('a-b'), f('a/x'), f('\u{1F600}'), f('\uE000'), d('0'), f('0/z')], vouched: true },
      { name: 'the root itself and a link to a link', entries: [{ ...d(''), mode: 0o700 }, f('f'), { path: 'g', kind: 'hardlink', mode: 0o600, uid: 1, gid: 1, mtime: SDE, linkname: 'f' }, { path: 'h', kind: 'hardlink', mode: 0o640, uid: 2, gid: 2, mtime: SDE, linkname: 'g' }], vouched: true },
    ];
    for (const s of shapes) {
      const root = join(work, s.name);
      mkdirSync(root);
      const nodes = await putEntries(root, s.entries, { where: s.name, walk: reader });
      if (s.vouched) assert.deepEqual(nodes, walkTree(root, reader), s.name);
      else assert.equal(nodes, undefined, s.name);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a time the file system clamps (ext4 with 128-byte inodes keeps 32 bits): the walk the put vouches for has the time the inode holds', { skip }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'walk-vouched-clamp-'));
  const fs = join(work, 'ext4');
  try {
    const img = join(work, 'ext4.img');
    writeFileSync(img, Buffer.alloc(0));
    execFileSync('truncate', ['-s', '16M', img]);
    try {
      execFileSync('mkfs.ext4', ['-q', '-I', '128', '-F', img], { stdio: 'ignore' });
      mkdirSync(fs);
      execFileSync('mount', ['-o', 'loop', img, fs], { stdio: 'ignore' });
    } catch {
      return t.skip('cannot make and mount an ext4 image here');
    }
    const reader = await xattrReader(fs, '');
    mkdirSync(join(fs, 'src/d'), { recursive: true });
    writeFileSync(join(fs, 'src/d/f'), 'a file\n');
    lutimesSync(join(fs, 'src/d/f'), SDE, SDE);
    const walked = walkTree(join(fs, 'src'), reader);
    const by = (p: string): FsNode => walked.find((n) => n.path === p)!;
    const late = 2 ** 31 + 100;
    const entries: PutEntry[] = [
      { path: 'd', kind: 'dir', mode: by('d').mode, uid: 0, gid: 0, mtime: by('d').mtimeSec, moveFrom: by('d').abs, seen: by('d') },
      { path: 'd/f', kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: late, copyFrom: by('d/f').abs, move: true, seen: by('d/f') },
    ];
    const root = join(fs, 'root');
    mkdirSync(root);
    const nodes = await putEntries(root, entries, { where: 'clamp', walk: reader });
    const real = walkTree(root, reader);
    assert.ok(real.find((n) => n.path === 'd/f')!.mtimeSec < late, 'this file system clamped the time');
    assert.deepEqual(nodes, real);
  } finally {
    execFileSync('umount', [fs], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
});
